"""Benchmark what a listener feels: `python -m benchmarks.interactive`.

Prints, for loops sampled from the shipped model: the loudness spread of
auditions before and after normalisation (RMS dB, as the issue measured it,
and BS.1770 LUFS), the time from a play press to audio handed to the output
(FluidSynth cold, FluidSynth prefetched, built-in kit), and a generation's
breeding time.
"""
from __future__ import annotations

import argparse
import shutil

import numpy as np

from benchmarks.timing import measure, once
from evodrum.audio import synth
from evodrum.audio.audition import Audition
from evodrum.audio.loudness import lufs, normalise, rms_db
from evodrum.audio.soundfont import FluidSynthRenderer, find_soundfont
from evodrum.grid import quantize_velocity


def _spread(levels: np.ndarray) -> str:
    lo, hi = np.percentile(levels, [5, 95])
    return (f"range {levels.max() - levels.min():5.1f} dB, 5-95% {hi - lo:5.1f} dB, "
            f"sd {levels.std():4.1f} dB")


def loudness(grids: np.ndarray, renderer, name: str, sr: int = 44100) -> None:
    raw = [renderer(g, _spec, 120.0, sr, "wrap") for g in grids]
    heard = [normalise(a, sr) for a in raw]
    for label, audio in (("raw", raw), ("normalised", heard)):
        rms = np.array([rms_db(a) for a in audio])
        lu = np.array([lufs(a, sr) for a in audio])
        print(f"  {name:10} {label:10} RMS {_spread(rms)} | LUFS {_spread(lu)}")


def play_press(grids: np.ndarray, renderer, name: str, sr: int = 44100) -> None:
    """Press-to-audio times: cold (nothing cached) and after the screen's prefetch."""
    cold = Audition(renderer)
    t = [once(lambda g=g: cold(g, _spec, 120.0, sr, "wrap")) for g in grids[:3]]
    warm = Audition(renderer)
    warm.prefetch(list(grids[3:6]), _spec, 120.0, sr)
    for g in grids[3:6]:                      # wait until the worker is done, as a listener
        warm(g, _spec, 120.0, sr, "wrap")     # reading the screen would
    w = [once(lambda g=g: warm(g, _spec, 120.0, sr, "wrap")) for g in grids[3:6]]
    print(f"  {name:10} cold {1000 * np.median(t):7.1f} ms   prefetched "
          f"{1000 * np.median(w):6.2f} ms   (median of 3)")
    cold.close()
    warm.close()


def main(argv=None) -> None:
    global _spec
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="loops sampled for the loudness figures")
    args = parser.parse_args(argv)
    from evodrum.interactive.breeding import breed, new_session
    from evodrum.interactive.models import open_space
    from evodrum.interactive.session import Settings
    space = open_space(Settings())
    _spec = space.spec
    grids = quantize_velocity(space.decode(space.random(args.n, np.random.default_rng(0))))
    renderers = [("built-in", synth.render)]
    font = find_soundfont()
    if font and shutil.which("fluidsynth"):
        renderers.append(("FluidSynth", FluidSynthRenderer(font)))
    print(f"loudness of {args.n} prior loops, 4 bars at 120 BPM:")
    for name, r in renderers:
        loudness(grids if name == "built-in" else grids[:30], r, name)
    print("play press to audio ready:")
    for name, r in renderers:
        play_press(grids, r, name)
    session = new_session(Settings(seed=0), space)

    def rate_and_breed():
        for pos in range(3):
            session.rate(pos, 9 - 2 * pos)
        breed(session, space)
    times = measure(rate_and_breed, 20).times
    print(f"breeding a generation of 8: {1000 * np.median(times):.1f} ms (median of 20)")


_spec = None

if __name__ == "__main__":
    main()
