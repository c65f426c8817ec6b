"""Memory of a long render: `python -m benchmarks.render [--tree PATH]`.

Runs `evodrum render` of a whole 64-bar performance (hits off the grid) at 60 BPM and
48 kHz, 256 s of audio, as a user would: a process of its own, with the built-in kit
(mono) and FluidSynth (stereo), normalised to -20 LUFS. Prints each one's peak
resident memory (rusage of that process and any it waited for: FluidSynth's own is
smaller) beside its CPU and wall time, and the same for a 4-bar loop (what a process
that renders anything holds). Floor: that 4-bar process plus the audio held once
(4 bytes a sample a channel); goal: within 64 MB of the floor. `--tree PATH` runs
another checkout's evodrum (e.g. an older one, for a before-and-after figure).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from evodrum.audio.soundfont import find_soundfont
from evodrum.grid import GridSpec
from evodrum.loop import Loop
from evodrum.midi import write_midi

BARS, BPM, SR = 64, 60.0, 48000
#: Peak memory may exceed the floor by this much (chunks of float64 and their filters).
GOAL_MB = 64


def performance(path: Path, bars: int) -> Path:
    """A `bars`-bar MIDI performance: a backbeat, eighth hats, busy toms and cymbals,
    every hit up to a fifth of a step off the grid."""
    spec = GridSpec(bars=bars)
    rng = np.random.default_rng(1)
    hits = ((rng.random(spec.shape) < 0.25) * rng.uniform(0.3, 1, spec.shape)).astype(np.float32)
    hits[0, ::8], hits[1, 4::8], hits[2, ::2], hits[5, ::64] = 0.9, 0.8, 0.6, 1.0
    offsets = rng.uniform(-0.2, 0.2, spec.shape) * (hits > 0)
    offsets[:, [0, -1]] = 0
    return write_midi(path, Loop(hits, offsets, spec), spec, BPM)


def run(source: Path, synth: str, tree: Path) -> tuple[float, float, float]:
    """(peak RSS in MB, CPU s, wall s) of one `evodrum render` process."""
    out = source.with_name(f"{source.stem}-{synth}.wav")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "evodrum", "render", str(source), "-o",
                              str(out), "--synth", synth, "--sample-rate", str(SR)],
                             cwd=tree, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        sys.exit(f"error: evodrum render failed: {child.stderr.read().decode().strip()}")
    out.unlink()
    return usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, wall


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1],
                        help="checkout whose evodrum renders [default: this one]")
    args = parser.parse_args(argv)
    synths = ["builtin"] + (["fluidsynth"] if find_soundfont() else [])
    with tempfile.TemporaryDirectory(prefix="evodrum-bench-") as tmp:
        long = performance(Path(tmp) / "long.mid", BARS)
        short = performance(Path(tmp) / "short.mid", 4)
        for synth in synths:
            channels = 2 if synth == "fluidsynth" else 1
            base, base_cpu, _ = run(short, synth, args.tree)
            peak, cpu, wall = run(long, synth, args.tree)
            audio = BARS * 4 * 60 / BPM * SR * channels * 4 / 2**20
            floor = base + audio
            print(f"render {BARS} bars at {BPM:g} BPM, {SR} Hz, {synth} ({channels} ch): peak "
                  f"{peak:.0f} MB, {cpu:.1f} s CPU ({wall:.1f} s wall); floor {floor:.0f} MB "
                  f"(4 bars: {base:.0f} MB, {base_cpu:.1f} s CPU; the audio: {audio:.0f} MB); "
                  f"goal <= {floor + GOAL_MB:.0f} MB")


if __name__ == "__main__":
    main()
