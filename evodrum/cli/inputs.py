"""The loop files commands read: one place that picks the window, keeps the file's
tempo and tells the user what was read (damage read past, bars skipped, which window)."""
from __future__ import annotations

import sys
from contextlib import contextmanager

import click

from evodrum.cli.options import tempo_option
from evodrum.errors import EvodrumError
from evodrum.gridfile import Input, LoopFile, Plan, read_input
from evodrum.notemap import builtin_names, reading_map, stored_form

window_option = click.option(
    "--window", type=click.IntRange(1), default=None,
    help="Which window of a long performance, counting from 1 [default: where the drums "
         "come in: the first window opening with a bar of hits, past a silent intro].")


def _drum_map(ctx, param, value):
    """The reading, checked now (one error line), in the form a session or job stores."""
    reading_map(value)
    return stored_form(value)


drum_map_option = click.option(
    "--drum-map", default="groove", show_default=True, metavar="NAME|FILE",
    callback=_drum_map,
    help="How MIDI pitches are read into drum rows: groove (the Groove MIDI Dataset's "
         "reduction, also right for GrooVAE's files: 43 and 58 low, 45 mid, 48 high tom) "
         "or magenta (note_seq 0.0.5's drum classes, as MusicVAE reads: 43 and 45 low, "
         "48 mid, 50 high tom, 58 crash); the two differ only on 45, 48 and 58, and "
         "`evodrum kit` lists every pitch. Or a note map (" + ", ".join(builtin_names())
         + " or your .toml file): a loop written with --note-map and edited in your DAW "
         "reads back into the rows it was written from.")

drum_channel_option = click.option(
    "--drum-channel", type=click.IntRange(1, 16), default=None,
    help="Read this MIDI channel (1-16) as the drum kit, and only it [default: channel 10; "
         "in a file without it, the parts that play like a kit]. For an e-kit or a "
         "keyboard's drum part recorded on another channel.")

bpm_from_file_option = tempo_option(
    "Tempo in quarter-note beats per minute [default: the input file's tempo where the "
    "loop starts; 120 for grid files].")


def load(path: str, spec, drum_map: str = "groove", drum_channel: int | None = None, *,
         hop_bars: int = 1, for_model: bool = False) -> LoopFile:
    """Read a MIDI or grid file (a MIDI file's windows `hop_bars` bars apart) and `tell`
    what was lost, changed or done to it; `for_model`: on a model's grid (a refusal
    offers no --grid)."""
    return _told(read_input(path, spec, drum_map, drum_channel), spec, hop_bars, for_model)


def _told(read: Input, spec, hop_bars: int = 1, for_model: bool = False) -> LoopFile:
    """The windows of a file already read, as `load` gives them, and said as it says."""
    loops = read.windows(spec, hop_bars, hint=not for_model)
    tell(read.path, loops, for_model)
    return loops


def tell(path: str, loops: LoopFile, for_model: bool = False) -> None:
    """Print what was lost or changed as 'warning:' lines and what was done to the file
    (folded, tiled, triplets on 16ths) as 'note:' lines, on stderr. `for_model`: the grid
    is a model's, so a triplet grid is not offered."""
    for line in loops.warnings + [loops.tempo_changes()]:
        if line:
            click.echo(f"warning: {path}: {line}", err=True)
    notes = list(loops.info)
    if loops.triplets is not None:
        notes.append(loops.triplets.describe() + triplet_hint(loops.spec, loops.triplets,
                                                              for_model))
    for line in notes:
        click.echo(f"note: {path}: {line}", err=True)


def tell_seed_loops(paths, spec, drum_map: str = "groove",
                    drum_channel: int | None = None) -> None:
    """Read the --seed-loops files as every reading command reads a file, so what was
    lost or done to them is said ('warning:' and 'note:' lines) and a bad file is one
    error before anything starts; the search or session reads them again itself, from
    what this read parsed (`infile.read_once`)."""
    for path in paths:
        load(path, spec, drum_map, drum_channel, for_model=True)


def triplet_hint(spec, triplets, for_model: bool) -> str:
    """What happens to triplet hits on this grid, and how to keep them."""
    if spec.steps_per_beat % 3 == 0:
        return f" (kept on this grid of {spec.steps_per_beat} steps per beat)"
    steps = 6 if "sixteenth" in triplets.kind else 3
    where = ("; the model works on a grid of "
             f"{spec.steps_per_beat} steps per beat and cannot take a triplet grid"
             if for_model else f"; read them on a triplet grid with --grid "
             f"{spec.bars}x{spec.beats_per_bar}x{steps}")
    return f": on this grid they move to the nearest step{where}"


