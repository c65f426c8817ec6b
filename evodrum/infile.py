"""Opening a file the user named: regular files only, never blocking on a pipe.

A folder, a missing path, a FIFO or a device gets a plain-words reason
(`NotAFile.reason`) instead of a hang or an exception class name.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

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
