"""Reading a state file (job.json, session.json, summary.json, checkpoints) as data from
a stranger: one shared reader and one set of field checks, so every state file is
refused the same way, in one line naming the file and the field.

- `read_bytes`/`read_json`: regular files only (never a link, a pipe or /dev/zero),
  under a size limit, JSON nested at most `MAX_DEPTH` deep.
- `Fields`: typed access to one JSON object; each getter checks type, range and
  finiteness and names the field's path (`settings.loops`, `loops[3].genotype`).

A state file's schema is the code that reads it with `Fields` (one reader per file
kind, beside its writer). To add a field, read it there with a getter and a default
(`f.number("tempo", 20, 400, default=120.0)`), so older files keep loading.
"""
from __future__ import annotations

import json
import numbers
import os

import numpy as np

from evodrum import checks, limits
from evodrum.errors import EvodrumError
from evodrum.infile import NotAFile, open_regular

#: JSON deeper than this is refused before parsing (real state files nest 4 levels).
MAX_DEPTH = 64
#: Marks a getter's argument as "no default: the field is required".
REQUIRED = object()


class StateError(EvodrumError):
    """A field of a state file that is missing or wrong; `field` names it."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field} {problem}" if field else problem)
        self.field = field


def read_bytes(path: str | os.PathLike, limit: limits.Limit = limits.STATE_BYTES, *,
               follow_links: bool = False) -> bytes:
    """The bytes of a regular file (not a pipe or device, and not a link unless
    `follow_links`: a file the user named) no larger than `limit`."""
    f, size = open_regular(path, follow_links=follow_links)
    with f:
        limit.check(path, size, "the file's size")
        data = f.read(limit.value + 1)
    limit.check(path, len(data), "the file's size")
    return data


def read_json(path: str | os.PathLike, what: str = "state file"):
    """The JSON document in `path`; EvodrumError "PATH: cannot read the WHAT (...)"."""
    try:
        data = read_bytes(path)
    except NotAFile as e:
        raise EvodrumError(f"{path}: cannot read the {what} ({e.reason})") from None
    return parse_json(data, path, what)


def parse_json(data: bytes | str, path, what: str = "state file"):
    """JSON text parsed, refused in one line when not JSON or nested too deeply."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        check_depth(text)
        return json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise EvodrumError(f"{path}: cannot read the {what} (not JSON: {e})") from None


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """ValueError when brackets in JSON `text` nest deeper than `limit` (checked by a scan,
    so a body of 10^5 brackets never reaches the recursive parser)."""
    depth = 0
    in_string = escaped = False
    opening, closing = "[{", "]}"
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in opening:
            depth += 1
            if depth > limit:
                raise ValueError(f"nested more than {limit} levels deep")
        elif ch in closing:
            depth -= 1
    return None


class Fields:
    """One JSON object of a state file, read field by field with checks."""

    def __init__(self, data, where: str = ""):
        if not isinstance(data, dict):
            raise StateError(where, f"must be a JSON object, got {_kind(data)}")
        self.data, self.where = data, where

    def name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def _value(self, key: str, default):
        if key not in self.data or (self.data[key] is None and default is not REQUIRED):
            if default is REQUIRED:
                raise StateError(self.name(key), "is missing")
            return default, True
        return self.data[key], False

    def integer(self, key: str, low: int | None = None, high: int | None = None,
                default=REQUIRED) -> int | None:
        value, absent = self._value(key, default)
        return value if absent else _checked(checks.integer, value, self.name(key), low, high)

    def number(self, key: str, low: float | None = None, high: float | None = None,
               default=REQUIRED, **bounds) -> float | None:
        value, absent = self._value(key, default)
        return value if absent else _checked(checks.number, value, self.name(key), low, high,
                                             **bounds)

    def boolean(self, key: str, default=REQUIRED) -> bool | None:
        value, absent = self._value(key, default)
        if not absent and not isinstance(value, bool):
            raise StateError(self.name(key), f"must be true or false, got {_show(value)}")
        return value

    def text(self, key: str, default=REQUIRED, choices=None, max_length: int = 4096
             ) -> str | None:
        value, absent = self._value(key, default)
        if absent:
            return value
        if not isinstance(value, str) or len(value) > max_length:
            raise StateError(self.name(key), f"must be text (up to {max_length} characters), "
                             f"got {_show(value)}")
        if choices is not None and value not in choices:
            raise StateError(self.name(key), f"must be one of {', '.join(map(str, choices))}, "
                             f"got {value!r}")
        return value

    def table(self, key: str, default=REQUIRED) -> Fields | None:
        value, absent = self._value(key, default)
        return value if absent else Fields(value, self.name(key))

    def items(self, key: str, max_items: int, default=REQUIRED) -> list | None:
        """A JSON list of at most `max_items` entries (checked by the caller)."""
        value, absent = self._value(key, default)
        if absent:
            return value
        if not isinstance(value, list):
            raise StateError(self.name(key), f"must be a list, got {_kind(value)}")
        if len(value) > max_items:
            raise StateError(self.name(key), f"holds {len(value):,} entries, more than "
                             f"{max_items:,}")
        return value

    def texts(self, key: str, max_items: int, what: str, default=REQUIRED) -> list | None:
        """A list of at most `max_items` strings (`what` they are, for the error)."""
        values = self.items(key, max_items, default)
        if values is not None and not all(isinstance(v, str) for v in values):
            raise StateError(self.name(key), f"must be a list of {what}, got {values!r:.60}")
        return values

    def tables(self, key: str, max_items: int, default=REQUIRED) -> list[Fields] | None:
        """A list of JSON objects, each as Fields named `key[i]`."""
        values = self.items(key, max_items, default)
        return values if values is None or values is default else \
            [Fields(v, f"{self.name(key)}[{i}]") for i, v in enumerate(values)]

    def numbers(self, key: str, length: int | None = None, max_items: int = 1_000_000,
                default=REQUIRED, low: float | None = None, high: float | None = None
                ) -> np.ndarray | None:
        """A list of finite numbers as a float64 vector (of `length` entries when given)."""
        value, absent = self._value(key, default)
        return value if absent else vector(value, self.name(key), length, max_items, low, high)

    def array(self, key: str, shape: tuple, kinds: str = "fiub", default=REQUIRED, *,
              finite: bool = True) -> np.ndarray | None:
        """A numeric array (a checkpoint's) of `shape` (None: any size on that axis)."""
        value, absent = self._value(key, default)
        return value if absent else array(value, self.name(key), shape, kinds, finite=finite)


