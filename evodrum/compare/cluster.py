"""Runs on a Dask distributed cluster (optional extra: pip install 'evodrum[dask]').

The workers need evodrum (and the model files the config names) installed; the
client here collects each result and writes it into the run folder. A worker
process runs one search at a time (start workers with `--nthreads 1`, one per core;
Dask's nannies already start them with single-threaded BLAS).

A search draws from the `random` module (DEAP's operators do), while a worker's
event-loop thread draws from it too (Dask sizes messages with `random.sample`).
So that a run stays a pure function of its inputs, each thread of a worker process
gets its own `random` stream (`isolate_random_streams`).

Trust: Dask moves tasks and results between the client, the scheduler and the
workers with pickle, so whoever runs the scheduler or a worker can run code on
this machine (and this machine's tasks run code on theirs). Connect only to a
cluster you control. Results come back as JSON text, checked to be a run record,
so that what evodrum itself reads from the cluster is plain data.
"""
from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Callable

from evodrum.compare import runner
from evodrum.compare.config import CompareConfig, RunKey
from evodrum.errors import EvodrumError
from evodrum.runtime import single_thread

#: One search at a time per worker process, whatever its thread count.
_SEARCH_LOCK = threading.Lock()
#: The `random` module's functions that draw from (or seed) its shared generator.
_SHARED = [n for n in random.__all__
           if getattr(getattr(random, n), "__self__", None) is random._inst]


class _ThreadStreams(threading.local):
    def __init__(self):
        self.generator = random.Random()


_streams: _ThreadStreams | None = None


def isolate_random_streams() -> None:
    """Make the `random` module's functions use a per-thread generator in this process.

    Seeding, drawing and state calls of one thread then never touch another's
    stream. Each call pays one extra Python frame (grid-space GA runs, ~9 million
    draws, take ~50% longer), so this is done in Dask workers only.
    """
    global _streams
    if _streams is not None:
        return
    _streams = streams = _ThreadStreams()

    def dispatcher(name):
        def call(*args, **kwargs):
            return getattr(streams.generator, name)(*args, **kwargs)
        call.__name__ = call.__qualname__ = name
        return call

    for name in _SHARED:
        setattr(random, name, dispatcher(name))


def run_serially(config: CompareConfig, key: RunKey) -> str:
    """The task a Dask worker runs: one search at a time, on its own random stream; the
    run's record comes back as JSON text (plain data, not a pickled object)."""
    with _SEARCH_LOCK:
        isolate_random_streams()
        single_thread()
        return json.dumps(runner.run_one(config, key))


def _record(key: RunKey, text) -> dict:
    """A worker's JSON result as a run record; EvodrumError for anything else."""
    try:
        record = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        record = None
    if not isinstance(record, dict):
        raise EvodrumError(f"run {key.label}: the Dask worker sent back something other "
                           "than a run record")
    return record


def connect(address: str, timeout: float = 10.0):
    """A Client for the scheduler at `address`; EvodrumError if Dask or the scheduler is missing."""
    try:
        from distributed import Client
    except ImportError:
        raise EvodrumError("--scheduler needs Dask: pip install 'evodrum[dask]'") from None
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as e:
        raise EvodrumError(f"--scheduler {address}: cannot connect to a Dask scheduler "
                           f"({type(e).__name__}: {e})") from None


def run_on_dask(config: CompareConfig, keys: list[RunKey], client,
                on_result: Callable[[RunKey, dict], None]) -> None:
    """Run `keys` on the cluster of a connected `client` (closed afterwards);
    `on_result(key, record)` as each one finishes."""
    from distributed import as_completed
    token = uuid.uuid4().hex[:8]   # task names unique to this invocation
    try:
        futures = {client.submit(run_serially, config, key, pure=False,
                                 key=f"evodrum-{config.name}-{key.label}-{token}"): key
                   for key in keys}
        try:
            for future in as_completed(futures):
                on_result(futures[future], _record(futures[future], future.result()))
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        client.close()
