"""Worker processes end with their parent: after SIGKILL or Ctrl-C of `evodrum compare`
(and of `data build`), no worker stays behind as an orphan."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from processes import default_sigint
from waiting import STUCK, wait_for

from evodrum.lifetime import worker_pool

REPO = Path(__file__).resolve().parents[1]
LONG = ('name = "long"\nspaces = ["grid"]\nalgorithms = ["ga"]\nbudget = 2000000\n'
        'population = 100\nseeds = 4\n[[tasks]]\nname = "t"\ngoals = { density = 0.4 }\n')


def descendants(pid: int) -> set[int]:
    """Every living process below `pid` (by parent links in /proc)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids) -> set[int]:
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(pid)
    return out


def start_compare(tmp_path):
    config = tmp_path / "long.toml"
    config.write_text(LONG)
    env = dict(os.environ, PYTHONPATH=str(REPO), EVODRUM_RUNS=str(tmp_path / "runs"))
    proc = subprocess.Popen([sys.executable, "-m", "evodrum", "compare", str(config),
                             "--workers", "2", "--no-plots"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=default_sigint)
    wait_for(lambda: len(descendants(proc.pid)) >= 2, "compare to start its workers")
    return proc, descendants(proc.pid)     # Ctrl-C may come while they are still importing


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")
def test_workers_end_when_compare_is_killed(tmp_path):
    proc, workers = start_compare(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=STUCK)
    wait_for(lambda: not alive(workers), lambda: f"orphaned workers to end: {alive(workers)}")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")
def test_ctrl_c_stops_compare_and_its_workers(tmp_path):
    proc, workers = start_compare(tmp_path)
    os.killpg(proc.pid, signal.SIGINT)     # what the terminal sends on Ctrl-C
    try:
        _, err = proc.communicate(timeout=STUCK)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130 and "Traceback" not in err.decode(), err.decode()[-2000:]
    wait_for(lambda: not alive(workers), lambda: f"workers left behind to end: {alive(workers)}")


def _sleep(seconds, started: Path):
    """A long task that says when it has started (a file named after its worker)."""
    (started / str(os.getpid())).touch()
    time.sleep(seconds)
    return os.getpid()


def test_a_pool_left_by_an_exception_stops_its_workers_at_once(tmp_path):
    """Tasks of a minute are running when the block is left: the workers are killed, not
    waited for, so no task runs to its end (each future is cancelled or broken)."""
    with pytest.raises(KeyboardInterrupt), worker_pool(2) as pool:
        futures = [pool.submit(_sleep, 60, tmp_path) for _ in range(4)]
        wait_for(lambda: len(list(tmp_path.iterdir())) == 2, "both workers to be busy")
        workers = set(pool._processes)
        raise KeyboardInterrupt
    assert not alive(workers)
    assert all(f.cancelled() or f.exception() is not None for f in futures)


def test_ctrl_c_while_workers_start_waits_until_every_worker_has_started():
    """A Ctrl-C taken by another thread while a worker is being made used to raise
    KeyboardInterrupt between making the worker and sending it what to run (it died
    printing a traceback); it now comes once every worker has started."""
    from evodrum import lifetime
    started = []
    quiet = threading.Event()
    receiver = threading.Thread(target=quiet.wait, daemon=True)   # a thread to take it
    receiver.start()

    class Pool:
        def submit(self, task):
            if not started:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)         # room for the signal to be taken mid-way
            started.append(task)

    before = signal.signal(signal.SIGINT, signal.default_int_handler)   # as a command has it
    try:
        with pytest.raises(KeyboardInterrupt):
            lifetime._start_deaf_to_ctrl_c(Pool(), 3)
        assert len(started) == 3
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        quiet.set()
        signal.signal(signal.SIGINT, before)
