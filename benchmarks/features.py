"""Benchmark of the fitness package: features per second on 10,000 grids, and the
time to score a population of 100 for well-formedness and by each judge of real
drumming (the shipped judges; goal under 2 ms each on one core).

    python -m benchmarks.features [--corpus groove] [--cache-dir DIR] [--reference REF.npz]

Uses corpus loops when a corpus is built (else random grids of 13% hits, the
groove corpus's cell density, for the features only). Goals: over 100,000
grids/s for features; well under 50 ms for a population of 100.
"""
from __future__ import annotations

import argparse

import numpy as np

from benchmarks.timing import line, measure, once
from evodrum.corpus import load_corpus
from evodrum.errors import EvodrumError
from evodrum.genotypes import files
from evodrum.grid import DEFAULT_SPEC
from fitness.features import compute
from fitness.judges import load_judges
from fitness.wellformed import WellFormedness
from vae.files import DEFAULT_DIR


def best_time(fn, repeats: int) -> float:
    """Fastest of `repeats` calls, in seconds, after one warm-up call."""
    return measure(fn, repeats).best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.features", description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default="groove", help="corpus name or folder (default groove)")
    parser.add_argument("--cache-dir", default=None, help="corpus cache folder")
    parser.add_argument("--reference", default=None, help="a saved well-formedness .npz")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    try:
        corpus = load_corpus(args.corpus, args.cache_dir)
    except EvodrumError as e:
        corpus = None
        print(f"no corpus ({e}); features on random grids, well-formedness skipped")

    if corpus is not None:
        grids, spec = corpus.grids[rng.choice(len(corpus), 10_000)], corpus.spec
    else:
        spec = DEFAULT_SPEC
        grids = ((rng.random((10_000, *spec.shape)) < 0.13) * 0.8).astype(np.float32)
    t = best_time(lambda: compute(grids, spec), 5)
    print(f"features: {len(grids)} grids x 12 features in {t * 1000:.1f} ms "
          f"= {len(grids) / t:,.0f} grids/s (goal > 100,000)")
    population = grids[:100]
    for name, judge in load_judges(DEFAULT_DIR).items():
        if judge.spec == spec:
            t = best_time(lambda j=judge: j.score(population), 200)
            print(f"judge {name}: population of 100 in {t * 1000:.2f} ms (goal < 2 ms)")

    bench_reference_load()
    if corpus is None and args.reference is None:
        return
    if args.reference:
        seconds = once(lambda: WellFormedness.load(args.reference))
        ref = WellFormedness.load(args.reference)
        print(f"well-formedness reference loaded in {seconds:.2f} s")
    else:
        built = []
        seconds = once(lambda: built.append(WellFormedness.from_corpus(corpus)))
        ref = built[0]
        print(f"well-formedness reference built in {seconds:.2f} s "
              f"({len(ref.index)} distinct train loops, {len(ref.heldout)} held-out)")
    population = ref.index.onsets[rng.choice(len(ref.index), 100)].astype(np.float32)
    t = best_time(lambda: ref.score(population), 20)
    print(f"well-formedness score: population of 100 in {t * 1000:.1f} ms (goal < 50 ms)")
    t = best_time(lambda: ref.compare_set(population), 3)
    print(f"set comparison (Yang & Lerch): 100 loops in {t * 1000:.0f} ms")


def bench_reference_load() -> None:
    """CPU of reading the shipped well-formedness reference, and of loading it again in
    the same process (the same object while its files are unchanged)."""
    path = files.beside_or_shipped(None, files.WELLFORMED_FILE)
    read = measure(lambda: WellFormedness.read(path), 20)
    again = measure(lambda: WellFormedness.load(path), 200)
    print(line("well-formedness reference (shipped), read", read, "ms"))
    print(line("well-formedness reference, loaded again in the same process", again, "ms"))


if __name__ == "__main__":
    main()
