"""Do the sliders do something? `python -m benchmarks.sliders`

The sweep of issue 21: every example loop x every direction of the shipped model x
amounts -2, -1, +1, +2, each loop encoded as `evodrum steer` does (refined 50 steps).
For the straight move (the code plus amount x direction) and for `vae.directions.move`
(which searches along and around the direction when the straight move fails) it counts:
moves that leave the loop's hits unchanged; attribute moves that leave their feature unchanged
although it is not at its bound; attribute moves that push their feature the wrong way;
and (move only) moves it says it cannot make. Prints CPU and wall time per move.
"""
from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def verdict(grid, start, start_values, name, amount, values) -> tuple[bool, bool, bool]:
    """(loop unchanged, feature unchanged though not at bound, wrong way) of one move."""
    from vae.directions import MOVED
    unchanged = not ((grid > 0) != (start > 0)).any()       # the same hits
    if name.startswith("style:"):
        return unchanged, False, False
    before, after = float(start_values[name][0]), float(values[name][0])
    at_bound = before >= 1 - MOVED if amount > 0 else before <= MOVED
    still = abs(after - before) <= MOVED and not at_bound
    wrong = np.sign(amount) * (after - before) < -MOVED
    return unchanged, still, wrong


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amounts", default="-2,-1,1,2")
    args = parser.parse_args(argv)
    import torch

    import vae
    from evodrum import examples, midi
    from evodrum.grid import quantize_velocity
    from vae import directions, refine
    torch.set_num_threads(1)
    model = vae.load_model(None)
    found = directions.for_model(model)
    names = examples.names()
    grids = np.stack([midi.read_loop(examples.path(n), model.spec) for n in names])
    codes = refine.encode(model, grids, refine.DEFAULT_STEPS).codes
    amounts = [float(a) for a in args.amounts.split(",")]
    rows = {"straight": np.zeros(4, int), "move": np.zeros(4, int)}
    per_loop = {n: np.zeros(2, int) for n in names}
    attribute_moves = total = 0
    spent_cpu, spent_wall, searched = 0.0, 0.0, 0
    for loop, code in zip(names, codes):
        start = quantize_velocity(model.decode(code[None]))
        start_values = directions.attribute_values(start, model.spec)
        for name in found.names():
            for amount in amounts:
                total += 1
                attribute_moves += not name.startswith("style:")
                straight = quantize_velocity(model.decode(found.apply(code, {name: amount})[None]))
                v = verdict(straight[0], start[0], start_values, name, amount,
                            directions.attribute_values(straight, model.spec))
                rows["straight"][:3] += v
                per_loop[loop][0] += v[0]
                c0, w0 = cpu(), time.perf_counter()
                moved = directions.move(model, code, {name: amount})
                spent_cpu += cpu() - c0
                spent_wall += time.perf_counter() - w0
                searched += moved.searched
                grid = quantize_velocity(moved.grid[None])
                v = verdict(grid[0], start[0], start_values, name, amount,
                            directions.attribute_values(grid, model.spec))
                rows["move"][:3] += v
                rows["move"][3] += not moved.works
                per_loop[loop][1] += v[0]
    print(f"{len(names)} loops x {len(found.names())} directions x {len(amounts)} amounts = "
          f"{total} moves ({attribute_moves} on attributes); load {os.getloadavg()[0]:.1f}")
    print(f"{'':10} {'unchanged loop':>16} {'feature unmoved':>16} {'wrong way':>10} {'cannot':>7}")
    for kind, (same, still, wrong, cannot) in rows.items():
        print(f"{kind:10} {same:>7} ({100 * same / total:4.1f}%) {still:>7} "
              f"({100 * still / attribute_moves:4.1f}%) {wrong:>10} "
              f"{cannot if kind == 'move' else '-':>7}")
    print("unchanged per loop (straight -> move): " + ", ".join(
        f"{n} {a / (total / len(names)):.0%} -> {b / (total / len(names)):.0%}"
        for n, (a, b) in per_loop.items()))
    print(f"move: {searched} of {total} searched; {1000 * spent_cpu / total:.1f} ms CPU, "
          f"{1000 * spent_wall / total:.1f} ms wall per move (mean; goal under 30 ms)")


if __name__ == "__main__":
    main()
