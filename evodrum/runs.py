"""Run folders: every command that produces results writes them under runs/.

A run folder is claimed for the length of a run: an exclusive lock (`.lock` in
the folder, held with flock while the run lives) refuses a second run on the same
folder in one line. An `--out` folder that already holds files is never written
into by a new run (evodrum's one rule for outputs that exist): the run goes to the
next free folder beside it (`runs/x-2`), and says so, unless the command continues
that run (--resume, or a comparison extending its own folder).
A run folder someone hands you is data from a stranger: one holding symbolic links
is refused, and nothing in it is written through a link.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from evodrum import atomic
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
        part, what = atomic.in_the_way(path) or (path, "not a folder")
        raise EvodrumError(f"{part}: is {what}; cannot make the folder {path}"
                           if part != path else f"{path}: exists and is {what}") from None
    except OSError as e:
        raise EvodrumError(f"{path}: cannot create the folder "
                           f"({(e.strerror or str(e)).lower()})") from None


@contextlib.contextmanager
def claim_run_dir(kind: str, out: str | os.PathLike | None = None, *, resume: bool = False,
                  own_files: tuple[str, ...] = ()) -> Iterator[Path]:
    """Create (or reopen with `resume`) a run folder and hold its lock while the block runs.

    A given `out` that already holds files gives way to the next free folder beside it,
    unless `resume` is set or it holds one of `own_files` (a run this command may extend). A
    refused command leaves the folder exactly as it was (the lock is taken last).
    """
    if resume and out is not None:
        folder = Path(out)
        make_folder(folder)
    else:
        folder = new_run_dir(kind, out, own_files)
    with folder_lock(folder):
        yield folder


def _holds_files(folder: Path) -> bool:
    """Whether `folder` holds anything but an evodrum lock (a `.lock` of someone else's counts)."""
    try:
        return folder.is_symlink() or (folder.exists() and (
            not folder.is_dir() or any(p.name != LOCK_FILE or not _is_evodrum_lock(p)
                                       for p in folder.iterdir())))
    except OSError:
        return True


def free_folder(out: str | os.PathLike, own_files: tuple[str, ...] = ()) -> Path:
    """`out` when it is new, empty or holds a run this command may extend (`own_files`);
    else the first free `out-2`, `out-3`, ... beside it, with a note saying so."""
    out = Path(out)
    if not _holds_files(out) or (out.is_dir() and any(
            (out / n).exists() and not (out / n).is_symlink() for n in own_files)):
        return out
    for n in range(2, 10_000):
        path = out.with_name(f"{out.name}-{n}")
        if not _holds_files(path):
            note(f"{out} is a symbolic link, so this run writes to {path}"
                 if out.is_symlink() else
                 f"{out} holds an earlier run, so this run writes to {path} "
                 "(continue the earlier one with --resume, where the command has it)")
            return path
    raise EvodrumError(f"{out}: no free folder beside it after 10,000 tries; give --out a new name")


def refuse_links(folder: Path) -> None:
    """EvodrumError naming the first entry of a run folder that is a symbolic link.

    A run rewrites its own files (state, results, the lock); a link among them (a copied
    session whose summary.md points at someone's file) would make it write elsewhere.
    """
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        raise EvodrumError(f"{folder}: cannot read the folder "
                           f"({(e.strerror or str(e)).lower()})") from None
    for entry in entries:
        if entry.is_symlink():
            raise EvodrumError(f"{Path(folder) / entry.name}: is a symbolic link; a run "
                               "folder's files must be its own (replace the link by a copy "
                               "of the file, or remove it)")


def _try_lock(fd: int) -> str | None:
    """Take the lock file's exclusive lock if it is free: None when taken, else what the
    holder wrote in it (its pid)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return None
    except OSError as e:
        if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise
        return os.pread(fd, 32, 0).decode(errors="replace").strip()


def _mark_mine(fd: int) -> None:
    """Write this process's pid into the lock file it holds."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (its .lock file); refuse if another process has it.

    The folder must hold no symbolic links; the lock is created exclusively (an existing
    one is reused only when it is an evodrum lock, never followed through a link); while
    it is held, leftovers of writes a killed run never finished are removed and nothing
    under the folder is written through a link (see evodrum.atomic).
    """
    folder = Path(folder)
    refuse_links(folder)
    fd = _open_lock(folder)
    try:
        holder = _try_lock(fd)
        if holder is not None:
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise EvodrumError(f"{folder}: in use by another evodrum run{who}; wait for it "
                               "to finish or give another --out")
        _mark_mine(fd)
        remove_leftovers(folder)
        with atomic.no_links_under(folder):
            yield
    finally:
        os.close(fd)   # closing releases the lock; the file stays (removing it would race)


@contextlib.contextmanager
def waiting_lock(folder: str | os.PathLike, what: str) -> Iterator[None]:
    """Hold `folder`'s lock, waiting (with a note saying so) while another process holds
    it: for shared folders that two commands may fill at once (a corpus cache), where the
    second should wait for the first rather than be refused or interleave its files."""
    folder = Path(folder)
    make_folder(folder)
    fd = _open_lock(folder)
    try:
        holder = _try_lock(fd)
        if holder is not None:
            note(f"waiting for {what} (pid {holder or '?'}) to finish with {folder}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        _mark_mine(fd)
        yield
    finally:
        os.close(fd)


def _open_lock(folder: Path) -> int:
    """A descriptor of the folder's lock file: created exclusively, or an existing
    evodrum lock reopened without following links."""
    path = folder / LOCK_FILE
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        try:
            return os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if not _is_evodrum_lock(path):
                raise EvodrumError(f"{path}: is not an evodrum lock (a file of someone "
                                   "else's?); evodrum leaves it alone: move it or give "
                                   "another folder") from None
            fd = os.open(path, flags)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise EvodrumError(f"{path}: is a symbolic link; a run folder's files must be "
                               "its own") from None
        raise EvodrumError(f"{folder}: cannot write in the folder "
                           f"({(e.strerror or str(e)).lower()})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise EvodrumError(f"{path}: is not a regular file; evodrum leaves it alone")
    return fd


def _is_evodrum_lock(path: Path) -> bool:
    """A regular file, not a link, empty or holding one process id (what folder_lock writes)."""
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > 32:
            return False
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            text = os.read(fd, 33)
        finally:
            os.close(fd)
    except OSError:
        return False
    return re.fullmatch(rb"(\d{1,10}\n?)?", text) is not None


def remove_leftovers(folder: Path) -> None:
    """Remove the temporary files of writes a killed run never finished (`.NAME.XXXXXXXX.tmp`,
    what evodrum.atomic writes before renaming), anywhere under the run folder."""
    for root, _dirs, names in os.walk(folder):   # never into linked folders
        for name in names:
            if atomic.TEMPORARY.fullmatch(name):
                path = os.path.join(root, name)
                with contextlib.suppress(OSError):
                    if stat.S_ISREG(os.lstat(path).st_mode):
                        os.unlink(path)
