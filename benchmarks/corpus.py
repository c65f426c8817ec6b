"""Benchmark of the grid and MIDI layer: corpus build (cold, warm) and MIDI round trips.

    python -m benchmarks.corpus [GROOVE_DIR]

GROOVE_DIR defaults to $EVODRUM_GROOVE. Goals on a 2-core machine: cold build of
the whole groove corpus under 15 s, warm load under 0.5 s.
"""
from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

from benchmarks.timing import once
from evodrum import midi
from evodrum.corpus import build_corpus


def bench_corpus(groove: str) -> None:
    with tempfile.TemporaryDirectory() as cache:
        cold = once(lambda: build_corpus(groove, cache_dir=cache, progress=False))
        warm = once(lambda: build_corpus(groove, cache_dir=cache, progress=False))
        c = build_corpus(groove, cache_dir=cache, progress=False)
    print(f"corpus cold build: {cold:6.2f} s  ({len(c)} windows, {os.cpu_count()} cores; goal < 15 s)")
    print(f"corpus warm load:  {warm:6.3f} s  (goal < 0.5 s)")


def bench_round_trips(n: int = 300) -> None:
    rng = np.random.default_rng(0)
    grids = (rng.random((n, 9, 64)) < 0.13) * rng.random((n, 9, 64))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "loop.mid")
        def round_trips():
            for g in grids:
                midi.write_midi(path, g)
                midi.read_loop(path)
        rate = n / once(round_trips)
    print(f"MIDI write+read round trips: {rate:6.0f} /s")


if __name__ == "__main__":
    groove = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("EVODRUM_GROOVE")
    if groove:
        bench_corpus(groove)
    else:
        print("corpus: skipped (give GROOVE_DIR or set EVODRUM_GROOVE)")
    bench_round_trips()
