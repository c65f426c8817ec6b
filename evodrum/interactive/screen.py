"""What the session shows: a table of the generation's loops, the selected loop's
grid, and the key line, fitting an 80 x 24 terminal with 8 loops per generation.

Each loop gets a one-line pattern (a drum-tab style summary of its grid: K kick,
S snare, B both, t tom, * crash, o open hat, x hat or ride) so a whole
generation can be compared at a glance; the full grid of the selected loop (and
of all loops, with `l`) comes from `evodrum.display`. On a terminal the screen
is redrawn after every command; piped input gets a plain log instead. When the
window is too short for everything, the selected loop's grid gives way first.
"""
from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Callable

import numpy as np

from evodrum import display
from evodrum.interactive.commands import KEY_LINE, help_text
from evodrum.interactive.session import Loop, Session
from evodrum.kit import ROWS

#: Pattern glyphs, strongest first: the first whose drums all (B) or any (others) sound
#: at a step is shown.
LANES: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("B", ("BD", "SD"), True), ("K", ("BD",), False), ("S", ("SD",), False),
    ("t", ("LT", "MT", "HT"), False), ("*", ("CR",), False), ("o", ("OH",), False),
    ("x", ("CH", "RD"), False),
)
LANE_LEGEND = "pattern: K kick, S snare, B both, t tom, * crash, o open hat, x hat/ride"
CLEAR = "\033[H\033[2J"
NBSP = "\u00a0"  # a space textwrap never breaks at
#: Width of a table row before its pattern.
ROW_PREFIX = 15


def patterns(grids: np.ndarray, steps_per_bar: int, rest: str = "·", sep: str = "|"
             ) -> list[str]:
    """One line per grid (N, 9, S): the strongest sound at each step, bars split by `sep`."""
    hits = np.asarray(grids) > 0
    rows = {name: i for i, name in enumerate(ROWS)}
    conditions = [(np.all if both else np.any)(hits[:, [rows[r] for r in drums]], axis=1)
                  for _, drums, both in LANES]
    glyphs = np.select(conditions, [glyph for glyph, _, _ in LANES], default=rest)
    bars = glyphs.reshape(len(glyphs), -1, steps_per_bar)
    return [sep + sep.join("".join(bar) for bar in loop) + sep for loop in bars]


def loop_status(loop: Loop, ascii: bool = False) -> str:
    """Rating and favourite mark, e.g. '7 ★' or '- '."""
    star = "*" if ascii else "★"
    return f"{'-' if loop.rating is None else loop.rating} {star if loop.favourite else ' '}"


def origin(loop: Loop, generation: int) -> str:
    """Lineage label; a favourite carried over from an earlier generation says 'kept'."""
    return f"kept from gen {loop.born + 1}" if loop.born != generation else loop.origin()


def header(session: Session, folder: str, width: int = 1000) -> str:
    """One line: generation, space, adventure, tempo, what is locked, then the session
    folder (shortened to its name, then cut, to fit `width`)."""
    gen, s = session.generation(), session.settings
    bred = "" if gen.bred_from is None else f" (bred from {gen.bred_from + 1})"
    locked = "" if session.lock is None else f"{session.lock.describe()} · "
    head = (f"generation {gen.index + 1} of {len(session.generations)}{bred} · {s.space} space · "
            f"adventure {s.adventure:g} · {s.bpm:g} BPM · {locked}session ")
    for where in (folder, folder.rstrip("/").rsplit("/", 1)[-1]):
        if len(head + where) <= width:
            return head + where
    return (head + where)[:width - 1] + "…"


def table(session: Session, width: int, ascii: bool = False) -> list[str]:
    """The generation's loops, one row each (the selected one marked: position, id,
    rating and star, pattern, lineage). Bar lines and lineage are dropped from the
    rows when the terminal is too narrow (the selected loop's title keeps its lineage)."""
    loops, gen, spec = session.shown(), session.current, session.spec
    sep = "|" if ROW_PREFIX + spec.steps + spec.bars + 1 <= width else ""
    lanes = patterns(np.stack([lp.grid for lp in loops]), spec.steps_per_bar,
                     "." if ascii else "·", sep)
    mark = ">" if ascii else "▶"
    rows = []
    for pos, (loop, lane) in enumerate(zip(loops, lanes)):
        row = (f"{mark if pos == session.selected else ' '} {pos + 1:>2} #{loop.id:<4}"
               f"{loop_status(loop, ascii)}  {lane}")
        label = origin(loop, gen)
        rows.append(row + f"  {label}" if len(row) + 2 + len(label) <= width else row)
    return rows


