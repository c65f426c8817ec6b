"""Test doubles for the MIDI port player: an output port that records what it is sent,
and a beat clock the test winds by hand, so what the player sends at which beat is
checked exactly, however loaded the machine is (the player's real clock is tested
against the wall clock in test_audio)."""
from __future__ import annotations

import threading
import time

import mido
from waiting import STUCK

from evodrum.audio.transport import Timebase


class RecordingPort(mido.ports.BaseOutput):
    """A mido output port that records (`now()` when sent, message) instead of sounding:
    the wall clock by default, or a ManualClock's beat."""

    def __init__(self, now=time.perf_counter):
        super().__init__("recorder")
        self.now = now
        self.sent: list[tuple[float, mido.Message]] = []

    def _send(self, msg):
        self.sent.append((self.now(), msg))


class ManualClock(Timebase):
    """A timebase whose beat moves only when the test calls `run_to`: the player's thread
    waits on it as on a real clock. Beats count from the player's start, as on its own
    clock; tempo changes the player asks for are kept in `tempos`."""

    description = "a hand-wound clock"

    def __init__(self):
        self.beat = 0.0
        self.tempos: list[tuple[float, float]] = []       # (bpm, from beat)
        self._waiting: float | None = None                 # the beat the player waits for
        self._changed = threading.Condition()

    def wait_start(self, stopping):
        with self._changed:
            self.beat = 0.0
        return 0.0 if self.wait_until(0.0, stopping) else None

    def wait_until(self, beat, stopping):
        with self._changed:
            self._waiting = beat
            self._changed.notify_all()
            while self.beat < beat and not stopping.is_set():
                self._changed.wait(0.05)                   # stop() sets `stopping` only
            self._waiting = None
            return not stopping.is_set()

    def tempo(self):
        return self.tempos[-1][0] if self.tempos else 120.0

    def set_tempo(self, bpm, at_beat):
        self.tempos.append((float(bpm), float(at_beat)))

    def run_to(self, beat: float, player) -> None:
        """Move the clock to `beat`, halting on every beat the player waits for on the
        way (so each message is sent with the clock on its own beat); returns when the
        player waits for a beat past `beat`, or has stopped playing."""
        deadline = time.monotonic() + STUCK
        with self._changed:
            while True:
                while self._waiting is None or self._waiting <= self.beat:   # it is busy
                    if not player.is_playing:
                        return
                    if time.monotonic() > deadline:
                        raise AssertionError(f"the player stuck at beat {self.beat}")
                    self._changed.wait(0.01)
                if self._waiting > beat:
                    self.beat = beat
                    return
                self.beat = self._waiting
                self._changed.notify_all()
