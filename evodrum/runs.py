"""Run folders: every command that produces results writes them under runs/.

A run folder is claimed for the length of a run: an exclusive lock (`.lock` in
the folder, held with flock while the run lives) refuses a second run on the same
folder in one line. An `--out` folder that already holds files is never written
into by a new run (evodrum's one rule for outputs that exist): the run goes to the
next free folder beside it (`runs/x-2`), and says so, unless the command continues
that run (--resume, or a comparison extending its own folder).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from evodrum.errors import EvodrumError
from evodrum.notes import note

LOCK_FILE = ".lock"


def runs_root() -> Path:
    """$EVODRUM_RUNS, else ./runs in the current folder."""
    return Path(os.environ.get("EVODRUM_RUNS") or "runs")


def new_run_dir(kind: str, out: str | os.PathLike | None = None,
                own_files: tuple[str, ...] = ()) -> Path:
    """Create and return `out` (or the next free folder beside it, see `free_folder`),
    or a fresh runs/<kind>-<date>-<time> folder."""
    if out is not None:
        path = free_folder(out, own_files)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = runs_root() / f"{kind}-{stamp}"
        n = 1
        while path.exists():
            n += 1
            path = runs_root() / f"{kind}-{stamp}-{n}"
    make_folder(path)
    return path


def make_folder(path: Path) -> None:
    """mkdir -p, as one line naming the folder when the disk refuses."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise EvodrumError(f"{path}: exists and is not a folder") from None
    except OSError as e:
        raise EvodrumError(f"{path}: cannot create the folder "
                           f"({(e.strerror or str(e)).lower()})") from None


@contextlib.contextmanager
def claim_run_dir(kind: str, out: str | os.PathLike | None = None, *, resume: bool = False,
                  own_files: tuple[str, ...] = ()) -> Iterator[Path]:
    """Create (or reopen with `resume`) a run folder and hold its lock while the block runs.

    A given `out` that already holds files gives way to the next free folder beside it,
    unless `resume` is set or it holds one of `own_files` (a run this command may extend).
    """
    if resume and out is not None:
        folder = Path(out)
        make_folder(folder)
    else:
        folder = new_run_dir(kind, out, own_files)
    with folder_lock(folder):
        yield folder


def _holds_files(folder: Path) -> bool:
    try:
        return folder.is_symlink() or (folder.exists() and (
            not folder.is_dir() or any(p.name != LOCK_FILE for p in folder.iterdir())))
    except OSError:
        return True


def free_folder(out: str | os.PathLike, own_files: tuple[str, ...] = ()) -> Path:
    """`out` when it is new, empty or holds a run this command may extend (`own_files`);
    else the first free `out-2`, `out-3`, ... beside it, with a note saying so."""
    out = Path(out)
    if not _holds_files(out) or (out.is_dir() and any((out / n).exists() for n in own_files)):
        return out
    for n in range(2, 10_000):
        path = out.with_name(f"{out.name}-{n}")
        if not _holds_files(path):
            note(f"{out} holds an earlier run, so this run writes to {path} "
                 "(continue the earlier one with --resume, where the command has it)")
            return path
    raise EvodrumError(f"{out}: no free folder beside it after 10,000 tries; give --out a new name")


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (its .lock file); refuse if another process has it."""
    path = Path(folder) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise EvodrumError(f"{folder}: cannot write in the folder "
                           f"({(e.strerror or str(e)).lower()})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise EvodrumError(f"{folder}: in use by another evodrum run{who}; wait for it "
                               "to finish or give another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)   # closing releases the lock; the file stays (removing it would race)
