"""The example loops, written by hand as drum notation: one string per drum row.

Each string is 4 bars of sixteenth notes (64 steps, bars split by `|`). A letter
is a hit and says how hard: `X` accent, `x` normal, `o` soft, `g` ghost note;
`-` is a rest. Rows not named are silent. These patterns are the source of the
MIDI files beside this module (`python -m evodrum.examples` writes them again).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evodrum.grid import DEFAULT_SPEC, from_midi_velocity
from evodrum.kit import ROWS

#: MIDI velocity of each hit letter.
VELOCITY = {"X": 120, "x": 90, "o": 55, "g": 30}
REST = "-"


@dataclass(frozen=True)
class Pattern:
    """One example loop: a name, what it is, its tempo and its notation per row."""

    name: str
    style: str
    bpm: float
    rows: dict[str, str] = field(repr=False)

    def midi_velocities(self) -> np.ndarray:
        """The loop as integer MIDI velocities, (9, 64) uint8 (0 = no hit)."""
        out = np.zeros(DEFAULT_SPEC.shape, np.uint8)
        for row, text in self.rows.items():
            steps = text.replace("|", "")
            if len(steps) != DEFAULT_SPEC.steps or set(steps) - set(VELOCITY) - {REST}:
                raise ValueError(f"example {self.name!r}, row {row}: need {DEFAULT_SPEC.steps} "
                                 f"steps of {''.join(VELOCITY)}{REST}, got {text!r}")
            out[ROWS.index(row)] = [VELOCITY.get(c, 0) for c in steps]
        return out

    def grid(self) -> np.ndarray:
        """The loop as a grid (9, 64) of velocities in [0, 1], as evodrum reads it."""
        return from_midi_velocity(self.midi_velocities())


PATTERNS: tuple[Pattern, ...] = (
    Pattern("rock", "straight eighth-note rock beat, crash on the one, tom fill in bar 4", 112, {
        "CR": "X---------------|----------------|----------------|----------------",
        "CH": "--x-X-x-X-x-X-x-|X-x-X-x-X-x-X-x-|X-x-X-x-X-x-X-x-|X-x-X-x---------",
        "SD": "----X-------X---|----X-------X---|----X-------X---|----X---Xxxx----",
        "HT": "----------------|----------------|----------------|------------Xx--",
        "LT": "----------------|----------------|----------------|--------------XX",
        "BD": "X-------X-X-----|X-------X-X-----|X-------X-X-----|X-------X-------",
    }),
    Pattern("funk", "sixteenth-note hi-hats, ghost notes on the snare, syncopated kick", 98, {
        "CH": "XoxoXoxoXoxoXoxo|XoxoXoxoXoxoXo-o|XoxoXoxoXoxoXoxo|XoxoXoxoXoxoXo-o",
        "OH": "----------------|--------------x-|----------------|--------------x-",
        "SD": "----X--g-g--X--g|-g--X--g-g--X---|----X--g-g--X--g|-g--X--g-g--X-gX",
        "BD": "X-x-------X--x--|X-x----x--X-----|X-x-------X--x--|X-x----x--X--x--",
    }),
    Pattern("bossa", "bossa nova: clave on the snare (cross-stick), dotted kick, "
                     "hi-hat on every sixteenth", 72, {
        "CH": "xoxoxoxoxoxoxoxo|xoxoxoxoxoxoxoxo|xoxoxoxoxoxoxoxo|xoxoxoxoxoxoxoxo",
        "SD": "o--o--o---o--o--|o--o--o---o--o--|o--o--o---o--o--|o--o--o---o--o--",
        "BD": "X--oX--oX--oX--o|X--oX--oX--oX--o|X--oX--oX--oX--o|X--oX--oX--oX--o",
    }),
    Pattern("hiphop", "boom-bap hip-hop: laid-back kick, snare on 2 and 4, "
                      "open hat at the end", 90, {
        "CH": "X-x-X-x-X-x-X-x-|X-x-X-x-X-x-X-x-|X-x-X-x-X-x-X-x-|X-x-X-x-X-x-X---",
        "OH": "----------------|----------------|----------------|--------------x-",
        "SD": "----X-------X---|----X--g----X---|----X-------X---|----X--g----X--g",
        "BD": "X------X--X-----|X--X----X-X---x-|X------X--X-----|X--X----X-X-----",
    }),
    Pattern("breakbeat", "breakbeat on the ride: broken kick, snare with ghost notes, "
                         "crash on the one", 136, {
        "CR": "X---------------|----------------|----------------|----------------",
        "RD": "--x-x-x-x-x-x-x-|x-x-x-x-x-x-x-x-|x-x-x-x-x-x-x-x-|x-x-x-x-x-x-x-x-",
        "SD": "----X--g-X--X--g|-g--X--g-X----X-|----X--g-X--X--g|-g--X--g-X--X-XX",
        "BD": "X-X-------X-----|X-X-------X--X--|X-X-------X-----|--X-------X-----",
    }),
    Pattern("house", "four-on-the-floor house: kick on every beat, open hats on the "
                     "off-beats, clap on 2 and 4", 124, {
        "CH": "x---x---x---x---|x---x---x---x---|x---x---x---x---|x---x---x---x---",
        "OH": "--X---X---X---X-|--X---X---X---X-|--X---X---X---X-|--X---X---X---X-",
        "SD": "----X-------X---|----X-------X---|----X-------X---|----X-------X---",
        "BD": "X---X---X---X---|X---X---X---X---|X---X---X---X---|X---X---X---X---",
    }),
)
