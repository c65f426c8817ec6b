"""What one input file may cost: bounds on size, length, notes and array cells.

A hostile or broken file (a delta time of a billion beats, a header claiming
10^13 cells) must end in one clear line, not a machine out of memory. Each limit
is far above anything real (the Groove corpus's longest file is 639 bars) and can
be raised with its environment variable.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from evodrum.errors import EvodrumError, FileError


class LimitError(FileError):
    """A file over one of the limits; `reason` says which, without the path."""


@dataclass(frozen=True)
class Limit:
    """One bound: its default, the variable that raises it, and what it counts."""

    env: str
    default: int
    unit: str

    @property
    def value(self) -> int:
        text = os.environ.get(self.env)
        if not text:
            return self.default
        try:
            value = int(text)
        except ValueError:
            raise EvodrumError(f"{self.env}={text!r}: give a whole number of {self.unit}") from None
        if value < 1:
            raise EvodrumError(f"{self.env}={text!r}: must be at least 1")
        return value

    def check(self, path, amount: float, what: str) -> None:
        """LimitError naming the file, the amount, the limit and how to lift it."""
        if amount > self.value:
            raise LimitError(path, f"{what} ({amount:,.0f} {self.unit}) is over evodrum's "
                             f"limit of {self.value:,} {self.unit}; if the file is right, "
                             f"raise it with {self.env}=N")


MIDI_BYTES = Limit("EVODRUM_MAX_MIDI_BYTES", 16 * 2**20, "bytes")
BARS = Limit("EVODRUM_MAX_BARS", 10_000, "bars")
NOTES = Limit("EVODRUM_MAX_NOTES", 1_000_000, "notes")
GRID_CELLS = Limit("EVODRUM_MAX_GRID_CELLS", 100_000_000, "cells")
#: A state file (session, job, summary) read whole; checkpoints' arrays are bounded
#: one by one by ARRAY_BYTES instead.
STATE_BYTES = Limit("EVODRUM_MAX_STATE_BYTES", 256 * 2**20, "bytes")
#: One array of an .npy/.npz file (grids, checkpoints, models), from its header.
ARRAY_BYTES = Limit("EVODRUM_MAX_ARRAY_BYTES", 2**30, "bytes")
#: A model file (.pt) read whole by torch and hashed (the shipped one is 3.4 MB).
MODEL_BYTES = Limit("EVODRUM_MAX_MODEL_BYTES", 2**30, "bytes")
