"""The session's command language: one line of input, one or more commands.

Loops are numbered 1..N on screen, and a loop can also be named by its id (#12),
which stays the same in every generation. A number alone plays a loop; a number
and a digit rates it ("3 7", "#12 7"), so playing and rating never clash.
Letters do the rest.
Several commands fit on one line, separated by commas ("1 7, 2 3, n"), which
also makes sessions easy to script from a file. The KEYS table is the single
source of the on-screen key line and of `evodrum interactive --help`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from evodrum.errors import EvodrumError
from evodrum.interactive.session import RATING_MAX, TEMPO_MAX, TEMPO_MIN

#: (what to type, what it does), in the order they are shown.
KEYS: tuple[tuple[str, str], ...] = (
    ("N", "play loop N (it becomes the selected loop); #ID names a loop by id instead"),
    ("N R", (f"rate loop N with R: 0 dislike .. {RATING_MAX} love ('3 7', '#12 7'; "
             f"'N -' clears); {RATING_MAX} also keeps it")),
    ("=R", "rate the selected loop ('=7')"),
    ("f [N]", "favourite on/off: favourites are kept in every generation"),
    ("s [N]", "save the loop as MIDI in the session folder"),
    ("o [N]", "play a seed loop's original file (seed loops show the model's version)"),
    ("p", "play the selected loop again"),
    ("x", "stop playback"),
    ("l", "show the grids of all loops"),
    ("n", "breed the next generation from your ratings"),
    ("b", "back to the generation this one was bred from"),
    ("g K", "go to generation K"),
    ("a X", "adventure: how far variations stray (0.1 subtle, 0.3 default, 1 wild)"),
    ("t BPM", "the session's tempo, for playback and every export ('t 96')"),
    ("u", "undo the last rating, favourite, breeding, adventure or tempo ('undo' too)"),
    ("q", "quit ('quit' too): favourites written as MIDI with a session summary"),
    ("?", "this help ('help' too)"),
)

#: The short reminder always on screen (one line of an 80-column terminal).
KEY_LINE = "N play · N R rate 0-9 · f fav · n breed · u undo · b back · q quit · ? keys"

SEPARATORS = re.compile(r"[,;]")
#: Commands without arguments.
SIMPLE = {"p": "replay", "x": "stop", "l": "grids", "n": "next", "b": "back", "q": "quit",
          "quit": "quit", "exit": "quit", "?": "help", "h": "help", "help": "help",
          "u": "undo", "undo": "undo"}
#: A prompt pasted with its line ("> 1 8, 3 6" copied from the README or a terminal).
PASTED_PROMPT = re.compile(r"^\s*>+\s?")


@dataclass(frozen=True)
class Command:
    """A parsed command: its name, the loop (a 0-based position, or an id) and/or a value."""

    name: str
    loop: int | None = None
    value: float | int | None = None
    loop_id: int | None = None


def _rating(text: str, line: str) -> int | None:
    if text == "-":
        return None
    if not _digits(text) or int(text) > RATING_MAX:
        raise EvodrumError(f"{line!r}: a rating is a digit from 0 to {RATING_MAX} (or - to clear)")
    return int(text)


#: The longest number a command takes: past 4,300 digits int() itself refuses the text.
MAX_DIGITS = 12


def _digits(text: str) -> bool:
    """ASCII digits only (str.isdigit() also accepts '²', which int() refuses), at most
    MAX_DIGITS of them."""
    return text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS


def _number(text: str, line: str, what: str) -> int:
    if not _digits(text) or int(text) < 1:
        raise EvodrumError(f"{line!r}: {what} must be a number from 1")
    return int(text)


def _loop_ref(word: str, line: str) -> dict:
    """A loop named by screen position ("3") or by id ("#12"), as Command fields."""
    if word.startswith("#"):
        return {"loop_id": _number(word[1:], line, "a loop id after #")}
    return {"loop": _number(word, line, "a loop number") - 1}


def _is_loop_ref(word: str) -> bool:
    return _digits(word) or (word.startswith("#") and len(word) > 1)


LOOP_COMMANDS = {"f": "favourite", "s": "save", "o": "original"}


def parse_one(text: str) -> Command | None:
    """One command; None for an empty one. EvodrumError names what is wrong."""
    text = text.strip()
    words = text.split()
    if not words:
        return None
    head, args = words[0].lower(), words[1:]
    if head.startswith("=") and len(head) > 1:
        head, args = "=", [head[1:], *args]
    if _is_loop_ref(head):
        loop = _loop_ref(head, text)
        if not args:
            return Command("play", **loop)
        if len(args) == 1:
            return Command("rate", value=_rating(args[0], text), **loop)
    elif head == "=" and len(args) == 1:
        return Command("rate", None, _rating(args[0], text))
    elif head in LOOP_COMMANDS and len(args) <= 1:
        return Command(LOOP_COMMANDS[head], **(_loop_ref(args[0], text) if args else {}))
    elif head == "g" and len(args) == 1:
        return Command("goto", value=_number(args[0], text, "a generation") - 1)
    elif head == "a" and len(args) == 1:
        try:
            value = float(args[0])
        except ValueError:
            value = 0.0
        if not 0 < value <= 10:
            raise EvodrumError(f"{text!r}: adventure is a number above 0, e.g. 'a 0.5'")
        return Command("adventure", value=value)
    elif head == "t" and len(args) == 1:
        try:
            value = float(args[0])
        except ValueError:
            value = 0.0
        if not TEMPO_MIN <= value <= TEMPO_MAX:
            raise EvodrumError(f"{text!r}: tempo is {TEMPO_MIN:g} to {TEMPO_MAX:g} BPM, "
                               "e.g. 't 96'")
        return Command("tempo", value=value)
    elif not args and head in SIMPLE:
        return Command(SIMPLE[head])
    raise EvodrumError(f"{text!r}: not a command; type ? for the keys")


def split(line: str) -> list[str]:
    """The commands written on one line (a pasted leading `> ` prompt is dropped)."""
    return SEPARATORS.split(PASTED_PROMPT.sub("", line, count=1))


def parse_line(line: str) -> list[Command]:
    """Every command on `line`, or EvodrumError naming each one that is wrong: a line
    is applied whole or not at all, so a typo never leaves half of it done."""
    commands, problems = [], []
    for text in split(line):
        try:
            command = parse_one(text)
        except EvodrumError as e:
            problems.append(str(e))
            continue
        if command is not None:
            commands.append(command)
    if problems:
        raise EvodrumError("; ".join(problems) + (" (nothing on this line was done)"
                                                  if len(commands) else ""))
    return commands


def help_text() -> str:
    """The key table, one key per line."""
    width = max(len(k) for k, _ in KEYS)
    return "\n".join(f"  {k:<{width}}  {what}" for k, what in KEYS)
