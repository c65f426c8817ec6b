"""Render a grid to audio with the built-in kit, vectorised and exact.

Step i starts at sample P(i) = floor(i * n / S) for a loop of n samples and S
steps, and block b of the output is samples [P(b), P(b+1)). A hit at step b - c
reaches block b through lag c, offset floor(c n / S) or one more sample
(rounding), so each voice is cut once into (lag, offset) chunks and the whole
loop is one matrix product: blocks = W @ chunks, where W holds the velocity
gains of the hits each block hears. No Python loop touches a hit or a sample.
The product is batched over narrow column slices of the chunks: each small
GEMM runs on one BLAS thread, which keeps renders fast on a busy machine.
A long render (a whole 64-bar file) is multiplied a few slices at a time
straight into the output, so it holds the audio once and no more.

A loop played with feel (timing offsets, see evodrum.loop) has its hits where
`Loop.perform` puts them instead: each hit's one-shot is added at its performed
sample (`performed`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from evodrum import memory
from evodrum.audio.voices import one_shots
from evodrum.errors import EvodrumError
from evodrum.grid import DEFAULT_SPEC, GridSpec
from evodrum.kit import N_ROWS
from evodrum.loop import Loop, as_loop

DEFAULT_SR = 44100

#: What happens to decays that run past the end of the loop: added back onto
#: the start (seamless when looped), cut off, or kept (audio runs longer).
TAILS = ("wrap", "cut", "ring")

#: Output is linear up to this level, then bends smoothly towards +-1.
LIMIT_KNEE = 0.8
#: Columns per batched GEMM slice (small enough for single-threaded BLAS).
SLICE = 16
#: Samples multiplied out at once (4 MB of float32): a loop of up to 24 s at 44.1 kHz
#: is one product; longer renders go in parts.
PRODUCT_SAMPLES = 1 << 20
#: Samples bent by the soft limiter at once.
CHUNK = 1 << 16


def loop_samples(spec: GridSpec, bpm: float, sr: int = DEFAULT_SR) -> int:
    """Samples in one pass of a grid: spec.seconds(bpm) * sr, rounded."""
    if not bpm > 0:
        raise ValueError(f"tempo must be positive, got {bpm} BPM")
    return int(round(spec.seconds(bpm) * sr))


#: What a MemoryError the estimate missed is called.
NO_MEMORY = "not enough memory to render it"


class AudioTooLong(EvodrumError):
    """A render whose audio alone would take more memory than one job may use (or a
    MemoryError while rendering); the message names neither the file nor what to change:
    the command adds both (`of`), in its own options."""

    @classmethod
    def of(cls, source, error: Exception, *smaller: str) -> EvodrumError:
        """The one-line error for `source` (a file, a loop) when rendering it raised
        `error` (an AudioTooLong, or a MemoryError where the estimate fell short), with
        what would make the render smaller: the options of the command that rendered it
        ("a lower --sample-rate", ...)."""
        what = NO_MEMORY if isinstance(error, MemoryError) else str(error)
        if not smaller:
            return EvodrumError(f"{source}: {what}")
        advice = smaller[0] if len(smaller) == 1 else \
            f"{', '.join(smaller[:-1])} or {smaller[-1]}"
        return EvodrumError(f"{source}: {what}: give {advice}")


def check_memory(frames: int, channels: int, sr: int, overhang: int = 0) -> None:
    """AudioTooLong, before anything is rendered, when a render of `frames` (and
    `overhang` frames of decays past its end) would need more than
    `memory.memory_limit()`: it holds its float32 audio once, and a few MB besides."""
    need, limit = 4 * (frames + overhang) * channels, memory.memory_limit()
    if need > limit:
        raise AudioTooLong(
            f"a {frames / sr:,.0f} s render at {sr} Hz would need {_size(need)} of memory, "
            f"more than the {_size(limit)} a render may use here (half this machine's "
            f"memory)")


def _size(size: int) -> str:
    """Bytes in GB (or MB below one GB), as a person reads them."""
    return f"{size / 2**30:.1f} GB" if size >= 2**30 else f"{size / 2**20:.0f} MB"


def velocity_gain(velocity: np.ndarray) -> np.ndarray:
    """Amplitude for grid velocities: the General MIDI curve, 40 log10(v) dB = v**2."""
    return np.square(velocity, dtype=np.float32)


def soft_limit(x: np.ndarray, knee: float = LIMIT_KNEE, copy: bool = True) -> np.ndarray:
    """Identity below `knee`, a tanh bend above it so dense loops never clip past +-1.

    Works sample by sample on any shape: mono (n,) or multichannel (n, channels),
    CHUNK samples at a time; copy=False bends float32 `x` itself (no second buffer).
    """
    out = np.array(x, dtype=np.float32) if copy else x
    for start in range(0, len(out), CHUNK):
        part = out[start:start + CHUNK]
        loud = np.abs(part) > knee
        mag = np.abs(part[loud])
        part[loud] = np.sign(part[loud]) * (knee + (1 - knee) * np.tanh((mag - knee) / (1 - knee)))
    return out


@dataclass(frozen=True)
class _Layout:
    """Everything about a render that depends on (sr, n, S, tail) but not on the grid."""

    rows: np.ndarray      # (K,) voice of each lag column
    src: np.ndarray       # (B, K) step index (mod S) heard by block b through column k
    weight: np.ndarray    # (B, K, 2) 1 where that hit is audible with offset delta
    chunks: np.ndarray    # (D / SLICE, 2K, SLICE) voice slices per (column, delta)
    starts: np.ndarray    # (B + 1,) sample where each block starts, then the length
    hit_end: np.ndarray   # (N_ROWS, S) sample where each hit's one-shot ends ("ring")


@lru_cache(maxsize=8)
def _layout(sr: int, n: int, steps: int, tail: str) -> _Layout:
    """Cut the voices into lag chunks and index the blocks (cached per tempo and rate)."""
    shots = one_shots(sr)
    lengths = np.array([s.size for s in shots])
    width = -(-n // steps // SLICE) * SLICE                  # D: longest block, padded
    n_lags = lengths * steps // n + 2                        # lags a voice lasts, +1 rounding
    rows = np.repeat(np.arange(N_ROWS), n_lags)
    lag = np.arange(rows.size) - np.repeat(np.cumsum(n_lags) - n_lags, n_lags)
    base = lag * n // steps

    flat = np.concatenate([*shots, np.zeros(1, np.float32)])
    offsets = np.cumsum(lengths) - lengths
    idx = base[:, None, None] + np.arange(2)[None, :, None] + np.arange(width)
    inside = idx < lengths[rows][:, None, None]
    chunks = flat[np.where(inside, offsets[rows][:, None, None] + idx, flat.size - 1)]

    n_blocks = steps + (int(n_lags.max()) if tail == "ring" else 0)
    block = np.arange(n_blocks)[:, None]
    src = block - lag
    delta = block * n // steps - src * n // steps - base
    if tail == "wrap":  # hits of earlier passes ring on into this one
        audible = np.ones(src.shape, bool)
    else:               # only this pass's hits; src % steps below is then masked out
        audible = (src >= 0) & (src < steps)
    weight = np.stack([audible & (delta == 0), audible & (delta == 1)], axis=-1)

    starts = np.arange(n_blocks + 1) * n // steps
    hit_end = starts[None, :steps] + lengths[:, None]
    sliced = chunks.reshape(-1, width // SLICE, SLICE).transpose(1, 0, 2)
    return _Layout(rows, src % steps, weight.astype(np.float32),
                   np.ascontiguousarray(sliced), starts, hit_end)


def render(grid, spec: GridSpec = DEFAULT_SPEC, bpm: float = 120.0,
           sr: int = DEFAULT_SR, tail: str = "wrap") -> np.ndarray:
    """Mono float32 audio of one loop at `bpm`: a Loop (its own spec, hits at their
    performed times) or a (9, S) grid of `spec` (played straight).

    Length is exactly loop_samples(spec, bpm, sr) unless tail="ring", which
    lets the last decays finish. Silent grids give exact zeros.
    """
    if tail not in TAILS:
        raise ValueError(f"tail must be one of {', '.join(TAILS)}, got {tail!r}")
    loop = as_loop(grid, spec)
    if loop.is_batch:
        raise ValueError("render one loop at a time, not a batch")
    n = loop_samples(loop.spec, bpm, sr)
    longest = max(shot.size for shot in one_shots(int(sr)))
    check_memory(n, 1, int(sr), longest if tail == "ring" or loop.offsets.any() else 0)
    if loop.offsets.any():
        return soft_limit(performed(loop, n, int(sr), tail), copy=False)
    gains = velocity_gain(loop.velocities)
    lay = _layout(int(sr), n, loop.spec.steps, tail)
    heard = gains[lay.rows, lay.src][:, :, None] * lay.weight
    audio = _blocks(heard.reshape(heard.shape[0], -1), lay)
    if tail == "ring":
        hits = gains > 0
        end = max(lay.hit_end[hits].max(initial=0), n)
        audio = audio[:end]
    return soft_limit(audio, copy=False)


def _blocks(heard: np.ndarray, lay: _Layout) -> np.ndarray:
    """The audio of every block, heard (B, 2K) @ chunks, laid end to end: each block
    keeps the first columns of its row, as many as it has samples. A long render's
    batched product is taken a few column slices at a time (each slice's GEMM is the
    same whichever slices go with it, so the audio is the same to the bit) and put in
    place; a loop's is one product whose kept columns are the audio."""
    sizes = np.diff(lay.starts)
    at_once = max(1, PRODUCT_SAMPLES // (len(heard) * SLICE))
    audio = None
    for first in range(0, lay.chunks.shape[0], at_once):
        product = np.matmul(heard, lay.chunks[first:first + at_once])  # (slices, B, SLICE)
        within = first * SLICE + np.arange(product.shape[0] * SLICE)   # columns' sample in a block
        keep = within < sizes[:, None]
        kept = product.transpose(1, 0, 2).reshape(len(heard), -1)[keep]
        if at_once >= lay.chunks.shape[0]:
            return kept
        if audio is None:
            audio = np.empty(int(lay.starts[-1]), np.float32)
        audio[(lay.starts[:-1, None] + within)[keep]] = kept
    return audio


def performed(loop: Loop, n: int, sr: int, tail: str) -> np.ndarray:
    """Unlimited float32 audio of one loop of `n` samples, each hit's one-shot starting
    at its performed sample (`Performance.samples`).

    Each hit is one vectorised add of its scaled one-shot: a single scatter over every
    sample of every hit moved ten times more memory (700 ms against 10 ms for a loop
    with 115 hits on a busy machine)."""
    shots = one_shots(sr)
    played = loop.perform()
    starts = played.samples(n)
    gains = velocity_gain(played.velocities)
    ends = starts + np.array([shots[r].size for r in played.rows], dtype=np.int64)
    out = np.zeros(max(n, int(ends.max(initial=0))), np.float32)
    for row, start, end, gain in zip(played.rows, starts, ends, gains):
        out[start:end] += gain * shots[row]
    if tail == "ring":
        return out
    if tail == "wrap":  # decays past the end ring on into the next pass
        fold(out, n)
    return out[:n]


def fold(audio: np.ndarray, n: int) -> np.ndarray:
    """Add each further pass of `audio` (n frames each, the last maybe shorter) onto its
    first pass, in place, in order; returns that first pass (`audio[:n]`)."""
    head = audio[:n]
    for start in range(n, len(audio), n):
        rest = audio[start:start + n]
        head[:len(rest)] += rest
    return head
