"""Run folders: every command that produces results writes them under runs/.

A run folder is claimed for the length of a run: an exclusive lock (`.lock` in
the folder, held with flock while the run lives) refuses a second run on the same
folder in one line, and a folder that already holds files is refused unless the
command continues that run (--resume, or a comparison extending its own folder).
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

LOCK_FILE = ".lock"


def runs_root() -> Path:
    """$EVODRUM_RUNS, else ./runs in the current folder."""
    return Path(os.environ.get("EVODRUM_RUNS") or "runs")


def new_run_dir(kind: str, out: str | os.PathLike | None = None) -> Path:
    """Create and return `out`, or a fresh runs/<kind>-<date>-<time> folder."""
    if out is not None:
        path = Path(out)
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

    A given `out` that already holds files is refused unless `resume` is set or it
    holds one of `own_files` (the mark of a run this command may extend).
    """
    folder = new_run_dir(kind, out)
    with folder_lock(folder):
        if out is not None and not resume:
            refuse_if_used(folder, own_files)
        yield folder


def refuse_if_used(folder: str | os.PathLike | None, own_files: tuple[str, ...] = ()) -> None:
    """EvodrumError when `folder` holds files other than a run this command may extend.

    Commands call it early too, so a user learns before a long load, not after it.
    """
    folder = Path(folder) if folder is not None else None
    if folder is None or not folder.is_dir() or any((folder / n).exists() for n in own_files):
        return
    files = sorted(p.name for p in folder.iterdir() if p.name != LOCK_FILE)
    if files:
        shown = ", ".join(files[:3]) + (", ..." if len(files) > 3 else "")
        raise EvodrumError(f"{folder}: already holds files ({shown}); continue that run with "
                           "--resume, or give --out a new folder")


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
