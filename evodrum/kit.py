"""The drum kit: which rows a grid has, which MIDI pitches feed each row, and
which pitch each row is written as.

The table is versioned (`KIT_VERSION`): corpora and model cards record it, so a
model trained with one mapping is never silently used with another.

Input pitches cover every General MIDI percussion note (35-81), the GM2/Magenta
extras around them (27-34, 82-87), and the Roland TD-11 articulations used by
the Groove MIDI Dataset (22/26 hi-hat edge, 58 floor-tom rim, 55/52 crash edges,
59/53 ride edge and bell). The tom split follows the Groove dataset's own
9-class reduction (43/58 low, 45/47 mid, 48/50 high).

Magenta (note_seq 0.0.5's drums_encoder_decoder, used by MusicVAE) reads 45 as a
low tom and 48 as a mid tom (the Groove reduction: 45 mid, 48 high), 52 as a crash
and 58 as a crash: `DRUM_MAPS["magenta"]` reads files that way. GrooVAE's own
files come from the Roland TD-11 and read right with the default Groove map.
Output pitches are chosen so that both readings agree (41 low floor tom, 47 mid,
50 high): what evodrum writes comes back in the same rows in evodrum, Magenta and
the Groove tools.
"""
from __future__ import annotations

import numpy as np

KIT_VERSION = "evodrum-kit-1"

#: Row names in grid order.
ROWS: tuple[str, ...] = ("BD", "SD", "CH", "OH", "RD", "CR", "LT", "MT", "HT")
N_ROWS = len(ROWS)

ROW_DESCRIPTIONS: dict[str, str] = {
    "BD": "bass drum (kick)",
    "SD": "snare drum",
    "CH": "closed hi-hat",
    "OH": "open hi-hat",
    "RD": "ride cymbal",
    "CR": "crash cymbal",
    "LT": "low (floor) tom",
    "MT": "mid tom",
    "HT": "high tom",
}

#: The General MIDI pitch each row is written as.
OUTPUT_PITCH: dict[str, int] = {
    "BD": 36, "SD": 38, "CH": 42, "OH": 46, "RD": 51,
    "CR": 49, "LT": 41, "MT": 47, "HT": 50,
}

#: Every input pitch that maps to each row.
INPUT_PITCHES: dict[str, tuple[int, ...]] = {
    "BD": (35, 36),
    "SD": (27, 28, 31, 32, 33, 34, 37, 38, 39, 40, 56, 65, 66, 75, 85),
    "CH": (22, 42, 44, 54, 68, 69, 70, 71, 73, 78, 80),
    "OH": (26, 46, 67, 72, 74, 79, 81),
    "RD": (51, 53, 59, 82),
    "CR": (49, 52, 55, 57),
    "LT": (29, 41, 43, 58, 61, 64, 84),
    "MT": (45, 47, 60, 63, 77, 86, 87),
    "HT": (30, 48, 50, 62, 76, 83),
}

#: Percussion that is not part of a drum kit but is read into a kit row (General MIDI
#: and GM2 names, grouped by instrument): files that use it are told what was folded.
PERCUSSION_NAMES: dict[int, str] = {
    27: "high Q", 28: "slaps", 29: "scratches", 30: "scratches", 31: "sticks",
    32: "square clicks", 33: "metronome clicks", 34: "metronome bells", 39: "hand claps",
    54: "tambourine", 56: "cowbell", 60: "bongos", 61: "bongos", 62: "congas", 63: "congas",
    64: "congas", 65: "timbales", 66: "timbales", 67: "agogo", 68: "agogo", 69: "cabasa",
    70: "maracas", 71: "whistles", 72: "whistles", 73: "guiro", 74: "guiro", 75: "claves",
    76: "wood blocks", 77: "wood blocks", 78: "cuica", 79: "cuica", 80: "triangle",
    81: "triangle", 82: "shaker", 83: "jingle bells", 84: "bell tree", 85: "castanets",
    86: "surdo", 87: "surdo",
}

#: Lowest and highest pitch the kit knows; used to recognise percussion-only files.
PITCH_MIN = min(p for ps in INPUT_PITCHES.values() for p in ps)
PITCH_MAX = max(p for ps in INPUT_PITCHES.values() for p in ps)

#: Lookup table pitch -> row index (-1 for pitches outside the kit).
PITCH_TO_ROW = np.full(128, -1, dtype=np.int8)
for _row, _pitches in enumerate(INPUT_PITCHES.values()):
    PITCH_TO_ROW[list(_pitches)] = _row

#: Magenta's 9 drum classes by evodrum row, as note_seq 0.0.5 defines them
#: (note_seq/drums_encoder_decoder.py, DEFAULT_DRUM_TYPE_PITCHES; GrooVAE and MusicVAE's
#: drum models use the same classes). tests/test_real_world_midi3.py checks this table
#: against the installed note_seq.
MAGENTA_INPUT_PITCHES: dict[str, tuple[int, ...]] = {
    "BD": (36, 35),
    "SD": (38, 27, 28, 31, 32, 33, 34, 37, 39, 40, 56, 65, 66, 75, 85),
    "CH": (42, 44, 54, 68, 69, 70, 71, 73, 78, 80, 22),
    "OH": (46, 67, 72, 74, 79, 81, 26),
    "LT": (45, 29, 41, 43, 61, 64, 84),
    "MT": (48, 47, 60, 63, 77, 86, 87),
    "HT": (50, 30, 62, 76, 83),
    "CR": (49, 52, 55, 57, 58),
    "RD": (51, 53, 59, 82),
}


def _magenta_table() -> np.ndarray:
    """Magenta's reading: every pitch note_seq has a class for, and no other."""
    out = np.full(128, -1, dtype=np.int8)
    for name, pitches in MAGENTA_INPUT_PITCHES.items():
        out[list(pitches)] = ROWS.index(name)
    return out


#: How a file's pitches are read into rows: the Groove reduction (default) or Magenta's.
DRUM_MAPS: dict[str, np.ndarray] = {"groove": PITCH_TO_ROW, "magenta": _magenta_table()}


#: Output pitch per row index.
ROW_PITCH = np.array([OUTPUT_PITCH[r] for r in ROWS], dtype=np.int64)

#: Magenta's 9-class drum order (drums_encoder_decoder / GrooVAE).
MAGENTA_ROWS: tuple[str, ...] = ("BD", "SD", "CH", "OH", "LT", "MT", "HT", "CR", "RD")
_TO_MAGENTA = np.array([ROWS.index(r) for r in MAGENTA_ROWS])
_FROM_MAGENTA = np.argsort(_TO_MAGENTA)


def to_magenta(grids: np.ndarray) -> np.ndarray:
    """Reorder rows (axis -2) from evodrum's order to Magenta's 9-class order."""
    return np.take(grids, _TO_MAGENTA, axis=-2)


def from_magenta(grids: np.ndarray) -> np.ndarray:
    """Reorder rows (axis -2) from Magenta's 9-class order to evodrum's order."""
    return np.take(grids, _FROM_MAGENTA, axis=-2)


def row_of_pitch(pitch: int) -> str | None:
    """The row name a MIDI pitch plays, or None when the kit has no row for it."""
    row = PITCH_TO_ROW[pitch] if 0 <= pitch < 128 else -1
    return ROWS[row] if row >= 0 else None


def table() -> list[tuple[str, str, int, tuple[int, ...]]]:
    """The kit as rows of (name, description, output pitch, input pitches)."""
    return [(r, ROW_DESCRIPTIONS[r], OUTPUT_PITCH[r], INPUT_PITCHES[r]) for r in ROWS]
