"""Waiting in tests: on a condition, never on a sleep or a wall-clock budget."""
from __future__ import annotations

import threading
import time

#: Seconds before a condition that never comes fails the test: generous, as it only runs
#: out when the code is broken or stuck (a loaded machine is slow, not that slow).
STUCK = 120.0


def wait_for(check, what, timeout: float = STUCK):
    """Poll `check()` until it is true and return its value; `what` (a string, or a
    callable giving one) names the condition when it never comes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")


def read_line(stream, what, timeout: float = STUCK):
    """`stream.readline()` (a subprocess's pipe) that fails the test after `timeout`
    seconds, naming `what` it waited for, where a bare readline would hang the suite."""
    line = []
    reader = threading.Thread(target=lambda: line.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not line:
        raise AssertionError(f"timed out waiting for {what}")
    return line[0]
