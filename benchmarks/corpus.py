"""Benchmark of the grid and MIDI layer: corpus build (cold, warm), MIDI round trips and
the CPU time of writing one loop with feel as a MIDI file.

    python -m benchmarks.corpus [GROOVE_DIR]

GROOVE_DIR defaults to $EVODRUM_GROOVE. Goals on a 2-core machine: cold build of
the whole groove corpus under 15 s, warm load under 0.5 s.
"""
from __future__ import annotations

import io
import os
import sys
import tempfile

import numpy as np

from benchmarks.timing import measure, once
from evodrum import midi
from evodrum.corpus import build_corpus
from evodrum.loop import Loop


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


def bench_write(n: int = 200) -> None:
    """CPU per loop of building and saving a MIDI file (in memory, so only evodrum's and
    mido's work counts): loops with feel at Groove-like density, half of them type 0."""
    rng = np.random.default_rng(1)
    shape = (n, 9, 64)
    velocities = (rng.random(shape) < 0.13) * rng.random(shape)
    offsets = rng.uniform(-0.3, 0.3, shape).astype(np.float32)
    loops = [Loop(v, o) for v, o in zip(velocities, offsets)]
    def write_all():
        for i, loop in enumerate(loops):
            midi.grid_to_midi(loop, midi_type=i % 2).save(file=io.BytesIO())
    passes = measure(write_all, 5)
    hits = int((velocities > 0).sum()) / n
    print(f"MIDI write, one loop with feel ({hits:.0f} hits): "
          f"{passes.cpu_median / n * 1000:.2f} ms CPU, {passes.median / n * 1000:.2f} ms wall "
          f"(median of 5 passes over {n} loops)")


if __name__ == "__main__":
    groove = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("EVODRUM_GROOVE")
    if groove:
        bench_corpus(groove)
    else:
        print("corpus: skipped (give GROOVE_DIR or set EVODRUM_GROOVE)")
    bench_round_trips()
    bench_write()
