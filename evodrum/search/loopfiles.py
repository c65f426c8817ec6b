"""A run's loop files (best_NN.mid, front_NN.mid, elites/cell_*.mid), never replaced.

A resumed run finds the same loops again. Each file the run writes is recorded in
loops.json with a digest of the bytes written, so a resume knows what a file was
written as, whatever has happened to it since (a DAW may have edited it in place):
- the same take again (same tempo, note map, feel): the file is kept as it is;
- a take played otherwise (another --bpm, --note-map, --feel or --swing): the file is
  kept and the new take goes beside it under the next free name (best_01-2.mid);
- a file the record does not know (a run from before the record): kept, as it is;
- a missing file (deleted, or a larger --top): written.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import PurePosixPath

from evodrum import atomic, midi
from evodrum.notes import note
from evodrum.outpaths import Outputs
from evodrum.statefile import StateError, read_json

#: The record of the loop files a run wrote, in its folder.
RECORD_FILE = "loops.json"
#: More names than any run writes (MAP-Elites cells top out far below).
MAX_NAMES = 1_000_000
_DIGEST = re.compile(r"[0-9a-f]{64}")


class LoopFiles:
    """Writes one run's loop files in `folder` (resuming: keeps those there, see above)."""

    def __init__(self, folder, resume: bool):
        self.folder = folder
        self.takes = read_record(folder / RECORD_FILE) if resume else {}
        self.written, self.kept, self.beside = [], [], []
        self.outputs = Outputs()

    def write(self, name: str, loop, spec, bpm: float, note_map=None) -> str:
        """Write loop `name` (relative to the folder); the name of the file holding it."""
        buf = io.BytesIO()
        midi.grid_to_midi(loop, spec, bpm, note_map=note_map).save(file=buf)
        data = buf.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        takes = self.takes.setdefault(name, {})
        same = [f for f, d in takes.items() if d == digest and self._exists(f)]
        if same or (self._exists(name) and not takes):
            self.kept.append(same[0] if same else name)
            return self.kept[-1]
        path = self.outputs.derived(self.folder / name)
        file = path.relative_to(self.folder).as_posix()
        atomic.write_bytes(path, data)
        takes[file] = digest
        self.written.append(file)
        if file != name:
            self.beside.append((name, file))
        return file

    def _exists(self, name: str) -> bool:
        return os.path.lexists(self.folder / name)

    def finish(self) -> dict:
        """Save the record, say what was kept and what went beside; a summary's entry."""
        atomic.write_json(self.folder / RECORD_FILE,
                          {"takes": {n: t for n, t in self.takes.items() if t}})
        if self.kept:
            note(f"kept {_some(self.kept)} in {self.folder} as they were (the same takes: a "
                 "resumed run never replaces a loop file; delete one to have it written again)")
        if self.beside:
            note(f"{_some([n for n, _ in self.beside])} held takes played otherwise (another "
                 "tempo, note map or feel), so they are kept and this take is written beside "
                 f"them: {_some([f for _, f in self.beside])}")
        return {"written": list(self.written), "kept": list(self.kept)}


def _some(names: list[str]) -> str:
    return names[0] + (f" and {len(names) - 1} more" if len(names) > 1 else "")


def read_record(path) -> dict[str, dict[str, str]]:
    """loops.json: for each loop's name, the files holding its takes and their digests
    (none when the run wrote no record); checked as data from a stranger."""
    if not os.path.lexists(path):
        return {}
    data = read_json(path, "record of loop files")
    takes = data.get("takes") if isinstance(data, dict) else None
    if not isinstance(takes, dict) or len(takes) > MAX_NAMES:
        raise StateError(f"{path}: takes", "must be a table of loop names")
    for name, files in takes.items():
        if not isinstance(files, dict) or len(files) > MAX_NAMES:
            raise StateError(f"{path}: takes.{_short(name)}", "must be a table of files")
        for file in (name, *files):
            if not _inside(file):
                raise StateError(f"{path}: takes.{_short(name)}",
                                 f"names {_short(file)}, not a file in the run folder")
        for file, digest in files.items():
            if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
                raise StateError(f"{path}: takes.{_short(name)}.{_short(file)}",
                                 "must be a SHA-256 digest in hex")
    return {name: dict(files) for name, files in takes.items()}


def _inside(name) -> bool:
    """A relative path down into the run folder (no '..', no NUL), as the run writes."""
    if not isinstance(name, str) or not name or "\0" in name or len(name) > 255:
        return False
    parts = PurePosixPath(name).parts
    return not PurePosixPath(name).is_absolute() and ".." not in parts and "\\" not in name


def _short(text) -> str:
    return repr(text)[:60]
