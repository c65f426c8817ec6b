"""`evodrum target`: search a genotype space for loops whose rhythm features match goals."""
from __future__ import annotations

import contextlib
import functools
import json
import sys
from pathlib import Path

import click

from evodrum.cli import main
from evodrum.cli.feel import feel_model, feel_options, feel_performer
from evodrum.cli.inputs import (
    drum_channel_option,
    drum_map_option,
    tell_seed_loops,
    window_option,
)
from evodrum.cli.options import (
    OUT_FOLDER,
    SEED,
    Number,
    algorithm_option,
    ascii_option,
    given_options,
    lock_option,
    note_map_option,
    prior_option,
    refine_option,
    run_bpm_option,
    space_option,
)
from evodrum.cli.output import (
    add,
    current,
    detail,
    in_folder,
    kept_on_interrupt,
    output_options,
    say,
    wrote,
)
from evodrum.errors import EvodrumError
from evodrum.midi import DEFAULT_BPM
from evodrum.notes import note
from evodrum.resume import refuse_changed_options
from evodrum.search.config import DEFAULT_PATIENCE, DEFAULT_WELLFORMED_WEIGHT
from evodrum.text import count, fit_line, span

#: Logbook lines a run prints when its output is not a terminal (about this many).
LOG_LINES = 10


