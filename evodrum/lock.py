"""Cells a musician keeps: locked rows ("evolve the hats over my kick and snare") and
hand-edited cells, held exactly (hits and velocities) in every loop made from now on;
locked rows of a played loop also keep its timing wherever the loop is played or written.

A `Lock` is a mask over the grid and the grid those cells keep. `apply` is the one
place decoded loops pass through (`evodrum.genotypes.locked` wraps any space's
decoder with it; `vary` and `steer` apply it to what the model decodes), so every
algorithm and every space respects it, and the search works around the kept cells:
their features count, the rest is what it varies.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evodrum.errors import EvodrumError
from evodrum.grid import (GridSpec, cells_of, grid_of_cells, quantize_velocity,
                          to_midi_velocity, whole_cells)
from evodrum.kit import ROWS
from evodrum.loop import OFFSET_HIGH, OFFSET_LOW

#: Plain names a drummer types for rows, beside the row codes.
ROW_ALIASES: dict[str, tuple[str, ...]] = {
    "kick": ("BD",), "snare": ("SD",), "hats": ("CH", "OH"), "hihat": ("CH", "OH"),
    "ride": ("RD",), "crash": ("CR",), "toms": ("LT", "MT", "HT"),
}

LOCK_HELP = ("Keep these rows exactly as in your loop (hits, velocities and timing as "
             "you played them) in every result, and search the rest around them: "
             "comma-separated rows "
             f"({','.join(ROWS)}) or kick, snare, hats, ride, crash, toms.")


#: How a job or session file stores a lock (see `Lock.to_dict`), for error messages.
STORED_FORM = '{"cells": [[row, step, velocity], ...], "offsets": [...]} or null'


def check_stored(d) -> dict | None:
    """A lock as a job file stores it (checked against the model's grid when it runs,
    by `Lock.from_dict`); ValueError when it is not even of that form."""
    if d is not None and not (isinstance(d, dict) and isinstance(d.get("cells"), list)):
        raise ValueError(f"must be {STORED_FORM}")
    if d is not None:
        whole_cells(d["cells"])
    return d


def parse_rows(text: str) -> tuple[str, ...]:
    """Row codes, in grid order, from text such as 'BD,SD' or 'kick,snare'."""
    wanted = set()
    for word in (w.strip() for w in text.split(",")):
        if not word:
            continue
        rows = ROW_ALIASES.get(word.lower()) or tuple(r for r in ROWS if r == word.upper())
        if not rows:
            raise EvodrumError(f"--lock {text}: no row {word!r}; rows are {', '.join(ROWS)} "
                               f"(or {', '.join(ROW_ALIASES)})")
        wanted.update(rows)
    if not wanted:
        raise EvodrumError("--lock needs at least one row, e.g. --lock BD,SD")
    return tuple(r for r in ROWS if r in wanted)


@dataclass(frozen=True, eq=False)
class Lock:
    """Cells held fixed: `mask` (9, S) bool, `grid` (9, S) the velocities they keep and
    `offsets` (9, S) their timing (fractions of a step, as `evodrum.loop.Loop`'s); NaN
    where a cell has no timing of its own (a hand edit), so it is played with the feel
    of the loop around it."""

    mask: np.ndarray
    grid: np.ndarray
    offsets: np.ndarray | None = None

    def __post_init__(self):
        timing = np.full(self.mask.shape, np.nan, np.float32) if self.offsets is None else \
            np.where(self.mask, np.asarray(self.offsets, np.float32), np.nan)
        object.__setattr__(self, "offsets", timing.astype(np.float32))

    @classmethod
    def of_rows(cls, rows, grid: np.ndarray, offsets: np.ndarray | None = None) -> Lock:
        """Whole rows (codes, e.g. ('BD', 'SD')) of `grid` held fixed, with the timing
        `offsets` of the loop they come from when given (a seed loop's feel)."""
        mask = np.zeros(grid.shape, bool)
        mask[[ROWS.index(r) for r in rows]] = True
        return cls(mask, quantize_velocity(np.asarray(grid, np.float32)), offsets)

    @classmethod
    def of_loop(cls, rows, loop) -> Lock:
        """Whole rows of a played loop (an `evodrum.loop.Loop`): its velocities and timing."""
        return cls.of_rows(rows, loop.velocities, loop.offsets)

    @classmethod
    def of_edit(cls, edited: np.ndarray, before: np.ndarray) -> Lock:
        """The cells a hand edit changed (hits added, removed or re-weighted), as edited."""
        edited, before = quantize_velocity(edited), quantize_velocity(before)
        return cls(edited != before, edited)

    def __or__(self, other: Lock | None) -> Lock:
        """Both locks' cells; where both hold a cell, `other`'s value (the newer) wins."""
        if other is None:
            return self
        return Lock(self.mask | other.mask, np.where(other.mask, other.grid, self.grid),
                    np.where(other.mask, other.offsets, self.offsets))

    def within(self, keep: np.ndarray) -> Lock:
        """Only the cells of `keep` (a (9, S) mask) still held, as they were."""
        return Lock(self.mask & keep, self.grid, self.offsets)

    @property
    def rows(self) -> tuple[str, ...]:
        """Codes of the rows held whole."""
        return tuple(r for r, full in zip(ROWS, self.mask.all(axis=1)) if full)

    @property
    def cells(self) -> int:
        return int(self.mask.sum())

    def describe(self) -> str:
        """'BD, SD locked' / '5 edited cells kept' / both, for titles and messages."""
        rows = self.rows
        loose = int(self.mask[[r not in rows for r in ROWS]].sum())
        parts = [f"{', '.join(rows)} locked"] if rows else []
        if loose:
            parts.append(f"{loose} edited cell{'s' if loose != 1 else ''} kept")
        return " and ".join(parts) or "nothing locked"

    def apply(self, grids: np.ndarray) -> np.ndarray:
        """Grids (9, S) or (N, 9, S) with the locked cells set to the lock's values."""
        return np.where(self.mask, self.grid, grids).astype(grids.dtype, copy=False)

    def holds(self, grids: np.ndarray) -> np.ndarray:
        """Whether each grid keeps every locked cell exactly (at MIDI velocity levels)."""
        grids = to_midi_velocity(np.asarray(grids).reshape(-1, *self.mask.shape))
        return (grids[:, self.mask] == to_midi_velocity(self.grid)[self.mask]).all(axis=1)

    def keep_played(self, played):
        """`played` (a Loop or batch, e.g. with a model's feel) with the locked cells as
        the musician plays them: the lock's velocities and, where it has them, its timing,
        so locked rows keep their dynamics and feel, not the model's."""
        from evodrum.loop import Loop
        velocities = np.where(self.mask, self.grid, played.velocities).astype(np.float32)
        timed = self.mask & ~np.isnan(self.offsets)
        offsets = np.where(timed, np.nan_to_num(self.offsets), played.offsets)
        return Loop(velocities, np.where(velocities > 0, offsets, 0), played.spec)

    def to_dict(self) -> dict:
        """Plain JSON: the mask's cells as [row, step, MIDI velocity] and, for cells with
        timing of their own, "offsets" in the same order (null where none)."""
        d = {"cells": cells_of(self.grid, self.mask)}
        timing = self.offsets[self.mask]
        if not np.isnan(timing).all():
            d["offsets"] = [None if np.isnan(t) else float(t) for t in timing]
        return d

    @classmethod
    def from_dict(cls, d, spec: GridSpec) -> Lock:
        """A lock read from a session or job file; ValueError if it does not fit `spec`
        (cells outside the grid, offsets not one per cell or outside [-0.5, 0.5))."""
        cells = whole_cells(d["cells"])
        mask, grid = grid_of_cells(cells, spec)
        timing = d.get("offsets")
        if timing is None:
            return cls(mask, grid)
        if not isinstance(timing, list) or len(timing) != len(cells) or not all(
                t is None or (isinstance(t, (int, float)) and not isinstance(t, bool)
                              and OFFSET_LOW <= t < OFFSET_HIGH) for t in timing):
            raise ValueError(f"offsets must be one number in [{OFFSET_LOW}, {OFFSET_HIGH}) "
                             "or null per cell")
        offsets = np.full(spec.shape, np.nan, np.float32)
        offsets[cells[:, 0], cells[:, 1]] = [np.nan if t is None else t for t in timing]
        return cls(mask, grid, offsets)
