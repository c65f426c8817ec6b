"""The built-in drum kit's sounds: one synthesised one-shot per grid row.

Each voice is a few lines of classic analogue-drum recipe (pitch-swept sine
for kick and toms, tone plus filtered noise for the snare, clangy square-wave
clusters for hats and cymbals). They are computed once per sample rate and
cached; the noise is seeded so every render of a grid is identical.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from evodrum.kit import ROWS

#: Peak level of each voice at full velocity, so a full kit sums without clipping.
LEVEL: dict[str, float] = {
    "BD": 0.9, "SD": 0.7, "CH": 0.3, "OH": 0.3, "RD": 0.25,
    "CR": 0.35, "LT": 0.6, "MT": 0.55, "HT": 0.5,
}

#: Inharmonic square-wave cluster of the classic analogue hi-hat/cymbal (Hz).
METAL_FREQS = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)

FADE_SECONDS = 0.005


def _time(seconds: float, sr: int) -> np.ndarray:
    return np.arange(int(round(seconds * sr))) / sr


def _noise(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


def _filter(x: np.ndarray, sr: int, kind: str, cutoff) -> np.ndarray:
    """Second-order Butterworth filter; cutoffs are kept below Nyquist for low rates."""
    from scipy import signal      # imported here: 1 s of CPU that start-up skips
    cutoff = np.minimum(cutoff, 0.45 * sr)
    sos = signal.butter(2, cutoff, btype=kind, fs=sr, output="sos")
    return signal.sosfilt(sos, x)


def _swept_sine(t: np.ndarray, sr: int, f_end: float, f_extra: float, sweep: float):
    """A sine gliding down from f_end + f_extra to f_end with time constant `sweep`."""
    freq = f_end + f_extra * np.exp(-t / sweep)
    return np.sin(2 * np.pi * np.cumsum(freq) / sr)


def _metal(t: np.ndarray, sr: int, highpass: float) -> np.ndarray:
    squares = np.sign(np.sin(2 * np.pi * np.outer(t, METAL_FREQS))).sum(axis=1)
    return _filter(squares, sr, "highpass", highpass)


def kick(sr: int) -> np.ndarray:
    t = _time(0.6, sr)
    body = _swept_sine(t, sr, 48.0, 110.0, 0.035) * np.exp(-t / 0.22)
    click = _filter(_noise(t.size, 1), sr, "highpass", 2000) * np.exp(-t / 0.004)
    return body + 0.3 * click


def snare(sr: int) -> np.ndarray:
    t = _time(0.45, sr)
    tone = (np.sin(2 * np.pi * 185 * t) + 0.5 * np.sin(2 * np.pi * 330 * t)) * np.exp(-t / 0.05)
    rattle = _filter(_noise(t.size, 2), sr, "bandpass", (1500, 9000)) * np.exp(-t / 0.12)
    return 0.6 * tone + rattle


def hat(sr: int, decay: float, seconds: float, seed: int) -> np.ndarray:
    t = _time(seconds, sr)
    sizzle = _filter(_noise(t.size, seed), sr, "highpass", 8000)
    return (_metal(t, sr, 7000) + 2.0 * sizzle) * np.exp(-t / decay)


def ride(sr: int) -> np.ndarray:
    t = _time(1.6, sr)
    ping = np.sin(2 * np.pi * np.outer(t, (3100.0, 4870.0, 5900.0))).sum(axis=1)
    wash = _filter(_noise(t.size, 5), sr, "highpass", 5000)
    return (0.6 * ping * np.exp(-t / 0.5) + _metal(t, sr, 4000)
            * np.exp(-t / 0.7) + 0.8 * wash * np.exp(-t / 0.45))


def crash(sr: int) -> np.ndarray:
    t = _time(2.0, sr)
    wash = _filter(_noise(t.size, 6), sr, "highpass", 3000)
    attack = 1.0 + 2.0 * np.exp(-t / 0.02)
    return (wash + 0.5 * _metal(t, sr, 3000)) * attack * np.exp(-t / 0.6)


def tom(sr: int, pitch: float, seed: int) -> np.ndarray:
    t = _time(0.7, sr)
    body = _swept_sine(t, sr, pitch, 0.6 * pitch, 0.06) * np.exp(-t / 0.22)
    stick = _filter(_noise(t.size, seed), sr, "bandpass", (800, 5000)) * np.exp(-t / 0.01)
    return body + 0.2 * stick


def _recipes(sr: int) -> dict[str, np.ndarray]:
    return {
        "BD": kick(sr), "SD": snare(sr),
        "CH": hat(sr, 0.03, 0.15, 3), "OH": hat(sr, 0.3, 1.0, 4),
        "RD": ride(sr), "CR": crash(sr),
        "LT": tom(sr, 90.0, 7), "MT": tom(sr, 130.0, 8), "HT": tom(sr, 180.0, 9),
    }


def _finish(x: np.ndarray, level: float, sr: int) -> np.ndarray:
    """Scale to `level` peak and fade the last few ms so truncation never clicks."""
    fade = min(int(FADE_SECONDS * sr), x.size)
    x = x * (level / np.abs(x).max())
    x[x.size - fade:] *= np.linspace(1.0, 0.0, fade)
    return x.astype(np.float32)


@lru_cache(maxsize=4)
def one_shots(sr: int = 44100) -> tuple[np.ndarray, ...]:
    """One float32 one-shot per row in `ROWS` order, at sample rate `sr` (cached)."""
    if sr < 8000:
        raise ValueError(f"sample rate {sr} Hz is too low for drum sounds (use 8000 or more)")
    recipes = _recipes(sr)
    shots = tuple(_finish(recipes[r], LEVEL[r], sr) for r in ROWS)
    for s in shots:
        s.flags.writeable = False
    return shots
