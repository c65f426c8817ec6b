"""Terminal rendering of drum grids: rows labelled, bars and beats marked,
velocity shown by glyph. Every command that shows a loop uses `render`."""
from __future__ import annotations

import numpy as np

from evodrum.grid import GridSpec
from evodrum.kit import ROWS

#: Rest glyph, then hits from softest to loudest (velocity quartiles).
UNICODE_GLYPHS = ("·", "░", "▒", "▓", "█")
ASCII_GLYPHS = (".", "-", "o", "O", "X")
LEGEND = "velocity: soft {1} {2} {3} {4} loud, {0} rest"


def _cells(row: np.ndarray, glyphs: tuple[str, ...]) -> np.ndarray:
    level = np.where(row > 0, np.minimum(np.ceil(row * 4), 4), 0).astype(int)
    return np.asarray(glyphs)[level]


def render(grid: np.ndarray, spec: GridSpec, title: str | None = None,
           ascii: bool = False, legend: bool = False) -> str:
    """A multi-line string showing one (9, S) grid; '|' marks bars, spaces beats."""
    grid = np.asarray(grid)
    if grid.shape != spec.shape:
        raise ValueError(f"grid shape {grid.shape} does not match {spec.describe()}")
    glyphs = ASCII_GLYPHS if ascii else UNICODE_GLYPHS
    bar_sep = "|"

    def layout(cells) -> str:
        bars = []
        for b in range(spec.bars):
            beats = []
            for beat in range(spec.beats_per_bar):
                start = b * spec.steps_per_bar + beat * spec.steps_per_beat
                beats.append("".join(cells[start:start + spec.steps_per_beat]))
            bars.append(" ".join(beats))
        return bar_sep + bar_sep.join(bars) + bar_sep

    width = len(layout([" "] * spec.steps))
    header = [" "] * width
    pos = 1
    bar_width = spec.beats_per_bar * (spec.steps_per_beat + 1) - 1
    for b in range(spec.bars):
        label = str(b + 1)
        header[pos:pos + len(label)] = label
        pos += bar_width + 1
    lines = []
    if title:
        lines.append(title)
    lines.append("    " + "".join(header))
    for name, row in zip(ROWS, grid):
        lines.append(f"{name:<3} " + layout(_cells(row, glyphs)))
    if legend:
        lines.append("    " + LEGEND.format(*glyphs))
    return "\n".join(lines)


def render_many(grids: np.ndarray, spec: GridSpec, titles: list[str] | None = None,
                ascii: bool = False) -> str:
    """Several grids one under another, separated by blank lines, legend once at the end."""
    titles = titles or [None] * len(grids)
    parts = [render(g, spec, t, ascii) for g, t in zip(grids, titles)]
    glyphs = ASCII_GLYPHS if ascii else UNICODE_GLYPHS
    return "\n\n".join(parts) + "\n    " + LEGEND.format(*glyphs)
