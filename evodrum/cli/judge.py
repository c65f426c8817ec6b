"""`evodrum judge`: how much loops sound like real drumming, by every judge."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from evodrum import gridfile
from evodrum.cli import main
from evodrum.corpus import MIDI_SUFFIXES
from evodrum.errors import EvodrumError


def expand(paths: tuple[str, ...]) -> list[Path]:
    """Files as given, and the MIDI and grid files inside folders (sorted, recursively)."""
    suffixes = MIDI_SUFFIXES | set(gridfile.SUFFIXES)
    files = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in suffixes and f.is_file()))
        else:
            files.append(p)
    return files


def judge_files(files: list[Path], scorers: dict, spec) -> tuple[list[dict], list[str]]:
    """One entry per window of every readable file, and a one-line reason per bad file."""
    entries, problems = [], []
    for path in files:
        try:
            if not path.is_file():
                raise EvodrumError(f"{path}: no such file")
            grids, used = gridfile.read_any(path, spec)
            if used != spec:
                raise EvodrumError(f"{path}: a grid of {used.describe()}; the judges judge "
                                   f"{spec.describe()}")
        except EvodrumError as e:
            problems.append(str(e))
            continue
        scores = {name: score(grids) for name, score in scorers.items()}
        for i in range(len(grids)):
            entries.append({"file": str(path), "window": i + 1,
                            "scores": {name: round(float(s[i]), 4) for name, s in scores.items()}})
    return entries, problems


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--model", "model_path", type=click.Path(), default=None,
              help="Use the judges beside this model file or run folder "
                   "[default: the shipped judges].")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of {file, window, scores} instead of a table.")
def judge(files, model_path, as_json):
    """How much drum loops sound like real drumming, by every judge.

    FILES are MIDI files, grid files (.npy, .npz) or folders of them. Every
    window of a long performance is judged (window 1 is the first 4 bars).
    Each score is in [0, 1], higher = more like real drumming, calibrated on
    held-out real loops: a real loop scores anywhere in [0, 1] evenly (median
    0.5), a loop unlike any real one near 0.

    \b
      markov      likelihood under a per-row Markov model of real patterns
      classifier  real vs corrupted loops (shift- and voice-invariant features)
      wellformed  nearest training loop (Jaccard); what `target` optimises, so
                  never the only judge of a search's result
    The first two are trained on the Groove corpus's training split and are
    what no search optimises unless told to. Bad files are reported and
    skipped; the exit code is 1 if any was.

    \b
    Example:
      evodrum judge loop.mid
      evodrum judge runs/target-20261201/ --json
    """
    from evodrum.genotypes.files import load_judges, load_reference
    judges = load_judges(model_path)
    spec = next(iter(judges.values())).spec
    scorers = {name: j.score for name, j in judges.items()}
    reference = load_reference(model_path)
    if reference.spec == spec:
        scorers["wellformed"] = reference.typicality
    entries, problems = judge_files(expand(files), scorers, spec)
    if as_json:
        click.echo(json.dumps(entries, indent=2))
    elif entries:
        click.echo(_table(entries, list(scorers)))
    for problem in problems:
        click.echo(f"error: {problem} (skipped)", err=True)
    if problems:
        sys.exit(1)


def _table(entries: list[dict], names: list[str]) -> str:
    """One line per window: file, window, every judge's score."""
    width = max(len(e["file"]) for e in entries)
    lines = [f"{'file':<{width}}  {'window':>6}" + "".join(f"{n:>12}" for n in names)]
    for e in entries:
        lines.append(f"{e['file']:<{width}}  {e['window']:>6}"
                     + "".join(f"{e['scores'][n]:12.3f}" for n in names))
    return "\n".join(lines)
