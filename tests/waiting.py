"""Waiting in tests: on a condition, never on a sleep or a wall-clock budget."""
from __future__ import annotations

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
