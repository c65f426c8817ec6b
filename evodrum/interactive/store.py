"""The session file: the whole session as JSON, written atomically after every change.

A session folder holds `session.json`; `--resume` accepts the folder or the file.
Genotypes are stored as exact floats, grids as (row, step, MIDI velocity) hits,
and the random generator's state, so a resumed session breeds exactly what the
uninterrupted one would have.
"""
from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from evodrum.atomic import write_text
from evodrum.errors import EvodrumError
from evodrum.grid import VELOCITY_LEVELS, GridSpec, from_midi_velocity, to_midi_velocity
from evodrum.interactive.session import OPERATORS, RATING_MAX, Generation, Loop, Session, Settings
from evodrum.lock import Lock
from evodrum.midi import DEFAULT_BPM
from evodrum.statefile import REQUIRED, Fields, StateError, read_json, rng_state

FORMAT = "evodrum-interactive-session-1"
SESSION_FILE = "session.json"
#: Bounds of a session file, far above any real session (a generation shows 2-16 loops).
MAX_GENERATIONS = 100_000
MAX_LOOPS_SHOWN = 16
MAX_LOOPS = MAX_GENERATIONS * MAX_LOOPS_SHOWN
MAX_ID = 2**31
#: Longest genotype: the grid space of the largest grid (9 rows x 4,096 steps).
MAX_DIM = 9 * 4096


def session_path(path: str | Path) -> Path:
    """The session file of a session folder (or the file itself)."""
    path = Path(path)
    return path / SESSION_FILE if path.is_dir() else path


def _hits(grid: np.ndarray) -> list[list[int]]:
    rows, steps = np.nonzero(grid)
    velocity = to_midi_velocity(grid)[rows, steps]
    return np.stack([rows, steps, velocity], axis=1).tolist()


def _grid(hits: np.ndarray, spec: GridSpec) -> np.ndarray:
    levels = np.zeros(spec.shape, np.uint8)
    if len(hits):
        rows, steps, velocity = hits.T
        levels[rows, steps] = velocity
    return from_midi_velocity(levels)


def _read_hits(f: Fields, key: str, spec: GridSpec, default=REQUIRED) -> np.ndarray | None:
    """(row, step, MIDI velocity) triples, each within the grid and 1..127."""
    value = f.items(key, spec.shape[0] * spec.shape[1], default)
    if value is None:
        return None
    try:
        hits = np.asarray(value, dtype=np.int64).reshape(-1, 3) if value else \
            np.zeros((0, 3), np.int64)
    except (TypeError, ValueError, OverflowError):
        raise StateError(f.name(key), "must be a list of [row, step, velocity] whole "
                         "numbers") from None
    for column, (name, high) in enumerate((("row", spec.shape[0] - 1), ("step", spec.shape[1] - 1),
                                          ("velocity", VELOCITY_LEVELS))):
        low = 1 if name == "velocity" else 0
        if len(hits) and not low <= hits[:, column].min() <= hits[:, column].max() <= high:
            raise StateError(f.name(key), f"holds a {name} outside {low} to {high}")
    return hits


def _loop_dict(loop: Loop) -> dict:
    d = {"id": loop.id, "op": loop.op, "parents": list(loop.parents), "born": loop.born,
         "source": loop.source, "rating": loop.rating, "favourite": loop.favourite,
         "genotype": loop.genotype.tolist(), "hits": _hits(loop.grid)}
    if loop.original is not None:
        d["original_hits"] = _hits(loop.original)
    return d


def _loop(f: Fields, spec: GridSpec, dim: int | None) -> Loop:
    original = _read_hits(f, "original_hits", spec, default=None)
    return Loop(f.integer("id", 1, MAX_ID), f.numbers("genotype", dim, MAX_DIM),
                _grid(_read_hits(f, "hits", spec), spec), f.text("op", choices=OPERATORS),
                tuple(checked_ids(f, "parents", 2 ** 31)), f.integer("born", 0, MAX_GENERATIONS),
                f.text("source", default=None), f.integer("rating", 0, RATING_MAX, default=None),
                f.boolean("favourite", default=False),
                None if original is None else _grid(original, spec))


def checked_ids(f: Fields, key: str, max_items: int) -> list[int]:
    """A list of loop ids (whole numbers from 1)."""
    field = f.name(key)
    return [_checked_id(i, f"{field}[{n}]") for n, i in enumerate(f.items(key, max_items))]


