"""Words for messages to the user, so counts read right: "1 MIDI file", "2 MIDI files"."""
from __future__ import annotations

import shutil


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun, singular for exactly one: count(1, "loop") == "1 loop"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def span(names: list[str]) -> str:
    """Up to three names in full, else the first and last: "a.mid ... h.mid"."""
    return ", ".join(names) if len(names) <= 3 else f"{names[0]} ... {names[-1]}"


def fit_line(line: str, width: int | None = None) -> str:
    """`line` cut to the terminal's width (80 columns when it has none), ending in '...'."""
    width = width or shutil.get_terminal_size((80, 24)).columns
    return line if len(line) <= width else line[:max(width - 3, 1)].rstrip(" ,") + "..."
