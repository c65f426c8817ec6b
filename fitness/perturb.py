"""Edits of real loops: the ones a judge of real drumming must shrug off (a shift by a
step, a re-voicing) and the corruptions it must catch: noisier than real drumming
(flips, shuffles, noise) and more regular than it (the corpus's average beat, one bar
repeated, hi-hats straightened, ghost notes removed, near-copies of a few loops).

Every function takes a float batch (N, 9, S) of velocities and a numpy Generator and
returns a new batch; nothing is changed in place. The classifier judge learns from
the corruptions, and the judge probes (tests, `fitness.probes`) use both kinds.
"""
from __future__ import annotations

import numpy as np

from evodrum.kit import ROWS

#: Re-voicings a drummer makes without changing the groove: time kept on the ride
#: instead of the closed hi-hat, and the toms played in the other order.
REVOICE = {"hats-to-ride": {"CH": "RD", "RD": "CH"},
           "toms-reversed": {"LT": "HT", "HT": "LT"}}


def _velocities(grids: np.ndarray, rng: np.random.Generator, shape) -> np.ndarray:
    """Velocities for new hits, drawn from the hits already in `grids` (0.8 if none)."""
    hits = grids[grids > 0]
    if hits.size == 0:
        return np.full(shape, 0.8, dtype=np.float32)
    return rng.choice(hits, size=shape).astype(np.float32)


def shift(grids: np.ndarray, steps: int = 1) -> np.ndarray:
    """The loop displaced by `steps` steps (cyclically: it is a loop)."""
    return np.roll(grids, steps, axis=-1)


def revoice(grids: np.ndarray, mapping: dict[str, str]) -> np.ndarray:
    """Rows moved to other drums by name, e.g. {'CH': 'RD', 'RD': 'CH'}."""
    order = np.arange(len(ROWS))
    for src, dst in mapping.items():
        order[ROWS.index(dst)] = ROWS.index(src)
    return grids[:, order]


def flip(grids: np.ndarray, rng: np.random.Generator, rate: float) -> np.ndarray:
    """A share `rate` of cells flipped at random: hits removed, silences made hits."""
    mask = rng.random(grids.shape) < rate
    added = _velocities(grids, rng, grids.shape)
    return np.where(mask, np.where(grids > 0, 0.0, added), grids).astype(np.float32)


