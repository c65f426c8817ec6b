"""Where the music is, in beats: the player's own clock, a MIDI clock from another
app, or an Ableton Link session. The MIDI port player schedules every message at a
beat and asks its timebase to wait for it, so the same loop follows any of them.

- `OwnClock`: the player is the master; a fixed tempo, changed on a bar line.
- `ClockFollower`: follows MIDI clock on an input port (24 ticks per quarter note)
  with Start, Continue, Stop and Song Position Pointer from the other app: tempo and
  position come from the ticks, and a Stop stops the loop.
- `LinkSession`: joins an Ableton Link session (the `aalink` package, evodrum[link]):
  tempo from the session, and loops start on its bar lines (phase, quantum 4 beats).
"""
from __future__ import annotations

import asyncio
import math
import threading
import time
from abc import ABC, abstractmethod
from collections import deque

from evodrum.errors import EvodrumError

#: MIDI clock resolution: ticks per quarter note.
PPQN = 24
#: Ticks the follower averages its tempo over (one beat).
TEMPO_WINDOW = PPQN


class Timebase(ABC):
    """A beat clock the player waits on."""

    #: Whether the player also sends MIDI clock (only when it is the master).
    master = True
    description = "own clock"

    @abstractmethod
    def wait_start(self, stopping: threading.Event) -> float | None:
        """Block until playback may start; the beat it starts at (None: stopping)."""

    @abstractmethod
    def wait_until(self, beat: float, stopping: threading.Event) -> bool:
        """Block until `beat`; False when the transport stopped or `stopping` was set."""

    @abstractmethod
    def tempo(self) -> float:
        """Beats per minute now."""

    def set_tempo(self, bpm: float, at_beat: float) -> None:
        """Ask for a new tempo from `at_beat` on (followers keep the other app's)."""

    def close(self) -> None:
        """Release ports and threads."""


class OwnClock(Timebase):
    """The wall clock at a fixed tempo: beat = (t - t0) * bpm / 60."""

    def __init__(self, bpm: float):
        self._bpm, self._t0 = float(bpm), time.perf_counter()

    def _time_of(self, beat: float) -> float:
        return self._t0 + beat * 60.0 / self._bpm

    def wait_start(self, stopping):
        self._t0 = time.perf_counter()
        return 0.0

    def wait_until(self, beat, stopping):
        delay = self._time_of(beat) - time.perf_counter()
        return not (delay > 0 and stopping.wait(delay)) and not stopping.is_set()

    def tempo(self):
        return self._bpm

    def set_tempo(self, bpm, at_beat):
        """Keep `at_beat` where it is in time and go on at `bpm` from there."""
        at = self._time_of(at_beat)
        self._bpm = float(bpm)
        self._t0 = at - at_beat * 60.0 / self._bpm


