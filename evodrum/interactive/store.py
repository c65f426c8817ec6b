"""The session file: the whole session as JSON, written atomically after every change.

A session folder holds `session.json`; `--resume` accepts the folder or the file.
Genotypes are stored as exact floats, grids as (row, step, MIDI velocity) hits,
and the random generator's state, so a resumed session breeds exactly what the
uninterrupted one would have.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from evodrum.atomic import write_text
from evodrum.errors import EvodrumError
from evodrum.grid import GridSpec, from_midi_velocity, to_midi_velocity
from evodrum.interactive.session import Generation, Loop, Session, Settings
from evodrum.midi import DEFAULT_BPM

FORMAT = "evodrum-interactive-session-1"
SESSION_FILE = "session.json"


def session_path(path: str | Path) -> Path:
    """The session file of a session folder (or the file itself)."""
    path = Path(path)
    return path / SESSION_FILE if path.is_dir() else path


def _hits(grid: np.ndarray) -> list[list[int]]:
    rows, steps = np.nonzero(grid)
    velocity = to_midi_velocity(grid)[rows, steps]
    return np.stack([rows, steps, velocity], axis=1).tolist()


def _grid(hits: list, spec: GridSpec) -> np.ndarray:
    levels = np.zeros(spec.shape, np.uint8)
    if hits:
        rows, steps, velocity = np.asarray(hits, dtype=int).T
        levels[rows, steps] = velocity
    return from_midi_velocity(levels)


def _loop_dict(loop: Loop) -> dict:
    d = {"id": loop.id, "op": loop.op, "parents": list(loop.parents), "born": loop.born,
         "source": loop.source, "rating": loop.rating, "favourite": loop.favourite,
         "genotype": loop.genotype.tolist(), "hits": _hits(loop.grid)}
    if loop.original is not None:
        d["original_hits"] = _hits(loop.original)
    return d


def _loop(d: dict, spec: GridSpec) -> Loop:
    original = d.get("original_hits")
    return Loop(int(d["id"]), np.asarray(d["genotype"], dtype=np.float64), _grid(d["hits"], spec),
                d["op"], tuple(d["parents"]), int(d["born"]), d.get("source"), d.get("rating"),
                bool(d.get("favourite", False)),
                None if original is None else _grid(original, spec))


def _generation_dict(g: Generation) -> dict:
    d = {"index": g.index, "loops": g.loop_ids, "bred_from": g.bred_from,
         "adventure": g.adventure}
    if g.bred_on is not None:
        d["bred_on"] = {str(i): r for i, r in g.bred_on.items()}
    return d


def _generation(d: dict) -> Generation:
    bred_on = d.get("bred_on")
    return Generation(int(d["index"]), [int(i) for i in d["loops"]], d.get("bred_from"),
                      d.get("adventure"),
                      None if bred_on is None else {int(i): r for i, r in bred_on.items()})


def to_dict(session: Session) -> dict:
    return {
        "format": FORMAT,
        "settings": session.settings.to_dict(),
        "spec": session.spec.to_dict(),
        "fingerprint": session.fingerprint,
        "rng_state": session.rng_state,
        "current": session.current,
        "selected": session.selected,
        "generations": [_generation_dict(g) for g in session.generations],
        "loops": [_loop_dict(loop) for loop in session.loops.values()],
    }


def from_dict(d: dict) -> Session:
    spec = GridSpec.from_dict(d["spec"])
    loops = {loop.id: loop for loop in (_loop(x, spec) for x in d["loops"])}
    generations = [_generation(g) for g in d["generations"]]
    settings = Settings.from_dict(d["settings"])
    if settings.bpm is None:   # a session always has its tempo once started
        settings = replace(settings, bpm=DEFAULT_BPM)
    session = Session(settings, spec, d.get("fingerprint"),
                      d["rng_state"], loops, generations, int(d["current"]), int(d["selected"]))
    missing = {i for g in generations for i in g.loop_ids} - set(loops)
    if missing or not generations:
        raise ValueError("generations refer to missing loops" if missing else "no generations")
    if not 0 <= session.current < len(generations):
        raise ValueError(f"current generation {session.current} does not exist")
    if not 0 <= session.selected < len(generations[session.current].loop_ids):
        raise ValueError(f"selected loop {session.selected} is not in the current generation")
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
    """The session saved at `path` (a session folder or its session.json)."""
    path = session_path(path)
    try:
        d = json.loads(path.read_text())
    except FileNotFoundError:
        raise EvodrumError(f"{path}: no session file (give a folder made by "
                           "`evodrum interactive`, or its session.json)") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise EvodrumError(f"{path}: cannot read the session file ({e})") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise EvodrumError(f"{path}: not an evodrum interactive session file")
    try:
        return from_dict(d)
    except (KeyError, TypeError, ValueError, IndexError, EvodrumError) as e:
        raise EvodrumError(f"{path}: damaged session file ({type(e).__name__}: {e})") from None
