"""The session file: the whole session as JSON, saved after every change.

A session folder holds `session.json`; `--resume` accepts the folder or the file.
Genotypes are stored as exact floats, grids as (row, step, MIDI velocity) hits,
and the random generator's state, so a resumed session breeds exactly what the
uninterrupted one would have.

`save` rewrites the whole file atomically. A `Journal` (the studio's, where a
long session would rewrite megabytes per click) writes a full snapshot now and
then and, after each change, appends only what changed to `session.journal`
beside it (one JSON line, fsync'ed; a line cut short by a crash is ignored, so
the session is as after the last whole change). Each line names the snapshot it
follows, so lines left from before a snapshot are never replayed. `load` reads
both, and checks the result field by field as it checks a plain session file.
"""
from __future__ import annotations

import contextlib
import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from evodrum.atomic import write_text
from evodrum.errors import EvodrumError
from evodrum.grid import VELOCITY_LEVELS, GridSpec, cells_of, grid_of_cells, whole_cells
from evodrum.interactive.session import OPERATORS, RATING_MAX, Generation, Loop, Session, Settings
from evodrum.lock import Lock
from evodrum.loop import OFFSET_HIGH, OFFSET_LOW
from evodrum.midi import DEFAULT_BPM
from evodrum.infile import NotAFile
from evodrum.statefile import (REQUIRED, Fields, StateError, check_depth, read_bytes, read_json,
                               rng_state)

FORMAT = "evodrum-interactive-session-1"
SESSION_FILE = "session.json"
JOURNAL_FILE = "session.journal"
#: Top-level fields a journal line may set (`_fields`; the others are the format, the
#: grid, which never change, and the loops and generations, journalled one by one).
JOURNAL_FIELDS = ("settings", "fingerprint", "rng_state", "current", "selected", "lock")
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


def _read_hits(f: Fields, key: str, spec: GridSpec, default=REQUIRED) -> np.ndarray | None:
    """(row, step, MIDI velocity) triples, each within the grid and 1..127."""
    value = f.items(key, spec.shape[0] * spec.shape[1], default)
    if value is None:
        return None
    try:
        hits = whole_cells(value) if value else np.zeros((0, 3), np.int64)
    except ValueError as e:
        raise StateError(f.name(key), str(e)) from None
    for column, (name, high) in enumerate((("row", spec.shape[0] - 1), ("step", spec.shape[1] - 1),
                                          ("velocity", VELOCITY_LEVELS))):
        low = 1 if name == "velocity" else 0
        if len(hits) and not low <= hits[:, column].min() <= hits[:, column].max() <= high:
            raise StateError(f.name(key), f"holds a {name} outside {low} to {high}")
    return hits


def _loop_dict(loop: Loop) -> dict:
    d = {"id": loop.id, "op": loop.op, "parents": list(loop.parents), "born": loop.born,
         "source": loop.source, "rating": loop.rating, "favourite": loop.favourite,
         "genotype": loop.genotype.tolist(), "hits": cells_of(loop.grid)}
    if loop.original is not None:
        d["original_hits"] = cells_of(loop.original)
        if loop.original_offsets is not None:   # one per original hit, in the same order
            d["original_offsets"] = [float(t) for t in loop.original_offsets[loop.original > 0]]
    return d


def _loop(f: Fields, spec: GridSpec, dim: int | None) -> Loop:
    original = _read_hits(f, "original_hits", spec, default=None)
    timing = _read_offsets(f, original, spec)
    return Loop(f.integer("id", 1, MAX_ID), f.numbers("genotype", dim, MAX_DIM),
                grid_of_cells(_read_hits(f, "hits", spec), spec)[1],
                f.text("op", choices=OPERATORS),
                tuple(checked_ids(f, "parents", 2 ** 31)), f.integer("born", 0, MAX_GENERATIONS),
                f.text("source", default=None), f.integer("rating", 0, RATING_MAX, default=None),
                f.boolean("favourite", default=False),
                None if original is None else grid_of_cells(original, spec)[1], timing)


