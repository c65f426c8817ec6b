"""Helpers for tests that start evodrum as a child process."""
from __future__ import annotations

import signal


def default_sigint() -> None:
    """`preexec_fn` for a child that a test stops with Ctrl-C (SIGINT): under `nohup`
    or `&` the test runner ignores SIGINT, the child inherits that, and Python then
    never raises KeyboardInterrupt; the default lets the child see it as on a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
