"""Runs on a local process pool, one single-threaded worker per core.

Workers are spawned (not forked) with OPENBLAS/OMP/MKL_NUM_THREADS=1 in their
environment, so numpy's BLAS starts single-threaded in each of them: CMA-ES's
576 x 576 eigendecompositions are ~20x slower when two processes' BLAS threads
contend for two cores.
"""
from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

from evodrum.compare import runner
from evodrum.compare.config import CompareConfig, RunKey
from evodrum.runtime import single_thread, single_threaded_environment


def run_on_pool(config: CompareConfig, keys: list[RunKey], workers: int,
                on_result: Callable[[RunKey, dict], None]) -> None:
    """Run `keys` on `workers` processes; `on_result(key, record)` as each one finishes."""
    context = multiprocessing.get_context("spawn")
    with single_threaded_environment():
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=single_thread)
        try:
            futures = {pool.submit(runner.run_one, config, key): key for key in keys}
            for future in as_completed(futures):
                on_result(futures[future], future.result())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
