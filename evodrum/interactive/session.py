"""The state of an interactive session: every loop heard, its rating and where it came from.

Loops live in one table by id; a generation is an ordered list of loop ids, so a
favourite kept into later generations is the same loop (same id, same rating).
Each loop records its lineage: the operator that made it and its parents' ids.
Everything here is plain data that `evodrum.interactive.store` writes as JSON.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np

from evodrum import checks
from evodrum.errors import EvodrumError
from evodrum.feel import SWING_RANGE
from evodrum.grid import GridSpec
from evodrum.kit import ROWS
from evodrum.lock import Lock
from evodrum.loop import Loop as Played
from evodrum.notemap import check_stored_map

#: Ratings are single digits: 0 = dislike (never a parent) ... 9 = love it.
RATING_MAX = 9

#: The tempi a session may have (the CLI's --bpm bounds).
TEMPO_MIN, TEMPO_MAX = 20.0, 400.0
#: Loops per generation: what fits a screen (the CLI's --loops bound too).
MAX_LOOPS = 16
#: Refinement steps encoding seed loops (the CLI's --refine bound).
MAX_REFINE = 10_000
#: Changes undo can take back (the terminal's `u`, the studio's Ctrl+Z).
UNDO_DEPTH = 50

#: How each loop was made (its lineage operator).
OPERATORS = {
    "prior": "new from the prior",
    "seed": "your own loop as the model hears it (its reconstruction)",
    "blend": "blend of two liked loops",
    "vary": "variation of a liked loop",
    "edit": "made by hand in the studio (steered, blended or edited)",
}


@dataclass(frozen=True)
class Settings:
    """What shapes the evolution; fixed for a session except `adventure` and how loops are
    played (`bpm`, `feel`, `swing`)."""

    space: str = "vae"                 # genotype space: vae, pca or grid
    model: str | None = None           # VAE file or run folder; None = the shipped model
    loops: int = 8                     # loops per generation
    fresh: int = 1                     # new prior samples per generation
    adventure: float = 0.3             # mutation sigma, in prior standard deviations
    blend: float = 0.5                 # chance that a child blends two parents
    alpha: float = 0.3                 # cxBlend's alpha: how far past its parents a blend may go
    keep_favourites: bool = True       # elitism: favourites join every next generation
    seed: int = 0                      # random seed of the session
    seed_loops: tuple[str, ...] = ()   # MIDI files the first generation starts from
    refine: int | None = None          # refinement steps encoding them (None = vae.refine's)
    bpm: float | None = None           # the session's one tempo (None: from the seed loop)
    lock: tuple[str, ...] = ()         # rows of the first seed loop every loop keeps
    prior: str = "learned"             # fresh loops: the model's learned prior, or normal
    drum_map: str = "groove"           # how the seed loops are read (evodrum.notemap.reading)
    drum_channel: int | None = None    # the seed loops' drum channel (None: found)
    feel: float | None = None          # how much of the model's feel, 0..1 (None: --feel's)
    swing: float | None = None         # MPC swing in percent (None: --swing's)

    def __post_init__(self):
        """Every field checked (type and range), whether it comes from the CLI, the studio
        or a session file someone handed over: EvodrumError naming the field."""
        from evodrum import genotypes
        if self.space not in genotypes.names():
            raise EvodrumError(f"space must be one of {', '.join(genotypes.names())}, "
                               f"got {self.space!r}")
        if self.model is not None and not isinstance(self.model, str):
            raise EvodrumError(f"model must be a path or null, got {self.model!r}")
        checks.integer(self.loops, "loops", 2, MAX_LOOPS)
        checks.integer(self.fresh, "fresh", 0)
        if not self.fresh < self.loops:
            raise EvodrumError(f"fresh loops per generation must be 0 to {self.loops - 1} "
                               f"(fewer than --loops), got {self.fresh}")
        checks.number(self.adventure, "adventure", 0, 10, low_open=True)
        checks.number(self.blend, "blend", 0, 1)
        checks.number(self.alpha, "alpha", 0, 10)
        if not isinstance(self.keep_favourites, bool):
            raise EvodrumError(f"keep_favourites must be true or false, got "
                               f"{self.keep_favourites!r}")
        checks.seed(self.seed)
        if not isinstance(self.seed_loops, tuple) or not all(
                isinstance(p, str) for p in self.seed_loops):
            raise EvodrumError(f"seed_loops must be a list of file names, got "
                               f"{self.seed_loops!r}")
        if self.refine is not None:
            checks.integer(self.refine, "refine", 0, MAX_REFINE)
        if self.bpm is not None and (isinstance(self.bpm, bool)
                                     or not isinstance(self.bpm, (int, float))
                                     or not TEMPO_MIN <= self.bpm <= TEMPO_MAX):
            raise EvodrumError(f"bpm (the tempo) must be {TEMPO_MIN:g} to {TEMPO_MAX:g} BPM, "
                               f"got {self.bpm!r}")
        if not isinstance(self.lock, tuple) or not all(r in ROWS for r in self.lock):
            raise EvodrumError(f"lock must be a list of rows ({', '.join(ROWS)}), got "
                               f"{self.lock!r:.60}")
        if self.lock and not self.seed_loops:
            raise EvodrumError("--lock keeps rows of your loop: give it with --seed-loops "
                               "FILE.mid")
        if self.feel is not None:
            checks.number(self.feel, "feel", 0, 1)
        if self.swing is not None:
            checks.number(self.swing, "swing", *SWING_RANGE)
        if self.prior not in ("learned", "normal"):
            raise EvodrumError(f"prior must be learned or normal, got {self.prior!r}")
        check_stored_map(self.drum_map)
        if self.drum_channel is not None:
            checks.integer(self.drum_channel, "drum_channel", 1, 16)
        if len(self.seed_loops) > self.loops:
            raise EvodrumError(f"{len(self.seed_loops)} seed loops do not fit a generation of "
                               f"{self.loops}: give at most {self.loops} or raise --loops")

    def to_dict(self) -> dict:
        return dict(asdict(self), seed_loops=list(self.seed_loops), lock=list(self.lock))

    @classmethod
    def from_dict(cls, d: dict) -> Settings:
        """Settings from a session file (unknown keys are ignored; __post_init__ checks)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: (tuple(v) if k in ("seed_loops", "lock") and isinstance(v, list) else v)
                      for k, v in d.items() if k in names})


