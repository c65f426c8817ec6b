"""Note maps: which MIDI pitch each drum row is written and played as, so a loop sent to
a DAW sounds on the right drums of its instrument. General MIDI is the default; a few
common maps ship as data files (`evodrum/notemaps/*.toml`, each citing its source), and
a user's own file has the same form:

    name = "My kit"            # optional
    [pitches]
    BD = 36
    SD = 38
    ...                        # all nine rows: BD SD CH OH RD CR LT MT HT, pitches 0-127

Files are validated on load; a bad one is one `error:` line naming it and the problem.
A note map also reads: `--drum-map drskit-sfz` (or your file) reads a loop written or
edited with that map back into the rows it was written from.
"""
from __future__ import annotations

import functools
import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from evodrum.errors import EvodrumError
from evodrum.infile import NotAFile, once, open_regular
from evodrum.kit import DRUM_MAPS, PITCH_TO_ROW, ROWS
from evodrum.statefile import StateError

DEFAULT = "gm"
#: A note map file is a few lines; anything bigger is not one.
MAX_BYTES = 64 * 1024
#: The longest file name a stored drum map may be.
MAX_PATH = 4096


@dataclass(frozen=True)
class NoteMap:
    """A name, the pitch of each row (in ROWS order) and where the pitches come from."""

    key: str
    name: str
    pitches: tuple[int, ...]
    source: str = ""

    def array(self) -> np.ndarray:
        return np.array(self.pitches, dtype=np.int64)

    def reading_table(self) -> np.ndarray:
        """The pitch -> row lookup (-1: no row) that reads MIDI written with this map back
        into its rows: the map's own pitches first, any other pitch as the Groove
        reduction reads it (a fill played on a pad the map does not name still sounds)."""
        table = PITCH_TO_ROW.copy()
        table[list(self.pitches)] = np.arange(len(ROWS))
        return table

    def to_dict(self) -> dict:
        return {"key": self.key, "name": self.name, "source": self.source,
                "pitches": dict(zip(ROWS, self.pitches))}


def _folder():
    return resources.files("evodrum") / "notemaps"


def builtin_names() -> list[str]:
    """The shipped maps' names (file stems), default first."""
    names = sorted(p.name[:-5] for p in _folder().iterdir() if p.name.endswith(".toml"))
    return sorted(names, key=lambda n: n != DEFAULT)


