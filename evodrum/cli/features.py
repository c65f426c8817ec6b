"""`evodrum features`: rhythm features of MIDI or grid files, as a table or JSON."""
from __future__ import annotations

import json

import click

from evodrum.cli import inputs, main
from evodrum.cli.inputs import drum_channel_option, drum_map_option, window_option
from evodrum.cli.options import grid_option, refuse_together
from fitness.features import FEATURES, LEVELS, compute


def _block(title: str, values: dict[str, float]) -> str:
    """One loop's features: a level per line, a feature per column."""
    lines = [title, f"  {'':<12}" + "".join(f"{f:>13}" for f in FEATURES)]
    for level in LEVELS:
        lines.append(f"  {level:<12}" + "".join(f"{values[f'{level}.{f}']:13.3f}" for f in FEATURES))
    return "\n".join(lines)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@grid_option
@click.option("--all", "all_windows", is_flag=True,
              help="Every window of a long performance (every grid of a grid file), "
                   "not only the first.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of {file, window, features} instead of tables.")
@window_option
@drum_map_option
@drum_channel_option
def features(files, spec, all_windows, as_json, window, drum_map, drum_channel):
    """Rhythm features of drum loops in MIDI files (or .npy/.npz grid files).

    \b
    At three levels (hats = CH+OH, kick_snare = BD+SD, all = every row):
      density      share of steps with a hit
      syncopation  Longuet-Higgins & Lee score per bar / the most a bar can reach
      symmetry     share of hits repeated half a loop later (1 = halves identical)
      wnbd         weighted note-to-beat distance / its maximum (8 at sixteenths):
                   how far hits sit from the nearest beat ("off-beat distance")
    symmetry is "repetition": how much the second half repeats the first.
    Every value is in [0, 1]; feature targets use these names (e.g.
    density=0.4,hats.density=0.6). A bare name means what a drummer means:
    syncopation and wnbd of kick_snare, density and symmetry of all. A long performance is cut into windows;
    only one is measured unless --all: --window N, or where the drums come in.
    Of several files, those that cannot be read are reported and skipped (exit
    code 1 if any was).

    \b
    Example:
      evodrum features loop.mid
      evodrum features a.mid b.mid --json
      evodrum features performance.mid --all --grid paper
    """
    refuse_together("window", "all_windows")
    entries, batch = [], inputs.Batch(files)
    for path in batch.files:
        with batch.skipping():
            entries += _measure(path, spec, all_windows, window, drum_map, drum_channel)
    if as_json:
        click.echo(json.dumps(entries, indent=2))
    elif entries:
        click.echo("\n\n".join(_block(f"{e['file']}  (window {e['window']})", e["features"])
                                for e in entries))
    batch.finish()


def _measure(path, spec, all_windows, window, drum_map, drum_channel) -> list[dict]:
    """{file, window, features} of each window of one file the options ask for."""
    if all_windows:
        loops = inputs.load(path, spec, drum_map, drum_channel)
        numbers = list(range(len(loops)))
    else:
        loops, i = inputs.pick(path, spec, window, drum_map, drum_channel)
        numbers = [i]
    values = compute(loops.grids[numbers], loops.spec)
    return [{"file": path, "window": i + 1,
             "features": {k: round(float(v[j]), 6) for k, v in values.items()}}
            for j, i in enumerate(numbers)]
