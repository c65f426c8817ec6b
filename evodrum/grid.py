"""The drum grid (evodrum's phenotype): rows x steps of velocities in [0, 1].

A grid is a plain numpy array of shape (9, S), or (N, 9, S) for a batch, with
0 meaning "no hit". Its resolution lives in a `GridSpec`, which corpora, model
cards and saved grids carry along so features and MIDI export stay right.
"""
from __future__ import annotations

import numbers
import re
from dataclasses import asdict, dataclass

import numpy as np

from evodrum.kit import N_ROWS

#: MIDI velocities are 1..127; grids store velocity / 127.
VELOCITY_LEVELS = 127
#: The longest grid: 64 bars, and at most 4096 steps (a corpus of them still fits in memory).
MAX_BARS = 64
MAX_STEPS = 4096


@dataclass(frozen=True)
class GridSpec:
    """Grid resolution: bars of `beats_per_bar` beats, `steps_per_beat` steps each."""

    bars: int = 4
    beats_per_bar: int = 4
    steps_per_beat: int = 4

    def __post_init__(self):
        """ValueError for a resolution no loop has (0 bars) or that no memory holds."""
        for name, high in (("bars", MAX_BARS), ("beats_per_bar", 16), ("steps_per_beat", 48)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
                    or not 1 <= value <= high:
                raise ValueError(f"grid {name.replace('_', ' ')} must be a whole number from 1 "
                                 f"to {high}, got {value!r}")
        if self.steps > MAX_STEPS:
            raise ValueError(f"a grid of {self.steps} steps is more than {MAX_STEPS}: use fewer "
                             "bars or steps per beat")

    @property
    def steps_per_bar(self) -> int:
        return self.beats_per_bar * self.steps_per_beat

    @property
    def steps(self) -> int:
        return self.bars * self.steps_per_bar

    @property
    def beats(self) -> int:
        return self.bars * self.beats_per_bar

    @property
    def shape(self) -> tuple[int, int]:
        return (N_ROWS, self.steps)

    def seconds(self, bpm: float) -> float:
        """How long one pass of the grid lasts at `bpm` quarter-note beats per minute."""
        return self.beats * 60.0 / bpm

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GridSpec":
        """The resolution a file stores: whole numbers only ("4", 4.5 and true are
        refused, not rounded), in the bounds the constructor sets; ValueError naming the
        field."""
        from evodrum.statefile import Fields, StateError
        try:
            f = Fields(d, "spec")
            return cls(f.integer("bars"), f.integer("beats_per_bar"), f.integer("steps_per_beat"))
        except StateError as e:
            raise ValueError(str(e)) from None

    def describe(self) -> str:
        note = {1: "quarter", 2: "eighth", 3: "eighth-triplet", 4: "sixteenth"}.get(
            self.steps_per_beat, f"1/{self.steps_per_beat}-beat")
        return (f"{self.bars} bars of {self.beats_per_bar}/4 at {note} notes "
                f"({self.steps} steps)")


#: Default resolution: 4 bars of 4/4 at sixteenth notes (64 steps).
DEFAULT_SPEC = GridSpec()
#: McDermott (2018): 32 beats at eighth notes (64 steps), shorter loops tiled.
PAPER_SPEC = GridSpec(bars=8, beats_per_bar=4, steps_per_beat=2)

PRESETS: dict[str, GridSpec] = {"default": DEFAULT_SPEC, "paper": PAPER_SPEC}


def parse_spec(text: str) -> GridSpec:
    """A GridSpec from a preset name or BARSxBEATSxSTEPS (e.g. '4x4x4')."""
    if text in PRESETS:
        return PRESETS[text]
    m = re.fullmatch(r"(\d+)x(\d+)x(\d+)", text.strip())
    if not m:
        raise ValueError(f"unknown grid resolution {text!r}: use one of "
                         f"{', '.join(PRESETS)} or BARSxBEATSxSTEPS such as 4x4x4")
    return GridSpec(*(int(g) for g in m.groups()))


def quantize_velocity(grids: np.ndarray) -> np.ndarray:
    """Round velocities to the 127 MIDI levels; any positive value stays a hit."""
    grids = np.clip(np.asarray(grids, dtype=np.float32), 0.0, 1.0)
    levels = np.rint(grids * VELOCITY_LEVELS)
    levels = np.where(grids > 0, np.maximum(levels, 1), 0)
    return (levels / VELOCITY_LEVELS).astype(np.float32)


def to_midi_velocity(grids: np.ndarray) -> np.ndarray:
    """Velocities as MIDI integers 0..127 (0 = no hit), uint8."""
    return np.rint(quantize_velocity(grids) * VELOCITY_LEVELS).astype(np.uint8)


def from_midi_velocity(levels: np.ndarray) -> np.ndarray:
    """Integer MIDI velocities 0..127 back to grid velocities in [0, 1]."""
    return (np.asarray(levels, dtype=np.float32) / VELOCITY_LEVELS).astype(np.float32)


def cells_of(grid: np.ndarray, where: np.ndarray | None = None) -> list[list[int]]:
    """Cells of a (9, S) grid as plain JSON: [row, step, MIDI velocity] for each cell of
    `where` (default: its hits). Session files and locks store grids this way."""
    rows, steps = np.nonzero(np.asarray(grid) > 0 if where is None else where)
    velocity = to_midi_velocity(grid)[rows, steps]
    return np.stack([rows, steps, velocity], axis=1).tolist()


def whole_cells(cells) -> np.ndarray:
    """[row, step, MIDI velocity] cells read from a file as an (N, 3) int array;
    ValueError unless each is three whole numbers (not true/false, not 4.5) and no
    (row, step) comes twice. Bounds are `grid_of_cells`'s to check."""
    if isinstance(cells, np.ndarray) and cells.dtype.kind in "iu":
        arr = cells.reshape(-1, 3)
    else:
        if not isinstance(cells, (list, tuple)) or not all(
                isinstance(c, (list, tuple)) and len(c) == 3 and
                all(type(v) is int and -2 ** 31 < v < 2 ** 31 for v in c) for c in cells):
            raise ValueError("must be a list of [row, step, velocity] whole numbers")
        arr = np.array(cells, dtype=np.int64).reshape(-1, 3)
    if len({(r, s) for r, s in arr[:, :2].tolist()}) != len(arr):
        raise ValueError("holds one (row, step) cell twice")
    return arr


def grid_of_cells(cells, spec: GridSpec) -> tuple[np.ndarray, np.ndarray]:
    """(mask, grid) of [row, step, MIDI velocity] cells (see `cells_of` and
    `whole_cells`): ValueError naming what is not whole, twice, or outside `spec`'s grid
    or 0..127."""
    rows, steps, velocity = whole_cells(cells).T
    for name, values, high in (("row", rows, spec.shape[0] - 1), ("step", steps, spec.steps - 1),
                               ("velocity", velocity, VELOCITY_LEVELS)):
        if len(values) and not 0 <= values.min() <= values.max() <= high:
            raise ValueError(f"holds a {name} outside 0 to {high}")
    mask = np.zeros(spec.shape, bool)
    levels = np.zeros(spec.shape, np.uint8)
    mask[rows, steps] = True
    levels[rows, steps] = velocity
    return mask, from_midi_velocity(levels)


def onsets(grids: np.ndarray) -> np.ndarray:
    """Boolean hit mask of one grid or a batch."""
    return np.asarray(grids) > 0


def check_grids(grids: np.ndarray, spec: GridSpec) -> np.ndarray:
    """Validate a grid or batch against `spec`; returns it as a float32 batch (N, 9, S)."""
    arr = np.asarray(grids, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != spec.shape:
        raise ValueError(f"expected grids of shape (N, {N_ROWS}, {spec.steps}) or "
                         f"({N_ROWS}, {spec.steps}) for {spec.describe()}, got {np.shape(grids)}")
    if not np.isfinite(arr).all() or arr.min(initial=0) < 0 or arr.max(initial=0) > 1:
        raise ValueError("grid velocities must be finite and within [0, 1]")
    return arr


def loop_to_grid_length(steps: np.ndarray, loop_steps: int, spec: GridSpec) -> np.ndarray:
    """Tile a (9, loop_steps) loop whose length divides the grid length to (9, S)."""
    if spec.steps % loop_steps:
        raise ValueError(f"a loop of {loop_steps} steps does not tile {spec.steps} steps")
    return np.tile(steps, (1, spec.steps // loop_steps))


def windows(performance: np.ndarray, spec: GridSpec, hop_bars: int = 1) -> np.ndarray:
    """Cut a (9, T) performance into (N, 9, S) windows starting every `hop_bars` bars."""
    hop = hop_bars * spec.steps_per_bar
    n = (performance.shape[1] - spec.steps) // hop + 1
    if n < 1:
        return np.zeros((0, *spec.shape), dtype=performance.dtype)
    view = np.lib.stride_tricks.sliding_window_view(performance, spec.steps, axis=1)
    return np.ascontiguousarray(view[:, ::hop][:, :n].transpose(1, 0, 2))
