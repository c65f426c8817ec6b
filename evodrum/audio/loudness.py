"""Loudness of a rendered loop (ITU-R BS.1770 integrated loudness, in LUFS) and
normalisation to a common level, so auditions are judged on the groove, not the volume.

Plain RMS over-weights the kick; BS.1770's K-weighting (a high shelf for the
head, a high-pass for the ear's bass roll-off) and its two gates (absolute
-70 LUFS, then 10 LU below the ungated mean) are the broadcast standard, and
what a DAW's loudness meter shows. Everything is vectorised over the blocks.
With the `loudness` extra, pyloudnorm (an independent BS.1770-4 implementation)
measures every render of up to PYLOUDNORM_FRAMES (47.6 s at 44.1 kHz) instead; without
it, and for longer renders, the meter here does (they agree within 0.1 LU, tested).

Normalised audio also keeps its true peak (BS.1770-4 Annex 2: the peak of the signal
oversampled 4x, which is what a DAC's reconstruction reaches between samples) at or
below CEILING_DBTP, by a look-ahead limiter that only turns down the few milliseconds
around a peak, so every render sits at one loudness without clipping anywhere.
A render is measured once: a gain moves its loudness by exactly its dB unless it
carries a block across the -70 LUFS gate, so normalise measures again only then or
when the limiter turned a peak down.

Long renders (a whole 64-bar file at a slow tempo and a high rate) are read a CHUNK of
frames at a time, in float64 only per chunk: filters carry their state across chunks,
blocks and stretches are summed exactly as over the whole signal, and the limiter's
dips are kept sparse, so the figures are the one-buffer ones to the bit and the
working memory beyond the audio itself stays a few tens of MB. pyloudnorm measures a
whole float64 copy, so renders longer than PYLOUDNORM_FRAMES are measured by the meter
here even when it is installed: within 0.1 LU of pyloudnorm's figure (tested).
"""
from __future__ import annotations

from functools import lru_cache, reduce

import numpy as np

#: Level every audition is brought to (EBU R128 streaming practice sits near -14 to -23).
TARGET_LUFS = -20.0
#: A nearly silent loop is lifted by at most this much, so one soft hit never roars.
MAX_GAIN_DB = 24.0
BLOCK_SECONDS, BLOCK_OVERLAP = 0.4, 0.75
ABSOLUTE_GATE, RELATIVE_GATE = -70.0, -10.0
SILENCE = -120.0
#: True peaks of normalised audio stay at or below this (dBTP; streaming services ask -1).
CEILING_DBTP = -1.0
#: True-peak oversampling (BS.1770-4 Annex 2 asks 4x at 48 kHz).
OVERSAMPLE = 4
#: The limiter starts turning down this long before a peak and lets go as slowly.
LOOKAHEAD_SECONDS = 0.002
#: Frames read at once (float64: 4 MB a channel): 11.9 s at 44.1 kHz, so a 4-bar loop
#: at 81 BPM or faster is one chunk.
CHUNK = 1 << 19
#: Renders up to this long are measured by pyloudnorm (when installed), whole, through its
#: public meter; longer ones by evodrum's own meter a chunk at a time (within 0.1 LU).
#: 2^21 frames (47.6 s at 44.1 kHz, 43.7 s at 48 kHz: a 4-bar loop down to 22 BPM, an
#: 8-bar one down to 44) keep pyloudnorm's float64 copies at 125 MB in stereo at most.
PYLOUDNORM_FRAMES = 4 * CHUNK


