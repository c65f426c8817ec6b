"""Thread set-up for evodrum's processes, in one place.

A search decodes population-sized batches (~1 ms on one thread): a second torch,
BLAS or OpenMP thread gains little and, when another program holds a core,
stalls every step. Searches and comparison workers therefore run single-threaded;
training keeps its own `--threads`.
"""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

#: Environment variables that fix BLAS/OpenMP thread counts in processes started later.
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def single_thread() -> None:
    """One thread in every BLAS/OpenMP library already loaded (numpy's OpenBLAS,
    torch's if loaded) and, through the environment, in those loaded later (torch,
    imported only to encode seed loops), for the rest of this process."""
    from threadpoolctl import threadpool_limits
    os.environ.update({k: "1" for k in THREAD_VARIABLES})
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    threadpool_limits(1)


@contextlib.contextmanager
def single_threaded_environment() -> Iterator[None]:
    """BLAS thread variables set to 1 for processes started inside the block (spawned
    workers then start single-threaded before they import numpy)."""
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
