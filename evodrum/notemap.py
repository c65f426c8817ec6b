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

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from evodrum.errors import EvodrumError
from evodrum.infile import NotAFile, open_regular
from evodrum.kit import DRUM_MAPS, PITCH_TO_ROW, ROWS, pitch_table

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
        return parse((_folder() / f"{spec}.toml").read_text(encoding="utf-8"),
                     f"note map {spec}", spec)
    path = Path(spec)
    if not path.suffix and not path.exists():
        known = ", ".join(list(DRUM_MAPS) * (option == "--drum-map") + builtin_names())
        raise EvodrumError(f"{option} {spec}: no such map: use one of {known} or a "
                           ".toml note map file")
    try:
        f, size = open_regular(path)        # never blocks on a pipe or reads a device
        with f:
            if size > MAX_BYTES:
                raise EvodrumError(f"{path}: too big for a note map "
                                   f"({MAX_BYTES // 1024} KiB at most)")
            text = f.read().decode("utf-8")
    except NotAFile as e:
        raise EvodrumError(f"{path}: {e.reason.replace('no such file', 'no such note map file')}"
                           ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise EvodrumError(f"{path}: cannot read the note map ({e})") from None
    return parse(text, str(path), path.stem)


def reading(drum_map) -> tuple[np.ndarray, frozenset[int]]:
    """How a file's pitches are read into rows, as (pitch -> row table, the pitches the
    reading names exactly): a drum map of `evodrum.kit` (groove, magenta, or a 128-entry
    table), or a note map by name or file, reading back what was written with it."""
    if isinstance(drum_map, np.ndarray):
        return pitch_table(drum_map), frozenset()
    if not isinstance(drum_map, str) or not drum_map or len(drum_map) > MAX_PATH:
        raise EvodrumError(f"drum map {drum_map!r:.60}: not a drum map name or a file name")
    if drum_map in DRUM_MAPS:
        return pitch_table(drum_map), frozenset()
    note_map = load(drum_map, "--drum-map")
    return note_map.reading_table(), frozenset(note_map.pitches)


def reading_key(drum_map: str) -> str | dict:
    """What a reading is, for a cache key: its name, or a note map file's pitches (so
    an edited file is a different reading)."""
    if drum_map in DRUM_MAPS or drum_map in builtin_names():
        return drum_map
    return {"note_map": load(drum_map, "--drum-map").to_dict()["pitches"]}
