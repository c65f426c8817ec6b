"""A loop with feel: hits, velocities and timing offsets on a drum grid.

`Loop` carries the grid evodrum has always used (velocities, float32 (..., 9, S)
in [0, 1], 0 = no hit) and, per cell, the timing of its hit: the signed fraction
of a grid step from the cell to where the hit is really played, in [-0.5, 0.5)
(0 where there is no hit). Features, judges and searches read `loop.velocities`
and never see the offsets. Only the two ends of the pipeline do: `quantise`
turns onset times into cells + offsets (reading MIDI), and `Loop.perform` turns
cells + offsets into onset times (writing MIDI, rendering audio, the MIDI port).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evodrum.grid import DEFAULT_SPEC, GridSpec, check_grids
from evodrum.kit import N_ROWS

#: Offsets lie in [-0.5, 0.5) of a step: a hit half a step late belongs to the next cell.
OFFSET_LOW, OFFSET_HIGH = -0.5, 0.5
#: The largest float32 offset below OFFSET_HIGH.
_OFFSET_TOP = np.nextafter(np.float32(OFFSET_HIGH), np.float32(0))


def clip_offsets(offsets: np.ndarray) -> np.ndarray:
    """Offsets clipped into [-0.5, 0.5), float32 (for a model's or a blend's output)."""
    return np.clip(np.asarray(offsets, np.float32), OFFSET_LOW, _OFFSET_TOP)


@dataclass(frozen=True, eq=False)
class Loop:
    """One loop (9, S) or a batch (N, 9, S): velocities and timing offsets, with its spec.

    Offsets of empty cells are set to 0, so a model may predict offsets everywhere.
    Index a batch like an array (`loops[3]`, `loops[mask]`) to get loops back.
    """

    velocities: np.ndarray
    offsets: np.ndarray
    spec: GridSpec = DEFAULT_SPEC

    def __post_init__(self):
        velocities = np.asarray(self.velocities, np.float32)
        if velocities.ndim not in (2, 3):
            raise ValueError(f"a loop is (9, {self.spec.steps}) or a batch (N, 9, "
                             f"{self.spec.steps}), got shape {velocities.shape}")
        check_grids(velocities, self.spec)
        offsets = np.asarray(self.offsets, np.float32)
        if offsets.shape != velocities.shape:
            raise ValueError(f"offsets have shape {offsets.shape}, velocities {velocities.shape}")
        if not np.isfinite(offsets).all():
            raise ValueError("timing offsets must be finite")
        if offsets.size and (offsets.min() < OFFSET_LOW or offsets.max() >= OFFSET_HIGH):
            raise ValueError(f"timing offsets must lie in [{OFFSET_LOW}, {OFFSET_HIGH}) of a "
                             f"step, got {offsets.min():g} .. {offsets.max():g}")
        object.__setattr__(self, "velocities", velocities)
        object.__setattr__(self, "offsets", np.where(velocities > 0, offsets, np.float32(0)))

    @classmethod
    def straight(cls, velocities: np.ndarray, spec: GridSpec = DEFAULT_SPEC) -> "Loop":
        """A loop (or batch) played exactly on the grid."""
        velocities = np.asarray(velocities, np.float32)
        return cls(velocities, np.zeros_like(velocities), spec)

    @classmethod
    def stack(cls, loops: list["Loop"]) -> "Loop":
        """One batch from single loops of the same spec."""
        if not loops:
            raise ValueError("no loops to stack")
        spec = loops[0].spec
        if any(lp.spec != spec for lp in loops):
            raise ValueError("loops of different grid resolutions cannot be stacked")
        return cls(np.stack([lp.velocities for lp in loops]),
                   np.stack([lp.offsets for lp in loops]), spec)

    @property
    def hits(self) -> np.ndarray:
        """Boolean hit mask, same shape as the velocities."""
        return self.velocities > 0

    @property
    def is_batch(self) -> bool:
        return self.velocities.ndim == 3

    def __len__(self) -> int:
        if not self.is_batch:
            raise TypeError("a single loop has no length; only a batch does")
        return len(self.velocities)

    def __getitem__(self, index) -> "Loop":
        if not self.is_batch:
            raise TypeError("index a batch of loops, not a single loop")
        return Loop(self.velocities[index], self.offsets[index], self.spec)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def batch(self) -> "Loop":
        """This loop as a batch of one (a batch stays as it is)."""
        return self if self.is_batch else Loop(self.velocities[None], self.offsets[None],
                                               self.spec)

    def straightened(self) -> "Loop":
        """The same hits and velocities, played exactly on the grid."""
        return Loop.straight(self.velocities, self.spec)

    def with_offsets(self, offsets: np.ndarray) -> "Loop":
        """The same hits and velocities played with other timing (clipped into range)."""
        return Loop(self.velocities, clip_offsets(np.broadcast_to(offsets, self.offsets.shape)),
                    self.spec)

    def blend(self, other: "Loop", amount: float) -> "Loop":
        """`amount` (0..1) of the way from this loop's feel to `other`'s, on this loop's hits.

        Velocities and offsets move together; 0 is this loop, 1 is `other`'s
        velocities and timing on the same cells.
        """
        if other.spec != self.spec or other.velocities.shape != self.velocities.shape:
            raise ValueError("a feel can only be blended between loops of the same shape")
        if not 0.0 <= amount <= 1.0:
            raise ValueError(f"feel amount must be within 0..1, got {amount}")
        hits = self.hits
        velocities = np.where(hits, (1 - amount) * self.velocities
                              + amount * np.where(other.hits, other.velocities, self.velocities),
                              0)
        velocities = np.where(hits, np.clip(velocities, 1 / 127, 1), 0)
        offsets = (1 - amount) * self.offsets + amount * other.offsets
        return Loop(velocities.astype(np.float32), clip_offsets(offsets), self.spec)

    def perform(self) -> "Performance":
        """The hits of one loop in playing order, at their performed positions in steps."""
        if self.is_batch:
            raise ValueError("perform one loop at a time")
        rows, cells = np.nonzero(self.velocities)
        positions = (cells + self.offsets[rows, cells].astype(np.float64)) % self.spec.steps
        order = np.lexsort((rows, positions))
        return Performance(rows[order], cells[order], positions[order],
                           self.velocities[rows[order], cells[order]],
                           self.offsets[rows[order], cells[order]], self.spec)


def as_loop(loop_or_grid, spec: GridSpec = DEFAULT_SPEC) -> Loop:
    """A Loop as it is; a plain grid (or batch) as a straight Loop of `spec`."""
    if isinstance(loop_or_grid, Loop):
        return loop_or_grid
    return Loop.straight(loop_or_grid, spec)


@dataclass(frozen=True, eq=False)
class Performance:
    """The hits of one loop in the order they sound, where they sound.

    `positions` are in steps from the loop's start, in [0, S): a hit on step 0
    played early sounds at the end of the pass (loops wrap round).
    """

    rows: np.ndarray        # (H,) row of each hit
    cells: np.ndarray       # (H,) grid step of each hit
    positions: np.ndarray   # (H,) float64 performed position in steps, in [0, S)
    velocities: np.ndarray  # (H,) float32 in (0, 1]
    offsets: np.ndarray     # (H,) float32 offsets in steps
    spec: GridSpec

    def seconds(self, bpm: float) -> np.ndarray:
        """Onset times in seconds from the loop's start at `bpm`."""
        return self.positions * 60.0 / (bpm * self.spec.steps_per_beat)

    def ticks(self, ticks_per_beat: int) -> np.ndarray:
        """Onset ticks at `ticks_per_beat`, each inside its own cell, so reading the ticks
        back gives the same cells (and the offsets within half a tick)."""
        step = ticks_per_beat / self.spec.steps_per_beat
        low, high = int(np.ceil(-step / 2)), int(np.ceil(step / 2)) - 1
        shift = np.clip(np.rint(self.offsets.astype(np.float64) * step), low, high)
        return (np.rint(self.cells * step).astype(np.int64) + shift.astype(np.int64)) \
            % int(round(self.spec.steps * step))

    def samples(self, n: int) -> np.ndarray:
        """First sample of each hit in a pass of `n` samples."""
        return np.floor(self.positions * n / self.spec.steps).astype(np.int64) % n


