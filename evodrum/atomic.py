"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Everything a person spent effort on (ratings, models, run results) is saved this way.
Only regular files are replaced: a symbolic link is followed and its target replaced
(the link stays), a character device (/dev/null, /dev/full, a terminal) or a named
pipe with a reader is written through, and a folder, block device, socket or pipe
that nobody reads is refused. A failed write (disk full, read-only, no permission)
is a `CannotWrite` error naming the path; the old file is left as it was.

Inside a run folder (while `no_links_under` holds it) no link is ever followed: a
file or folder there that is a symbolic link is refused instead (a run folder someone
handed you must not make the run write elsewhere).
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import tempfile
import threading
from pathlib import Path

from evodrum.errors import EvodrumError


#: The name of a temporary file `atomic_path` writes before renaming it (mkstemp's).
TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
_no_link_folders: list[str] = []
_registry_lock = threading.Lock()


class CannotWrite(EvodrumError, OSError):
    """A write that failed (disk full, read-only, no permission, not a file), in one line.

    It is an OSError too (with the errno of the cause), so code that retries on a full
    disk can catch it as such.
    """

    def __init__(self, path, problem: str, errno_: int | None = None):
        self.message = f"{path}: cannot write ({problem})"
        super().__init__(self.message)
        self.errno = errno_
        self.filename = str(path)

    def __str__(self) -> str:
        return self.message


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a path to write; on success the written file replaces `path` atomically.

    For a device or named pipe, the yielded path is the output itself (written through).
    """
    path = Path(path)
    target = _write_target(path)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:   # a parent that is a file, no permission to look
        raise _cannot_write(path, e) from None
    if mode is not None and not stat.S_ISREG(mode):
        with _write_through(path, target, mode):
            yield target
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
    except OSError as e:
        raise _cannot_write(target.parent if not target.parent.is_dir() else target, e) \
            from None
    try:
        yield Path(tmp)
        _fsync(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp, target)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, CannotWrite):
            raise
        raise _cannot_write(path, e) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def no_links_under(folder: str | os.PathLike):
    """While the block runs, refuse to write through any link under `folder` (a run folder)."""
    folder = os.path.abspath(folder)
    with _registry_lock:
        _no_link_folders.append(folder)
    try:
        yield
    finally:
        with _registry_lock:
            _no_link_folders.remove(folder)


def _refuse_links_in_run(path: Path) -> None:
    """CannotWrite when `path`, or a folder between it and the run folder holding it, is a link."""
    absolute = os.path.abspath(path)
    for folder in list(_no_link_folders):
        if not absolute.startswith(folder.rstrip(os.sep) + os.sep):
            continue
        step = Path(folder)
        for part in Path(absolute).relative_to(folder).parts:
            step = step / part
            if step.is_symlink():
                raise CannotWrite(step, "it is a symbolic link inside a run folder, and "
                                  "evodrum never writes through links there", errno.ELOOP)


def _write_target(path: Path) -> Path:
    """`path`, or for a symbolic link the file it points to (so the link survives)."""
    _refuse_links_in_run(path)
    if not path.is_symlink():
        return path
    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise CannotWrite(path, "a loop of symbolic links", e.errno) from None
    return Path(os.path.realpath(path))


@contextlib.contextmanager
def _write_through(path: Path, target: Path, mode: int):
    """Let the caller write straight into a character device or a read pipe."""
    if stat.S_ISDIR(mode):
        raise CannotWrite(path, "it is a folder, not a file", errno.EISDIR)
    if stat.S_ISFIFO(mode):
        try:   # non-blocking: a pipe nobody reads is refused instead of hanging forever
            keep_open = os.open(target, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno == errno.ENXIO:
                raise CannotWrite(path, "a named pipe that no program is reading", e.errno) \
                    from None
            raise _cannot_write(path, e) from None
        try:                # holding our end open, the reader sees one continuous stream
            yield
        except OSError as e:
            raise _cannot_write(path, e) from None
        finally:
            os.close(keep_open)
        return
    if not stat.S_ISCHR(mode):
        raise CannotWrite(path, "a device or socket, not a file: give a file name")
    try:
        yield
    except OSError as e:
        if isinstance(e, CannotWrite):
            raise
        raise _cannot_write(path, e) from None


def _cannot_write(path, e: OSError) -> CannotWrite:
    if e.errno == errno.EEXIST and (found := in_the_way(Path(path))) is not None:
        return CannotWrite(found[0], f"it is {found[1]}", e.errno)   # not "file exists"
    return CannotWrite(path, (e.strerror or str(e)).lower(), e.errno)


def in_the_way(path: Path) -> tuple[Path, str] | None:
    """The first part of `path` that keeps a folder from being made there, and what it
    is: a link to something that does not exist, or a file."""
    for part in [*reversed(path.parents), path]:
        if part.is_symlink() and not part.exists():
            return part, f"a link to {os.readlink(part)}, which does not exist"
        if part.exists() and not part.is_dir():
            return part, "a file, not a folder"
    return None


def _fsync(path) -> None:
    """Flush a file's bytes to disk, so a power cut cannot leave an empty replacement."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj) -> None:
    """Write `obj` as indented JSON to `path` atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")