def loop_title(session: Session, pos: int, ascii: bool = False) -> str:
    """'loop 3 (#12) · rating 7 · blend #4 #9'; a seed loop says it is the model's
    version of the user's file, how far it is from it, and how to hear the file."""
    loop = session.shown()[pos]
    head = f"loop {pos + 1} (#{loop.id}) · rating {loop_status(loop, ascii).strip() or '-'} · "
    changed = loop.changed_onsets()
    if changed is None:
        return head + origin(loop, session.current)
    return head + (f"model's version of {loop.source or 'your edit'}: {changed:.0%} of hits "
                   "differ, o plays the file")


def selected_grid(session: Session, ascii: bool = False, width: int = 1000) -> str:
    loop = session.loop_at(session.selected)
    title = loop_title(session, session.selected, ascii)
    if len(title) > width:
        title = title[:width - 1] + "…"
    return display.render(loop.grid, session.spec, title=title, ascii=ascii)


def all_grids(session: Session, ascii: bool = False) -> str:
    loops = session.shown()
    titles = [loop_title(session, pos, ascii) for pos in range(len(loops))]
    return display.render_many(np.stack([lp.grid for lp in loops]), session.spec, titles, ascii)


def key_lines(width: int) -> str:
    """The key reminder, wrapped between keys (never inside one) to fit `width` columns."""
    glued = KEY_LINE.replace(" · ", "\0").replace(" ", NBSP).replace("\0", f"{NBSP}· ")
    text = textwrap.fill(glued, width, initial_indent="keys: ", subsequent_indent="      ",
                         break_long_words=False)
    return text.replace(NBSP, " ")


class Screen:
    """Writes the session to the terminal: redrawn on a TTY, logged when piped."""

    def __init__(self, folder: str, echo: Callable[[str], None] = print, tty: bool = False,
                 ascii: bool = False, width: int | None = None, height: int | None = None):
        self.folder, self.echo, self.tty, self.ascii = folder, echo, tty, ascii
        self.width, self.height = width, height

    def _size(self) -> tuple[int, int]:
        """The terminal's columns and lines; a piped log is 100 wide and never cut short."""
        size = shutil.get_terminal_size((80, 24)) if self.tty else os.terminal_size((100, 10**6))
        return self.width or size.columns, self.height or size.lines

    def full(self, session: Session, extra: str | None = None,
             messages: list[str] = ()) -> str:
        """Header, loop table, the selected loop's grid (or `extra`), key line, messages.
        Without `extra`, the grid is left out when all of it would not fit the height
        with the prompt below (`extra`, asked for, may scroll)."""
        width, height = self._size()
        said = textwrap.wrap(" · ".join(messages), width) if messages else []
        top = [header(session, self.folder, width), *table(session, width, self.ascii)]
        bottom = [*key_lines(width).splitlines(), *said]
        middle = (extra or selected_grid(session, self.ascii, width)).splitlines()
        if not extra and len(top) + len(middle) + len(bottom) + 1 > height:
            middle = middle[:1]      # the selected loop's title; 'l' shows the grids
        return "\n".join(top + middle + bottom)

    def show(self, session: Session, messages: list[str], redraw: bool = False,
             grids: bool = False, help: bool = False) -> None:
        """After a command: on a TTY redraw everything; piped, print the messages and
        the full screen only when asked to (`redraw`: a new generation is on screen)."""
        extra = all_grids(session, self.ascii) if grids else (
            help_text() + "\n" + LANE_LEGEND) if help else None
        if self.tty:
            self.echo(CLEAR + self.full(session, extra, messages))
            return
        for m in messages:
            self.echo(m)
        if redraw or extra:
            self.echo(self.full(session, extra))