@dataclass
class Loop:
    """One loop: genotype, the grid heard (MIDI-quantised), lineage and the user's verdict."""

    id: int
    genotype: np.ndarray               # (dim,) float64
    grid: np.ndarray                   # (9, S) float32, velocities quantised to MIDI levels
    op: str                            # a key of OPERATORS
    parents: tuple[int, ...]           # ids of the loops it was bred from
    born: int                          # generation it first appeared in
    source: str | None = None          # file name of a seed loop
    rating: int | None = None
    favourite: bool = False
    original: np.ndarray | None = None  # the grid a seed file or an edit had before encoding
    original_offsets: np.ndarray | None = None  # a seed file's timing (None: on the grid)

    def origin(self) -> str:
        """Short lineage label, e.g. 'blend #3 #5', or 'seed mine.mid (model's version)'."""
        if self.op == "seed":
            return f"seed {self.source} (model's version)"
        return " ".join([self.op, *(f"#{p}" for p in self.parents)])

    def as_written(self, spec: GridSpec):
        """The seed file or edit as the musician made it (a seed with its own timing), an
        `evodrum.loop.Loop` of `spec`; None for a loop the model made."""
        if self.original is None:
            return None
        if self.original_offsets is None:
            return Played.straight(self.original, spec)
        return Played(self.original, self.original_offsets, spec)   # rests keep no offset

    def changed_onsets(self) -> float | None:
        """For a loop encoded from the user's grid (a seed file, an edit), the share of
        onsets (in either grid) that the model's version adds or drops."""
        if self.original is None:
            return None
        mine, heard = self.original > 0, self.grid > 0
        return float((mine ^ heard).sum() / max(1, (mine | heard).sum()))