def quantise(rows: np.ndarray, positions: np.ndarray, velocities: np.ndarray,
             steps: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Hits at `positions` (in steps, any real value) onto a grid of `steps` steps.

    Each hit goes to its nearest cell (half a step late is the next cell) with the
    rest as its offset, in [-0.5, 0.5); positions at or past `steps` wrap round.
    When hits share a cell the loudest stays (the earliest of equals), with its
    own offset. Returns (velocities (9, steps) of the input's dtype, float32
    offsets (9, steps), hits dropped for sharing a cell).
    """
    rows = np.asarray(rows, np.int64)
    positions = np.asarray(positions, np.float64)
    velocities = np.asarray(velocities)
    cells = np.floor(positions + 0.5)
    offsets = clip_offsets(positions - cells)
    key = rows * steps + cells.astype(np.int64) % steps
    order = np.lexsort((-velocities.astype(np.float64), key))  # stable: earliest of equals
    keep = order[np.unique(key[order], return_index=True)[1]]
    out = np.zeros((N_ROWS, steps), velocities.dtype)
    timing = np.zeros((N_ROWS, steps), np.float32)
    out.flat[key[keep]] = velocities[keep]
    timing.flat[key[keep]] = offsets[keep]
    return out, timing, len(key) - len(keep)


def offset_seconds(offsets: np.ndarray, bpm, spec: GridSpec) -> np.ndarray:
    """Offsets (in steps) as seconds at `bpm` (a number or an array broadcast over loops)."""
    bpm = np.asarray(bpm, np.float64)
    if bpm.ndim:
        bpm = bpm.reshape(bpm.shape + (1,) * (np.ndim(offsets) - bpm.ndim))
    return np.asarray(offsets, np.float64) * 60.0 / (bpm * spec.steps_per_beat)
