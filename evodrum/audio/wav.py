"""Audio files: 16-bit PCM WAV through the stdlib `wave` module (no audio library
needed), and FLAC or Ogg Vorbis through soundfile (libsndfile) when it is installed.

Audio arrays are float32 in [-1, 1], shaped (samples,) for mono or
(samples, channels). Writes are atomic: a half-written file never replaces a
good one. Samples are converted and written, or read and converted, CHUNK frames
at a time, so a long render costs no copies of itself on the way to or from disk.
"""
from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np

from evodrum.atomic import atomic_path
from evodrum.errors import EvodrumError

FULL_SCALE = 32767
#: Frames converted at once on the way to or from a file.
CHUNK = 1 << 16
#: Sample widths in bytes this reader understands, with their numpy dtype and scale.
_FORMATS = {1: (np.uint8, 128.0, 128.0), 2: (np.dtype("<i2"), 0.0, 32768.0),
            4: (np.dtype("<i4"), 0.0, 2147483648.0)}


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """Float audio to int16 samples, clipped to full scale."""
    return np.rint(np.clip(audio, -1.0, 1.0) * FULL_SCALE).astype("<i2")


def _write_pcm16(target, audio: np.ndarray, sr: int) -> None:
    """The one 16-bit PCM WAV writer: `audio` (mono or (samples, channels)) to `target`,
    a path or a binary file object."""
    audio = np.asarray(audio)
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    with wave.open(target, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(int(sr))
        w.setnframes(len(audio))      # the header is written once, not patched per chunk
        for start in range(0, len(audio), CHUNK):
            w.writeframes(to_pcm16(np.asarray(audio[start:start + CHUNK], np.float32)).tobytes())


def write_wav(path, audio: np.ndarray, sr: int = 44100) -> Path:
    """Write `audio` as a 16-bit PCM WAV at `sr` Hz, atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        _write_pcm16(str(tmp), audio, sr)
    return path


def wav_bytes(audio: np.ndarray, sr: int) -> bytes:
    """The same 16-bit PCM WAV as `write_wav`, in memory (what the studio serves)."""
    out = io.BytesIO()
    _write_pcm16(out, audio, sr)
    return out.getvalue()


#: Formats `write_audio` chooses by suffix: soundfile's (format, subtype), None for WAV.
AUDIO_FORMATS = {".wav": None, ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}


def check_audio_suffix(path) -> str:
    """The lower-case suffix of an audio file evodrum can write; EvodrumError if none."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in AUDIO_FORMATS:
        raise EvodrumError(f"{path}: evodrum writes audio as {', '.join(AUDIO_FORMATS)}, "
                           f"not {path.suffix or 'a file without a suffix'}")
    return suffix


def write_audio(path, audio: np.ndarray, sr: int = 44100) -> Path:
    """Write `audio` in the format its suffix names (.wav, .flac, .ogg), atomically."""
    path = Path(path)
    suffix = check_audio_suffix(path)
    if AUDIO_FORMATS[suffix] is None:
        return write_wav(path, audio, sr)
    try:
        import soundfile
    except (ImportError, OSError):
        raise EvodrumError(f"{path}: writing {suffix[1:].upper()} needs soundfile: "
                           "pip install 'evodrum[audio]' (or write .wav)") from None
    fmt, subtype = AUDIO_FORMATS[suffix]
    audio = np.asarray(audio)
    with atomic_path(path) as tmp, soundfile.SoundFile(
            str(tmp), "w", int(sr), 1 if audio.ndim == 1 else audio.shape[1],
            format=fmt, subtype=subtype) as f:
        for start in range(0, len(audio), CHUNK):
            f.write(np.clip(np.asarray(audio[start:start + CHUNK], np.float32), -1, 1))
    return path


def read_wav(path) -> tuple[np.ndarray, int]:
    """(float32 audio, sample rate) from an 8-, 16- or 32-bit PCM WAV file."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, sr = w.getnchannels(), w.getsampwidth(), w.getframerate()
            if width not in _FORMATS:
                raise EvodrumError(f"{path}: {8 * width}-bit WAV samples are not supported")
            # a header may claim more frames than the file holds: never more than that
            frames = min(w.getnframes(), Path(path).stat().st_size // (width * channels))
            audio = np.empty(frames * channels, np.float32)
            got = 0
            while got < audio.size:
                raw = w.readframes(CHUNK)
                raw = raw[:len(raw) - len(raw) % width]     # a file cut mid-sample
                if not raw:
                    break
                audio[got:got + len(raw) // width] = _samples(raw, width)
                got += len(raw) // width
    except (wave.Error, EOFError) as e:
        raise EvodrumError(f"{path}: not a PCM WAV file ({e})") from None
    except OSError as e:
        raise EvodrumError(f"{path}: cannot read ({e.strerror or e})") from None
    audio = audio[:got - got % channels]
    return (audio if channels == 1 else audio.reshape(-1, channels)), sr


def _samples(raw: bytes, width: int) -> np.ndarray:
    """Float32 samples in [-1, 1) of `width`-byte PCM data."""
    dtype, offset, scale = _FORMATS[width]
    return (np.frombuffer(raw, dtype=dtype).astype(np.float32) - offset) / scale
