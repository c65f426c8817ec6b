"""Edits of real loops: the ones a judge of real drumming must shrug off (a shift by a
step, a re-voicing) and the corruptions it must catch (flips, shuffles, noise).

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


def corruptions(grids: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every corruption of `grids` by name: the negatives a real-vs-corrupted judge learns."""
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


def double_hats(grids: np.ndarray) -> np.ndarray:
    """Every closed hi-hat hit doubled by one on the next step (eighths become sixteenths)."""
    row = ROWS.index("CH")
    out = grids.copy()
    hats = grids[:, row]
    out[:, row] = np.where(hats > 0, hats, np.roll(hats, 1, axis=-1))
    return out
