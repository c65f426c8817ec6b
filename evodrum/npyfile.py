"""Reading .npy/.npz files someone handed over: each array's header (dtype, shape, bytes)
is checked before a byte of its data is read, and the data is read in chunks.

Only real numbers are arrays here (bool, integers, floats): no Python objects (they
would be unpickled), no void, bytes, complex, datetime or timedelta. Text is accepted
only in the members a format names as text (a checkpoint's JSON `meta`, a grid file's
`spec`). What all the arrays of one file may take in memory is bounded in bytes
(limits.ARRAY_BYTES), so a 1.5 MB file cannot claim 1.5 GB.
"""
from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterable

import numpy as np

from evodrum import limits
from evodrum.infile import open_regular

#: dtype kinds accepted as numbers: bool, signed and unsigned integers, floats.
REAL = "biuf"
TEXT = "U"
KIND_WORDS = {"O": "Python objects, which evodrum never loads", "V": "raw (void) records",
              "S": "byte strings", "U": "text", "c": "complex numbers", "M": "dates",
              "m": "time spans"}


class Budget:
    """Bytes the arrays of one file may still take (limits.ARRAY_BYTES in all)."""

    def __init__(self, path, limit: limits.Limit = limits.ARRAY_BYTES):
        self.path, self.limit, self.used = path, limit, 0

    def take(self, nbytes: int, what: str) -> None:
        self.used += nbytes
        self.limit.check(self.path, self.used, what)


def read_array(f, path, *, kinds: str = REAL, budget: Budget | None = None,
               check_shape: Callable[[tuple], None] | None = None, name: str = "the array",
               size: int | None = None) -> np.ndarray:
    """One .npy array from the open file `f`, its header checked before its data is read.

    `check_shape(shape)` may raise ValueError to refuse a shape from the header alone;
    `size` is the .npy's length in bytes, when known: a header claiming more data than
    that is refused before memory is set aside for it. ValueError for a kind of data not
    in `kinds`; limits.LimitError above the budget.
    """
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise ValueError(f".npy format version {version[0]}.{version[1]} is not supported")
    if dtype.hasobject or dtype.kind not in kinds or dtype.fields is not None \
            or dtype.subdtype is not None:
        words = KIND_WORDS.get(dtype.kind, str(dtype))
        raise ValueError(f"{name} holds {words} ({dtype.str}), not "
                         + ("numbers" if kinds == REAL else "numbers or text"))
    cells = int(np.prod(shape, dtype=object))
    limits.GRID_CELLS.check(path, cells, f"the size of {name}")
    (budget or Budget(path)).take(cells * dtype.itemsize, f"the memory {name} need")
    if check_shape is not None:
        check_shape(tuple(shape))
    if size is not None and cells * dtype.itemsize > size - f.tell():
        raise ValueError(f"{name} claims more data ({cells * dtype.itemsize:,} bytes) than "
                         "the file holds")
    f.seek(0)
    return np.lib.format.read_array(f, allow_pickle=False)


def read_npz(path: str | os.PathLike, f, *, text: Iterable[str] = ()
             ) -> dict[str, np.ndarray]:
    """The arrays of an .npz archive (open file `f`), each checked by `read_array`;
    members in `text` may hold text (a name ending in '*' covers a prefix)."""
    budget, arrays = Budget(path), {}
    prefixes = tuple(t[:-1] for t in text if t.endswith("*"))
    text = {t for t in text if not t.endswith("*")}
    with zipfile.ZipFile(f) as archive:
        members = [n for n in archive.namelist() if n.endswith(".npy")]
        if len(members) > 10_000:
            raise ValueError(f"it holds {len(members):,} arrays")
        for member in members:
            key = member[:-4]
            is_text = key in text or (prefixes and key.startswith(prefixes))
            with archive.open(member) as data:
                arrays[key] = read_array(data, path, budget=budget, name=f"array {key!r}",
                                         kinds=REAL + TEXT if is_text else REAL,
                                         size=archive.getinfo(member).file_size)
    return arrays


def load_npz(path: str | os.PathLike, *, text: Iterable[str] = ()) -> dict[str, np.ndarray]:
    """Every array of the .npz file at `path` (a regular file), checked by `read_array`;
    members in `text` may hold text. OSError/ValueError/zipfile.BadZipFile for a file
    that is not one, limits.LimitError for one that claims too much."""
    f, _ = open_regular(path)
    with f:
        return read_npz(path, f, text=text)


def load_npy(path: str | os.PathLike, *, kinds: str = REAL) -> np.ndarray:
    """The array of the .npy file at `path` (a regular file), checked by `read_array`."""
    f, size = open_regular(path)
    with f:
        return read_array(f, path, kinds=kinds, size=size)
