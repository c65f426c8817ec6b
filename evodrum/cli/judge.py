"""`evodrum judge`: how much loops sound like real drumming, by every judge."""
from __future__ import annotations

import json

import click

from evodrum.cli import main
from evodrum.cli.inputs import Batch, drum_channel_option, drum_map_option, load


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--model", "model_path", type=click.Path(), default=None,
              help="Use the judges beside this model file or run folder "
                   "[default: the shipped judges].")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of {file, window, scores} instead of a table.")
@drum_map_option
@drum_channel_option
def judge(files, model_path, as_json, drum_map, drum_channel):
    """How much drum loops sound like real drumming, by every judge.

    FILES are MIDI files, grid files (.npy, .npz) or folders of them (a run
    folder's loops; its checkpoint.npz is passed over). Every window of a long performance is judged (window 1 is the first 4 bars).
    Each score is a typicality in [0, 1], calibrated on held-out real loops: a
    real loop scores anywhere in [0, 1] evenly (median 0.5), a loop unlike any
    real one near 0. A score above real loops' is not "more real": a textbook
    beat out-scores most real drumming. To read a set of loops (a search's
    results, a model's samples) against real drumming, use `evodrum realism`.

    \b
      markov      likelihood under a per-row Markov model of real patterns
      classifier  real vs corrupted loops (shift- and voice-invariant features)
      wellformed  nearest training loop (Jaccard); what `target` optimises, so
                  never the only judge of a search's result
    The first two are trained on the Groove corpus's training split and are
    what no search optimises unless told to. Bad files, and folders
    without loops, are reported and skipped; the exit code is 1 if any was.

    \b
    Example:
      evodrum judge loop.mid
      evodrum judge runs/target-20261201/ --json
    """
    from evodrum.genotypes.files import (
        check_model,
        judges_beside,
        load_judges,
        load_reference,
    )
    from evodrum.judging import check_resolution, loop_files, score_windows
    if model_path is not None:
        check_model(model_path)
        if not judges_beside(model_path):
            click.echo(f"note: no judges beside {model_path}; using the shipped ones", err=True)
    judges = load_judges(model_path)
    spec = next(iter(judges.values())).spec
    scorers = {name: j.score for name, j in judges.items()}
    reference = load_reference(model_path)
    if reference.spec == spec:
        scorers["wellformed"] = reference.typicality
    paths, problems = loop_files(files)
    entries, batch = [], Batch(paths, problems)
    for path in batch.files:
        with batch.skipping():
            loops = load(str(path), spec, drum_map, drum_channel, for_model=True)
            check_resolution(path, loops.spec, spec)
            entries.extend(score_windows(path, loops.grids, scorers))
    if as_json:
        click.echo(json.dumps(entries, indent=2))
    elif entries:
        click.echo(_table(entries, list(scorers)))
        quartiles = "; ".join(f"{n} {' / '.join(f'{q:.2f}' for q in j.real_quartiles)}"
                              for n, j in judges.items())
        click.echo(f"\ntypicality of each loop: the share of held-out real loops scoring no "
                   f"higher. Real loops no judge saw score (25% / median / 75%): {quartiles}. "
                   "Higher than real is not more real: read a set of loops with "
                   "`evodrum realism`.")
    batch.finish()


def _table(entries: list[dict], names: list[str]) -> str:
    """One line per window: file, window, every judge's score."""
    width = max(len(e["file"]) for e in entries)
    lines = [f"{'file':<{width}}  {'window':>6}" + "".join(f"{n:>12}" for n in names)]
    for e in entries:
        lines.append(f"{e['file']:<{width}}  {e['window']:>6}"
                     + "".join(f"{e['scores'][n]:12.3f}" for n in names))
    return "\n".join(lines)
