"""Send loops live to a hardware synth or DAW through a MIDI output port.

The loop's messages come from `evodrum.midi.grid_to_midi` (the same file
`evodrum convert` writes) and are sent by a thread that schedules each one
against the wall clock, so timing does not drift over many passes. A new loop
asked for while one plays starts on the next bar line (as a DAW launches
clips), so the groove never stumbles; stopping is immediate. Switching and
stopping end every sounding note and send All Notes Off on the drum channel.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import mido

from evodrum.audio.players import Background, Player
from evodrum.errors import EvodrumError
from evodrum.grid import DEFAULT_SPEC
from evodrum.midi import DRUM_CHANNEL, grid_to_midi

ALL_NOTES_OFF = 123


def timeline(grid, spec, bpm: float) -> list[tuple[float, mido.Message]]:
    """(seconds from loop start, message) for one pass, note and channel messages only."""
    events, now = [], 0.0
    for msg in grid_to_midi(grid, spec, bpm):  # iterating a MidiFile gives delta seconds
        now += msg.time
        if not msg.is_meta:
            events.append((now, msg.copy(time=0)))
    return events


@dataclass
class Cue:
    """A loop ready to send: its messages split by bar, the bar length, and whether it loops."""

    bars: list[list[tuple[float, mido.Message]]]   # per bar: (seconds into the bar, message)
    bar_seconds: float
    loop: bool

    @classmethod
    def of(cls, grid, spec, bpm: float, loop: bool) -> Cue:
        bar_seconds = spec.seconds(bpm) / spec.bars
        bars: list[list] = [[] for _ in range(spec.bars)]
        for at, msg in timeline(grid, spec, bpm):
            bar = min(int(at / bar_seconds + 1e-9), spec.bars - 1)  # last note-offs: last bar
            bars[bar].append((at - bar * bar_seconds, msg))
        return cls(bars, bar_seconds, loop)


class MidiPortPlayer(Player):
    """Plays loops on a mido output port (a real port, or any mido BaseOutput)."""

    def __init__(self, port: mido.ports.BaseOutput, close_port: bool = False):
        self.port = port
        self.close_port = close_port
        self.description = f"MIDI port {port.name!r}"
        self._worker = Background()
        self._sounding: set[tuple[int, int]] = set()
        self._started = False
        self._lock = threading.Lock()
        self._next: Cue | None = None          # the loop to start at the next bar line

    @classmethod
    def open(cls, name: str) -> MidiPortPlayer:
        """Open the output port called `name` (needs python-rtmidi: evodrum[midi])."""
        try:
            names = mido.get_output_names()
        except ImportError:
            raise EvodrumError("--midi-port needs python-rtmidi: pip install 'evodrum[midi]'") \
                from None
        except Exception as e:  # the MIDI backend's own errors (e.g. no ALSA sequencer)
            raise EvodrumError(f"--midi-port: cannot reach the MIDI system ({e})") from None
        if name not in names:
            raise EvodrumError(f"--midi-port: no MIDI output called {name!r}; "
                               f"available: {', '.join(map(repr, names)) or 'none'}")
        try:
            return cls(mido.open_output(name), close_port=True)
        except Exception as e:  # OSError or the backend's own error types
            raise EvodrumError(f"--midi-port: cannot open {name!r} ({e})") from None

    def play(self, grid, spec=DEFAULT_SPEC, bpm=120.0, loop=True, name=None):
        """Start `grid` now, or at the next bar line when a loop is playing."""
        cue = Cue.of(grid, spec, float(bpm), loop)
        with self._lock:
            if self._started and not self._worker.wait(0):
                self._next = cue
                return
        self.stop()
        self._next, self._started = cue, True
        self._worker.start(self._send_bars, "evodrum-midi")

    def _start(self, grid, spec, bpm, loop, name):
        self.play(grid, spec, bpm, loop, name)

    def _send_bars(self, stopping: threading.Event) -> None:
        """Send bar after bar against the clock, taking a waiting cue at each bar line."""
        bar_start = time.perf_counter()
        cue, bar = None, 0
        while True:
            delay = bar_start - time.perf_counter()
            if delay > 0 and stopping.wait(delay):
                return
            with self._lock:
                waiting, self._next = self._next, None
            if waiting is not None:
                if cue is not None:
                    self._silence()
                cue, bar = waiting, 0
            for at, msg in cue.bars[bar]:
                delay = bar_start + at - time.perf_counter()
                if delay > 0 and stopping.wait(delay):
                    return
                if stopping.is_set():
                    return
                self._send(msg)
            bar_start += cue.bar_seconds
            bar += 1
            if bar == len(cue.bars):
                with self._lock:
                    if not cue.loop and self._next is None:
                        return
                bar = 0

    def _send(self, msg: mido.Message) -> None:
        key = (msg.channel, msg.note)
        if msg.type == "note_on" and msg.velocity > 0:
            self._sounding.add(key)
        else:
            self._sounding.discard(key)
        self.port.send(msg)

    def _silence(self) -> None:
        """End every sounding note, then All Notes Off on the drum channel."""
        for channel, note in sorted(self._sounding):
            self.port.send(mido.Message("note_off", channel=channel, note=note))
        self._sounding.clear()
        self.port.send(mido.Message("control_change", channel=DRUM_CHANNEL,
                                    control=ALL_NOTES_OFF, value=0))

    def stop(self):
        """Stop now (a loop waiting for the bar line is dropped), then silence the port."""
        self._worker.stop()
        with self._lock:
            self._next = None
        if not self._started or self.port.closed:
            return
        self._started = False
        self._silence()

    def wait(self, timeout=None):
        return self._worker.wait(timeout)

    def close(self):
        self.stop()
        if self.close_port:
            self.port.close()
