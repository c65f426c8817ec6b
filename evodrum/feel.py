"""How a loop is played: with a model's feel, another loop's feel, its own, or straight,
plus MPC-style swing.

`Feel` is what a user asks for (how much feel, from where, how much scatter, how
much swing); `perform` turns loops into Loops played that way. A model is passed
in by the caller (anything with `feel(loops, *, bpm, scatter, rng) -> Loop` and
`has_feel`), so this module knows no model code and no search.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from evodrum.errors import EvodrumError
from evodrum.grid import DEFAULT_SPEC, GridSpec
from evodrum.loop import Loop, as_loop, clip_offsets

#: Where a feel comes from: the model, another loop (`like`), the loop's own timing, none.
SOURCES = ("model", "like", "own", "straight")
#: MPC swing: 50% is straight, 66% about a triplet feel, 75% the most an MPC offers.
SWING_RANGE = (50.0, 75.0)


@dataclass(frozen=True)
class Feel:
    """How loops are played. `amount` 0..1 moves from straight (and the loop's own
    velocities) to the source's feel; `scatter` 0..1 scales the model's sampled
    hit-to-hit scatter (0: its expected feel); `swing` is MPC swing in percent."""

    source: str = "model"
    amount: float = 1.0
    scatter: float = 1.0
    swing: float = 50.0
    like: Loop | None = None
    seed: int | None = None

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"feel source must be one of {', '.join(SOURCES)}")
        if self.source == "like" and self.like is None:
            raise ValueError("a feel like another loop needs that loop")
        for name, value, low, high in (("feel", self.amount, 0, 1), ("scatter", self.scatter, 0, 1),
                                       ("swing", self.swing, *SWING_RANGE)):
            if not low <= value <= high:
                raise ValueError(f"{name} must be within {low:g}..{high:g}, got {value:g}")

    @property
    def straight(self) -> bool:
        """True when loops come out exactly on the grid."""
        return (self.amount == 0 or self.source == "straight") and self.swing == 50

    def describe(self) -> str:
        """A musician's words for this feel, e.g. 'the model's feel, 66% swing'."""
        words = {"model": "the model's feel", "like": "the feel of another loop",
                 "own": "its own timing", "straight": ""}[self.source]
        if self.amount == 0:
            words = ""
        elif words and self.amount < 1:
            words = f"{self.amount:.0%} of {words}"
        if self.source == "model" and words and self.scatter == 0:
            words += " (expected, no scatter)"
        parts = [w for w in (words, f"{self.swing:g}% swing" if self.swing != 50 else "") if w]
        return ", ".join(parts) or "straight"


def swing_offsets(spec: GridSpec, swing: float) -> np.ndarray:
    """Offsets (9, S) of MPC swing: the second step of every pair within a beat is played
    late, so it sits at `swing` percent of the pair (16ths at the default grid)."""
    if spec.steps_per_beat % 2:
        raise EvodrumError(f"swing needs steps that pair up within a beat; "
                           f"{spec.describe()} has {spec.steps_per_beat} per beat")
    late = (np.arange(spec.steps) % 2 == 1) * (swing / 50.0 - 1.0)
    return clip_offsets(np.broadcast_to(late, spec.shape))


def swung(loops: Loop, swing: float) -> Loop:
    """The loops with MPC swing added to their timing (50: unchanged)."""
    if swing == 50:
        return loops
    return loops.with_offsets(loops.offsets + swing_offsets(loops.spec, swing))


def transfer(loops: Loop, like: Loop) -> Loop:
    """Groove transfer: `loops`' hits played with `like`'s feel.

    A cell `like` also plays takes its offset and velocity. Any other hit takes
    the mean offset of `like`'s hits on the same step (any drum), else on the
    same place in the beat, and keeps its own velocity.
    """
    if like.is_batch:
        raise ValueError("take the feel of one loop, not a batch")
    if like.spec != loops.spec:
        raise EvodrumError(f"the loop to take the feel of is {like.spec.describe()}, "
                           f"these loops are {loops.spec.describe()}")
    spec, hits = like.spec, like.hits
    per_step = _mean_where(like.offsets, hits, axis=0)                     # (S,)
    place = np.arange(spec.steps) % spec.steps_per_beat
    per_place = np.array([_mean_where(like.offsets[:, place == p], hits[:, place == p])
                          for p in range(spec.steps_per_beat)])
    fallback = np.where(np.isnan(per_step), np.nan_to_num(per_place[place]), per_step)
    offsets = np.where(hits, like.offsets, fallback[None, :])
    velocities = np.where(hits & loops.hits, like.velocities, loops.velocities)
    return Loop(velocities, np.broadcast_to(offsets, loops.offsets.shape), loops.spec)


def _mean_where(values: np.ndarray, mask: np.ndarray, axis=None):
    """Mean of `values` where `mask` (NaN where nothing is masked in)."""
    count = mask.sum(axis=axis)
    total = np.where(mask, values, 0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def perform(loops, feel: Feel, *, spec: GridSpec | None = None, bpm=120.0,
            model=None) -> Loop:
    """Loops (a Loop, or grids of `spec`) played with `feel`.

    `bpm` (one tempo, or one per loop) is what the model's feel depends on;
    `model` is needed only for source "model" (EvodrumError if it has no feel).
    """
    loops = as_loop(loops, spec or DEFAULT_SPEC)
    if feel.source == "own":
        felt = loops
    elif feel.source == "straight" or feel.amount == 0:
        felt = loops.straightened()
    elif feel.source == "model":
        if not hasattr(model, "feel"):
            name = getattr(model, "name", "this model")
            raise EvodrumError(f"{name} has no feel (it predicts no timing): use --feel 0, "
                               "--like FILE or --swing, or a model trained with feel")
        felt = model.feel(loops, bpm=bpm, scatter=feel.scatter,
                          rng=np.random.default_rng(feel.seed))
    else:
        felt = transfer(loops, feel.like)
    return swung(loops.straightened().blend(felt, feel.amount), feel.swing)


class Performer:
    """One feel for every loop of a session (interactive, studio).

    The model's take of a loop is drawn once, seeded by the session's seed and the
    loop's id, so a loop sounds the same every time it is played or written; the
    feel amount and swing are applied on top and may change at any time.
    """

    def __init__(self, feel: Feel, spec: GridSpec, model=None, seed: int = 0, locked=None):
        self.feel, self.spec, self.model, self.seed = feel, spec, model, int(seed)
        #: () -> the session's Lock or None: locked cells keep the musician's velocities.
        self.locked = locked
        self._takes: dict[tuple, Loop] = {}

    def take(self, grid: np.ndarray, key: int, bpm: float) -> Loop:
        """The source's full feel of `grid` (amount 1, no swing), the same for the same
        loop `key`, pattern and tempo."""
        grid = np.asarray(grid, np.float32)
        cache = (int(key), grid.tobytes(), float(bpm))
        if cache not in self._takes:
            if len(self._takes) > 4096:
                self._takes.clear()
            seed = np.random.SeedSequence([self.seed, int(key)]).generate_state(1)[0]
            full = Feel(self.feel.source, 1.0, self.feel.scatter, 50.0, self.feel.like, int(seed))
            self._takes[cache] = perform(Loop.straight(grid, self.spec), full, bpm=bpm,
                                         model=self.model)
        return self._takes[cache]

    @property
    def adjustable(self) -> bool:
        """Whether the feel amount means anything here (a source to take feel from)."""
        return self.feel.source != "straight"

    def adjust(self, amount: float, swing: float) -> None:
        """Play from now on with `amount` of the feel and `swing` (the studio's sliders);
        takes already drawn are kept, so a loop keeps its take."""
        self.feel = replace(self.feel, amount=amount if self.adjustable else 0.0, swing=swing)

    def play(self, grid: np.ndarray, key: int, bpm: float, keep_lock: bool = True) -> Loop:
        """`grid` played with this feel; `keep_lock` False for a loop found earlier (a
        Target result, a Map cell), which must not take the rows of whatever is locked
        now."""
        amount = self.feel.amount
        straight = Loop.straight(np.asarray(grid, np.float32), self.spec)
        felt = self.take(grid, key, bpm) if amount > 0 and self.adjustable else straight
        played = swung(straight.blend(felt, amount), self.feel.swing)
        lock = self.locked() if keep_lock and self.locked is not None else None
        return played if lock is None else lock.keep_played(played)
