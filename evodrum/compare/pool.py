"""Runs on a local process pool, one single-threaded worker per core.

Workers are spawned (not forked) with OPENBLAS/OMP/MKL_NUM_THREADS=1 in their
environment, so numpy's BLAS starts single-threaded in each of them: CMA-ES's
576 x 576 eigendecompositions are ~20x slower when two processes' BLAS threads
contend for two cores.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from evodrum.compare import runner
from evodrum.compare.config import CompareConfig, RunKey

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def single_threaded_environment() -> Iterator[None]:
    """BLAS thread variables set to 1 for processes started inside the block."""
    old = {k: os.environ.get(k) for k in THREAD_VARIABLES}
    os.environ.update({k: "1" for k in THREAD_VARIABLES})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_on_pool(config: CompareConfig, keys: list[RunKey], workers: int,
                on_result: Callable[[RunKey, dict], None]) -> None:
    """Run `keys` on `workers` processes; `on_result(key, record)` as each one finishes."""
    context = multiprocessing.get_context("spawn")
    with single_threaded_environment():
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=runner.single_thread)
        try:
            futures = {pool.submit(runner.run_one, config, key): key for key in keys}
            for future in as_completed(futures):
                on_result(futures[future], future.result())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
