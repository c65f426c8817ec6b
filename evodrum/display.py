"""Terminal rendering of drum grids: rows labelled, bars and beats marked,
velocity shown by glyph. Every command that shows a loop uses `render`.

A 4-bar loop fits an 80-column terminal: '|' separates bars, the header
numbers the bars and puts a tick over each beat, and a rest on a beat is drawn
with its own glyph so the pulse stays visible inside the rows.
"""
from __future__ import annotations

import numpy as np

from evodrum.grid import GridSpec
from evodrum.kit import ROWS

#: Rest off the beat, rest on a beat, then hits from softest to loudest (velocity quartiles).
UNICODE_GLYPHS = ("·", "┊", "░", "▒", "▓", "█")
ASCII_GLYPHS = (".", ":", "-", "o", "O", "X")
LEGEND = "velocity: soft {2} {3} {4} {5} loud; rest {0} (on a beat {1})"
#: Steps drawn on one line (4 bars of 16ths): a longer loop wraps, a bar at a time.
LINE_STEPS = 64


def _cells(row: np.ndarray, on_beat: np.ndarray, glyphs: tuple[str, ...]) -> np.ndarray:
    level = np.where(row > 0, 1 + np.minimum(np.ceil(row * 4), 4), on_beat).astype(int)
    return np.asarray(glyphs)[level]


def _header(spec: GridSpec, bars: range) -> str:
    """Bar numbers over each bar's first step and a tick over every other beat."""
    marks = []
    for bar in bars:
        cells = [" "] * spec.steps_per_bar
        for beat in range(1, spec.beats_per_bar):
            cells[beat * spec.steps_per_beat] = "'"
        label = str(bar + 1)
        cells[:len(label)] = label
        marks.append("".join(cells))
    return " " + " ".join(marks)


def render(grid: np.ndarray, spec: GridSpec, title: str | None = None,
           ascii: bool = False, legend: bool = False) -> str:
    """A multi-line string showing one (9, S) grid."""
    grid = np.asarray(grid)
    if grid.shape != spec.shape:
        raise ValueError(f"grid shape {grid.shape} does not match {spec.describe()}")
    glyphs = ASCII_GLYPHS if ascii else UNICODE_GLYPHS
    on_beat = (np.arange(spec.steps) % spec.steps_per_beat == 0).astype(int)
    rows = [_cells(row, on_beat, glyphs) for row in grid]
    lines = [title] if title else []
    per_line = max(1, LINE_STEPS // spec.steps_per_bar)     # a long loop wraps
    for first in range(0, spec.bars, per_line):
        bars = range(first, min(first + per_line, spec.bars))
        lines += [""] * (first > 0) + ["    " + _header(spec, bars)]
        for name, cells in zip(ROWS, rows):
            shown = ["".join(cells[b * spec.steps_per_bar:(b + 1) * spec.steps_per_bar])
                     for b in bars]
            lines.append(f"{name:<3} |" + "|".join(shown) + "|")
    if legend:
        lines.append("    " + LEGEND.format(*glyphs))
    return "\n".join(lines)


def render_many(grids: np.ndarray, spec: GridSpec, titles: list[str] | None = None,
                ascii: bool = False) -> str:
    """Several grids one under another, separated by blank lines, legend once at the end."""
    titles = titles or [None] * len(grids)
    parts = [render(g, spec, t, ascii) for g, t in zip(grids, titles)]
    return "\n\n".join(parts) + "\n    " + legend_line(ascii)


def legend_line(ascii: bool = False) -> str:
    """The glyph legend for grids drawn with `ascii` or not."""
    return LEGEND.format(*(ASCII_GLYPHS if ascii else UNICODE_GLYPHS))