def pick(path: str, spec, window: int | None, drum_map: str = "groove",
         drum_channel: int | None = None, *, model_spec=None) -> tuple[LoopFile, int]:
    """(the file, 0-based index of the chosen window); says which window when it chose."""
    loops = load_for(read_input(path, spec, drum_map, drum_channel), spec, model_spec)
    return loops, choose(loops, window)


def to_play(path: str, spec, window: int | None, drum_map: str = "groove",
            drum_channel: int | None = None, *, model_spec=None
            ) -> tuple[LoopFile, Plan, int | None]:
    """(the file, what of it plays, the window chosen or None): the whole file, window
    after window (see `LoopFile.whole`), or only `window`; a grid file, or one with bars
    the grid cannot hold between its windows, plays the window where the drums come
    in unless `window` says which. The file is read once, and cut twice at most."""
    read = read_input(path, spec, drum_map, drum_channel)
    if window is None:   # cut to the end of the last bar, said only if played whole
        loops = read.windows(spec, to_last_bar=True, hint=model_spec is None)
        plan = loops.whole() if len(loops) > 1 else None
        if plan is not None:
            _holds(path, loops, model_spec)
            tell(path, loops, for_model=model_spec is not None)
            _tell_plan(path, loops, plan)
            return loops, plan, None
    loops = load_for(read, spec, model_spec)
    i = choose(loops, window)     # counted as `show` counts windows
    return loops, loops.window(i), i


def _tell_plan(path: str, loops: LoopFile, plan: Plan) -> None:
    """Warn when a whole file is cut to what one loop holds, or plays only silence."""
    if plan.bars < plan.file_bars:
        click.echo(f"warning: {path}: plays its first {plan.bars} of {plan.file_bars} bars: one "
                   f"loop holds at most {plan.bars} bars of {loops.spec.steps_per_bar} steps "
                   "(--window N plays one window of the rest)", err=True)
    _warn_if_silent(loops, plan.windows)


def load_for(read: Input, spec, model_spec=None) -> LoopFile:
    """The file's windows as `load` gives them, holding grids of `model_spec` when given."""
    loops = _told(read, spec, for_model=model_spec is not None)
    _holds(read.path, loops, model_spec)
    return loops


def _holds(path: str, loops: LoopFile, model_spec) -> None:
    """EvodrumError unless the file holds grids of `model_spec` (a model's), when given."""
    if model_spec is not None and loops.spec != model_spec:
        raise EvodrumError(f"{path}: holds grids of {loops.spec.describe()}, the model uses "
                           f"{model_spec.describe()}")


def choose(loops: LoopFile, window: int | None) -> int:
    """0-based index of `window` of the file, or where its drums come in: said when chosen
    for the user, and warned of when silent."""
    path = loops.path
    i = loops.index(window)
    if window is None and len(loops) > 1:
        passed = "; the windows before it open with a silent bar" if i else ""
        click.echo(f"{path}: using {loops.describe(i)} (choose with --window){passed}",
                   err=True)
    _warn_if_silent(loops, [i])
    return i


def _warn_if_silent(loops: LoopFile, windows) -> None:
    """Warn when the windows that play hold no hit (plan windows cover every bar)."""
    if loops.hits[windows].any():
        return
    silent = "every window is silent" if not loops.hits.any() else (
        f"window {windows[0] + 1} has no hits")
    click.echo(f"warning: {loops.path}: {silent}", err=True)


class Batch:
    """Files a command reads one after another. One that cannot be read is set aside and
    said after the results ('error: ... (skipped)'), and the exit code is 1; the others
    are read all the same. A single file's problem is a plain error. `problems`: files
    already set aside (found but not loop files)."""

    def __init__(self, files, problems=()):
        self.files, self.problems = list(files), list(problems)

    @contextmanager
    def skipping(self):
        """Run one file's work; its EvodrumError is set aside (raised when alone)."""
        try:
            yield
        except EvodrumError as e:
            if len(self.files) == 1:
                raise
            self.problems.append(str(e))

    def finish(self) -> None:
        """Say what was skipped, and exit 1 if anything was."""
        for problem in self.problems:
            click.echo(f"error: {problem} (skipped)", err=True)
        if self.problems:
            sys.exit(1)
