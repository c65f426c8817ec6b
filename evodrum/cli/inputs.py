"""The loop files commands read: one place that picks the window, keeps the file's
tempo and tells the user what was read (damage read past, bars skipped, which window)."""
from __future__ import annotations

import click

from evodrum.cli.options import Number
from evodrum.errors import EvodrumError
from evodrum.gridfile import LoopFile, read_file
from evodrum.kit import DRUM_MAPS

window_option = click.option(
    "--window", type=click.IntRange(1), default=None,
    help="Which window of a long performance, counting from 1 [default: where the drums "
         "come in: the first window opening with a bar of hits, past a silent intro].")

drum_map_option = click.option(
    "--drum-map", type=click.Choice(list(DRUM_MAPS)), default="groove", show_default=True,
    help="How MIDI pitches are read into drum rows: groove (the Groove MIDI Dataset's "
         "reduction: 45 mid tom, 48 high tom) or magenta (note_seq / MusicVAE / GrooVAE: "
         "45 low, 48 mid, 43 high tom, 58 crash). Use magenta for files Magenta wrote.")

bpm_from_file_option = click.option(
    "--bpm", type=Number(20, 400), default=None,
    help="Tempo in quarter-note beats per minute [default: the input file's tempo "
         "where the loop starts; 120 for grid files].")


def load(path: str, spec, drum_map: str = "groove", hop_bars: int = 1) -> LoopFile:
    """Read a MIDI or grid file (a MIDI file's windows `hop_bars` bars apart), printing
    its warnings as 'warning:' lines on stderr."""
    loops = read_file(path, spec, drum_map, hop_bars)
    for line in loops.warnings:
        kind = "note" if line.startswith("not read as drums") else "warning"
        click.echo(f"{kind}: {path}: {line}", err=True)
    return loops


def pick(path: str, spec, window: int | None, drum_map: str = "groove", *,
         model_spec=None) -> tuple[LoopFile, int]:
    """(the file, 0-based index of the chosen window); says which window when it chose."""
    loops = load(path, spec, drum_map)
    if model_spec is not None and loops.spec != model_spec:
        raise EvodrumError(f"{path}: holds grids of {loops.spec.describe()}, the model uses "
                           f"{model_spec.describe()}")
    i = loops.index(window)
    if window is None and len(loops) > 1:
        passed = "; the windows before it open with a silent bar" if i else ""
        click.echo(f"{path}: using {loops.describe(i)} (choose with --window){passed}",
                   err=True)
    if not loops.hits[i]:
        silent = "every window is silent" if not loops.hits.any() else (
            f"window {i + 1} has no hits")
        click.echo(f"warning: {path}: {silent}", err=True)
    return loops, i
