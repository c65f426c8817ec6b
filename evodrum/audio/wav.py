"""16-bit PCM WAV files through the stdlib `wave` module (no audio library needed).

Audio arrays are float32 in [-1, 1], shaped (samples,) for mono or
(samples, channels). Writes are atomic: a half-written file never replaces a
good one.
"""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from evodrum.atomic import atomic_path
from evodrum.errors import EvodrumError

FULL_SCALE = 32767
#: Sample widths in bytes this reader understands, with their numpy dtype and scale.
_FORMATS = {1: (np.uint8, 128.0, 128.0), 2: (np.dtype("<i2"), 0.0, 32768.0),
            4: (np.dtype("<i4"), 0.0, 2147483648.0)}


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """Float audio to int16 samples, clipped to full scale."""
    return np.rint(np.clip(audio, -1.0, 1.0) * FULL_SCALE).astype("<i2")


def write_wav(path, audio: np.ndarray, sr: int = 44100) -> Path:
    """Write `audio` as a 16-bit PCM WAV at `sr` Hz, atomically; returns the path."""
    path = Path(path)
    audio = np.asarray(audio, dtype=np.float32)
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    with atomic_path(path) as tmp, wave.open(str(tmp), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(int(sr))
        w.writeframes(to_pcm16(audio).tobytes())
    return path


def read_wav(path) -> tuple[np.ndarray, int]:
    """(float32 audio, sample rate) from an 8-, 16- or 32-bit PCM WAV file."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, sr = w.getnchannels(), w.getsampwidth(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise EvodrumError(f"{path}: not a PCM WAV file ({e})") from None
    except OSError as e:
        raise EvodrumError(f"{path}: cannot read ({e.strerror or e})") from None
    if width not in _FORMATS:
        raise EvodrumError(f"{path}: {8 * width}-bit WAV samples are not supported")
    dtype, offset, scale = _FORMATS[width]
    audio = ((np.frombuffer(raw, dtype=dtype).astype(np.float32) - offset) / scale)
    return (audio if channels == 1 else audio.reshape(-1, channels)), sr
