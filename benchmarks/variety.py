"""Does breeding keep variety while following the ratings? `python -m benchmarks.variety`

A scripted listener evolves 5 generations of 8 loops (shipped model, --seed 1..SEEDS):
it likes busy hi-hats over a syncopated kick and snare (its score: closeness to
hats.density 0.5, kick_snare.syncopation 0.3), rates the three loops it likes best 9, 7
and 5 and the worst one 1, and breeds. Per generation it prints the mean pairwise
difference between the loops (onset cells), the smallest difference of a new loop from
any other loop of its generation or from its parents, the listener's mean score of the
new loops (does breeding still follow the ratings?), and whether blends of two loops
that both open a bar on a kick keep it. Runs on any evodrum (for before/after figures).
"""
from __future__ import annotations

import argparse
import os

import numpy as np

GENERATIONS = 5
GOAL = {"hats.density": 0.5, "kick_snare.syncopation": 0.3}


def score(grids, spec) -> np.ndarray:
    """The listener's taste in [0, 1]: 1 - mean distance to GOAL."""
    from fitness import compute
    f = compute(np.asarray(grids), spec)
    return 1 - np.mean([np.abs(f[k] - v) for k, v in GOAL.items()], axis=0)


def cells(a, b) -> int:
    return int(((a > 0) != (b > 0)).sum())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    import torch

    from evodrum.interactive.breeding import breed, new_session
    from evodrum.interactive.models import open_space
    from evodrum.interactive.session import Settings
    torch.set_num_threads(1)
    space = open_space(Settings())
    pair = np.zeros((args.seeds, GENERATIONS))
    nearest = np.zeros((args.seeds, GENERATIONS))
    taste = np.zeros((args.seeds, GENERATIONS))
    kick_blends = kicks_kept = 0
    for seed in range(args.seeds):
        session = new_session(Settings(seed=seed + 1), space)
        for g in range(GENERATIONS):
            shown = session.shown()
            grids = np.stack([lp.grid for lp in shown])
            new = [lp for lp in shown if lp.born == session.current]
            pair[seed, g] = np.mean([cells(a, b) for i, a in enumerate(grids)
                                     for b in grids[i + 1:]])
            gaps = [min(cells(lp.grid, o.grid) for o in shown if o.id != lp.id) for lp in new]
            gaps += [cells(lp.grid, session.loops[p].grid) for lp in new for p in lp.parents]
            nearest[seed, g] = min(gaps) if gaps else np.nan
            taste[seed, g] = score([lp.grid for lp in new], space.spec).mean()
            for lp in new:
                if lp.op == "blend":
                    bars = range(0, space.spec.steps, space.spec.steps_per_bar)
                    a, b = (session.loops[p].grid for p in lp.parents)
                    for s in bars:
                        if a[0, s] > 0 and b[0, s] > 0:
                            kick_blends += 1
                            kicks_kept += lp.grid[0, s] > 0
            order = np.argsort(-score(grids, space.spec), kind="stable")
            for position, rating in zip(order, (9, 7, 5)):
                session.rate(int(position), rating)
            session.rate(int(order[-1]), 1)
            breed(session, space)
    print(f"{args.seeds} sessions x {GENERATIONS} generations of 8 loops; load "
          f"{os.getloadavg()[0]:.1f}")
    print("generation                      " + " ".join(f"{g + 1:>6}" for g in range(GENERATIONS)))
    print("mean pairwise difference (cells)" + " ".join(f"{v:6.1f}" for v in pair.mean(0)))
    print("closest new loop (cells, min)   " + " ".join(f"{v:6.0f}" for v in np.nanmin(nearest, 0)))
    print("listener's score of new loops   " + " ".join(f"{v:6.3f}" for v in taste.mean(0)))
    print(f"shared bar-opening kicks kept by blends: {kicks_kept} of {kick_blends}")


if __name__ == "__main__":
    main()
