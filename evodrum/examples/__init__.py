"""Example drum loops that ship with evodrum, so a first try needs no dataset.

Six 4-bar loops (rock, funk, bossa, hip-hop, breakbeat, house) written by hand
by the evodrum authors as notation in `patterns.py` and stored beside it as
MIDI files (a few hundred bytes each). They are part of evodrum and share its
MIT licence. `evodrum examples` lists them and copies them where you want them.
"""
from __future__ import annotations

from pathlib import Path

from evodrum.errors import EvodrumError
from evodrum.examples.patterns import PATTERNS, Pattern

FOLDER = Path(__file__).resolve().parent
BY_NAME: dict[str, Pattern] = {p.name: p for p in PATTERNS}


def names() -> list[str]:
    return list(BY_NAME)


def pattern(name: str) -> Pattern:
    """The example called `name`; an unknown name is an error listing the real ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise EvodrumError(f"no example loop called {name!r}: choose from "
                           f"{', '.join(BY_NAME)}") from None


def path(name: str) -> Path:
    """The shipped MIDI file of example `name`."""
    return FOLDER / f"{pattern(name).name}.mid"


def write_midi_files(folder: Path = FOLDER) -> list[Path]:
    """Write every pattern as NAME.mid at its own tempo (how the shipped files were made)."""
    from evodrum import midi
    from evodrum.grid import DEFAULT_SPEC
    return [midi.write_midi(Path(folder) / f"{p.name}.mid", p.grid(), DEFAULT_SPEC, p.bpm)
            for p in PATTERNS]


def copy_to(folder: str | Path, selected: list[str] | None = None) -> tuple[list[Path], list[Path]]:
    """Copy example MIDI files into `folder`: (copied, already there with the same bytes).

    A different file of the same name is never replaced: that is an error naming it.
    """
    from evodrum.atomic import write_bytes
    folder = Path(folder)
    chosen = [path(n) for n in (selected or names())]
    clashes = [folder / src.name for src in chosen
               if (folder / src.name).exists()
               and not ((folder / src.name).is_file()
                        and (folder / src.name).read_bytes() == src.read_bytes())]
    if clashes:
        raise EvodrumError(f"{clashes[0]}: exists and is not the example; leaving it alone "
                           "(choose another folder)")
    copied, same = [], []
    for src in chosen:
        dst = folder / src.name
        if dst.exists():
            same.append(dst)
        else:
            write_bytes(dst, src.read_bytes())
            copied.append(dst)
    return copied, same
