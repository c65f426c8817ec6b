"""Benchmark of the search: one generation's time split, a whole default run, and
how well default runs reach the features of held-out corpus loops.

    python -m evodrum.search.bench [--space vae] [--generations 100] [--heldout 20]

Goals on a 2-core machine: one generation of population 100 in the vae space
(decode + features + well-formedness + DEAP variation) under 20 ms; a default
`evodrum target` run (100 x 100) under 5 s including start-up; on targets copied
from held-out loops (all 12 features), mean absolute feature error under 0.02 with
loops as well-formed as real held-out loops (`--heldout N` needs a built corpus).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time

import numpy as np

from evodrum import genotypes
from evodrum.genotypes import files as models
from evodrum.search.config import SearchConfig
from evodrum.search.engine import run_search
from evodrum.search.objective import Objective
from fitness import parse_target

TARGET = "density=0.7,syncopation=0.1,hats.density=0.4"


def time_split(space_name: str, generations: int) -> None:
    """Run a default search with its phases timed separately."""
    space = genotypes.open_space(space_name)
    reference = models.load_reference()
    objective = Objective(space, parse_target(TARGET), reference, wellformed_weight=0.1)
    spent = {"decode": 0.0, "features": 0.0, "well-formedness": 0.0}

    def timed(name, fn):
        def wrapper(*args, **kw):
            t = time.perf_counter()
            out = fn(*args, **kw)
            spent[name] += time.perf_counter() - t
            return out
        return wrapper

    space.decode = timed("decode", space.decode)
    objective.target = type("TimedTarget", (), {
        "distance": staticmethod(timed("features", objective.target.distance)),
        "names": objective.target.names})()
    objective.wellformed = timed("well-formedness", objective.wellformed)
    config = SearchConfig(space=space_name, generations=generations, wellformed_weight=0.1)
    start = time.perf_counter()
    result = run_search(objective, config)
    total = time.perf_counter() - start
    gens = result.generations + 1
    deap = total - sum(spent.values())
    print(f"{space_name} space, population {config.population}, {gens} generations "
          f"(incl. the initial one), {result.evaluations} evaluations:")
    for name, t in [*spent.items(), ("DEAP variation, selection, bookkeeping", deap)]:
        print(f"  {name:<40} {1000 * t / gens:7.2f} ms/generation  ({100 * t / total:4.1f}%)")
    print(f"  {'total':<40} {1000 * total / gens:7.2f} ms/generation  (goal < 20 ms in vae space)")
    print(f"  best target error {result.best_distance[0]:.4f}")


def time_command() -> None:
    """A default `evodrum target` run as a user starts it, start-up included."""
    with tempfile.TemporaryDirectory() as out:
        times = []
        for _ in range(2):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "evodrum", "target", "--features", TARGET,
                            "--out", out], check=True, capture_output=True)
            times.append(time.perf_counter() - t)
    print(f"default `evodrum target` (100 x 100, vae): {np.min(times):.2f} s wall, best of 2 "
          "(goal < 5 s)")


def heldout_targets(space_name: str, n: int, wellformed_weight: float,
                    repair: str = "clip") -> None:
    """Default searches towards the features of `n` held-out test loops."""
    from evodrum.corpus import load_corpus
    from fitness import FEATURE_NAMES, Target
    corpus = load_corpus()
    test = corpus.split_grids("test")
    picks = np.random.default_rng(0).choice(len(test), n, replace=False)
    space = genotypes.open_space(space_name)
    reference = models.load_reference()
    errors, scores = [], []
    for i, pick in enumerate(picks):
        target = Target.like(test[pick], corpus.spec, FEATURE_NAMES)
        config = SearchConfig(space=space_name, seed=i, wellformed_weight=wellformed_weight,
                              repair=repair)
        objective = Objective.for_config(space, target, reference, config)
        result = run_search(objective, config)
        errors.append(result.best_distance[0])
        scores.append(reference.score(result.best_grids[:1])[0])
    real = reference.score(test[picks])
    print(f"{space_name} space, {n} targets copied from held-out loops (all 12 features), "
          f"default budget, wellformed weight {wellformed_weight}, repair {repair}:")
    print(f"  mean absolute feature error of the best loop: mean {np.mean(errors):.4f}, "
          f"median {np.median(errors):.4f}, max {np.max(errors):.4f} (goal < 0.02)")
    print(f"  well-formedness of the best loops: mean {np.mean(scores):.2f}, median "
          f"{np.median(scores):.2f}; of the held-out loops themselves: mean {np.mean(real):.2f}, "
          f"median {np.median(real):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="vae", choices=("vae", "pca", "grid"))
    parser.add_argument("--generations", type=int, default=100)
    parser.add_argument("--heldout", type=int, default=0, metavar="N",
                        help="also search towards N held-out corpus loops' features")
    parser.add_argument("--wellformed", type=float, default=0.1)
    parser.add_argument("--repair", default="clip", choices=("clip", "penalty"))
    args = parser.parse_args()
    from evodrum.runtime import single_thread
    single_thread()  # as `evodrum target` runs
    time_split(args.space, args.generations)
    time_command()
    if args.heldout:
        heldout_targets(args.space, args.heldout, args.wellformed, args.repair)