def _read_offsets(f: Fields, hits: np.ndarray | None, spec: GridSpec) -> np.ndarray | None:
    """A seed loop's timing: one offset in [-0.5, 0.5) per original hit (absent in files
    from before it was kept, and for edits: None)."""
    offsets = f.numbers("original_offsets", None, spec.shape[0] * spec.shape[1], default=None,
                        low=OFFSET_LOW, high=OFFSET_HIGH)
    if offsets is None:
        return None
    if hits is None or len(offsets) != len(hits) or (offsets >= OFFSET_HIGH).any():
        raise StateError(f.name("original_offsets"), "must hold one offset in "
                         f"[{OFFSET_LOW}, {OFFSET_HIGH}) per original hit")
    timing = np.zeros(spec.shape, np.float32)
    timing[hits[:, 0], hits[:, 1]] = offsets          # offsets[i] times hits[i]
    return timing


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


def _fields(session: Session) -> dict:
    """The session's fields besides its format, grid, generations and loops: what a
    journal line may set (JOURNAL_FIELDS)."""
    return {"settings": session.settings.to_dict(), "fingerprint": session.fingerprint,
            "rng_state": session.rng_state, "current": session.current,
            "selected": session.selected,
            "lock": None if session.lock is None else session.lock.to_dict()}


def to_dict(session: Session) -> dict:
    return {"format": FORMAT, "spec": session.spec.to_dict(), **_fields(session),
            "generations": [_generation_dict(g) for g in session.generations],
            "loops": [_loop_dict(loop) for loop in session.loops.values()]}


def _lock(d, spec: GridSpec) -> Lock | None:
    """The session's locked cells (absent in files from before locks), checked."""
    if d is None:
        return None
    try:
        return Lock.from_dict(d, spec)
    except (KeyError, TypeError, ValueError, OverflowError) as e:
        raise StateError("lock", f"must be {{\"cells\": [[row, step, velocity], ...], "
                         f"\"offsets\": [...]}} within the grid ({e})") from None


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
    dims = {len(g) for g in (x.data.get("genotype") for x in raw) if isinstance(g, list)}
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
    journal = path.with_name(JOURNAL_FILE)
    try:
        if os.path.lexists(journal) and d.get("journal") is not None:
            replay(d, read_bytes(journal), str(d["journal"]))
    except NotAFile as e:
        raise EvodrumError(f"{journal}: cannot read the session journal ({e.reason})") from None
    except StateError as e:
        raise EvodrumError(f"{journal}: damaged session journal: {e}") from None
    try:
        return from_dict(d)
    except StateError as e:
        raise EvodrumError(f"{path}: damaged session file: {e}") from None


def replay(d: dict, journal: bytes, base: str) -> None:
    """Apply the journal's complete lines written after snapshot `base` to the session
    document `d` (checked afterwards by `from_dict`, like any session file)."""
    loops = d.get("loops")
    if not isinstance(loops, list) or not all(isinstance(x, dict) for x in loops):
        raise StateError("loops", "must be a list of loops")
    at = {_checked_id(x.get("id"), f"loops[{i}].id"): i for i, x in enumerate(loops)}
    lines = journal.split(b"\n")[:-1]          # the last piece has no newline: cut short
    for n, line in enumerate(lines, 1):
        where = f"line {n}"
        try:
            text = line.decode("utf-8")
            check_depth(text)
            entry = json.loads(text)
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise StateError(where, f"is not JSON ({e})") from None
        if not isinstance(entry, dict):
            raise StateError(where, "must be a JSON object")
        if entry.get("base") != base:
            continue                          # written before the current snapshot
        f = Fields(entry, where)
        for key, value in f.table("set", default=Fields({})).data.items():
            if key not in JOURNAL_FIELDS:
                raise StateError(f"{where}.set", f"names {key!r}, not a session field")
            d[key] = value
        gens = d.get("generations")
        if not isinstance(gens, list):
            raise StateError("generations", "must be a list")
        keep = f.integer("generations_kept", 0, len(gens), default=len(gens))
        del gens[keep:]
        gens.extend(f.items("generations", MAX_GENERATIONS, default=[]))
        for loop_id in f.items("dropped", MAX_LOOPS, default=[]):
            if _checked_id(loop_id, f"{where}.dropped") in at:
                loops[at.pop(loop_id)] = None
        for loop in f.items("loops", MAX_LOOPS, default=[]):
            if not isinstance(loop, dict):
                raise StateError(f"{where}.loops", "must hold loops")
            if _checked_id(loop.get("id"), f"{where}.loops.id") in at:
                loops[at[loop.get("id")]] = loop
            else:
                at[loop.get("id")] = len(loops)
                loops.append(loop)
    d["loops"] = [x for x in loops if x is not None]