class Scaled:
    """Float64 audio read a chunk at a time without a float64 copy of the whole:
    `audio` (mono or (samples, channels)) times `gain` (None: as it is), then each of
    `dips` (sorted sample indices, gains) in turn, as `x * gain` and `x[where] *= dip`
    over the whole array give them."""

    def __init__(self, audio, gain: float | None = None, dips: tuple = ()):
        self.audio = audio.audio if isinstance(audio, Scaled) else np.asarray(audio)
        self.gain, self.dips = gain, dips

    def __len__(self) -> int:
        return len(self.audio)

    @property
    def ndim(self) -> int:
        return self.audio.ndim

    def scaled(self, gain: float) -> Scaled:
        """The audio (before any dips) times `gain`."""
        return Scaled(self.audio, gain)

    def dipped(self, where: np.ndarray, gain: np.ndarray) -> Scaled:
        """These values with `gain` applied at the samples `where` (distinct indices)."""
        order = np.argsort(where)
        return Scaled(self.audio, self.gain, (*self.dips, (where[order], gain[order])))

    def chunk(self, start: int, stop: int) -> np.ndarray:
        """The float64 values of frames [start, stop)."""
        x = np.array(self.audio[start:stop], dtype=np.float64)    # a copy: dips change it
        if self.gain is not None:
            x = x * self.gain
        for where, gain in self.dips:
            lo, hi = np.searchsorted(where, (start, stop))
            dip = gain[lo:hi] if x.ndim == 1 else gain[lo:hi, None]
            x[where[lo:hi] - start] *= dip
        return x

    def chunks(self, bounds=None):
        """(start, values) for every CHUNK of frames, or between the given bounds."""
        if bounds is None:
            bounds = chunk_bounds(len(self))
        for start, stop in zip(bounds[:-1], bounds[1:]):
            yield int(start), self.chunk(int(start), int(stop))

    def at(self, index: np.ndarray) -> np.ndarray:
        """The float64 values at the sorted frame indices `index`."""
        x = np.asarray(self.audio[index], dtype=np.float64)
        if self.gain is not None:
            x = x * self.gain
        for where, gain in self.dips:
            pos = np.searchsorted(index, where)
            hit = pos < index.size
            hit[hit] = index[pos[hit]] == where[hit]
            x[pos[hit]] *= gain[hit] if x.ndim == 1 else gain[hit, None]
        return x

    def into(self, out: np.ndarray) -> np.ndarray:
        """Write these values into `out` (float32, the audio's shape), a chunk at a time."""
        for start, x in self.chunks():
            out[start:start + len(x)] = x
        return out


def chunk_bounds(n: int) -> np.ndarray:
    """0, CHUNK, 2 CHUNK, ..., n: where the chunks of `n` frames start and end."""
    return np.r_[np.arange(0, n, CHUNK), n] if n else np.zeros(1, np.int64)


def _edge_bounds(edges: np.ndarray) -> np.ndarray:
    """Chunk bounds on the sorted `edges` (a stretch between two edges is never cut):
    from edges[0], each the last edge at most CHUNK past the one before."""
    size, bounds = CHUNK, [0]
    while bounds[-1] < len(edges) - 1:
        here = bounds[-1]
        last = int(np.searchsorted(edges, edges[here] + size, side="right")) - 1
        bounds.append(max(last, here + 1))
    return edges[bounds]


def _signal(audio) -> Scaled:
    return audio if isinstance(audio, Scaled) else Scaled(audio)


def _any(x: Scaled) -> bool:
    return any(np.any(chunk) for _, chunk in x.chunks())


def _peak(x: Scaled) -> float:
    """The largest sample magnitude."""
    return max((float(np.abs(chunk).max(initial=0)) for _, chunk in x.chunks()), default=0.0)


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


def lufs(audio, sr: int) -> float:
    """Integrated loudness of mono or (samples, channels) audio (or a `Scaled`) in LUFS
    (SILENCE if silent): pyloudnorm's meter when it is installed and the render is at most
    PYLOUDNORM_FRAMES long, else `bs1770`."""
    x = _signal(audio)
    pyloudnorm = _pyloudnorm() if len(x) <= PYLOUDNORM_FRAMES else None
    if pyloudnorm is None:
        return bs1770(x, sr)
    if len(x) < int(round(BLOCK_SECONDS * sr)) or not _any(x):
        return SILENCE
    with np.errstate(divide="ignore", invalid="ignore"):
        level = pyloudnorm.Meter(sr).integrated_loudness(x.chunk(0, len(x)))
    return float(level) if np.isfinite(level) and level > SILENCE else SILENCE


def _pyloudnorm():
    """The pyloudnorm module (the `loudness` extra), or None without it."""
    try:
        import pyloudnorm
    except ImportError:
        return None
    return pyloudnorm


def bs1770(audio: np.ndarray, sr: int) -> float:
    """Integrated loudness (LUFS) by evodrum's own BS.1770 meter, vectorised over blocks."""
    blocks = block_loudness(audio, sr)
    return SILENCE if blocks is None else gated(blocks)


