"""Words for messages to the user, so counts read right: "1 MIDI file", "2 MIDI files"."""
from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun, singular for exactly one: count(1, "loop") == "1 loop"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def span(names: list[str]) -> str:
    """Up to three names in full, else the first and last: "a.mid ... h.mid"."""
    return ", ".join(names) if len(names) <= 3 else f"{names[0]} ... {names[-1]}"
