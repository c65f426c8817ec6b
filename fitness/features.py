"""One-way rhythm features of drum grids: density, syncopation (Longuet-Higgins &
Lee), symmetry and WNBD, each at three levels (hats, kick_snare, all).

The definitions are this project's (Eigenfeldt & Pasquier name the features but
publish no formulas), built on published measures; /work/shared/FEATURES.md gives
them with a reference table. Every function works on a whole batch at once
(vectorised over loops, levels and steps) because searches score populations.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from evodrum.grid import DEFAULT_SPEC, GridSpec, check_grids, onsets
from evodrum.kit import ROWS

#: Levels: the rows merged into one onset stream each.
LEVELS: dict[str, tuple[str, ...]] = {
    "hats": ("CH", "OH"),
    "kick_snare": ("BD", "SD"),
    "all": ROWS,
}
#: Features measured at every level; all are in [0, 1] as returned by `compute`.
FEATURES: tuple[str, ...] = ("density", "syncopation", "symmetry", "wnbd")
#: Full feature names, LEVEL.FEATURE, in the order `feature_matrix` uses.
FEATURE_NAMES: tuple[str, ...] = tuple(f"{lv}.{f}" for lv in LEVELS for f in FEATURES)

#: The level a bare feature name means: what a drummer means by the word. Syncopation
#: and off-beat distance (wnbd) are the kick & snare's: hats usually fill every
#: off-beat, so at level `all` syncopation is 0 in most grooves (all six example loops).
#: Density and symmetry are the whole kit's: how busy the beat is, how much it repeats.
BARE_LEVEL: dict[str, str] = {"density": "all", "syncopation": "kick_snare",
                              "symmetry": "all", "wnbd": "kick_snare"}
#: Words for each level and feature on screen (sliders, tables).
LEVEL_WORDS = {"hats": "hi-hat", "kick_snare": "kick & snare", "all": "whole-kit"}
FEATURE_WORDS = {"density": "density", "syncopation": "syncopation",
                 "symmetry": "repetition", "wnbd": "off-beat distance"}
#: What each feature measures, in a line.
FEATURE_ABOUT = {
    "density": "how busy: the share of steps with a hit",
    "syncopation": "hits that anticipate a stronger beat left empty (Longuet-Higgins & Lee)",
    "symmetry": "symmetry: how much of the loop's second half repeats its first half",
    "wnbd": "WNBD (weighted note-to-beat distance): how far hits sit from the nearest beat",
}


def full_name(name: str) -> str:
    """LEVEL.FEATURE for a name as typed: a bare feature gets the level in BARE_LEVEL."""
    name = name.strip()
    return name if "." in name else f"{BARE_LEVEL.get(name, 'all')}.{name}"


def plain_name(name: str) -> str:
    """'kick_snare.syncopation' -> 'kick & snare syncopation' (other names unchanged)."""
    level, _, feature = full_name(name).partition(".")
    if level in LEVEL_WORDS and feature in FEATURE_WORDS:
        return f"{LEVEL_WORDS[level]} {FEATURE_WORDS[feature]}"
    return name


def about(name: str) -> str:
    """A tooltip line: the full feature name and what it measures."""
    full = full_name(name)
    feature = full.partition(".")[2]
    level = full.partition(".")[0]
    rows = "+".join(LEVELS[level]) if level in LEVELS else level
    return f"{full} ({rows}): {FEATURE_ABOUT.get(feature, '')}"

_LEVEL_ROWS = [np.array([ROWS.index(r) for r in rows]) for rows in LEVELS.values()]


def level_streams(grids: np.ndarray, spec: GridSpec = DEFAULT_SPEC,
                  levels: tuple[str, ...] = tuple(LEVELS)) -> np.ndarray:
    """Merged onset streams (N, len(levels), S), one per level: a step is on if any row
    of the level hits."""
    on = onsets(check_grids(grids, spec))
    return np.stack([on[:, _LEVEL_ROWS[list(LEVELS).index(lv)]].any(axis=1) for lv in levels],
                    axis=1)


def density(streams: np.ndarray) -> np.ndarray:
    """Fraction of steps with an onset, over the last axis."""
    return streams.mean(axis=-1, dtype=np.float32)


def symmetry(streams: np.ndarray) -> np.ndarray:
    """Share of onsets repeated half a loop later: 2 * |first half AND second half| / onsets.

    1.0 when the second half repeats the first, and for an empty stream. With an
    odd number of steps the middle step has no partner.
    """
    half = streams.shape[-1] // 2
    both = (streams[..., :half] & streams[..., half:2 * half]).sum(axis=-1)
    total = streams.sum(axis=-1)
    return np.where(total > 0, 2 * both / np.maximum(total, 1), 1.0).astype(np.float32)


def _prime_factors(n: int) -> list[int]:
    factors, p = [], 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    return factors


@lru_cache(maxsize=None)
def metrical_levels(spec: GridSpec) -> tuple[int, ...]:
    """Segment lengths of the metrical tree, bar first, down to one step.

    The bar splits by the prime factors of beats_per_bar, then each beat by those
    of steps_per_beat, smallest first: 4/4 sixteenths give 16, 8, 4, 2, 1 (bar,
    half bar, beat, eighth, sixteenth); the paper's eighths give 8, 4, 2, 1.
    """
    sizes = [spec.steps_per_bar]
    for f in _prime_factors(spec.beats_per_bar) + _prime_factors(spec.steps_per_beat):
        sizes.append(sizes[-1] // f)
    return tuple(sizes)


@lru_cache(maxsize=None)
def metrical_weights(spec: GridSpec) -> np.ndarray:
    """Weight of each step of a bar: minus the depth of the first tree level it starts.

    For a 16-step 4/4 bar: [0,-4,-3,-4,-2,-4,-3,-4,-1,-4,-3,-4,-2,-4,-3,-4].
    """
    sizes = np.array(metrical_levels(spec))
    steps = np.arange(spec.steps_per_bar)
    weights = -np.argmax(steps[:, None] % sizes[None, :] == 0, axis=1)
    weights.flags.writeable = False
    return weights


def _rest_leaves(streams: np.ndarray, spec: GridSpec) -> np.ndarray:
    """Mask of steps that start a rest leaf of the LHL tree.

    A segment is leaf-like when it holds no onset, or one onset on its first step;
    leaf-likeness passes to sub-segments, so a leaf is a leaf-like segment whose
    parent is not. Vectorised over everything but the (few) tree levels.
    """
    steps = streams.shape[-1]
    lead = streams.shape[:-1]
    counts = np.zeros((*lead, steps + 1), dtype=np.int16)
    np.cumsum(streams, axis=-1, out=counts[..., 1:])
    rest = np.zeros(streams.shape, dtype=bool)
    parent_leaf, parent_size = None, None
    for size in metrical_levels(spec):
        n = counts[..., size::size] - counts[..., :-1:size]
        leaf_like = (n == 0) | ((n == 1) & streams[..., ::size])
        is_leaf = leaf_like
        if parent_leaf is not None:
            is_leaf = leaf_like & ~np.repeat(parent_leaf, parent_size // size, axis=-1)
        rest[..., ::size] |= is_leaf & (n == 0)
        parent_leaf, parent_size = leaf_like, size
    return rest


def _previous_onset(streams: np.ndarray) -> np.ndarray:
    """Index of the latest onset strictly before each step, cyclically (-1 if the stream is empty)."""
    steps = streams.shape[-1]
    idx = np.where(streams, np.arange(steps, dtype=np.int16), np.int16(-1))
    last = np.maximum.accumulate(idx, axis=-1)
    prev = np.empty_like(last)
    prev[..., 0] = -1
    prev[..., 1:] = last[..., :-1]
    return np.where(prev < 0, last[..., -1:], prev)


def lhl_scores(streams: np.ndarray, spec: GridSpec = DEFAULT_SPEC) -> np.ndarray:
    """Longuet-Higgins & Lee syncopation score of each bar, (..., bars), cyclic.

    Each rest leaf R scores w(R) - w(N) when positive, N being the latest note
    before it (across bar lines, wrapping from the loop's end); empty streams score 0.
    """
    weights = np.tile(metrical_weights(spec), spec.bars).astype(np.int8)
    prev = _previous_onset(streams)
    gain = weights - np.take(weights, prev)
    hits = _rest_leaves(streams, spec) & (prev >= 0) & (gain > 0)
    per_step = (gain * hits).reshape(*streams.shape[:-1], spec.bars, spec.steps_per_bar)
    return per_step.sum(axis=-1, dtype=np.int32)


@lru_cache(maxsize=None)
def max_lhl_score(spec: GridSpec) -> int:
    """The largest LHL score one bar can reach, whatever note precedes it (15 for 16 steps).

    Dynamic programme over the metrical tree: a segment is a rest leaf, a note
    leaf, or split into children whose content is not leaf-like (a leaf-like
    segment is never split). Tracks the latest note weight through the bar.
    """
    sizes = metrical_levels(spec)
    depth = len(sizes) - 1

    @lru_cache(maxsize=None)
    def segment(level: int, w: int, prev: int) -> dict[tuple[int, str], int]:
        """Best score per (latest note weight after, kind) for a segment starting at weight w."""
        best = {(prev, "rest"): max(w - prev, 0), (w, "note"): 0}
        if level == depth:
            return best
        states = {(prev, None): 0}
        for i in range(sizes[level] // sizes[level + 1]):
            child_w = w if i == 0 else -(level + 1)
            nxt: dict[tuple[int, str], int] = {}
            for (p, kind), score in states.items():
                for (q, child_kind), child_score in segment(level + 1, child_w, p).items():
                    merged = child_kind if kind is None else (kind if child_kind == "rest" else "split")
                    key = (q, merged)
                    nxt[key] = max(nxt.get(key, -1), score + child_score)
            states = nxt
        for (q, kind), score in states.items():
            if kind == "split":
                best[(q, "split")] = max(best.get((q, "split"), -1), score)
        return best

    return max(max(segment(0, 0, -d).values()) for d in range(depth + 1))


def syncopation(streams: np.ndarray, spec: GridSpec = DEFAULT_SPEC) -> np.ndarray:
    """Mean LHL bar score divided by `max_lhl_score`: 0 (none) .. 1 (the most a bar can reach)."""
    scores = lhl_scores(streams, spec)
    return (scores.mean(axis=-1) / max(max_lhl_score(spec), 1)).astype(np.float32)


@lru_cache(maxsize=None)
def _wnbd_steps(spec: GridSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per step of the loop: 1/T (T = distance to the nearest beat, in beats; 0 on
    a beat) and the next beat e1 after it."""
    spb = spec.steps_per_beat
    t = np.arange(spec.steps)
    pos = t % spb
    dist = np.minimum(pos, spb - pos)
    inv_t = np.where(pos == 0, 0.0, spb / np.maximum(dist, 1)).astype(np.float32)
    next_beat = (t // spb + 1) * spb
    return inv_t, next_beat


def wnbd(streams: np.ndarray, spec: GridSpec = DEFAULT_SPEC) -> np.ndarray:
    """Weighted note-to-beat distance (Gomez et al. 2005), mean over notes; 0 for no notes.

    A note lasts until the next onset (cyclically); off the beat it scores 1/T,
    or 2/T when it ends after the next beat e1 and strictly before the one after.
    """
    steps = streams.shape[-1]
    inv_t, e1 = _wnbd_steps(spec)
    idx = np.where(streams, np.arange(steps, dtype=np.int16), np.int16(2 * steps))
    first_at_or_after = np.minimum.accumulate(idx[..., ::-1], axis=-1)[..., ::-1]
    end = np.empty_like(first_at_or_after)
    end[..., :-1] = first_at_or_after[..., 1:]
    end[..., -1] = 2 * steps
    end = np.where(end >= steps, first_at_or_after[..., :1] + steps, end)
    crosses = (end > e1) & (end < e1 + spec.steps_per_beat)
    # sum over notes of 1/T, plus 1/T again for notes that cross e1 (2/T)
    total = (streams.astype(np.float32) + (streams & crosses)) @ inv_t
    notes = streams.sum(axis=-1)
    return (total / np.maximum(notes, 1)).astype(np.float32)


def wnbd_max(spec: GridSpec) -> float:
    """The largest WNBD a note can score (2/T at the smallest T): 8 at sixteenths."""
    return 2.0 * spec.steps_per_beat


#: How each feature is computed from (N, levels, S) streams, in [0, 1].
_FEATURE_FUNCTIONS = {
    "density": lambda streams, spec: density(streams),
    "syncopation": syncopation,
    "symmetry": lambda streams, spec: symmetry(streams),
    "wnbd": lambda streams, spec: (wnbd(streams, spec) / wnbd_max(spec)).astype(np.float32),
}


def compute(grids: np.ndarray, spec: GridSpec = DEFAULT_SPEC,
            names: tuple[str, ...] = FEATURE_NAMES) -> dict[str, np.ndarray]:
    """Features of a batch (N, 9, S) or one grid, as {LEVEL.FEATURE: (N,) float32 in [0, 1]}:
    all of them, or only `names` (a search computes just the families its target names;
    each value is the same either way).

    WNBD is divided by `wnbd_max` (8 at sixteenths) so every feature shares the
    [0, 1] range targets use.
    """
    wanted = [name.split(".", 1) for name in names]
    levels = tuple(lv for lv in LEVELS if any(w[0] == lv for w in wanted))
    streams = level_streams(grids, spec, levels)
    out = {}
    for feature in FEATURES:
        at = [i for i, lv in enumerate(levels) if [lv, feature] in wanted]
        if at:
            part = streams if len(at) == len(levels) else streams[:, at]
            values = _FEATURE_FUNCTIONS[feature](part, spec)
            for j, i in enumerate(at):
                out[f"{levels[i]}.{feature}"] = values[:, j]
    return {name: out[name] for name in names}


def feature_matrix(grids: np.ndarray, spec: GridSpec = DEFAULT_SPEC,
                   names: tuple[str, ...] = FEATURE_NAMES) -> np.ndarray:
    """Features as columns (N, len(names)) float32, in the order of `names`."""
    values = compute(grids, spec, names)
    return np.stack([values[n] for n in names], axis=1)


def summarize(grids: np.ndarray, spec: GridSpec = DEFAULT_SPEC) -> dict[str, dict[str, float]]:
    """Distribution of each feature over a set of grids: mean, sd, min, quartiles, max."""
    matrix = feature_matrix(grids, spec).astype(np.float64)
    q = np.quantile(matrix, [0.0, 0.25, 0.5, 0.75, 1.0], axis=0)
    mean, sd = matrix.mean(axis=0), matrix.std(axis=0)
    return {name: {"mean": float(mean[i]), "sd": float(sd[i]), "min": float(q[0, i]),
                   "q25": float(q[1, i]), "median": float(q[2, i]), "q75": float(q[3, i]),
                   "max": float(q[4, i])}
            for i, name in enumerate(FEATURE_NAMES)}


def format_summary(summary: dict[str, dict[str, float]]) -> str:
    """`summarize`'s result as an aligned text table, one feature per line."""
    stats = ("mean", "sd", "min", "q25", "median", "q75", "max")
    lines = [f"{'feature':<24}" + "".join(f"{s:>8}" for s in stats)]
    for name, row in summary.items():
        lines.append(f"{name:<24}" + "".join(f"{row[s]:8.3f}" for s in stats))
    return "\n".join(lines)
