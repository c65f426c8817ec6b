"""Worker processes that end with their parent, and a pool that stops them on Ctrl-C.

A process-pool worker blocks on its task queue, so when its parent is killed
(SIGKILL, an out-of-memory kill) it would wait forever as an orphan. Each worker
asks Linux to send it SIGKILL when the parent dies (prctl PR_SET_PDEATHSIG) and
also watches its parent's pid once a second (other systems, and a parent that
died before the request). Workers ignore Ctrl-C: the parent takes it, stops the
pool and says what was saved.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 1.0


def end_with_parent(parent_pid: int) -> None:
    """Make this process exit when `parent_pid` does (call it first thing in a worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(WATCH_SECONDS)
        os._exit(1)
    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def _nothing() -> None:
    """A task that starts a worker and does nothing else."""


def _start_deaf_to_ctrl_c(pool: ProcessPoolExecutor, workers: int) -> None:
    """Start every worker now, with Ctrl-C held back while they are made, then act on it.

    The signal is blocked in this thread: a new process inherits the blocked signal
    through exec, so a Ctrl-C (which the terminal sends to the whole process group)
    never interrupts a worker still importing. Another thread of this process can still
    take it, and Python would then raise KeyboardInterrupt here in the middle of starting
    a worker, before it has been sent what to run (it dies printing a traceback), so the
    KeyboardInterrupt is also held until every worker has started."""
    if not hasattr(signal, "pthread_sigmask"):
        return
    pressed = []
    handler = (signal.getsignal(signal.SIGINT)
               if threading.current_thread() is threading.main_thread() else None)
    if handler is not None:
        signal.signal(signal.SIGINT, lambda *_: pressed.append(True))
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        for _ in range(workers):
            pool.submit(_nothing)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
        if handler is not None:
            signal.signal(signal.SIGINT, handler)
    if pressed:
        signal.raise_signal(signal.SIGINT)      # now to whoever handled it before


def _start_worker(parent_pid: int, initializer: Callable[[], None] | None) -> None:
    end_with_parent(parent_pid)
    if initializer is not None:
        initializer()


@contextlib.contextmanager
def worker_pool(workers: int, *, mp_context=None,
                initializer: Callable[[], None] | None = None) -> Iterator[ProcessPoolExecutor]:
    """A ProcessPoolExecutor whose workers end with this process, and which is stopped
    at once (running tasks killed, queued ones dropped) when the block is left by an
    exception such as KeyboardInterrupt."""
    pool = ProcessPoolExecutor(workers, mp_context=mp_context, initializer=_start_worker,
                               initargs=(os.getpid(), initializer))
    try:
        _start_deaf_to_ctrl_c(pool, workers)
        yield pool
    except BaseException:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(OSError):
                process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
