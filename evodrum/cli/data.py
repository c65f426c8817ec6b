"""Corpus and file commands: data build, data info, show, convert, kit."""
from __future__ import annotations

import contextlib
import json
import re
import sys
from collections import Counter
from pathlib import Path

import click
import numpy as np

from evodrum import corpus as C
from evodrum import display, gridfile, kit, midi, notemap
from evodrum.cli import inputs, main
from evodrum.cli.inputs import (
    bpm_from_file_option,
    drum_channel_option,
    drum_map_option,
    window_option,
)
from evodrum.cli.options import (
    OUT_FILE,
    OUT_FOLDER,
    SEED,
    ascii_option,
    grid_option,
    note_map_option,
    refuse_together,
)
from evodrum.cli.output import kept_on_interrupt
from evodrum.errors import EvodrumError
from evodrum.text import count

cache_option = click.option(
    "--cache-dir", type=click.Path(file_okay=False), default=None,
    help="Where corpora are stored [default: $EVODRUM_CACHE or ~/.cache/evodrum].")


def _table(rows: list[tuple], header: tuple) -> str:
    """A plain text table with columns padded to their widest cell."""
    cells = [tuple(map(str, r)) for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


#: Files named in the skip and warning tables unless --list-skipped asks for all.
SKIP_LINES = 20


@main.group()
def data():
    """Build and inspect corpora of drum loops from MIDI files."""


@data.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--name", help="Corpus name: letters, digits, '-' or '_' [default: the folder's "
                             "name, e.g. groove].")
@grid_option
@click.option("--hop", "hop_bars", type=click.IntRange(1, 1024), default=1, show_default=True,
              help="Bars between the starts of windows cut from long performances.")
@click.option("--min-hits", type=click.IntRange(0), default=8, show_default=True,
              help="Drop windows with fewer hits than this (counted before a short loop "
                   "is tiled).")
@drum_map_option
@drum_channel_option
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Processes reading files [default: all cores].")
@click.option("--force", is_flag=True, help="Rebuild even if the cache is up to date.")
@click.option("--list-skipped", is_flag=True,
              help=f"Name every skipped file and why [default: up to {SKIP_LINES}].")
@cache_option
def build(directory, name, spec, hop_bars, min_hits, drum_map, drum_channel, workers, force,
          list_skipped, cache_dir):
    """Build a corpus from every drum MIDI file under DIRECTORY.

    For the Groove MIDI Dataset (a folder with info.csv) its official
    train/validation/test split and style and beat/fill labels are used; any
    other folder is split 80/10/10 by file. Loops of 1, 2, 4 or 8 bars are
    tiled to the grid; longer performances are cut into windows. Files that
    cannot be used are skipped with their reason.

    \b
    Example:
      evodrum data build ~/data/groove
      evodrum data build ~/my-loops --name mine --grid paper
    """
    with kept_on_interrupt("no corpus was saved (a corpus is saved whole, after its last "
                           "file); run the same command again to build it"), \
            contextlib.ExitStack() as stack:
        corpus = C.build_corpus(directory, spec, name=name, cache_dir=cache_dir,
                                hop_bars=hop_bars, min_hits=min_hits, workers=workers,
                                force=force, progress=_progress_bar(stack, "reading MIDI"),
                                drum_map=drum_map, drum_channel=drum_channel)
    s = C.summary(corpus)
    state = "up to date, reused cache" if corpus.manifest.get("reused") else "built"
    click.echo(f"corpus {corpus.path.name!r} {state}: {corpus.path}")
    click.echo(f"grid: {corpus.spec.describe()}")
    rows = [("files read", s["files"]), ("files kept", s["kept"]),
            *[(f"  skipped: {reason}", n) for reason, n in _kinds(s["skipped"]).items()],
            *[(f"windows: {split}", n) for split, n in s["windows"].items()],
            ("windows dropped (too few hits)", s["sparse_windows"]),
            ("timing moved by quantising, mean", f"{s['mean_shift_steps']:.3f} steps"),
            ("timing moved by quantising, max", f"{s['max_shift_steps']:.3f} steps"),
            ("hits merged into a louder one", s["collisions"])]
    if s["unmapped_pitches"]:
        rows.append(("notes on pitches outside the kit", s["unmapped_pitches"]))
    if s["triplet_files"]:
        rows.append(("files playing triplets or a shuffle (on this grid's steps)",
                     s["triplet_files"]))
    click.echo(_table(rows, ("", "count")))
    _file_table("skipped", s["skipped_files"], list_skipped)
    warned = [(f["file"], w) for f in corpus.manifest["files"] if f["status"] == "ok"
              for w in f.get("warnings", ())]
    _file_table("read with a warning", warned, list_skipped)
    _file_table("read with a note", s["noted_files"], list_skipped)


def _kinds(reasons: dict[str, int]) -> dict[str, int]:
    """Skip reasons grouped by kind ('no drums', 'the file is empty'), for the counts."""
    kinds = Counter()
    for reason, n in reasons.items():
        kinds[re.split(r":| \(", reason, maxsplit=1)[0]] += n
    return dict(kinds.most_common())


def _file_table(what: str, rows: list[tuple[str, str]], every: bool) -> None:
    """Files and their reasons, as a table; the first SKIP_LINES unless `every`."""
    if not rows:
        return
    shown = rows if every else rows[:SKIP_LINES]
    files = len({file for file, _ in rows})  # a file may have several reasons
    click.echo(f"\n{count(files, 'file')} {what}:")
    click.echo(_table(shown, ("file", "why")))
    if len(shown) < len(rows):
        click.echo(f"... and {len(rows) - len(shown)} more (see them all with --list-skipped)")


def _progress_bar(stack: contextlib.ExitStack, label: str):
    """A progress(done, total) callback drawing a click bar on stderr, opened on first call."""
    bars = []

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(stack.enter_context(click.progressbar(length=total, label=label,
                                                              file=sys.stderr)))
        bars[0].update(done - bars[0].pos)
    return progress


@data.command()
@click.argument("corpus_name", metavar="[CORPUS]", required=False)
@click.option("--features/--no-features", default=True, show_default=True,
              help="Also show the distribution of each rhythm feature.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON document (schema in the README) instead of tables.")
@cache_option
def info(corpus_name, features, as_json, cache_dir):
    """Counts per split and style, hit density and rhythm features of a built corpus.

    CORPUS is a corpus name (default: groove) or a corpus folder.

    \b
    Example:
      evodrum data info
      evodrum data info mine --no-features --json
    """
    facts = _corpus_facts(C.load_corpus(corpus_name, cache_dir), features)
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return
    click.echo(f"corpus {facts['corpus']!r}: {count(facts['windows'], 'window')}, "
               f"{facts['grid']['describe']}")
    click.echo(f"source: {facts['source']}\n")
    click.echo(_table(list(facts["splits"].items()), ("split", "windows")) + "\n")
    click.echo(_table([(s["style"] or "-", s["beat_type"] or "-", s["windows"])
                       for s in facts["styles"]], ("style", "beat/fill", "windows")) + "\n")
    click.echo(_table([(r, f"{d:.3f}") for r, d in facts["row_density"].items()],
                      ("row", "hit density")))
    h = facts["hits_per_window"]
    click.echo(f"\nhits per window: mean {h['mean']:.1f}, percentiles 5/25/50/75/95: "
               + " / ".join(f"{h[k]:.0f}" for k in ("p5", "p25", "p50", "p75", "p95"))
               + f"; cells with a hit: {facts['cells_with_hit']:.1%}")
    if facts["features"]:
        from fitness.features import format_summary
        click.echo("\nrhythm features (see `evodrum features --help`):")
        click.echo(format_summary(facts["features"]))


def _corpus_facts(corpus, features: bool) -> dict:
    """What `data info` reports, as the JSON document `--json` prints."""
    styles = Counter(zip(corpus.labels["style"], corpus.labels["beat_type"]))
    hits = corpus.grids > 0
    n_hits = hits.sum(axis=(1, 2))
    q = np.percentile(n_hits, [5, 25, 50, 75, 95])
    summary = None
    if features:
        from fitness import summarize
        summary = summarize(corpus.grids, corpus.spec)
    return {
        "corpus": corpus.path.name, "path": str(corpus.path), "source": corpus.manifest["source"],
        "grid": {**corpus.spec.to_dict(), "steps": corpus.spec.steps,
                 "describe": corpus.spec.describe()},
        "windows": len(corpus),
        "splits": {s: int((corpus.split == s).sum()) for s in C.SPLITS},
        "styles": [{"style": st, "beat_type": bt, "windows": n}
                   for (st, bt), n in sorted(styles.items())],
        "row_density": {r: round(float(d), 6) for r, d in zip(kit.ROWS, hits.mean(axis=(0, 2)))},
        "hits_per_window": {"mean": round(float(n_hits.mean()), 3),
                            **{f"p{p}": float(v) for p, v in zip((5, 25, 50, 75, 95), q)}},
        "cells_with_hit": round(float(hits.mean()), 6),
        "features": summary,
    }


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@grid_option
@window_option
@click.option("--all", "show_all", is_flag=True, help="Show every window.")
@drum_map_option
@drum_channel_option
@ascii_option
def show(files, spec, window, show_all, drum_map, drum_channel, ascii):
    """Show MIDI drum files (or .npy/.npz grid files) as grids in the terminal.

    Each title says which window it is, the bar it starts at, the file's tempo
    there, and how far quantising moved the hits.

    \b
    Example:
      evodrum show loop.mid
      evodrum show performance.mid --window 3
      evodrum show magenta_output.mid --drum-map magenta

    Of several files, those that cannot be read are reported and skipped (exit
    code 1 if any was).
    """
    refuse_together("window", "show_all")
    batch = inputs.Batch(files)
    for path in batch.files:
        with batch.skipping():
            _show(path, spec, window, show_all, drum_map, drum_channel, ascii)
    click.echo("    " + display.legend_line(ascii))
    batch.finish()


def _show(path, spec, window, show_all, drum_map, drum_channel, ascii) -> None:
    """Draw the windows of one file the options ask for."""
    loops = inputs.load(path, spec, drum_map, drum_channel)
    picks = range(len(loops)) if show_all else [loops.index(window)]
    for i in picks:
        title = f"{path}  ({loops.describe(i)}; {loops.spec.describe()}"
        title += f"; {loops.bpm(i):g} BPM)" if loops.bpms is not None else ")"
        click.echo(display.render(loops.grids[i], loops.spec, title + _moved(loops, i),
                                  ascii=ascii) + "\n")


def _moved(loops, i: int) -> str:
    """How much quantising moved the hits of window `i` of a MIDI file ('' for grid files)."""
    if not loops.moved:
        return ""
    return "\n  " + loops.moved[i].describe()


@main.command()
@click.argument("source", type=click.Path())
@click.argument("target", type=OUT_FILE)
@grid_option
@bpm_from_file_option
@drum_map_option
@drum_channel_option
@click.option("--type", "midi_type", type=click.Choice(["0", "1"]), default="1",
              show_default=True, help="MIDI file type to write.")
@note_map_option
def convert(source, target, spec, bpm, drum_map, drum_channel, midi_type, note_map):
    """Convert between MIDI files and grid arrays (either way, or grid to grid).

    \b
    MIDI -> .npy: an array (N, 9, S) of velocities in [0, 1], one grid per window.
    MIDI -> .npz: the same plus the grid resolution and each hit's timing (feel).
    .npy/.npz -> MIDI: one file per grid (name_001.mid, ... when there are several).

    \b
    Example:
      evodrum convert loop.mid loop.npy
      evodrum convert loops.npz loop.mid --bpm 96
      evodrum convert loop.mid for-my-vdrums.mid --note-map roland-td
    """
    from evodrum.outpaths import Outputs
    src, dst = Path(source), Path(target)
    kind = dst.suffix.lower()
    if kind not in C.MIDI_SUFFIXES and kind not in gridfile.SUFFIXES:
        raise EvodrumError(f"{dst}: write MIDI (.mid) or a grid file (.npy, .npz), "
                           f"not {dst.suffix or 'a file without a suffix'}")
    outputs = Outputs([src])
    loops = inputs.load(source, spec, drum_map, drum_channel)
    grids, spec = loops.grids, loops.spec
    played = loops.loops()          # with the timing they were played with
    if kind in gridfile.SUFFIXES:
        if kind == ".npy" and played.offsets.any():
            click.echo(f"note: {dst} keeps no timing (a bare array): write .npz to keep the "
                       "loops' feel", err=True)
        gridfile.save_grids(outputs.explicit(dst), played, spec)
        click.echo(f"wrote {dst}: {count(len(grids), 'grid')} of {spec.describe()}")
        return
    names = ([outputs.explicit(dst)] if len(grids) == 1 else
             [outputs.derived(dst.with_name(f"{dst.stem}_{i + 1:03d}{dst.suffix}"))
              for i in range(len(grids))])
    for i, (loop, name) in enumerate(zip(played, names)):
        midi.write_midi(name, loop, spec, bpm or loops.bpm(i), int(midi_type), note_map=note_map,
                        tempo_map=None if bpm or not loops.tempo_maps else loops.tempo_maps[i],
                        metre=loops.metre_maps[i] if loops.metre_maps else None)
    click.echo(f"wrote {count(len(names), 'MIDI file')}: {names[0]}"
               + (f" ... {names[-1].name}" if len(names) > 1 else ""))


@main.command("kit")
def kit_table():
    """The drum kit: rows, the pitch each is written as, and every pitch read into it.

    Each of the 9 rows is written at one General MIDI pitch (--note-map picks
    another instrument's pitches) and read from every pitch listed, with how
    --drum-map magenta and a note map read differently.

    \b
    Example:
      evodrum kit
      evodrum show loop.mid --drum-map magenta   # read as MusicVAE does
    """
    click.echo(f"kit version {kit.KIT_VERSION}\n")
    rows = [(name, desc, out, " ".join(map(str, pitches)))
            for name, desc, out, pitches in kit.table()]
    click.echo(_table(rows, ("row", "instrument", "writes", "reads pitches")))
    groove, magenta = kit.DRUM_MAPS["groove"], kit.DRUM_MAPS["magenta"]
    differ = [f"{p} {kit.ROWS[magenta[p]] if magenta[p] >= 0 else 'none'}"
              for p in np.flatnonzero(groove != magenta)]
    click.echo("\n--drum-map magenta (note_seq 0.0.5's drum classes) reads differently: "
               + ", ".join(differ))
    click.echo("Magenta 9-class order: " + ", ".join(kit.MAGENTA_ROWS))
    click.echo("--drum-map NOTE-MAP reads a file written with --note-map NOTE-MAP ("
               + ", ".join(notemap.builtin_names()) + " or your .toml): its nine pitches "
               "first, every other pitch as above")


@data.command("reference")
@click.argument("corpus_name", metavar="[CORPUS]", required=False)
@click.option("--out", "-o", type=OUT_FILE, required=True,
              help="Where to write the reference (.npz).")
@cache_option
def reference(corpus_name, out, cache_dir):
    """Build the well-formedness reference of a corpus.

    Well-formedness reads a loop's distance to the nearest training loop
    against the same distance for held-out test loops. Searches load the
    reference from wellformed.npz beside their model (the shipped model has one
    made from the Groove corpus).

    \b
    Example:
      evodrum data reference groove -o runs/train-20261124/wellformed.npz
    """
    from evodrum.outpaths import Outputs
    from fitness import WellFormedness
    corpus = C.load_corpus(corpus_name, cache_dir)
    out = Outputs().explicit_set(out, [".order.npy"])[0]    # and its scan order beside it
    ref = WellFormedness.from_corpus(corpus)
    ref.save(out)
    click.echo(f"wrote {out}: {ref.info['distinct_train_loops']} distinct training loops, "
               f"{ref.info['heldout_loops']} held-out loops")


def _check_judge_files(folder, force: bool) -> None:
    """The judge files (and their cards) `data judges` writes into `folder` must be new,
    or regular files `force` may replace; a link is never written through."""
    from fitness.judges import NAMES, judge_file
    for name in NAMES:
        for path in (judge_file(folder, name), judge_file(folder, name).with_suffix(".json")):
            if path.is_symlink():
                raise EvodrumError(f"{path}: is a symbolic link; evodrum never writes "
                                   "through one (give another --out)")
            if path.exists() and not (force and path.is_file()):
                raise EvodrumError(f"{path}: already exists; give --force to replace it"
                                   if path.is_file() else f"{path}: is not a file")


@data.command("judges")
@click.argument("corpus_name", metavar="[CORPUS]", required=False)
@click.option("--out", "-o", type=OUT_FOLDER, required=True,
              help="Folder to write judge-markov.npz and judge-classifier.npz (+ .json cards) into.")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Seed of the classifier's corrupted examples: the same corpus and seed "
                   "give the same files.")