def _checked_id(value, field: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
        return value
    raise StateError(field, f"must be a loop id (a whole number from 1), got {value!r}")


def _generation_dict(g: Generation) -> dict:
    d = {"index": g.index, "loops": g.loop_ids, "bred_from": g.bred_from,
         "adventure": g.adventure}
    if g.bred_on is not None:
        d["bred_on"] = {str(i): r for i, r in g.bred_on.items()}
    return d


def _generation(f: Fields, index: int) -> Generation:
    f.integer("index", index, index)
    bred_on = f.table("bred_on", default=None)
    if bred_on is not None:
        ratings = {}
        for key in bred_on.data:
            if not key.isdigit():
                raise StateError(bred_on.name(key), "must be keyed by loop ids")
            ratings[int(key)] = bred_on.integer(key, 0, RATING_MAX, default=None)
        bred_on = ratings
    return Generation(index, checked_ids(f, "loops", MAX_LOOPS_SHOWN),
                      f.integer("bred_from", 0, index - 1, default=None) if index else
                      f.integer("bred_from", 0, 0, default=None),
                      f.number("adventure", 0, 10, default=None, low_open=True), bred_on)


def to_dict(session: Session) -> dict:
    return {
        "format": FORMAT,
        "settings": session.settings.to_dict(),
        "spec": session.spec.to_dict(),
        "fingerprint": session.fingerprint,
        "rng_state": session.rng_state,
        "current": session.current,
        "selected": session.selected,
        "lock": None if session.lock is None else session.lock.to_dict(),
        "generations": [_generation_dict(g) for g in session.generations],
        "loops": [_loop_dict(loop) for loop in session.loops.values()],
    }


def _lock(d, spec: GridSpec) -> Lock | None:
    """The session's locked cells (absent in files from before locks), checked."""
    if d is None:
        return None
    try:
        return Lock.from_dict(d, spec)
    except (KeyError, TypeError, ValueError, OverflowError) as e:
        raise StateError("lock", f"must be {{\"cells\": [[row, step, velocity], ...]}} "
                         f"within the grid ({e})") from None


def from_dict(d) -> Session:
    """The session a session.json document describes, every field checked (StateError
    naming the field). New fields are read here with a default, so older files load."""
    f = Fields(d)
    f.text("format", choices=(FORMAT,))
    s = f.table("spec")
    try:
        spec = GridSpec(s.integer("bars"), s.integer("beats_per_bar"), s.integer("steps_per_beat"))
    except ValueError as e:
        raise StateError("", f"spec: {e}") from None
    try:
        settings = Settings.from_dict(f.table("settings").data)
        if settings.bpm is None:   # a session always has its tempo once started
            settings = replace(settings, bpm=DEFAULT_BPM)
    except StateError:
        raise
    except (EvodrumError, TypeError) as e:
        raise StateError("", f"settings: {e}") from None
    raw = f.tables("loops", MAX_LOOPS)
    dims = {len(x.data.get("genotype") or []) for x in raw}
    loops = {}
    for x in raw:
        loop = _loop(x, spec, max(dims) if len(dims) == 1 else None)
        if len(loop.genotype) != max(dims):
            raise StateError(x.name("genotype"), "must be as long as every other loop's")
        if loop.id in loops:
            raise StateError(x.name("id"), f"{loop.id} is used by two loops")
        loops[loop.id] = loop
    generations = [_generation(g, i) for i, g in
                   enumerate(f.tables("generations", MAX_GENERATIONS))]
    if not generations:
        raise StateError("generations", "is empty (a session starts with one)")
    current = f.integer("current", 0, len(generations) - 1)
    selected = f.integer("selected", 0, len(generations[current].loop_ids) - 1)
    for g in generations:
        missing = [i for i in g.loop_ids if i not in loops]
        if missing:
            raise StateError(f"generations[{g.index}].loops", f"names loop {missing[0]}, "
                             "which the file does not hold")
    for loop in loops.values():
        if loop.born >= len(generations):
            raise StateError(f"loops (#{loop.id}).born", "is a generation the file does not hold")
    session = Session(settings, spec, f.text("fingerprint", default=None),
                      rng_state(f.data.get("rng_state"), "rng_state"), loops, generations,
                      current, selected, _lock(f.data.get("lock"), spec))
    return session


def dumps(d: dict) -> str:
    """JSON with one top-level key per line and one loop per line: quick to write (the C
    encoder, no indentation) and still easy to read or diff."""
    fields = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in d.items() if k != "loops"]
    loops = ",\n  ".join(json.dumps(loop) for loop in d["loops"])
    return "{\n" + ",\n".join(fields) + ',\n"loops": [\n  ' + loops + "\n]\n}\n"


def save(session: Session, path: str | Path) -> None:
    """Write the session to `path` atomically and mark it saved."""
    write_text(path, dumps(to_dict(session)))
    session.dirty = False


def load(path: str | Path) -> Session:
    """The session saved at `path` (a session folder or its session.json), checked field
    by field: a damaged or hostile file is one EvodrumError naming the file and the field."""
    path = session_path(path)
    if not os.path.lexists(path):
        raise EvodrumError(f"{path}: no session file (give a folder made by "
                           "`evodrum interactive`, or its session.json)")
    d = read_json(path, "session file")
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise EvodrumError(f"{path}: not an evodrum interactive session file")
    try:
        return from_dict(d)
    except StateError as e:
        raise EvodrumError(f"{path}: damaged session file: {e}") from None
