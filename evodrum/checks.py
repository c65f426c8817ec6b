"""Checks of numbers and names that the CLI, comparison files and the Python API share.

Each returns the checked value or raises EvodrumError naming what was checked, so a
bad value reads the same from `--sigma nan`, `sigma = nan` in TOML or
`SearchConfig(sigma=float("nan"))`. Non-finite numbers are always refused: a NaN
compares false with every bound, so a search given one never moves and reports
normal-looking numbers.
"""
from __future__ import annotations

import math
import numbers
import re

from evodrum.errors import EvodrumError

#: The largest seed every generator takes (numpy, torch, random): 2^64 - 1.
MAX_SEED = 2**64 - 1
#: Names used as file and folder names: no paths, no hidden files, no spaces.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
#: The smallest positive weight taken; 1e-320 and the like underflow into denormals.
MIN_WEIGHT = 1e-6


def number(value, what: str, low: float | None = None, high: float | None = None, *,
           low_open: bool = False, high_open: bool = False) -> float:
    """A finite real number within the bounds (open or closed at each end)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise EvodrumError(f"{what} must be a number, got {value!r}")
    try:
        value = float(value)
    except OverflowError:   # a whole number beyond any float (10**400 in JSON or TOML)
        value = math.inf if value > 0 else -math.inf
    if not math.isfinite(value):
        raise EvodrumError(f"{what} must be a finite number, got {value}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise EvodrumError(f"{what} must be {describe_range(low, high, low_open, high_open)}, "
                           f"got {value!r}")
    return value


def integer(value, what: str, low: int | None = None, high: int | None = None) -> int:
    """A whole number (not a float, not a bool) within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise EvodrumError(f"{what} must be a whole number, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise EvodrumError(f"{what} must be {describe_range(low, high)}, got {value}")
    return value


def seed(value, what: str = "seed") -> int:
    """A random seed: a whole number from 0 to 2^64 - 1."""
    return integer(value, what, 0, MAX_SEED)


def weight(value, what: str, *, zero: bool = True) -> float:
    """A weight: 0 (when `zero`), or at least MIN_WEIGHT and at most 1e6."""
    value = number(value, what, 0, 1e6)
    if value < MIN_WEIGHT and not (zero and value == 0):
        floor = f"0 or at least {MIN_WEIGHT:g}" if zero else f"positive, at least {MIN_WEIGHT:g}"
        raise EvodrumError(f"{what} must be {floor}, got {value!r}")
    return value


def name(value, what: str) -> str:
    """A name used in file names: letters, digits, '-' or '_', starting with a letter or digit."""
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise EvodrumError(f"{what} must be letters, digits, '-' or '_' (up to 100, used in "
                           f"file names), got {value!r}")
    return value


def describe_range(low, high, low_open: bool = False, high_open: bool = False) -> str:
    """'within [0, 1]', 'at least 4', 'above 0' ... for messages."""
    lo, hi = _show(low), _show(high)
    if low is not None and high is not None:
        return f"within {'(' if low_open else '['}{lo}, {hi}{')' if high_open else ']'}"
    if low is not None:
        return f"{'above' if low_open else 'at least'} {lo}"
    if high is not None:
        return f"{'below' if high_open else 'at most'} {hi}"
    return "a number"


def _show(bound) -> str:
    if bound is None:
        return ""
    if bound == MAX_SEED:
        return "2^64 - 1"
    return str(bound) if isinstance(bound, int) else f"{bound:g}"