class ClockFollower(Timebase):
    """Follows MIDI clock, Start/Continue/Stop and Song Position from an input port.

    Position counts ticks since Start (or from the Song Position Pointer, in
    sixteenths); between two ticks it is interpolated from the tick interval, so
    events off the 1/24-beat tick grid keep their timing."""

    master = False

    def __init__(self, port_name: str, open_input=None):
        from evodrum.audio import ports
        self.description = f"MIDI clock from {port_name!r}"
        self._changed = threading.Condition()
        self._ticks = 0
        self._last_tick = None                  # perf_counter time of the last tick
        self._intervals: deque[float] = deque(maxlen=TEMPO_WINDOW)
        self.running = False
        self.starts = 0                          # Start/Continue messages seen
        self.port = (open_input or ports.open_input)(port_name, self._receive)

    def _restart_tempo(self) -> None:
        """Forget tick times from before a pause, so the pause is not read as a tempo."""
        self._last_tick = None
        self._intervals.clear()

    def _receive(self, msg) -> None:
        now = time.perf_counter()
        with self._changed:
            if msg.type == "clock":
                if self._last_tick is not None and self.running:
                    self._intervals.append(now - self._last_tick)
                self._last_tick = now
                if self.running:
                    self._ticks += 1
            elif msg.type == "start":            # the first tick after Start is beat 0
                self._ticks, self.running = -1, True
                self._restart_tempo()
                self.starts += 1
            elif msg.type == "continue":         # the next tick follows the last one
                self.running = True
                self._restart_tempo()
                self.starts += 1
            elif msg.type == "stop":
                self.running = False
            elif msg.type == "songpos":          # the next tick is at that position
                self._ticks = msg.pos * (PPQN // 4) - 1
            else:
                return
            self._changed.notify_all()

    def tempo(self):
        with self._changed:
            if not self._intervals:
                return 120.0
            return 60.0 / (PPQN * sum(self._intervals) / len(self._intervals))

    def _beat(self) -> float:
        return max(self._ticks, 0) / PPQN

    def wait_start(self, stopping):
        with self._changed:
            while not (self.running and self._ticks >= 0):
                if stopping.is_set():
                    return None
                self._changed.wait(0.05)
            return self._beat()

    def wait_until(self, beat, stopping):
        tick = math.floor(beat * PPQN + 1e-6)          # the tick at or before `beat`
        with self._changed:
            while self.running and self._ticks < tick:
                if stopping.is_set():
                    return False
                self._changed.wait(0.05)
            if not self.running or stopping.is_set():
                return False
            interval = (sum(self._intervals) / len(self._intervals)) if self._intervals else 0
            late = 0.0 if self._last_tick is None else time.perf_counter() - self._last_tick
        wait = (beat * PPQN - tick) * interval - late    # the fraction of a tick to go
        return not (wait > 0 and stopping.wait(wait)) and not stopping.is_set()

    def close(self):
        self.port.close()


class LinkSession(Timebase):
    """An Ableton Link peer (aalink): beat, phase and tempo from the shared session.

    aalink needs an asyncio loop, so the Link object lives on its own thread's loop;
    the player reads its beat and tempo (thread-safe in Link) from its own thread."""

    def __init__(self, bpm: float, quantum: float = 4.0):
        try:
            import aalink
        except ImportError:
            raise EvodrumError("--link needs the aalink package: pip install "
                               "'evodrum[link]'") from None
        self.quantum = float(quantum)
        self.description = "Ableton Link"
        ready, problem = threading.Event(), []
        self._loop = asyncio.new_event_loop()

        def run():
            asyncio.set_event_loop(self._loop)

            async def join():
                self.link = aalink.Link(float(bpm))       # on this running loop
                self.link.quantum = self.quantum
                self.link.enabled = True
            try:
                self._loop.run_until_complete(join())
            except Exception as e:     # aalink's own errors: say them in one line
                problem.append(e)
                return
            finally:
                ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="evodrum-link", daemon=True)
        self._thread.start()
        ready.wait()
        if problem:
            raise EvodrumError(f"--link: cannot join a Link session ({problem[0]})")

    @property
    def peers(self) -> int:
        return int(self.link.num_peers)

    def beat(self) -> float:
        return float(self.link.beat)

    def tempo(self):
        return float(self.link.tempo)

    def wait_start(self, stopping):
        """The session's next bar line (phase 0 of the quantum)."""
        start = math.floor(self.beat() / self.quantum + 1) * self.quantum
        return start if self.wait_until(start, stopping) else None

    def wait_until(self, beat, stopping):
        while not stopping.is_set():
            ahead = beat - self.beat()
            if ahead <= 0:
                return True
            stopping.wait(min(ahead * 60.0 / self.tempo(), 0.5) * 0.9 if ahead > 1e-3 else 0)
        return False

    def set_tempo(self, bpm, at_beat):
        """Propose a tempo to the whole session (every peer follows, as in Live)."""
        self.link.tempo = float(bpm)

    def close(self):
        def leave():
            self.link.enabled = False
            self._loop.stop()
        self._loop.call_soon_threadsafe(leave)
        self._thread.join(5)
