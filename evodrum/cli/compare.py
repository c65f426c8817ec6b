"""`evodrum compare`: batch comparisons of genotype spaces and algorithms, with a report."""
from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

import click

from evodrum.cli import main
from evodrum.cli.options import (
    OUT_FOLDER,
    SEED,
    given_options,
    refuse_together,
    spelled,
)
from evodrum.cli.output import kept_on_interrupt
from evodrum.errors import EvodrumError
from evodrum.text import count


def _clock(seconds: float) -> str:
    minutes, s = divmod(int(seconds), 60)
    return f"{minutes}m{s:02d}s"


@main.command()
@click.argument("config_file", metavar="[CONFIG]", required=False,
                type=click.Path(dir_okay=False))
@click.option("--out", type=OUT_FOLDER, default=None,
              help="Comparison folder [default: runs/NAME, NAME from the config].")
@click.option("--workers", "-j", type=click.IntRange(1, 256), default=None,
              help="Local worker processes [default: all cores; 1 runs them in this "
                   "process, without starting a worker].")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Run on a Dask distributed cluster instead, e.g. tcp://10.0.0.5:8786 "
                   "(needs the dask extra on this machine and the workers). Only use a "
                   "cluster you trust: Dask moves tasks and results with pickle.")
@click.option("--report-only", is_flag=True,
              help="Rewrite the report from the finished runs without running any.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG figures (terminal grids instead).")
@click.option("--make-tasks", type=click.IntRange(1, 1000), metavar="N", default=None,
              help="Print N [[tasks]] tables whose targets are held-out corpus loops, and exit.")
@click.option("--off-corpus", is_flag=True,
              help="With --make-tasks: goals on 6 features that no training loop meets "
                   "(its error above 0.04) instead of copies of held-out loops.")
@click.option("--corpus", default=None, help="Corpus for --make-tasks [default: groove].")
@click.option("--task-seed", type=SEED, default=0, show_default=True,
              help="Which held-out windows --make-tasks draws.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the summary as one JSON document on stdout (progress goes to stderr).")
def compare(config_file, out, workers, scheduler, report_only, no_plots, make_tasks,
            off_corpus, corpus, task_seed, as_json):
    """Compare search spaces and algorithms on feature-target tasks, many seeds each.

    CONFIG is a TOML file naming spaces (vae, pca, grid, or a variant such as
    the VAE drawing from the standard normal), algorithms (ga, cmaes, random,
    nsga2, map-elites), tasks (target features), the budgets in evaluations,
    the number of seeds, trained replicates and the judge that nsga2 and
    map-elites optimise (see runs/compare-default.toml; runs/compare-quick.toml is the same
    design in under 2 minutes). Every (space, algorithm, task, seed) is an
    independent run saved as its own JSON, so an interrupted comparison resumes
    where it stopped when the same command is run again.

    The report (report.md, CSV tables, PNG figures with the plot extra) reads
    every search on both axes at every budget: fidelity and diversity of the
    loops found against held-out real drumming (precision, recall, coverage,
    tested between spaces over seeds), a headline per space (error, Pareto
    hypervolume, MAP-Elites coverage and QD-score) paired by task, Holm's
    correction and effect sizes throughout; random search and the corpus
    look-up as baselines; per-task tables and convergence.

    \b
    Examples:
      evodrum compare runs/compare-quick.toml
      evodrum compare runs/compare-default.toml
      evodrum compare runs/compare-default.toml --workers 1 --out runs/cmp-try
      evodrum compare runs/compare-default.toml --scheduler tcp://10.0.0.5:8786
      evodrum compare --make-tasks 20 >> my-comparison.toml
      evodrum compare my-comparison.toml --json > summary.json
    """
    _refuse_unused_options(make_tasks)
    if make_tasks:
        from evodrum.compare.tasks import corpus_tasks, off_corpus_tasks, tasks_toml
        from evodrum.corpus import load_corpus
        from evodrum.genotypes.files import load_judges
        if off_corpus:
            tasks = off_corpus_tasks(load_corpus(corpus), make_tasks, task_seed)
        else:
            tasks = corpus_tasks(load_corpus(corpus), make_tasks, task_seed,
                                 judges=load_judges(None))
        click.echo(tasks_toml(tasks), nl=False)
        return
    if not config_file:
        raise EvodrumError("give a comparison file, e.g. evodrum compare "
                           "runs/compare-default.toml (or --make-tasks N)")
    from evodrum.compare.config import load_config
    from evodrum.compare.execute import CONFIG_COPY, META_FILE
    from evodrum.runs import claim_run_dir, runs_root

    config = load_config(config_file)
    folder = click.get_current_context().with_resource(claim_run_dir(
        "compare", out or runs_root() / config.name, own_files=(META_FILE, CONFIG_COPY)))
    def say(line: str = "") -> None:  # with --json, stdout holds only the JSON document
        click.echo(line, err=as_json)

    budgets = " and ".join(f"{b:,}" for b in config.all_budgets)
    say(f"comparison {config.name}: {len(config.tasks)} tasks x {len(config.spaces)} "
        f"spaces x {len(config.algorithms)} algorithms x {config.seeds} seeds, "
        f"{config.budget:,} evaluations per run (read at {budgets})")
    say(f"folder: {folder}")
    if not report_only:
        with kept_on_interrupt(f"every finished run is kept in {folder}; run the same "
                               "command again to do the rest"):
            _run(config, Path(config_file), folder, workers, scheduler, say)
    summary = _report(config, folder, not no_plots, say)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    w = max(6, *(len(s) for s in config.spaces))     # a variant's name is longer
    say(f"\n{'budget':>6} {'algorithm':<9} {'space':<{w}} {'runs':>5} {'median error':>13} "
        f"{'success':>8} {'markov':>7} {'classifier':>10} {'well-formed':>11}")
    for r in summary["spaces"]:
        say(f"{r['budget']:>6} {r['algorithm']:<9} {r['space']:<{w}} {r['runs']:>5} "
            f"{r['error_median']:>13.4f} {r['success_rate']:>8.0%} {r['markov_median']:>7.2f} "
            f"{r['classifier_median']:>10.2f} {r['wellformed_median']:>11.2f}")
    for r in summary["archives"]:
        say(f"{r['budget']:>6} {r['algorithm']:<9} {r['space']:<{w}} {r['runs']:>5} "
            f"coverage {r['coverage_median']:.2f}, QD-score {r['qd_score_median']:.1f} "
            "(map-elites fills a map, it has no target error)")
    say(f"\nreport: {summary['report']}")