def vector(value, field: str, length: int | None = None, max_items: int = 1_000_000,
           low: float | None = None, high: float | None = None) -> np.ndarray:
    """A JSON list of finite numbers (bounded when asked) as a float64 vector."""
    if not isinstance(value, list) or len(value) > max_items or not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value):
        raise StateError(field, f"must be a list of numbers, got {_show(value)}")
    out = np.asarray(value, dtype=np.float64)
    if length is not None and len(out) != length:
        raise StateError(field, f"must hold {length} numbers, got {len(out)}")
    _finite_within(out, field, low, high)
    return out


def array(value, field: str, shape: tuple, kinds: str = "fiub", *, finite: bool = True
          ) -> np.ndarray:
    """`value` checked to be a numeric numpy array of `shape` (None: any) with finite values."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in kinds:
        raise StateError(field, f"must be an array of numbers, got {_kind(value)}")
    if value.ndim != len(shape) or any(s is not None and s != n for s, n in zip(shape, value.shape)):
        want = "(" + ", ".join("N" if s is None else str(s) for s in shape) \
            + ("," if len(shape) == 1 else "") + ")"
        raise StateError(field, f"must have shape {want}, got {value.shape}")
    if finite and value.dtype.kind in "fc" and not np.isfinite(value).all():
        raise StateError(field, "must hold finite numbers (it holds NaN or infinity)")
    return value


#: Bit generators whose saved state evodrum restores (numpy's default_rng is PCG64).
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def rng_state(value, field: str) -> dict:
    """A numpy bit generator's saved state, checked by restoring it into a fresh one."""
    name = value.get("bit_generator") if isinstance(value, dict) else None
    if not isinstance(name, str) or name not in BIT_GENERATORS:
        raise StateError(field, "must be a numpy random generator's state (with "
                         f"bit_generator one of {', '.join(BIT_GENERATORS)})")
    try:
        getattr(np.random, name)().state = value
    except (TypeError, ValueError, KeyError, IndexError, OverflowError, AttributeError) as e:
        raise StateError(field, f"is not a valid {name} state ({e})") from None
    return value


def _finite_within(values: np.ndarray, field: str, low, high) -> None:
    if not np.isfinite(values).all():
        raise StateError(field, "must hold finite numbers (it holds NaN or infinity)")
    if len(values) and ((low is not None and values.min() < low)
                        or (high is not None and values.max() > high)):
        raise StateError(field, f"must hold numbers {checks.describe_range(low, high)}")


def _checked(check, value, field: str, *args, **kwargs):
    """A checks.* call whose EvodrumError becomes a StateError naming `field`."""
    try:
        return check(value, field, *args, **kwargs)
    except StateError:
        raise
    except EvodrumError as e:
        raise StateError(field, str(e).removeprefix(field).strip()) from None


def _kind(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype}"
    return {dict: "an object", list: "a list", str: "text", bool: "true/false",
            type(None): "null"}.get(type(value), "a number" if isinstance(value, numbers.Real)
                                     else type(value).__name__)


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def load(path: str | os.PathLike, what: str, reader):
    """`reader(Fields of the file)`, with any StateError or EvodrumError prefixed by the
    path: "PATH: field must be ...". `reader` builds the object the file describes."""
    data = read_json(path, what)
    try:
        return reader(Fields(data))
    except StateError as e:
        raise EvodrumError(f"{path}: {e}") from None
