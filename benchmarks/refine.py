"""Benchmark of refinement (`--refine`): one loop as a command refines it, and a batch.

    python -m benchmarks.refine [--model PATH] [--steps N] [--loops N]

Goal (issue #23, one core): one loop refined in at most 3 ms CPU, as faithful as
before. Before (torch autograd, 50 Adam steps): 22.5 ms for one loop (0.45 ms per
step of autograd overhead) and 0.86 ms per loop in batches. The floor is the
steps' matrix products alone (forward and backward through every layer, batch of
one). Loops are the Groove test split's windows (random prior samples when no
corpus is built); CPU is this process's rusage, one BLAS thread, wall beside it.
"""
from __future__ import annotations

import argparse

import numpy as np

from benchmarks.timing import line, measure
from evodrum import runtime

GOAL_ONE_LOOP_MS = 3.0


def held_out_loops() -> tuple[np.ndarray, str]:
    """The Groove test split's windows, else prior samples of the shipped model."""
    from evodrum.corpus import load_corpus
    from evodrum.errors import EvodrumError
    try:
        return load_corpus().split_grids("test"), "Groove test windows"
    except EvodrumError:
        import vae
        return vae.load_model().sample(2000, rng=0), "prior samples (no corpus built)"


def floor(model, steps: int, repeats: int):
    """CPU of `steps` forward and backward matrix products for one loop."""
    layers = [*model.decoder.trunk, *model.decoder.heads["hits"]]
    z = np.zeros((1, model.zdim), np.float32)
    inputs = [z]
    for layer in layers:
        inputs.append(layer(inputs[-1]))

    def products():
        for _ in range(steps):
            for layer, x in zip(layers, inputs):
                x @ layer.weight
            for layer, x in zip(reversed(layers), reversed(inputs[1:])):
                x @ layer.weight.T
    return measure(products, repeats)


def main(argv: list[str] | None = None) -> dict:
    from vae import load_model, metrics, refine
    parser = argparse.ArgumentParser(prog="python -m benchmarks.refine", description=__doc__)
    parser.add_argument("--model", default=None, help="model file [default: shipped model]")
    parser.add_argument("--steps", type=int, default=refine.DEFAULT_STEPS,
                        help=f"Adam steps [default: {refine.DEFAULT_STEPS}]")
    parser.add_argument("--loops", type=int, default=20,
                        help="single loops timed, each its own call [default: 20]")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    runtime.single_thread()
    model = load_model(args.model)
    grids, source = held_out_loops()
    grids = np.asarray(grids, np.float32)
    print(f"{model.name}, {args.steps} steps, {len(grids):,} {source}, one thread")

    picks = np.linspace(0, len(grids) - 1, args.loops).astype(int)
    singles = [measure(lambda i=i: refine.encode(model, grids[i], args.steps), args.repeats)
               for i in picks]
    one = type(singles[0])([s.median for s in singles], [s.cpu_median for s in singles])
    print(line(f"one loop ({args.loops} loops, median of {args.repeats} each)", one, "ms",
               goal=f"<= {GOAL_ONE_LOOP_MS:g} ms CPU",
               floor=f"{1000 * floor(model, args.steps, args.repeats).cpu_median:.2f} ms"))

    batch = measure(lambda: refine.encode(model, grids, args.steps), max(1, args.repeats // 2))
    per_loop = type(batch)([t / len(grids) for t in batch.times],
                           [t / len(grids) for t in batch.cpu])
    print(line(f"batch of {len(grids):,}, per loop", per_loop, "ms"))

    enc = refine.encode(model, grids, args.steps)
    mean = metrics.onset_scores(grids, model.decode(model.encode(grids)))["f1"]
    refined = metrics.onset_scores(grids, model.decode(enc.codes))["f1"]
    exact = float((enc.f1 == 1).mean())
    print(f"onset F1: encoder mean {mean:.3f}, refined {refined:.3f}; "
          f"{100 * exact:.1f}% of loops exact (they stop there)")
    return {"one_loop_cpu_ms": 1000 * one.cpu_median, "one_loop_wall_ms": 1000 * one.median,
            "batch_cpu_ms_per_loop": 1000 * per_loop.cpu_median, "f1_mean": mean,
            "f1_refined": refined, "exact": exact}


if __name__ == "__main__":
    main()
