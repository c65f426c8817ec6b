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
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from evodrum.errors import EvodrumError
from evodrum.infile import NotAFile, open_regular
from evodrum.kit import ROWS

DEFAULT = "gm"
#: A note map file is a few lines; anything bigger is not one.
MAX_BYTES = 64 * 1024


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
        into its rows (for `evodrum.midi.read_drums`' drum_map)."""
        table = np.full(128, -1, dtype=np.int8)
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


def load(spec: str | None) -> NoteMap:
    """A shipped map by name (gm, roland-td, ...) or a user's file by path; None: gm."""
    spec = spec or DEFAULT
    if spec in builtin_names():
        return parse((_folder() / f"{spec}.toml").read_text(encoding="utf-8"),
                     f"note map {spec}", spec)
    path = Path(spec)
    if not path.suffix and not path.exists():
        raise EvodrumError(f"--note-map {spec}: no such map: use one of "
                           f"{', '.join(builtin_names())} or a .toml file")
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