@click.option("--force", is_flag=True,
              help="Replace judge files (and their .json cards) already in the folder; "
                   "a symbolic link is never written through.")
@cache_option
def judges(corpus_name, out, seed, force, cache_dir):
    """Train the judges of real drumming on a corpus and print their probes.

    Both judges learn from the training split and are calibrated on the
    validation split; the probes (real test loops, shifted, re-voiced,
    corrupted, per style) are printed and recorded in each judge's card.
    Searches and `evodrum judge` load judge-*.npz from beside their model (the
    shipped model has them, made from the Groove corpus).

    \b
    Example:
      evodrum data judges groove -o runs/train-20261124
    """
    from fitness.judges import build_judges, save_judges
    from fitness.probes import probe_table, style_table
    from vae.files import corpus_card
    _check_judge_files(out, force)
    corpus = C.load_corpus(corpus_name, cache_dir)
    built = build_judges(corpus, seed, card={"corpus": corpus_card(corpus)})
    scorers = {name: j.score for name, j in built.items()}
    test = corpus.split == "test"
    probes = probe_table(scorers, corpus.grids[test], seed)
    styles = style_table(scorers, corpus.grids[test], corpus.labels["style"][test])
    for j in built.values():
        j.info.update({"probes": probes, "styles": styles})
    Path(out).mkdir(parents=True, exist_ok=True)
    for path in save_judges(built, out):
        click.echo(f"wrote {path}")
    names = list(built)
    click.echo("\nmedian score on probes of the test split's real loops")
    click.echo(_table([(p, *(f"{v[n]:.3f}" for n in names)) for p, v in probes.items()],
                      ("probe", *names)))
    click.echo("\nmean score of the test split's real loops per style")
    click.echo(_table([(s, v["loops"], *(f"{v[n]:.3f}" for n in names)) for s, v in styles.items()],
                      ("style", "loops", *names)))
