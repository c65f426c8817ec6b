"""Where a command may write: never over its inputs, never over a file it did not make.

One rule for every command: an output that already exists is never replaced. Whether
the user typed the name (`-o funk.wav`) or the command chose it, a name that is taken
moves on to the next free one (`funk.wav`, `funk-2.wav`, ...) and the command says so,
so running the same line twice keeps both results. Streams are the exception: a
character device (`-o /dev/null`) or a named pipe is written through. Missing folders
on the way to an output are made, and said.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from evodrum.errors import EvodrumError
from evodrum.notes import note

#: Free names tried before giving up (a folder with this many copies is a mistake).
MAX_TRIES = 10_000


def _real(path: Path) -> Path:
    """The absolute path with links followed; never raises (a link loop stays as it is,
    for the writer to refuse in one line)."""
    return Path(os.path.realpath(path))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return _real(a) == _real(b)


class Outputs:
    """The paths one run of a command writes, checked against its inputs and the disk."""

    def __init__(self, inputs=()):
        self.inputs = [Path(p) for p in inputs if p is not None]
        self.created: set[Path] = set()

    def _is_input(self, path: Path) -> bool:
        return any(_same_file(path, p) for p in self.inputs if p.exists())

    def _refuse_input(self, path: Path) -> None:
        """One line when a user-named output is an input of this run (writing would destroy it)."""
        if path.exists() and self._is_input(path):
            raise EvodrumError(f"{path}: is an input of this command; writing it would "
                               "destroy it, so give another output name")

    def _mine(self, path: Path) -> bool:
        return _real(path) in self.created

    def explicit(self, path: str | os.PathLike) -> Path:
        """A path the user asked for: itself, or the next free name when it is taken;
        never an input of this run."""
        path = Path(path)
        self._refuse_input(path)
        if _is_stream(path) or self._free(path):
            self._note_missing_folder(path.parent)
            self.created.add(_real(path))
            return path
        chosen = self.derived(path)
        note(f"{path} already exists, so this writes {chosen.name} beside it")
        return chosen

    @staticmethod
    def _note_missing_folder(folder: Path) -> None:
        if not folder.exists() and not folder.is_symlink():
            note(f"making the folder {folder}")

    def derived(self, path: str | os.PathLike) -> Path:
        """A name the command chose: `path`, or the first free `stem-N.suffix` beside it."""
        path = Path(path)
        return self.derived_set(path.parent, path.stem, [path.suffix])[0]

    def derived_set(self, folder: str | os.PathLike, stem: str, suffixes) -> list[Path]:
        """Files sharing one free stem (`funk.mid` and `funk.wav`, or `funk-2.*`)."""
        folder = Path(folder)
        for n in range(1, MAX_TRIES + 1):
            name = stem if n == 1 else f"{stem}-{n}"
            paths = [folder / f"{name}{suffix}" for suffix in suffixes]
            if all(self._free(p) for p in paths):
                self.created.update(_real(p) for p in paths)
                return paths
        raise EvodrumError(f"{folder}: no free name like {stem}{suffixes[0]} after "
                           f"{MAX_TRIES} tries; give an output path")

    def explicit_set(self, path: str | os.PathLike, companions) -> list[Path]:
        """A file the user named and the files written beside it under its stem
        (`ref.npz` and `ref.order.npy`): those names when all are free, else the first
        free `stem-N` set, said; never an input, never a stream (there is no beside)."""
        path = Path(path)
        self._refuse_input(path)
        if _is_stream(path):
            raise EvodrumError(f"{path}: is not a file; this command writes files beside "
                               "it, so give a file name")
        chosen = self.derived_set(path.parent, path.stem, [path.suffix, *companions])
        if chosen[0] != path:
            note(f"{path} (or a file beside it) already exists, so this writes "
                 f"{chosen[0].name} beside it")
        else:
            self._note_missing_folder(path.parent)
        return chosen

    def _free(self, path: Path) -> bool:
        return not (path.exists() or path.is_symlink()) or self._mine(path)

    def choose(self, path: str | os.PathLike, given: bool) -> Path:
        """`explicit(path)` when the user typed it, else `derived(path)`."""
        return self.explicit(path) if given else self.derived(path)


def _is_stream(path: Path) -> bool:
    """A character device or named pipe: written through, as `-o /dev/null` means."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)
