"""Runs a comparison: skips finished runs, sends the rest to a process pool, a Dask
cluster or (one worker) runs them in this process, writes each result as it arrives,
and logs how long each invocation took."""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from evodrum import atomic
from evodrum.compare import store
from evodrum.compare.config import CompareConfig, RunKey
from evodrum.errors import EvodrumError
from evodrum.statefile import Fields, StateError

META_FILE = "comparison.json"
CONFIG_COPY = "comparison.toml"
#: The backend of a comparison run with one worker: evodrum's own process, no pool.
HERE = "this process"


@dataclass
class Invocation:
    """One `evodrum compare` call on a folder: what it ran, where, and how long it took."""

    started: str
    backend: str
    workers: int | None
    runs: int
    skipped: int
    finished: int = 0
    seconds: float = 0.0


def pending_runs(config: CompareConfig, folder: Path,
                 fingerprint: dict[str, str]) -> tuple[list[RunKey], int]:
    """(runs still to do, seed by seed (so an interrupted comparison is complete for its
    first seeds), biggest genotypes first within a seed so the slowest do not finish
    last; number already finished). EvodrumError if the folder holds another config's runs."""
    done, stale = store.finished_runs(folder, config, fingerprint)
    if stale:
        raise EvodrumError(f"{folder}: {len(stale)} finished runs (e.g. {stale[0].label}) were "
                           "made with other settings or model files; give --out NEW_FOLDER, or "
                           f"delete {folder / store.RUNS_DIR} to start over")
    todo = [k for k in config.runs() if k not in done]
    todo.sort(key=lambda k: (k.seed, k.space != "grid", k.algorithm != "cmaes"))
    return todo, len(done)


#: More invocations than a comparison folder's record keeps track of.
MAX_INVOCATIONS = 100_000


def read_meta(folder: Path) -> dict:
    """The folder's comparison.json (its invocations and model fingerprints), every field
    checked as the report reads it; EvodrumError naming the file and the field."""
    path = Path(folder) / META_FILE
    if not path.exists():
        return {"invocations": []}
    meta = store.read_json(path)
    try:
        f = Fields(meta)
        invocations = [asdict(Invocation(
            i.text("started"), i.text("backend"), i.integer("workers", 0, default=None),
            i.integer("runs", 0), i.integer("skipped", 0), i.integer("finished", 0, default=0),
            i.number("seconds", 0, default=0.0)))
            for i in f.tables("invocations", MAX_INVOCATIONS, default=[])]
        model = f.table("model", default=Fields({}))
        prints = {key: model.text(key) for key in model.data}
        f.text("name", default=None)
    except StateError as e:
        raise EvodrumError(f"{path}: damaged comparison record: {e}; delete it to have it "
                           "written anew") from None
    return dict(meta, invocations=invocations, model=prints)


def run_comparison(config: CompareConfig, folder: Path, *, workers: int | None = None,
                   scheduler: str | None = None, source: str | None = None,
                   on_start: Callable[[Invocation], None] | None = None,
                   on_result: Callable[[RunKey, dict], None] | None = None) -> Invocation:
    """Run every unfinished run of `config` into `folder`.

    `workers` processes locally (default: all cores; 1: in this process), or the
    Dask scheduler at `scheduler`. `source` (the comparison file's text) is kept in
    the folder.
    `on_start(invocation)` is called once before the first run (runs to do,
    skipped, where they run),
    `on_result(key, record)` after each run's JSON is written.
    """
    folder = Path(folder)
    fingerprint = store.model_fingerprint(config)
    todo, skipped = pending_runs(config, folder, fingerprint)
    if source is not None:
        atomic.write_text(folder / CONFIG_COPY, source)
    workers = None if scheduler else max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    invocation = Invocation(time.strftime("%Y-%m-%d %H:%M:%S"),
                            f"dask {scheduler}" if scheduler else
                            HERE if workers == 1 else "process pool",
                            workers, len(todo), skipped)
    client = None
    if scheduler and todo:
        from evodrum.compare.cluster import connect
        client = connect(scheduler)
    if on_start is not None:
        on_start(invocation)
    if not todo:
        return invocation

    def save(key: RunKey, record: dict) -> None:
        store.save_run(folder, key, record, store.run_hash(config, key, fingerprint))
        invocation.finished += 1
        if on_result is not None:
            on_result(key, record)

    start = time.perf_counter()
    try:
        if scheduler:
            from evodrum.compare.cluster import run_on_dask
            run_on_dask(config, todo, client, save)
        elif invocation.backend == HERE:
            from evodrum.compare.pool import run_here
            run_here(config, todo, save)
        else:
            from evodrum.compare.pool import run_on_pool
            run_on_pool(config, todo, workers, save)
    finally:
        invocation.seconds = round(time.perf_counter() - start, 2)
        meta = read_meta(folder)
        meta.update(name=config.name, model=fingerprint)
        meta["invocations"].append(asdict(invocation))
        atomic.write_json(folder / META_FILE, meta)
    return invocation
