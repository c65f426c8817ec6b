"""Opening a file the user named: regular files only, never blocking on a pipe.

A folder, a missing path, a FIFO or a device gets a plain-words reason
(`NotAFile.reason`) instead of a hang or an exception class name. Inside a command's
`read_once` block a file read again the same way (a seed loop, a --drum-map note map)
is read and parsed once.
"""
from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import BinaryIO, TypeVar

from evodrum.errors import FileError


class NotAFile(FileError):
    """A path that is not a readable regular file; `reason` says why without the path."""


def open_regular(path: str | os.PathLike, follow_links: bool = True) -> tuple[BinaryIO, int]:
    """(binary file object, size in bytes) of a regular file; NotAFile otherwise.
    Without `follow_links`, a symbolic link is refused too (state files in run folders)."""
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    if not follow_links:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise NotAFile(path, "no such file" + _did_you_mean(path)) from None
    except IsADirectoryError:
        raise NotAFile(path, "is a folder, not a file") from None
    except OSError as e:
        if e.errno == errno.ELOOP and not follow_links:
            raise NotAFile(path, "is a symbolic link; evodrum reads a run's state only from "
                           "its own files") from None
        raise NotAFile(path, f"cannot be opened ({e.strerror or e})") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise NotAFile(path, "is a folder, not a file")
        kind = "a pipe" if stat.S_ISFIFO(st.st_mode) else "a device or socket"
        raise NotAFile(path, f"is {kind}, not a regular file: evodrum reads only files")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb"), st.st_size


#: Suffixes tried when a named file is missing (a name typed without its suffix).
LOOP_SUFFIXES = (".mid", ".midi", ".npz", ".npy")


def _did_you_mean(path: Path) -> str:
    """'; did you mean X.mid?' when the name with a loop file's suffix exists."""
    found = [path.with_name(path.name + s) for s in LOOP_SUFFIXES
             if path.with_name(path.name + s).is_file()]
    return f"; did you mean {found[0]}?" if found else ""


# --- read once per command ---------------------------------------------------------------

#: What `once` read in the current `read_once` block, by file and how (None: no block).
_kept: contextvars.ContextVar[OrderedDict | None] = contextvars.ContextVar("files_read",
                                                                          default=None)
#: The most files a block keeps (the last read): a command reads a few files again (seed
#: loops, a note map), while one reading hundreds in turn needs none of them kept.
KEPT_FILES = 16

T = TypeVar("T")
#: Guards a block's files: a server's worker threads may share its context.
_guard = threading.Lock()


@contextlib.contextmanager
def read_once():
    """Inside the block (a command's run), a file read again the same way is not read
    again (see `once`); nothing is kept after it, so the next run reads every file afresh."""
    token = _kept.set(OrderedDict())
    try:
        yield
    finally:
        _kept.reset(token)


def once(path: str | os.PathLike, how: Hashable, read: Callable[[], T]) -> T:
    """`read()` of the file at `path` (`how`: what else its result depends on); inside a
    `read_once` block, what it gave before for the file as it is now: a file changed on
    disk since (edited, replaced) is read again. What `read` raises is never kept."""
    kept = _kept.get()
    key = None if kept is None else _file_key(path)
    if key is None:
        return read()
    key = (key, how)
    with _guard:
        if key in kept:
            kept.move_to_end(key)
            return kept[key]
    value = read()
    with _guard:
        kept[key] = value
        while len(kept) > KEPT_FILES:
            kept.popitem(last=False)
    return value


def _file_key(path: str | os.PathLike) -> tuple | None:
    """What a regular file is now (where, which, its size and times), None otherwise: a
    file edited in place has another key."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (os.path.abspath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
            st.st_ctime_ns)