def _identity(path: Path) -> tuple | None:
    """Which file `path` is, and as written (device, inode, size, modification time);
    None when there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _signature(loop: Loop) -> tuple:
    """What identifies a loop's saved state: its verdict and its (never changed in
    place) arrays and lineage."""
    return (loop.rating, loop.favourite, id(loop.genotype), id(loop.grid), id(loop.original),
            id(loop.original_offsets),
            loop.op, loop.parents, loop.born, loop.source)


class Journal:
    """Saves a session incrementally: a full snapshot to `path` (atomically), then
    each change as one line appended to session.journal beside it; a new snapshot
    once the journal has grown as large as the snapshot (so saving costs, on average,
    a constant per change however long the session)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.journal = self.path.with_name(JOURNAL_FILE)
        self.base: str | None = None
        self._loops: dict[int, tuple] = {}
        self._generations: list[dict] = []
        self._fields: dict = {}
        self._sizes = (0, 0)                  # (snapshot bytes, journal bytes)
        self._written: tuple | None = None    # the snapshot file as it was written

    def save(self, session: Session) -> None:
        """Write what changed since the last save (the first save is a snapshot); after
        a failed write, or when the snapshot is no longer the file written (removed,
        replaced), the next save is a snapshot again: a journal alone loads as nothing."""
        try:
            if self.base is None or self._sizes[1] > self._sizes[0] \
                    or _identity(self.path) != self._written:
                self.snapshot(session)
            else:
                line = self._changes(session)
                if line is not None:
                    self._append(line)
        except OSError:
            self.base = None
            raise
        session.dirty = False

    def snapshot(self, session: Session) -> None:
        d = to_dict(session)
        base = os.urandom(8).hex()
        text = dumps(dict(d, journal=base))
        write_text(self.path, text)
        self._written = _identity(self.path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.journal)
        self.base, self._sizes = base, (len(text), 0)
        self._loops = {i: _signature(loop) for i, loop in session.loops.items()}
        self._generations = d["generations"]
        self._fields = {k: d[k] for k in _fields(session)}

    def _changes(self, session: Session) -> str | None:
        """One journal line of what differs from the last save, or None."""
        entry: dict = {"base": self.base}
        changed = [loop for i, loop in session.loops.items()
                   if self._loops.get(i) != _signature(loop)]
        added = sum(loop.id not in self._loops for loop in changed)
        dropped = [i for i in self._loops if i not in session.loops] \
            if len(self._loops) + added != len(session.loops) else []
        # generations are appended, and undo drops the newest: compare from the end
        gens, kept = session.generations, min(len(session.generations), len(self._generations))
        while kept and _generation_dict(gens[kept - 1]) != self._generations[kept - 1]:
            kept -= 1
        new_gens = [_generation_dict(g) for g in gens[kept:]]
        if kept == len(self._generations) and not new_gens:
            new_gens = None
        values = json.loads(json.dumps(_fields(session)))   # as the file would read them
        changed_fields = {k: v for k, v in values.items() if self._fields.get(k) != v}
        if not (changed or dropped or new_gens is not None or changed_fields):
            return None
        if changed:
            entry["loops"] = [_loop_dict(loop) for loop in changed]
        if dropped:
            entry["dropped"] = dropped
        if new_gens is not None:
            entry["generations_kept"], entry["generations"] = kept, new_gens
        if changed_fields:
            entry["set"] = changed_fields
        for loop in changed:
            self._loops[loop.id] = _signature(loop)
        for i in dropped:
            del self._loops[i]
        if new_gens is not None:
            self._generations = self._generations[:kept] + new_gens
        self._fields.update(changed_fields)
        return json.dumps(entry) + "\n"

    def _append(self, line: str) -> None:
        """Append one whole line and make it durable (never through a link)."""
        data = line.encode("utf-8")
        fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._sizes = (self._sizes[0], self._sizes[1] + len(data))