def block_loudness(audio, sr: int) -> np.ndarray | None:
    """The K-weighted loudness (LUFS, -inf where silent) of each 400 ms block, 75%
    overlapped, as BS.1770 gates them; None for audio shorter than one block.

    Read a chunk at a time: the filters carry their state from chunk to chunk and
    chunks end on block edges, so each stretch between two edges is summed whole."""
    x = _signal(audio)
    from scipy import signal      # imported here: 1 s of CPU the studio's start-up skips
    sos = np.stack([np.concatenate([b, a]) for b, a in _k_weighting(sr)])
    size = int(round(BLOCK_SECONDS * sr))
    if len(x) < size:
        return None
    hop = int(round(size * (1 - BLOCK_OVERLAP)))
    starts = np.arange(0, len(x) - size + 1, hop)
    # blocks overlap: sum the stretches between block edges once (a few dozen sums,
    # not a running sum over every sample), then each block is a few of those
    edges, where = np.unique(np.concatenate([starts, starts + size]), return_inverse=True)
    bounds = _edge_bounds(edges)
    state, stretches = None, []
    for start, chunk in x.chunks(bounds):
        channels = np.ascontiguousarray((chunk[:, None] if chunk.ndim == 1 else chunk).T)
        if state is None:
            state = np.zeros((sos.shape[0], channels.shape[0], 2))
        y, state = signal.sosfilt(sos, channels, axis=-1, zi=state)
        power = np.einsum("cn,cn->n", y, y)
        inside = edges[(edges >= start) & (edges < start + len(chunk))]
        stretches.append(np.add.reduceat(power, inside - start))
    cumulative = np.concatenate([[0.0], np.cumsum(np.concatenate(stretches))])
    block = (cumulative[where[starts.size:]] - cumulative[where[:starts.size]]) / size
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(np.maximum(block, 0.0))


def gated(blocks: np.ndarray) -> float:
    """Integrated loudness (LUFS) of `block_loudness`'s blocks through BS.1770's two
    gates (SILENCE when none passes)."""
    power = 10 ** ((blocks + 0.691) / 10)
    loud = blocks > ABSOLUTE_GATE
    if not loud.any():
        return SILENCE
    relative = -0.691 + 10 * np.log10(power[loud].mean()) + RELATIVE_GATE
    return float(-0.691 + 10 * np.log10(power[loud & (blocks > relative)].mean()))


def rms_db(audio: np.ndarray) -> float:
    """Plain RMS level in dBFS (what the issue's 12 dB spread was measured with)."""
    rms = float(np.sqrt(np.mean(np.square(np.asarray(audio, dtype=np.float64)))))
    return 20 * np.log10(rms) if rms > 0 else SILENCE


def gain_db(audio: np.ndarray, sr: int, target: float = TARGET_LUFS) -> float:
    """The gain (dB) that brings `audio` to `target` LUFS, at most MAX_GAIN_DB; 0 if silent."""
    return _gain_to(lufs(audio, sr), target)


def _gain_to(level: float, target: float) -> float:
    return 0.0 if level <= SILENCE else float(min(MAX_GAIN_DB, target - level))


def true_peak_db(audio, sr: int | None = None) -> float:
    """True peak in dBTP: the largest magnitude of the audio oversampled OVERSAMPLE times."""
    x = _signal(audio)
    top = _peak(x)
    if top == 0:
        return SILENCE
    # the true peak is at least the sample peak (phase 0 of the oversampled signal is
    # the signal), so only samples that could come within 1% of it are oversampled
    return float(20 * np.log10(max(top, _true_peaks(x, 0.99 * top)[1].max(initial=0))))


#: Input samples on either side of a sample that its oversampled values depend on:
#: resample_poly's filter has 20 * OVERSAMPLE + 1 taps (10 input samples a side), plus
#: a margin.
_REACH = 12


@lru_cache(maxsize=None)
def _interpolator() -> np.ndarray:
    """The low-pass that resample_poly designs for OVERSAMPLE x (20 * OVERSAMPLE + 1
    taps, Kaiser window), designed once: handed to it, it gives the same values."""
    from scipy import signal
    taps = signal.firwin(20 * OVERSAMPLE + 1, 1 / OVERSAMPLE, window=("kaiser", 5.0))
    taps.flags.writeable = False       # shared by every call (resample_poly copies it)
    return taps


@lru_cache(maxsize=None)
def _overshoot() -> float:
    """How far an oversampled value can exceed the largest input sample within _REACH
    of it: the largest sum of |taps| over the phases of resample_poly's filter."""
    taps = OVERSAMPLE * _interpolator()
    return float(max(np.abs(taps[p::OVERSAMPLE]).sum() for p in range(OVERSAMPLE)))