@contextlib.contextmanager
def _progress(generations: int, to_stderr: bool, verbose: bool = False):
    """`on_generation` for a run: a progress bar on a terminal, else a plain line every
    generations / LOG_LINES generations and at the last (with --verbose, DEAP-style
    logbook lines: gen, evals, best, mean, std, best_distance, best_so_far)."""
    stream = sys.stderr if to_stderr else sys.stdout
    if stream.isatty():
        with click.progressbar(length=generations, label="searching", file=stream,
                               item_show_func=_progress_line, show_pos=True) as bar:
            yield lambda generation, record: bar.update(1, record) if generation else None
        return
    every = max(1, generations // LOG_LINES)
    fields = ("gen", "evals", "best", "mean", "std", "best_distance", "best_so_far")
    if verbose:
        click.echo("\t".join(fields), file=stream)

    def log(generation, record):
        if generation % every and generation != generations:
            return
        if verbose:
            click.echo("\t".join(str(record[f]) if f in ("gen", "evals")
                                 else f"{record[f]:.4f}" for f in fields), file=stream)
        else:
            click.echo(f"generation {generation} of {generations}: {record['evals']:,} loops "
                       f"tried, the closest {record['best_so_far']:.4f} off the goals",
                       file=stream)
    yield log


def _progress_line(record: dict | None) -> str:
    if not record:
        return ""
    return f"closest {record['best_so_far']:.4f} off the goals"


@main.command()
@click.option("--features", "-f", "features", metavar="NAME=VALUE,...",
              help="Goal features, e.g. density=0.4,syncopation=0.3. A bare name means what "
                   "a drummer means: syncopation and wnbd of kick & snare, density and "
                   "symmetry of the whole kit; name a level to choose: hats.density=0.6, "
                   "all.syncopation=0.1. Weight a term with :W, e.g. density=0.4:2.")
@click.option("--like", type=click.Path(dir_okay=False), metavar="FILE",
              help="Match the features of this loop, a MIDI or grid file (.npy/.npz) "
                   "(values from --features override).")
@window_option
@drum_map_option
@drum_channel_option
@space_option
@algorithm_option
@click.option("--generations", "-g", type=click.IntRange(1, 1_000_000), default=100,
              show_default=True,
              help="Generations of the search: up to population x generations loops are "
                   "tried (--patience may stop it sooner).")
@click.option("--population", "-p", type=click.IntRange(4, 100_000), default=100,
              show_default=True, help="Loops tried per generation.")
@click.option("--patience", type=click.IntRange(0, 1_000_000), default=DEFAULT_PATIENCE,
              show_default=True,
              help="Stop after this many generations without a better loop, or once the "
                   "best is as close as the features' resolution allows (0 = run every "
                   "generation; --generations stays the limit).")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Random seed: the same command and seed give the same loops.")
@click.option("--sigma", type=Number(0, 10, low_open=True), default=0.3, show_default=True,
              help="Gaussian mutation step in genotype units (latent spaces: prior std).")
@click.option("--indpb", type=Number(0, 1, low_open=True), default=None,
              help="Per-gene mutation probability [default: 4 / genotype length].")
@click.option("--mutation", type=click.Choice(["gaussian", "flip"]), default="gaussian",
              show_default=True, help="'flip' is the grid space's native bit-flip operator.")
@click.option("--repair", type=click.Choice(["clip", "penalty"]), default="clip",
              show_default=True, help="Keep latent genotypes within +-3 by clipping, or by a "
                                      "fitness penalty for leaving the prior's bulk.")
@click.option("--wellformed", "wellformed_weight", type=Number(0, 1e6),
              default=DEFAULT_WELLFORMED_WEIGHT,
              show_default=True, help="Weight of the second objective: stay like real "
                                      "drumming (0 = match the target only).")
@click.option("--judge", default="wellformed", show_default=True, metavar="NAME",
              help="Which judge of real drumming the second objective is (the --wellformed "
                   "term, NSGA-II's second axis): wellformed (nearest corpus loops), markov "
                   "or classifier (see `evodrum judge --help`); the others are reported as "
                   "independent.")
@click.option("--seed-loops", multiple=True, type=click.Path(dir_okay=False),
              metavar="FILE.mid", help="Start from these loops (repeat the option for "
                                       "several); read with --drum-map and --drum-channel.")
@refine_option
@prior_option
@click.option("--model", type=click.Path(), default=None,
              help="VAE model file or training run folder [default: the shipped model].")
@click.option("--corpus", default=None,
              help="Build the well-formedness reference from this corpus [default: shipped].")
@click.option("--top", type=click.IntRange(1, 10), default=4, show_default=True,
              help="How many of the best distinct loops to show and write.")
@click.option("--out", type=OUT_FOLDER, default=None,
              help="Run folder [default: runs/target-DATE-TIME].")
@click.option("--resume", "resume_dir", type=click.Path(exists=True, file_okay=False),
              default=None, help="Continue an interrupted run in this folder (its own "
                                 "settings are used).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the summary (summary.json) as one JSON document on stdout; "
                   "everything else goes to stderr.")
@click.option("-v", "--verbose", is_flag=True,
              help="Also show the search's figures: the logbook and the judges of real drumming.")
@run_bpm_option("the --like loop's tempo where it starts, else 120")
@feel_options()
@lock_option("the --like loop, else the first --seed-loops file")
@note_map_option
@ascii_option
def target(features, like, window, drum_map, drum_channel, space, algorithm, generations,
           population, patience, seed, sigma, indpb, mutation, repair, wellformed_weight, judge,
           seed_loops, refine_steps, prior, model, corpus, top, out, resume_dir, as_json, verbose,
           bpm, feel_amount, scatter, swing, lock_rows, note_map, ascii):
    """Search for drum loops whose rhythm features match goals.

    A genetic algorithm (or CMA-ES) moves through the VAE's latent space; each
    genotype is decoded into a loop and scored by how far its features are from
    the goals. Features: density, syncopation, symmetry, wnbd, at levels all,
    hats, kick_snare (see `evodrum features --help`).

    \b
    Examples:
      evodrum target --features density=0.4,syncopation=0.3
      evodrum target --features hats.density=0.5,kick_snare.syncopation=0.4 --space pca
      evodrum target --like groove.mid --seed 3
      evodrum target --like song.mid --window 9      # the window from bar 9
      evodrum target -f hats.density=0.6 --seed-loops mine.mid --lock BD,SD  # new hats only
      evodrum target --resume runs/target-20261124-101500
    """
    from evodrum.runs import claim_run_dir
    from evodrum.runtime import single_thread
    from evodrum.search.config import SearchConfig
    from evodrum.search.target import (
        CHECKPOINT_FILE,
        TargetJob,
        check_resumable,
        load_job,
        optimised_judges,
        prepare_target,
        run_target,
    )
    single_thread()
    if resume_dir:
        refuse_changed_options(given_options(JOB_OPTIONS))
        job = load_job(Path(resume_dir))
        check_resumable(Path(resume_dir))
    else:
        operators = {n: v for n, v in (("sigma", sigma), ("indpb", indpb), ("mutation", mutation))
                     if n in given_options(("sigma", "indpb", "mutation"))}
        goal, like_bpm, like_loop = _target(features, like, model, window, drum_map,
                                            drum_channel)
        job = TargetJob(goal, SearchConfig.from_options(
            space=space, algorithm=algorithm, population=population, generations=generations,
            patience=patience, seed=seed, repair=repair, wellformed_weight=wellformed_weight,
            prior=prior,
            **operators),
            _absolute(model),
            [_absolute(p) for p in seed_loops], corpus, refine_steps, judge,
            _lock(lock_rows, like_loop, seed_loops, model, corpus, drum_map, drum_channel),
            drum_map, drum_channel, bpm or like_bpm or DEFAULT_BPM)
    bpm = bpm or _run_tempo(job, resume_dir)
    # bad models or loops fail here, before a run folder exists
    if not resume_dir:
        from evodrum.genotypes.files import load_reference
        tell_seed_loops(seed_loops, load_reference(model, corpus).spec, drum_map, drum_channel)
    prepared = prepare_target(job, resume=resume_dir is not None)
    spec = prepared.objective.space.spec
    model_feel = feel_model(job.model, spec) if feel_amount else None
    perform = feel_performer(model_feel, spec, bpm, feel_amount, scatter, swing,
                             job.config.seed, getattr(prepared.objective.space, "lock", None))
    folder = click.get_current_context().with_resource(
        claim_run_dir("target", resume_dir or out, resume=resume_dir is not None))
    from fitness.features import plain_name
    tell = functools.partial(click.echo, err=as_json)
    if resume_dir and not (folder / CHECKPOINT_FILE).exists():
        tell("no checkpoint yet (the run stopped before its first one): starting it "
             "again from generation 0; the same seed gives the same result")
    cfg = job.config
    goals = ", ".join(f"{plain_name(n)} {v:.2f}" for n, v in job.target.goals.items())
    tell(fit_line(f"searching for loops with {goals}"))
    tell(f"{cfg.population} loops x {count(cfg.generations, 'generation')} in the "
         f"{cfg.space} space ({cfg.algorithm}, seed {cfg.seed}); run folder: {folder}")
    if job.lock is not None:
        tell(f"kept in every result: {prepared.objective.space.lock.describe()}")

    with kept_on_interrupt(f"the search so far is saved in {folder} (up to its last "
                           f"checkpoint); continue it with: evodrum target --resume {folder}"), \
            _progress(cfg.generations, as_json, verbose) as on_generation:
        result, loops = run_target(prepared, folder, resume=resume_dir is not None, top=top,
                                   bpm=bpm, on_generation=on_generation,
                                   perform=perform, note_map=note_map)
    if as_json:
        click.echo(json.dumps(_read_json(folder / "summary.json"), indent=2))
        return

    if result.stopped != "generations":
        why = ("as close as the features' resolution allows"
               if result.stopped == "resolution"
               else f"no better loop in {cfg.patience} generations")
        click.echo(f"\nstopped after generation {result.generations} of {cfg.generations}: {why}")
    _show_result(job, result, loops, folder, optimised_judges(cfg, job.judge), ascii, verbose)


def _show_result(job, result, loops, folder: Path, optimised: list[str], ascii: bool,
                 verbose: bool) -> None:
    """The best loops in a musician's words: how close each came to every goal (one row
    per goal, so it fits the terminal), how much like real drumming, and how to hear them."""
    from evodrum import display
    from fitness.features import plain_name
    names = list(job.target.names)
    summary = _read_json(folder / "summary.json")
    files = [b["file"] for b in summary["best"]]
    click.echo(f"\n{count(len(loops), 'loop')} after {result.evaluations:,} tries, closest "
               "first. Each goal, and what every loop has:")
    header = ["goal", "wanted", *(f"#{i}" for i in range(1, len(loops) + 1))]
    rows = [[plain_name(n), f"{job.target.goals[n]:.2f}",
             *(f"{b.features[n]:.2f}" for b in loops)] for n in names]
    rows.append(["off the goals (0 = all met)", "", *(f"{b.distance:.3f}" for b in loops)])
    rows.append(["like real loops (1 = as real ones)", "", *(f"{b.wellformed:.2f}" for b in loops)])
    _table(header, rows)
    if verbose:
        judges = list(loops[0].judges) if loops else []
        click.echo("\njudges of real drumming (typicality: share of held-out real loops judged "
                   "no more real; * = optimised by this search, so not evidence on its own):")
        _table(["judge", *(f"#{i}" for i in range(1, len(loops) + 1))],
               [[f"{j}{'*' if j in optimised else ''}", *(f"{b.judges[j]:.2f}" for b in loops)]
                for j in judges])
        _table(["", *(f"#{i}" for i in range(1, len(loops) + 1))],
               [["wellformed" + ("*" if "wellformed" in optimised else ""),
                 *(f"{b.wellformed:.2f}" for b in loops)],
                ["nearest corpus loop (Jaccard)", *(f"{b.nearest_distance:.3f}" for b in loops)]])
    click.echo()
    click.echo(display.render_many([b.grid for b in loops], result.spec,
                                   [f"#{i}: {f}" for i, f in enumerate(files, 1)], ascii=ascii))
    written = summary["loop_files"]["written"]
    click.echo(f"\nwrote {_midi_files(written)}logbook.csv and summary.json to {folder}")
    front = summary.get("front")
    if front is not None:
        click.echo(f"best trade-offs between the goals and sounding real ({job.judge}): "
                   f"{count(len(front), 'loop')}, front_01.mid ... in front.csv"
                   + (", drawn in front.png" if (folder / "front.png").exists() else ""))
    if files:
        click.echo(f"hear the closest: evodrum play {folder / files[0]}")
        click.echo(f"or as audio:      evodrum render {folder / files[0]}")


def _midi_files(written: list[str]) -> str:
    """'3 MIDI files (best_01.mid ... best_03.mid), ' or nothing: only files written now
    (a resumed run keeps those already there)."""
    return f"{count(len(written), 'MIDI file')} ({span(written)}), " if written else ""


def _table(header: list[str], rows: list[list[str]]) -> None:
    """Columns padded to their widest cell: the first left-aligned, the rest right."""
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    for r in [header, *rows]:
        click.echo("  " + "  ".join(cell.ljust(w) if c == 0 else cell.rjust(w)
                                    for c, (cell, w) in enumerate(zip(r, widths))))


#: Options that define a run; a resumed run keeps its own.
JOB_OPTIONS = ("features", "like", "window", "drum_map", "drum_channel", "space", "algorithm",
               "generations", "population", "patience", "seed", "sigma", "indpb", "mutation",
               "repair", "wellformed_weight", "judge", "seed_loops", "refine_steps", "prior",
               "model",
               "corpus", "lock_rows")


def _run_tempo(job, resume_dir: str | None) -> float:
    """The tempo a run's loops are written at: the one it started with (--bpm, else the
    --like loop's), or 120 for a run from before job files kept it (with a note)."""
    if job.bpm is None:
        note(f"{resume_dir}: started by an older evodrum, which did not keep the run's "
             f"tempo, so its loops are written at {DEFAULT_BPM:g} BPM (give --bpm for another)")
        return DEFAULT_BPM
    return job.bpm


def _absolute(path: str | None) -> str | None:
    """Paths stored in a run's job.json are absolute, so --resume works from anywhere."""
    return str(Path(path).resolve()) if path else None


def _target(features: str | None, like: str | None, model: str | None, window: int | None,
            drum_map: str, drum_channel: int | None):
    """The Target from --features and/or --like, and the tempo and loop (as played) of
    the --like file (or None)."""
    from fitness import Target, parse_target
    if not features and not like:
        raise EvodrumError("give --features NAME=VALUE,... or --like FILE.mid "
                           "(e.g. --features density=0.4,syncopation=0.3)")
    explicit = parse_target(features) if features else None
    if not like:
        return explicit, None, None
    from evodrum.cli import inputs
    from evodrum.genotypes.files import load_reference
    spec = load_reference(model).spec
    loops, i = inputs.pick(like, spec, window, drum_map, drum_channel, model_spec=spec)
    target = Target.like(loops.grids[i], spec).overridden_by(explicit)
    return target, loops.bpms[i] if loops.bpms is not None else None, loops.loop(i)


def _lock(rows, like_loop, seed_loops, model, corpus, drum_map, drum_channel,
          like_option: bool = True) -> dict | None:
    """The job's locked cells: `rows` of the --like loop, else of the first seed loop,
    as played (velocities and timing); `like_option`: the command has --like."""
    if not rows:
        return None
    from evodrum import midi
    from evodrum.genotypes.files import load_reference
    from evodrum.lock import Lock
    if like_loop is None:
        if not seed_loops:
            raise EvodrumError("--lock keeps rows of your loop: give it with --seed-loops "
                               "FILE.mid" + (" (or --like FILE.mid)" if like_option else ""))
        like_loop = midi.read_seed(seed_loops[0], load_reference(model, corpus).spec, drum_map,
                                   drum_channel)
    return Lock.of_loop(rows, like_loop).to_dict()


@main.command("map")
@click.option("--features", "feature_names", default="all.density,all.syncopation",
              show_default=True, metavar="NAME,NAME[,NAME]",
              help="Two or three rhythm features the atlas is laid out by (LEVEL.FEATURE, "
                   "see `evodrum features --help`).")
@space_option
@click.option("--cells", type=click.IntRange(2, 100), default=16, show_default=True,
              help="Cells per feature (16 x 16 = 256 cells for two features).")
@click.option("--generations", "-g", type=click.IntRange(1, 1_000_000), default=100, show_default=True,
              help="Generations of the search: population x generations loops are tried.")
@click.option("--population", "-p", type=click.IntRange(4, 100_000), default=100,
              show_default=True, help="Loops tried per generation.")
@click.option("--sigma", type=Number(0, 10, low_open=True), default=0.3, show_default=True,
              help="Gaussian step from an elite, in prior standard deviations.")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Random seed: the same command and seed give the same atlas.")
@click.option("--model", type=click.Path(), default=None,
              help="VAE model file or training run folder [default: the shipped model].")
@click.option("--corpus", default=None,
              help="Build the well-formedness reference from this corpus [default: shipped].")
@click.option("--out", type=OUT_FOLDER, default=None,
              help="Run folder [default: runs/map-DATE-TIME].")
@click.option("--resume", "resume_dir", type=click.Path(exists=True, file_okay=False),
              default=None, help="Continue an interrupted atlas in this folder.")
@click.option("--seed-loops", multiple=True, type=click.Path(dir_okay=False),
              metavar="FILE.mid", help="Start the atlas from your own loops (repeat for "
                                       "several); read with --drum-map and --drum-channel.")
@drum_map_option
@drum_channel_option
@refine_option
@lock_option("the first --seed-loops file")
@run_bpm_option("120")
@feel_options()
@note_map_option
@output_options
def map_command(feature_names, space, cells, generations, population, sigma, seed, model, corpus,
                out, resume_dir, seed_loops, drum_map, drum_channel, refine_steps, lock_rows, bpm,
                feel_amount, scatter, swing, note_map):
    """Make an atlas of the loops a genotype space can make.

    MAP-Elites (pyribs; install the `qd` extra) lays loops out on a grid of two or
    three rhythm features and keeps, in each cell, the most well-formed loop it
    finds. The folder gets every elite as MIDI (elites/cell_XX_YY.mid), an index
    to pick from (atlas.csv, best-formed first), a heat map (atlas.png, with the
    `plot` extra; a terminal view is printed either way) and summary.json with the
    coverage (share of cells filled) and QD-score (summed well-formedness).

    \b
    Examples:
      evodrum map
      evodrum map --features hats.density,kick_snare.syncopation --space vae
      evodrum map --features all.density,all.syncopation,all.symmetry --cells 8 --space pca
      evodrum map --seed-loops mine.mid --lock BD,SD   # every elite over your kick & snare
    """
    from evodrum import genotypes
    from evodrum.genotypes import files
    from evodrum.genotypes.locked import locked_as_stored
    from evodrum.runs import claim_run_dir
    from evodrum.runtime import single_thread
    from evodrum.search.atlas import (
        CHECKPOINT_FILE,
        MapJob,
        load_job,
        make_atlas,
        parse_features,
        save_job,
        terminal_view,
    )
    from evodrum.search.target import seed_genotypes

    single_thread()
    if resume_dir:
        refuse_changed_options(given_options(MAP_OPTIONS), "atlas")
        job = load_job(Path(resume_dir))
    else:
        job = MapJob(parse_features(feature_names), space, cells, generations, population,
                     seed, sigma, _absolute(model), corpus,
                     tuple(_absolute(p) for p in seed_loops), refine_steps,
                     _lock(lock_rows, None, seed_loops, model, corpus, drum_map, drum_channel,
                           like_option=False),
                     drum_map, drum_channel, bpm or DEFAULT_BPM)
    bpm = bpm or _run_tempo(job, resume_dir)
    config = job.config()
    features, space, cells = job.features, job.space, job.cells
    generations, population, seed = job.generations, job.population, job.seed
    reference = files.load_reference(job.model, job.corpus)
    genotype_space = locked_as_stored(genotypes.open_space(space, job.model, reference.spec),
                                      job.lock)
    if not resume_dir:
        tell_seed_loops(seed_loops, reference.spec, drum_map, drum_channel)
    seeds = None if resume_dir else seed_genotypes(genotype_space, list(job.seed_loops),
                                                   job.refine, job.drum_map, job.drum_channel)
    model_feel = feel_model(job.model, genotype_space.spec) if feel_amount else None
    perform = feel_performer(model_feel, genotype_space.spec, bpm, feel_amount, scatter, swing,
                             seed, getattr(genotype_space, "lock", None))
    folder = click.get_current_context().with_resource(
        claim_run_dir("map", resume_dir or out, resume=resume_dir is not None))
    if not resume_dir:
        save_job(folder, job)
    from fitness.features import plain_name
    say(f"mapping loops by {' and '.join(map(plain_name, features))}: {cells} steps of "
        f"each, {population} loops x {count(generations, 'generation')} in the {space} "
        f"space (seed {seed})")
    say(f"run folder: {folder}")
    with kept_on_interrupt(f"the atlas so far is saved in {folder} (up to its last "
                           f"checkpoint); continue it with: evodrum map --resume {folder}"), \
            click.progressbar(length=generations, label="mapping", show_pos=True,
                              file=sys.stderr if current().as_json else None) as bar:
        def on_generation(generation, record):
            if generation:
                bar.update(1)
        atlas = make_atlas(genotype_space, reference, config, folder,
                           resume=resume_dir is not None and (folder / CHECKPOINT_FILE).exists(),
                           bpm=bpm, on_generation=on_generation, perform=perform,
                           note_map=note_map, seeds=seeds)
    say()
    say(terminal_view(atlas))
    total = cells ** len(features)
    say(f"\n{len(atlas.rows)} of {total} cells hold a loop ({atlas.coverage:.0%} of the map), "
        f"found in {atlas.evaluations:,} tries")
    detail(f"coverage {atlas.coverage:.1%}, QD-score {atlas.qd_score:.1f} (summed "
           "well-formedness)")
    from evodrum import plotting
    picture = "atlas.png, " if plotting.available() else ""
    in_folder(folder)
    for name in ("atlas.csv", "atlas.png", "summary.json"):
        if (folder / name).exists():
            wrote(folder / name, name.rpartition(".")[2])
    add(elites=str(folder / "elites"), loops=len(atlas.rows), cells=total,
        coverage=atlas.coverage, qd_score=atlas.qd_score, evaluations=atlas.evaluations)
    say(f"wrote {_midi_files(atlas.loop_files['written'])}the index atlas.csv, "
        f"{picture}summary.json to {folder}"
        + ("" if picture else f" (for a heat map: {plotting.INSTALL_HINT})"))


#: Options that define an atlas; a resumed one keeps its own.
MAP_OPTIONS = ("feature_names", "space", "cells", "generations", "population", "sigma", "seed",
               "model", "corpus", "seed_loops", "drum_map", "drum_channel", "refine_steps",
               "lock_rows")


def _read_json(path: Path) -> dict:
    """The summary.json a run just wrote, read as any state file (never through a link)."""
    from evodrum.statefile import read_json
    summary = read_json(path, "run summary")
    if not isinstance(summary, dict):
        raise EvodrumError(f"{path}: not a run summary (it holds no JSON object)")
    return summary
