"""Send loops live to a hardware synth or DAW through a MIDI output port.

The loop's messages come from `evodrum.midi.grid_to_midi` (the same file
`evodrum convert` writes) and are sent by a thread that schedules each one
against the wall clock, so timing does not drift over many passes. Stopping
ends every sounding note and sends All Notes Off on the drum channel.
"""
from __future__ import annotations

import time

import mido

from evodrum.audio.players import Background, Player
from evodrum.errors import EvodrumError
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


class MidiPortPlayer(Player):
    """Plays loops on a mido output port (a real port, or any mido BaseOutput)."""

    def __init__(self, port: mido.ports.BaseOutput, close_port: bool = False):
        self.port = port
        self.close_port = close_port
        self.description = f"MIDI port {port.name!r}"
        self._worker = Background()
        self._sounding: set[tuple[int, int]] = set()
        self._started = False

    @classmethod
    def open(cls, name: str) -> "MidiPortPlayer":
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

    def _start(self, grid, spec, bpm, loop, name):
        events = timeline(grid, spec, bpm)
        period = spec.seconds(bpm)
        self._started = True
        self._worker.start(lambda stopping: self._send_loop(events, period, loop, stopping),
                           "evodrum-midi")

    def _send_loop(self, events, period, loop, stopping) -> None:
        start = time.perf_counter()
        passes = 0
        while True:
            for at, msg in events:
                delay = start + passes * period + at - time.perf_counter()
                if delay > 0 and stopping.wait(delay):
                    return
                if stopping.is_set():
                    return
                self._send(msg)
            passes += 1
            if not loop:
                return

    def _send(self, msg: mido.Message) -> None:
        key = (msg.channel, msg.note)
        if msg.type == "note_on" and msg.velocity > 0:
            self._sounding.add(key)
        else:
            self._sounding.discard(key)
        self.port.send(msg)

    def stop(self):
        """Stop the thread, end sounding notes, then All Notes Off (once per play)."""
        self._worker.stop()
        if not self._started or self.port.closed:
            return
        self._started = False
        for channel, note in sorted(self._sounding):
            self.port.send(mido.Message("note_off", channel=channel, note=note))
        self._sounding.clear()
        self.port.send(mido.Message("control_change", channel=DRUM_CHANNEL,
                                    control=ALL_NOTES_OFF, value=0))

    def wait(self, timeout=None):
        return self._worker.wait(timeout)

    def close(self):
        self.stop()
        if self.close_port:
            self.port.close()

