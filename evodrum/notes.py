"""Notes for the person running a command: what evodrum decided for them.

The library says what it did on its own initiative (an output name that was taken
and moved on, a folder it made) through the `evodrum.notes` logger; the command line
prints each as one `note:` line on stderr, so `--json` output on stdout stays clean.
"""
from __future__ import annotations

import logging

LOGGER = logging.getLogger("evodrum.notes")


def note(message: str) -> None:
    """Tell the user something the command decided (shown by the CLI, silent in a library)."""
    LOGGER.info(message)