def parse(text: str, where: str, key: str) -> NoteMap:
    """A note map from TOML text; EvodrumError naming `where` and the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise EvodrumError(f"{where}: not a note map (TOML: {e})") from None
    pitches = data.get("pitches")
    if not isinstance(pitches, dict):
        raise EvodrumError(f"{where}: a note map needs a [pitches] table with the rows "
                           f"{' '.join(ROWS)}")
    unknown = sorted(set(pitches) - set(ROWS))
    if unknown:
        raise EvodrumError(f"{where}: no drum row called {unknown[0]!r}: the rows are "
                           f"{' '.join(ROWS)}")
    missing = [r for r in ROWS if r not in pitches]
    if missing:
        raise EvodrumError(f"{where}: [pitches] has no {', '.join(missing)}: give all nine "
                           f"rows ({' '.join(ROWS)})")
    for row in ROWS:
        p = pitches[row]
        if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= 127:
            raise EvodrumError(f"{where}: {row} must be a MIDI pitch 0-127, got {p!r}")
    name, source = data.get("name", key), data.get("source", "")
    if not isinstance(name, str) or not isinstance(source, str):
        raise EvodrumError(f"{where}: name and source are text")
    return NoteMap(key, name, tuple(int(pitches[r]) for r in ROWS), source)


def load(spec: str | None, option: str = "--note-map") -> NoteMap:
    """A shipped map by name (gm, roland-td, ...) or a user's file by path; None: gm.
    `option` names the option it was given as, in the error for an unknown name."""
    spec = spec or DEFAULT
    if spec in builtin_names():
        return _shipped(spec)
    path = Path(spec)
    if not path.suffix and not path.exists():
        known = [*DRUM_MAPS, *builtin_names()] if option == "--drum-map" else builtin_names()
        raise EvodrumError(f"{option} {spec}: no such map: use one of {', '.join(known)} or "
                           "a .toml note map file")
    return once(path, "note map", lambda: _read(path))


def _read(path: Path) -> NoteMap:
    """The note map file at `path`, read and checked."""
    try:
        f, size = open_regular(path)        # never blocks on a pipe or reads a device
        with f:
            if size > MAX_BYTES:
                raise EvodrumError(f"{path}: too big for a note map "
                                   f"({MAX_BYTES // 1024} KiB at most)")
            text = f.read().decode("utf-8")
    except NotAFile as e:
        reason = e.reason.replace("no such file", "no such note map file")
        raise EvodrumError(f"{path}: {reason.replace('not a file', 'not a note map file')}"
                           ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise EvodrumError(f"{path}: cannot read the note map ({e})") from None
    return parse(text, str(path), path.stem)


@functools.cache
def _shipped(name: str) -> NoteMap:
    return parse((_folder() / f"{name}.toml").read_text(encoding="utf-8"),
                 f"note map {name}", name)


# --- reading files written with a note map ----------------------------------------------

def reading(drum_map: str | NoteMap) -> tuple[np.ndarray, frozenset[int]]:
    """How a file's pitches are read into rows, as (pitch -> row table, the pitches the
    reading names exactly): a drum map of `evodrum.kit` (groove, magenta), or a note map
    (by name, file or loaded), reading back what was written with it."""
    note_map = drum_map if isinstance(drum_map, NoteMap) else reading_map(drum_map)
    if isinstance(note_map, str):
        return DRUM_MAPS[note_map], frozenset()
    return note_map.reading_table(), frozenset(note_map.pitches)


def reading_map(drum_map: str) -> str | NoteMap:
    """A `--drum-map` resolved: a name of `evodrum.kit.DRUM_MAPS` as it is, or the note
    map it names, loaded and checked to read back apart (EvodrumError if not)."""
    if not isinstance(drum_map, str) or not drum_map or len(drum_map) > MAX_PATH \
            or "\x00" in drum_map:
        raise EvodrumError(f"--drum-map {drum_map!r:.60}: not a drum map name or a file name")
    if drum_map in DRUM_MAPS:
        return drum_map
    note_map = load(drum_map, "--drum-map")
    rows = {}
    for row, pitch in zip(ROWS, note_map.pitches):
        if pitch in rows:
            raise EvodrumError(f"{drum_map}: {rows[pitch]} and {row} share pitch {pitch}: a "
                               "file written with this map cannot be read back into its rows")
        rows[pitch] = row
    return note_map


def stored_form(drum_map: str) -> str:
    """How a session or job keeps a drum map: its name, or a note map file's absolute
    path (so `--resume` from another folder reads the same file)."""
    if drum_map in DRUM_MAPS or drum_map in builtin_names():
        return drum_map
    return os.path.abspath(drum_map)


def check_stored_map(drum_map) -> str:
    """A drum map from a state file, checked by its form only (the file itself is read
    where seed loops are, not on every load or settings change); StateError if wrong."""
    if not (isinstance(drum_map, str) and 0 < len(drum_map) <= MAX_PATH
            and "\x00" not in drum_map and stored_form(drum_map) == drum_map):
        raise StateError("drum_map", f"must be one of {', '.join([*DRUM_MAPS, *builtin_names()])}"
                                     f" or a note map file's full path, got {drum_map!r:.60}")
    return drum_map


def reading_key(drum_map: str | NoteMap) -> str | dict:
    """What a reading is, for a cache key: a drum map's name, or a note map's pitches (so
    an edited map is a different reading)."""
    if isinstance(drum_map, str) and drum_map in DRUM_MAPS:
        return drum_map
    note_map = drum_map if isinstance(drum_map, NoteMap) else reading_map(drum_map)
    return {"note_map": note_map.to_dict()["pitches"]}