#: Options only --make-tasks uses, and options only a comparison run uses.
TASK_OPTIONS = ("off_corpus", "corpus", "task_seed")
RUN_OPTIONS = ("config_file", "out", "workers", "scheduler", "report_only", "no_plots", "as_json")


def _refuse_unused_options(make_tasks) -> None:
    """A usage error for options the chosen job would silently ignore: --make-tasks prints
    TOML tables and runs nothing; a comparison run draws no tasks; --report-only runs
    nothing, so it needs no workers."""
    ctx = click.get_current_context()
    if not make_tasks and ctx.params["report_only"]:
        refuse_together("report_only", "workers")
        refuse_together("report_only", "scheduler")
    typed = given_options(RUN_OPTIONS if make_tasks else TASK_OPTIONS)
    if not typed:
        return
    flags = ", ".join(spelled(typed))
    if make_tasks:
        raise click.UsageError(f"--make-tasks prints [[tasks]] tables (TOML) and runs "
                               f"nothing, so it takes no {flags}", ctx)
    raise click.UsageError(f"{flags}: only for --make-tasks", ctx)


def _run(config, config_file: Path, folder: Path, workers, scheduler, say) -> None:
    from evodrum.compare.execute import HERE, run_comparison

    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        bars = []

        def on_start(invocation):
            if invocation.skipped:
                say(f"{count(invocation.skipped, 'run')} already finished, skipped")
            where = (f"on Dask scheduler {scheduler}" if scheduler else "in this process"
                     if invocation.backend == HERE else "on local worker processes")
            say(f"{count(invocation.runs, 'run')} to do {where}")
            bars.append(stack.enter_context(click.progressbar(
                length=invocation.runs, label="runs", show_eta=True, show_pos=True,
                file=sys.stderr,
                item_show_func=lambda _: f"elapsed {_clock(time.perf_counter() - start)}")))

        done = run_comparison(config, folder, workers=workers, scheduler=scheduler,
                              source=config_file.read_text(encoding="utf-8"), on_start=on_start,
                              on_result=lambda key, record: bars[0].update(1, key))
    if done.runs:
        workers_text = (" in this process" if done.backend == HERE else
                        f" on {count(done.workers, 'worker')}" if done.workers else "")
        say(f"ran {count(done.finished, 'run')} in {_clock(done.seconds)} "
            f"({done.seconds:.1f} s){workers_text}")


def _report(config, folder: Path, with_plots: bool, say) -> dict:
    """Write the report; return the summary `--json` prints (keys in the README)."""
    from evodrum.compare import store, summary
    from evodrum.compare.execute import read_meta
    from evodrum.compare.report import write_report

    records, stale = store.finished_runs(folder, config, store.model_fingerprint(config))
    if stale:
        say(f"not reported: {count(len(stale), 'run')} in {folder} made with other settings or "
            "model files")
    if not records:
        raise EvodrumError(f"{folder}: no finished runs of this comparison to report")
    path = write_report(config, records, folder, read_meta(folder), with_plots)
    return {"comparison": config.name, "folder": str(folder), "report": str(path),
            "runs_reported": len(records), "runs_not_reported": len(stale),
            "threshold": config.threshold,
            "spaces": summary.space_rows(config, records),
            "archives": summary.archive_rows(config, records),
            "cells": summary.cell_rows(config, records)}
