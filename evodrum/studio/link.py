"""The studio in an Ableton Link session (aalink, the `link` extra).

Link lives in the server (a browser cannot join it): the page asks to join, then
polls `view()`, which says the session's tempo, its peers and which beat it is at an
instant of the server's monotonic clock. The page maps that clock onto its own (the
poll's round trip bounds the error) and so knows when every beat and bar line of the
session falls: loops start on the session's bar lines and play at its tempo. With Link's Start Stop Sync, a peer's
start and stop start and stop the loop cued on the page.
"""
from __future__ import annotations

import time
from importlib.util import find_spec

from evodrum.audio.transport import LinkSession


def available() -> bool:
    """Whether aalink is installed (without importing it: the studio starts quicker)."""
    return find_spec("aalink") is not None


class StudioLink:
    """One Link peer for the studio; `quantum` is the studio's bar in beats."""

    def __init__(self, bpm: float, quantum: float):
        self.session = LinkSession(bpm, quantum)
        # Link's Start Stop Sync: a peer that starts or stops (Live's transport, with
        # "Start Stop Sync" on) starts and stops the page's loop
        self.session.link.start_stop_sync_enabled = True

    def view(self) -> dict:
        """The session now: tempo, peers, whether it plays (Start Stop Sync), and its beat
        at `at` (server monotonic seconds, the middle of the read)."""
        before = time.monotonic()
        beat = self.session.beat()
        after = time.monotonic()
        return {"on": True, "peers": self.session.peers, "tempo": self.session.tempo(),
                "playing": bool(self.session.link.playing), "beat": beat,
                "at": (before + after) / 2, "quantum": self.session.quantum}

    def propose(self, bpm: float) -> None:
        """Ask every peer to play at `bpm` (as a tempo typed in Live does)."""
        self.session.set_tempo(bpm, self.session.beat())

    def close(self) -> None:
        self.session.close()