@dataclass
class Generation:
    """The loops shown together, in screen order, and the generation they were bred from."""

    index: int
    loop_ids: list[int]
    bred_from: int | None = None       # None for the first generation
    adventure: float | None = None     # mutation setting used to breed it
    bred_on: dict[int, int | None] | None = None  # bred_from's ratings when it was bred


@dataclass(frozen=True)
class Mark:
    """A point in a session to go back to (see `Session.mark`)."""

    settings: Settings
    verdicts: dict[int, tuple[int | None, bool]]   # every loop's (rating, favourite)
    generations: int
    current: int
    selected: int
    rng_state: dict
    lock: Lock | None


@dataclass
class Session:
    """Settings, all loops, the generations, where the user is, and the RNG state."""

    settings: Settings
    spec: GridSpec
    fingerprint: str | None            # identifies the model the genotypes decode with
    rng_state: dict                    # numpy bit generator state for the next breeding
    loops: dict[int, Loop] = field(default_factory=dict)
    generations: list[Generation] = field(default_factory=list)
    current: int = 0                   # generation on screen
    selected: int = 0                  # position of the selected loop in it
    lock: Lock | None = None           # cells every new loop keeps (locked rows, edits)
    dirty: bool = field(default=False, compare=False)

    # --- reading -----------------------------------------------------------

    def generation(self, index: int | None = None) -> Generation:
        return self.generations[self.current if index is None else index]

    def shown(self, index: int | None = None) -> list[Loop]:
        """The loops of a generation (default: the one on screen), in screen order."""
        return [self.loops[i] for i in self.generation(index).loop_ids]

    def position_of(self, loop_id: int) -> int:
        """The 0-based screen position of loop `#loop_id`; EvodrumError if not on screen."""
        ids = self.generation().loop_ids
        if loop_id not in ids:
            where = "" if loop_id not in self.loops else (
                f" (it was in generation {self.loops[loop_id].born + 1}; 'g K' goes there)")
            raise EvodrumError(f"loop #{loop_id} is not on screen: this generation holds "
                               f"#{min(ids)} to #{max(ids)}{where}")
        return ids.index(loop_id)

    def loop_at(self, position: int) -> Loop:
        """The loop at 0-based `position` on screen; EvodrumError if there is none."""
        ids = self.generation().loop_ids
        if not 0 <= position < len(ids):
            raise EvodrumError(f"there is no loop {position + 1}: choose 1 to {len(ids)}")
        return self.loops[ids[position]]

    def favourites(self) -> list[Loop]:
        return [loop for loop in self.loops.values() if loop.favourite]

    # --- changing ----------------------------------------------------------

    def rate(self, position: int, rating: int | None) -> Loop:
        """Give the loop at `position` a rating 0..9 (None clears it)."""
        if rating is not None and not 0 <= rating <= RATING_MAX:
            raise EvodrumError(f"ratings go from 0 to {RATING_MAX}, got {rating}")
        loop = self.loop_at(position)
        loop.rating = rating
        self.dirty = True
        return loop

    def toggle_favourite(self, position: int) -> Loop:
        loop = self.loop_at(position)
        loop.favourite = not loop.favourite
        self.dirty = True
        return loop

    def select(self, position: int) -> Loop:
        loop = self.loop_at(position)
        self.selected = position
        self.dirty = True
        return loop

    def go_to(self, index: int) -> Generation:
        """Show generation `index` (0-based), keeping the selected position if it exists."""
        if not 0 <= index < len(self.generations):
            raise EvodrumError(f"there is no generation {index + 1}: "
                               f"choose 1 to {len(self.generations)}")
        self.current = index
        self.selected = min(self.selected, len(self.generation().loop_ids) - 1)
        self.dirty = True
        return self.generation()

    def previous(self) -> int:
        """The generation the one on screen was bred from (the one before, for the first)."""
        bred_from = self.generation().bred_from
        if bred_from is None:
            raise EvodrumError("this is the first generation: there is nothing before it")
        return bred_from

    def adopt(self, loops: list[Loop], kept: list[Loop], bred_from: int | None,
              rng_state: dict, bred_on: dict[int, int | None] | None = None) -> Generation:
        """Append a generation of `kept` loops then the new `loops`, and show it."""
        for loop in loops:
            self.loops[loop.id] = loop
        generation = Generation(len(self.generations), [lp.id for lp in kept + loops], bred_from,
                                self.settings.adventure if bred_from is not None else None,
                                bred_on)
        self.generations.append(generation)
        self.rng_state = rng_state
        self.current, self.selected = generation.index, 0
        self.dirty = True
        return generation

    def set_bpm(self, bpm: float) -> None:
        """Change the session's tempo: playback and every export follow it."""
        self.settings = replace(self.settings, bpm=float(bpm))  # validated by Settings
        self.dirty = True

    def set_feel(self, amount: float, swing: float) -> None:
        """How much of the model's feel loops play with, and their swing (saved: a resumed
        session sounds as it did)."""
        self.settings = replace(self.settings, feel=float(amount), swing=float(swing))
        self.dirty = True

    def set_adventure(self, adventure: float) -> None:
        self.settings = replace(self.settings, adventure=adventure)
        self.dirty = True

    def set_lock(self, lock: Lock | None) -> None:
        """Cells every loop made from now on keeps (None: nothing locked)."""
        self.lock = lock if lock is not None and lock.mask.any() else None
        self.dirty = True

    def mark(self) -> "Mark":
        """What `rewind` needs to bring the session back to now: loops are only ever
        added and generations appended, so ids, verdicts and counts suffice (cheap at
        any length, unlike a copy of every loop)."""
        return Mark(self.settings, {i: (lp.rating, lp.favourite) for i, lp in self.loops.items()},
                    len(self.generations), self.current, self.selected, self.rng_state, self.lock)

    def rewind(self, mark: "Mark") -> None:
        """The session as it was at `mark`: later loops and generations dropped, verdicts
        and the rest restored."""
        self.loops = {i: lp for i, lp in self.loops.items() if i in mark.verdicts}
        for i, (rating, favourite) in mark.verdicts.items():
            self.loops[i].rating, self.loops[i].favourite = rating, favourite
        del self.generations[mark.generations:]
        self.settings, self.current, self.selected = mark.settings, mark.current, mark.selected
        self.rng_state, self.lock = mark.rng_state, mark.lock
        self.dirty = True

    def next_id(self) -> int:
        return max(self.loops, default=0) + 1


class History:
    """The changes made to a session in this sitting, newest last, each with the session
    as it was before it (a `Mark`): `undo` takes back the last one. The terminal and the
    studio share it; the session file saved after an undo is the session as undone."""

    def __init__(self, depth: int = UNDO_DEPTH):
        self.depth, self._done = depth, []

    def remember(self, session: Session, what: str) -> None:
        """Keep `session` as it is before the change `what` ("rating of #3")."""
        self._done.append((what, session.mark()))
        del self._done[:-self.depth]

    def undo(self, session: Session) -> str:
        """Bring `session` back to before the last change; what that change was.
        EvodrumError when nothing is left to undo."""
        if not self._done:
            raise EvodrumError("nothing to undo")
        what, before = self._done.pop()
        session.rewind(before)
        return what

    @property
    def last(self) -> str | None:
        """What undo would take back, or None."""
        return self._done[-1][0] if self._done else None
