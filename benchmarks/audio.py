"""Benchmark the built-in synthesiser: `python -m benchmarks.audio`.

Prints the one-off costs (synthesising the kit's one-shots, laying out a new
tempo) and the time to render one loop, which the interactive session pays
for every loop it plays, straight and played with feel (timing offsets: every hit
mixed at its own sample). Goal: well under 50 ms for 4 bars at 44.1 kHz.
"""
from __future__ import annotations

import argparse

import numpy as np

from benchmarks.timing import measure
from evodrum.audio import synth, voices
from evodrum.grid import DEFAULT_SPEC, PAPER_SPEC
from evodrum.loop import Loop

CASES = [("4 bars of 16ths, 120 BPM, 44.1 kHz", DEFAULT_SPEC, 120.0, 44100),
         ("4 bars of 16ths, 90 BPM, 48 kHz", DEFAULT_SPEC, 90.0, 48000),
         ("8 bars of 8ths (paper), 120 BPM, 44.1 kHz", PAPER_SPEC, 120.0, 44100)]


def _ms(fn, repeats: int = 1) -> float:
    """Median wall time of fn() in milliseconds (the first call included: it is the figure)."""
    return 1000 * measure(fn, repeats, warmup=False).median


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="renders per figure")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"{'case':44} {'first':>9} {'typical':>9} {'dense':>9} {'silent':>9} {'feel':>9}"
          "  (ms/loop)")
    for label, spec, bpm, sr in CASES:
        voices.one_shots.cache_clear()
        synth._layout.cache_clear()
        typical = ((rng.random(spec.shape) < 0.2) * rng.random(spec.shape)).astype(np.float32)
        first = _ms(lambda: synth.render(typical, spec, bpm, sr))
        felt = Loop(typical, rng.uniform(-0.3, 0.3, spec.shape), spec)
        figures = [_ms(lambda g=g: synth.render(g, spec, bpm, sr), args.repeats)
                   for g in (typical, np.ones(spec.shape, np.float32),
                             np.zeros(spec.shape, np.float32), felt)]
        print(f"{label:44} {first:9.1f} " + " ".join(f"{f:9.1f}" for f in figures))
    print("first = new sample rate and tempo (one-shots and layout built, then cached); "
          "typical = 20% of cells hit; dense = every cell hit; feel = typical with timing "
          "offsets")


if __name__ == "__main__":
    main()