def _around(seeds: np.ndarray, reach: int, n: int) -> np.ndarray:
    """Sorted indices of the samples (of `n`) within `reach` of any of the sorted
    `seeds`: each run of seeds closer than 2 * reach + 1 apart becomes one span."""
    breaks = np.flatnonzero(np.diff(seeds) > 2 * reach + 1)
    first = np.maximum(seeds[np.r_[0, breaks + 1]] - reach, 0)
    end = np.minimum(seeds[np.r_[breaks, seeds.size - 1]] + reach + 1, n)
    lengths = end - first
    return np.arange(lengths.sum()) + np.repeat(first - (np.cumsum(lengths) - lengths),
                                                lengths)


def _true_peaks(audio, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """(sorted frame indices, true peaks there) of the samples whose true peak (their
    largest oversampled magnitude over the channels) exceeds `floor`, each exactly the
    value oversampling the whole signal gives; every other sample's magnitude is at
    most `floor`.

    Oversampling costs a filter pass over every sample; a sample whose neighbours are
    all quiet cannot overshoot, so only the stretches around loud samples (a few
    percent of a drum loop) are oversampled, with their neighbours as context: the
    values there are the ones oversampling the whole signal gives. The loud samples
    are found from the few that could overshoot (a sparse index, not a filter over
    the whole signal), a chunk at a time."""
    x = _signal(audio)
    n, found = len(x), []
    for start, chunk in x.chunks():
        # maxima over short axes by np.maximum of their columns: .max(axis=1) is 30x slower
        magnitude = np.abs(chunk) if chunk.ndim == 1 else reduce(np.maximum, np.abs(chunk.T))
        seeds = start + np.flatnonzero(magnitude * _overshoot() > floor)
        if seeds.size:
            loud, peaks = _oversampled(x, seeds, n)
            found.append((loud[peaks > floor], peaks[peaks > floor]))
    if not found:
        return np.zeros(0, np.int64), np.zeros(0)
    loud, peaks = (np.concatenate(parts) for parts in zip(*found))
    loud, first = np.unique(loud, return_index=True)   # a chunk's stretch may reach the next
    return loud, peaks[first]


def _oversampled(x: Scaled, seeds: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(samples within _REACH of `seeds`, their true peaks) by oversampling only the
    stretches around them."""
    from scipy import signal
    loud = _around(seeds, _REACH, n)          # could overshoot the floor
    stretch = _around(seeds, 2 * _REACH, n)   # their neighbours within _REACH
    # stretches laid end to end: a loud sample's neighbours within _REACH are all in
    # its own stretch, or it is at the signal's edge, as in the whole signal
    up = signal.resample_poly(x.at(stretch), OVERSAMPLE, 1, axis=0, window=_interpolator())
    peaks = reduce(np.maximum, np.abs(up).reshape(stretch.size, -1).T)   # phases, channels
    return loud, peaks[np.searchsorted(stretch, loud)]


def limit(audio: np.ndarray, sr: int, ceiling_db: float = CEILING_DBTP) -> np.ndarray:
    """`audio` with its true peaks at or below `ceiling_db`: a gain that dips around
    each peak (reached LOOKAHEAD_SECONDS ahead, released as slowly), the rest untouched;
    the envelope wraps around the ends, as loops play seamlessly."""
    x = np.asarray(audio, dtype=np.float64)
    return _limit(Scaled(x), sr, ceiling_db)[0].into(np.empty_like(x))


def _limit(x: Scaled, sr: int, ceiling_db: float) -> tuple[Scaled, bool]:
    """`limit` of `x`, and whether it turned anything down (if not, `x` itself)."""
    x = _signal(x)
    ceiling = 10 ** (ceiling_db / 20)
    width = max(1, int(LOOKAHEAD_SECONDS * sr))
    limited = False
    for _ in range(4):      # the envelope leaves a sliver between samples: check again
        # below 0.995 of the ceiling a peak needs no turning down: only those above
        # are measured exactly
        loud, peaks = _true_peaks(x, ceiling * 0.995)
        if peaks.max(initial=0) <= ceiling:
            break
        x = x.dipped(*_dips(loud, peaks, len(x), ceiling * 0.995, width))
        limited = True
    return x, limited


def _dips(loud: np.ndarray, peaks: np.ndarray, n: int, floor: float,
          width: int) -> tuple[np.ndarray, np.ndarray]:
    """The limiter's gain around the true `peaks` at samples `loud` (of `n`) over
    `floor`, as (sample indices, gains); 1 everywhere else. Each sample needs floor /
    its true peak (at most 1); the gain is the least need within `width` samples
    (reached that far ahead, held as long), smoothed over width + 1 samples, wrapping
    around the ends.

    Only the stretches around those peaks are filtered (a filter over the whole loop
    costs more than the rest of a limiter pass), laid end to end from the middle of
    the widest gap between them so none wraps; each keeps `reach` samples of need 1
    on either side, more than both filters see, so its gains are the whole loop's."""
    from scipy import ndimage
    above = peaks > floor
    over, need = loud[above], np.minimum(1.0, floor / peaks[above])
    over, need = over[need < 1], need[need < 1]
    reach = 2 * (width + (width + 1) // 2) + 1
    gaps = np.diff(over, append=over[0] + n)      # to the next peak, around the loop
    widest = int(gaps.argmax())
    if gaps[widest] > 2 * reach + 1:
        start = over[widest] + gaps[widest] // 2
        over, need = (np.roll(over, -widest - 1) - start) % n, np.roll(need, -widest - 1)
        where, mode = _around(over, reach, n), "constant"
    else:                                         # peaks all over the loop: all of it
        start, where, mode = 0, np.arange(n), "wrap"
    local = np.ones(where.size)
    local[np.searchsorted(where, over)] = need
    local = ndimage.minimum_filter1d(local, 2 * width + 1, mode=mode, cval=1.0)
    return (where + start) % n, ndimage.uniform_filter1d(local, width + 1, mode=mode,
                                                         cval=1.0)


#: Meters disagree by up to ~0.1 LU (pyloudnorm's filter design against the standard's):
#: a block this close to the absolute gate may fall on either side of it in another meter.
GATE_MARGIN = 1.0


def normalise(audio: np.ndarray, sr: int, target: float = TARGET_LUFS,
              ceiling_db: float = CEILING_DBTP, remeasure: bool = False,
              out: np.ndarray | None = None) -> np.ndarray:
    """`audio` at `target` LUFS with true peaks at or below `ceiling_db` dBTP (see
    `limit`); what limiting takes off is measured and given back (twice at most).
    Float32, written into `out` when given (it may be `audio` itself: a long render
    then needs no second buffer).

    The render is measured once: a gain moves BS.1770 loudness by its dB (the filters
    are linear, the blocks' powers scale together and the relative gate moves with
    them), unless it carries a block across the fixed -70 LUFS gate, which changes
    which blocks are averaged. So the level is measured again only when the limiter
    turned a peak down or some block lies within the gain (plus GATE_MARGIN) of that
    gate; most loops at -20 LUFS need neither. `remeasure`: measure after every
    limiter pass regardless (the rule before; what tests compare against)."""
    x = Scaled(audio)
    # evodrum's own meter reads the level off the blocks the gate check needs as well;
    # beside pyloudnorm they are measured only if the gate check is reached
    own = not remeasure and (len(x) > PYLOUDNORM_FRAMES or _pyloudnorm() is None)
    blocks = block_loudness(x, sr) if own else None
    level = gated(blocks) if blocks is not None else lufs(x, sr)
    first_gain = gain = _gain_to(level, target)
    shifts_exactly = None              # whether first_gain keeps every block's side
    result = x
    for _ in range(3):
        result, limited = _limit(x.scaled(10 ** (gain / 20)), sr, ceiling_db)
        if gain >= MAX_GAIN_DB:
            break
        if not limited and not remeasure:
            if shifts_exactly is None:
                shifts_exactly = _gate_stays(blocks if own else block_loudness(x, sr),
                                             first_gain)
            if shifts_exactly:
                break
        level = lufs(result, sr)
        short = target - level
        if abs(short) < 0.05 or level <= SILENCE:
            break
        gain = min(MAX_GAIN_DB, gain + short)
    return result.into(np.empty(x.audio.shape, np.float32) if out is None else out)


def _gate_stays(blocks: np.ndarray | None, gain: float) -> bool:
    """Whether a gain of `gain` dB leaves every block (`block_loudness`; None: audio
    shorter than one) on its side of the absolute gate, with GATE_MARGIN to spare (then
    the level moves by exactly the gain)."""
    if blocks is None:
        return True
    near = np.abs(blocks - ABSOLUTE_GATE) < abs(gain) + GATE_MARGIN
    return not near.any()
