"""Runs on a local process pool, one single-threaded worker per core, or with one
worker in this process (no worker to start: a spawned one re-imports torch and numpy,
about a second of CPU before its first run).

Workers are spawned (not forked) with OPENBLAS/OMP/MKL_NUM_THREADS=1 in their
environment, so numpy's BLAS starts single-threaded in each of them: CMA-ES's
576 x 576 eigendecompositions are ~20x slower when two processes' BLAS threads
contend for two cores.
"""
from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import as_completed

from evodrum.compare import runner
from evodrum.compare.config import CompareConfig, RunKey
from evodrum.lifetime import worker_pool
from evodrum.runtime import single_thread, single_threaded_environment


def run_on_pool(config: CompareConfig, keys: list[RunKey], workers: int,
                on_result: Callable[[RunKey, dict], None]) -> None:
    """Run `keys` on `workers` processes; `on_result(key, record)` as each one finishes.

    Workers end with this process (killed or Ctrl-C): finished runs are already saved,
    and running ones are redone by the next `evodrum compare` on the folder.
    """
    context = multiprocessing.get_context("spawn")
    with single_threaded_environment(), \
            worker_pool(workers, mp_context=context, initializer=single_thread) as pool:
        futures = {pool.submit(runner.run_one, config, key): key for key in keys}
        for future in as_completed(futures):
            on_result(futures[future], future.result())


def run_here(config: CompareConfig, keys: list[RunKey],
             on_result: Callable[[RunKey, dict], None]) -> None:
    """Run `keys` one after another in this process, single-threaded as a pool worker
    is; `on_result(key, record)` as each one finishes. After Ctrl-C the finished runs
    are saved and the next `evodrum compare` on the folder does the rest."""
    single_thread()
    for key in keys:
        on_result(key, runner.run_one(config, key))
