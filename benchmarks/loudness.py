"""Render levels: the built-in kit and FluidSynth, raw and normalised (BS.1770 loudness,
true peak), over the six examples and Groove loops; and the CPU time of a normalisation
per loop, beside the rule before (the level measured again after every limiter pass)
and its floor (the one loudness measurement of the render it cannot skip).

    python -m benchmarks.loudness [GROOVE_DIR] [--loops N]
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from benchmarks.timing import measure
from evodrum import midi
from evodrum.audio import loudness, synth
from evodrum.audio.loudness import TARGET_LUFS, lufs, normalise, true_peak_db
from evodrum.audio.soundfont import FluidSynthRenderer, find_soundfont
from evodrum.examples import names, pattern
from evodrum.grid import DEFAULT_SPEC

SR = 44100
#: CPU per loop normalise should stay under (it was 32-34 ms measuring after every pass).
GOAL_MS = 15.0


def loops(groove: Path | None, n: int) -> list[tuple[np.ndarray, float]]:
    """(grid, bpm) of the six examples, then the first window of n Groove files."""
    out = [(pattern(name).grid(), pattern(name).bpm) for name in names()]
    if groove is not None:
        for path in sorted(groove.rglob("*.mid"))[:: max(1, 1150 // n)][:n]:
            try:
                out.append((midi.read_loop(path, DEFAULT_SPEC), 120.0))
            except Exception:  # a fill too short for a window: passed over
                continue
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("groove", nargs="?", default=os.environ.get("EVODRUM_GROOVE"))
    parser.add_argument("--loops", type=int, default=24)
    args = parser.parse_args()
    sets = loops(Path(args.groove) if args.groove else None, args.loops)
    fluid = FluidSynthRenderer(find_soundfont())
    rows = {"builtin": [], "fluidsynth": []}
    for grid, bpm in sets:
        for name, render in (("builtin", synth.render), ("fluidsynth", fluid)):
            raw = render(grid, DEFAULT_SPEC, bpm, SR, "wrap")
            done = normalise(raw, SR)
            rows[name].append((lufs(raw, SR), true_peak_db(raw), lufs(done, SR),
                               true_peak_db(done)))
    b, f = (np.array(rows[k]) for k in ("builtin", "fluidsynth"))
    print(f"{len(sets)} loops (6 examples + Groove first windows), target {TARGET_LUFS} LUFS, "
          f"ceiling -1 dBTP; load average {os.getloadavg()[0]:.1f}")
    for label, col in (("raw", 0), ("normalised", 2)):
        print(f"{label:>10}: built-in {b[:, col].min():6.1f} .. {b[:, col].max():6.1f} LUFS, "
              f"true peak max {b[:, col + 1].max():5.1f} dBTP | FluidSynth {f[:, col].min():6.1f} "
              f".. {f[:, col].max():6.1f} LUFS, true peak max {f[:, col + 1].max():5.1f} dBTP | "
              f"per loop built-in minus FluidSynth: median {np.median(b[:, col] - f[:, col]):+.2f}"
              f" LU, largest {np.abs(b[:, col] - f[:, col]).max():.2f} LU")
    cost_per_loop([synth.render(grid, DEFAULT_SPEC, bpm, SR, "wrap") for grid, bpm in sets])


def cost_per_loop(renders: list[np.ndarray], repeats: int = 3) -> None:
    """Median CPU (and wall) ms of normalising each render, averaged over the renders:
    now, by the rule before, and the floor (one `lufs` of the render)."""
    def per_loop(fn):
        runs = [measure(lambda a=audio: fn(a), repeats) for audio in renders]
        return (1000 * np.mean([r.cpu_median for r in runs]),
                1000 * np.mean([r.median for r in runs]))

    limited = sum(loudness._limit(np.asarray(a, np.float64) * 10 ** (
        loudness.gain_db(a, SR) / 20), SR, loudness.CEILING_DBTP)[1] for a in renders)
    cpu, wall = per_loop(lambda a: normalise(a, SR))
    before, _ = per_loop(lambda a: normalise(a, SR, remeasure=True))
    floor, _ = per_loop(lambda a: lufs(a, SR))
    print(f"normalise, per loop ({len(renders)} built-in renders at 44.1 kHz, {limited} "
          f"limited): {cpu:.1f} ms CPU, {wall:.1f} ms wall (mean of medians of {repeats}); "
          f"measuring after every limiter pass as before: {before:.1f} ms CPU; floor (one "
          f"loudness measurement): {floor:.1f} ms CPU; goal < {GOAL_MS:g} ms CPU")

if __name__ == "__main__":
    main()