def noise_like(grids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random hits with each loop's own per-row density: same drums, no rhythm."""
    density = (grids > 0).mean(axis=-1, keepdims=True)
    hit = rng.random(grids.shape) < density
    return np.where(hit, _velocities(grids, rng, grids.shape), 0.0).astype(np.float32)


def shuffle_steps(grids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The loop's steps (whole columns) in a random order: chords kept, timing lost."""
    order = rng.permuted(np.tile(np.arange(grids.shape[-1]), (len(grids), 1)), axis=1)
    return np.take_along_axis(grids, order[:, None, :], axis=-1)


def shuffle_cells(grids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row's cells in its own random order: densities kept, everything else lost."""
    n, rows, steps = grids.shape
    order = rng.permuted(np.tile(np.arange(steps), (n, rows, 1)), axis=2)
    return np.take_along_axis(grids, order, axis=-1)


def misalign_rows(grids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row shifted by its own random amount: every part real, the parts out of step."""
    n, rows, steps = grids.shape
    offsets = rng.integers(0, steps, size=(n, rows, 1))
    index = (np.arange(steps)[None, None, :] - offsets) % steps
    return np.take_along_axis(grids, index, axis=-1)


def thin(grids: np.ndarray, rng: np.random.Generator, keep: float) -> np.ndarray:
    """Only a share `keep` of the hits left: a skeleton of the loop."""
    return np.where(rng.random(grids.shape) < keep, grids, 0.0).astype(np.float32)


#: Loops averaged into one "average beat", and the share of them a cell must hold.
AVERAGE_OF = 32
AVERAGE_LEVELS = (0.25, 0.5)
#: Hits softer than this velocity (MIDI ~38) count as ghost notes.
GHOST_VELOCITY = 0.3
#: How many loops the near-copies copy, and how many cells each copy changes.
COPIED_LOOPS = 8
COPY_EDITS = 2


def average_beat(grids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each loop, the average of AVERAGE_OF random loops of the batch: the cells at
    least a random share (AVERAGE_LEVELS) of them hit, at their mean velocity. The
    textbook beat a collapsed model plays."""
    n = len(grids)
    out = np.empty_like(grids, dtype=np.float32)
    for i in range(n):
        pick = grids[rng.integers(0, n, AVERAGE_OF)]
        share = (pick > 0).mean(axis=0)
        velocity = pick.sum(axis=0) / np.maximum((pick > 0).sum(axis=0), 1)
        out[i] = np.where(share >= rng.uniform(*AVERAGE_LEVELS), velocity, 0.0)
    return out


def repeat_bar(grids: np.ndarray, rng: np.random.Generator, bars: int) -> np.ndarray:
    """One random bar of each loop played `bars` times: no variation, no fill."""
    n, rows, steps = grids.shape
    per_bar = steps // bars
    split = grids.reshape(n, rows, bars, per_bar)
    chosen = split[np.arange(n), :, rng.integers(0, bars, n)]          # (n, rows, per_bar)
    return np.tile(chosen, (1, 1, bars)).astype(np.float32)


def straight_hats(grids: np.ndarray) -> np.ndarray:
    """Hi-hats replaced by closed hats on every eighth note at the loop's hat velocity
    (0.8 without hats): the open hats, accents and sixteenths a drummer plays gone."""
    ch, oh = ROWS.index("CH"), ROWS.index("OH")
    out = grids.astype(np.float32, copy=True)
    hats = grids[:, [ch, oh]]
    level = np.where((hats > 0).any(axis=(1, 2)), hats.sum(axis=(1, 2))
                     / np.maximum((hats > 0).sum(axis=(1, 2)), 1), 0.8)
    out[:, oh] = 0.0
    out[:, ch] = 0.0
    out[:, ch, ::2] = level[:, None]
    return out


def remove_ghosts(grids: np.ndarray) -> np.ndarray:
    """Every hit softer than GHOST_VELOCITY removed: the ghost notes between the accents."""
    return np.where(grids >= GHOST_VELOCITY, grids, 0.0).astype(np.float32)


def near_copies(grids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Copies of the batch's COPIED_LOOPS most frequent onset patterns, each with
    COPY_EDITS random cells flipped: a set that has collapsed onto a few stock beats."""
    n, rows, steps = grids.shape
    packed = np.packbits(grids.reshape(n, -1) > 0, axis=1)
    _, first, counts = np.unique(packed, axis=0, return_index=True, return_counts=True)
    common = first[np.argsort(-counts, kind="stable")[:COPIED_LOOPS]]
    out = grids[rng.choice(common, n)].astype(np.float32)
    at = np.arange(n)
    for _ in range(COPY_EDITS):
        r, c = rng.integers(0, rows, n), rng.integers(0, steps, n)
        out[at, r, c] = np.where(out[at, r, c] > 0, 0.0, 0.8)
    return out


def over_regular(grids: np.ndarray, rng: np.random.Generator, bars: int = 4) -> dict[str, np.ndarray]:
    """Every corruption that makes a loop more regular than real drumming, by name."""
    return {
        "average beat": average_beat(grids, rng),
        "one bar repeated": repeat_bar(grids, rng, bars),
        "hi-hats straightened to 8ths": straight_hats(grids),
        "ghost notes removed": remove_ghosts(grids),
        "near-copies of a few loops": near_copies(grids, rng),
    }


def noisier(grids: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every corruption that makes a loop noisier than real drumming, by name."""
    return {
        "flip-5%": flip(grids, rng, 0.05),
        "flip-10%": flip(grids, rng, 0.10),
        "flip-25%": flip(grids, rng, 0.25),
        "noise": noise_like(grids, rng),
        "shuffled steps": shuffle_steps(grids, rng),
        "shuffled cells": shuffle_cells(grids, rng),
        "misaligned rows": misalign_rows(grids, rng),
        "thinned to 15%": thin(grids, rng, 0.15),
    }


def corruptions(grids: np.ndarray, rng: np.random.Generator, bars: int = 4) -> dict[str, np.ndarray]:
    """Every corruption of `grids` by name, noisier and more regular than real drumming:
    the negatives a real-vs-corrupted judge learns."""
    return {**noisier(grids, rng), **over_regular(grids, rng, bars)}


def double_hats(grids: np.ndarray) -> np.ndarray:
    """Every closed hi-hat hit doubled by one on the next step (eighths become sixteenths)."""
    row = ROWS.index("CH")
    out = grids.copy()
    hats = grids[:, row]
    out[:, row] = np.where(hats > 0, hats, np.roll(hats, 1, axis=-1))
    return out
