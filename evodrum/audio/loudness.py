"""Loudness of a rendered loop (ITU-R BS.1770 integrated loudness, in LUFS) and
normalisation to a common level, so auditions are judged on the groove, not the volume.

Plain RMS over-weights the kick; BS.1770's K-weighting (a high shelf for the
head, a high-pass for the ear's bass roll-off) and its two gates (absolute
-70 LUFS, then 10 LU below the ungated mean) are the broadcast standard, and
what a DAW's loudness meter shows. Everything is vectorised over the blocks.
"""
from __future__ import annotations

import numpy as np
from scipy import signal

from evodrum.audio.synth import soft_limit

#: Level every audition is brought to (EBU R128 streaming practice sits near -14 to -23).
TARGET_LUFS = -20.0
#: A nearly silent loop is lifted by at most this much, so one soft hit never roars.
MAX_GAIN_DB = 24.0
BLOCK_SECONDS, BLOCK_OVERLAP = 0.4, 0.75
ABSOLUTE_GATE, RELATIVE_GATE = -70.0, -10.0
SILENCE = -120.0


def _k_weighting(sr: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """BS.1770's two biquads at `sr` (De Man's analog-matched design, which gives the
    standard's published 48 kHz coefficients): a +4 dB high shelf above ~1.7 kHz (the
    head), then the RLB high-pass near 38 Hz."""
    gain_db, f0, q = 3.999843853973347, 1681.974450955533, 0.7071752369554196
    k = np.tan(np.pi * f0 / sr)
    vh, vb = 10 ** (gain_db / 20), 10 ** (gain_db / 20 * 0.4996667741545416)
    a0 = 1 + k / q + k * k
    shelf = (np.array([vh + vb * k / q + k * k, 2 * (k * k - vh), vh - vb * k / q + k * k]) / a0,
             np.array([a0, 2 * (k * k - 1), 1 - k / q + k * k]) / a0)
    f0, q = 38.13547087602444, 0.5003270373238773
    k = np.tan(np.pi * f0 / sr)
    a0 = 1 + k / q + k * k
    highpass = (np.array([1.0, -2.0, 1.0]), np.array([a0, 2 * (k * k - 1), 1 - k / q + k * k]) / a0)
    return [shelf, highpass]


def lufs(audio: np.ndarray, sr: int) -> float:
    """Integrated loudness of mono or (samples, channels) audio in LUFS (SILENCE if silent)."""
    x = np.asarray(audio, dtype=np.float64)
    channels = np.ascontiguousarray((x[:, None] if x.ndim == 1 else x).T)  # (ch, n)
    sos = np.stack([np.concatenate([b, a]) for b, a in _k_weighting(sr)])
    y = signal.sosfilt(sos, channels, axis=-1)
    size = int(round(BLOCK_SECONDS * sr))
    if y.shape[1] < size:
        return SILENCE
    hop = int(round(size * (1 - BLOCK_OVERLAP)))
    power = np.einsum("cn,cn->n", y, y)
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    starts = np.arange(0, y.shape[1] - size + 1, hop)
    block = (cumulative[starts + size] - cumulative[starts]) / size
    with np.errstate(divide="ignore"):
        loud = -0.691 + 10 * np.log10(block)
    kept = block[loud > ABSOLUTE_GATE]
    if kept.size == 0:
        return SILENCE
    relative = -0.691 + 10 * np.log10(kept.mean()) + RELATIVE_GATE
    kept = block[(loud > ABSOLUTE_GATE) & (loud > relative)]
    return float(-0.691 + 10 * np.log10(kept.mean()))


def rms_db(audio: np.ndarray) -> float:
    """Plain RMS level in dBFS (what the issue's 12 dB spread was measured with)."""
    rms = float(np.sqrt(np.mean(np.square(np.asarray(audio, dtype=np.float64)))))
    return 20 * np.log10(rms) if rms > 0 else SILENCE


def gain_db(audio: np.ndarray, sr: int, target: float = TARGET_LUFS) -> float:
    """The gain (dB) that brings `audio` to `target` LUFS, at most MAX_GAIN_DB; 0 if silent."""
    level = lufs(audio, sr)
    return 0.0 if level <= SILENCE else float(min(MAX_GAIN_DB, target - level))


def normalise(audio: np.ndarray, sr: int, target: float = TARGET_LUFS) -> np.ndarray:
    """`audio` at `target` LUFS, peaks bent under full scale by the synth's soft limiter."""
    return soft_limit(np.asarray(audio, np.float32) * np.float32(10 ** (gain_db(audio, sr, target) / 20)))
