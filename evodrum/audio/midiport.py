"""Send loops live to a hardware synth or DAW through a MIDI output port, in time
with the player's own clock, another app's MIDI clock, or an Ableton Link session.

The loop's messages come from `evodrum.midi.grid_to_midi` (the same file
`evodrum convert` writes) and are placed at beats; a thread waits for each beat on
the player's timebase (`evodrum.audio.transport`), so timing never drifts and the
loop follows whatever tempo the timebase has. As the master it also sends MIDI
clock (24 per quarter note) with Song Position Pointer, Start and Stop, so a DAW
set to follow it runs with it. A new loop asked for while one plays starts on the
next bar line (as a DAW launches clips), so the groove never stumbles; stopping is
immediate. Switching and stopping end every sounding note and send All Notes Off.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import mido

from evodrum.audio.players import Background, Player
from evodrum.audio.transport import PPQN, ClockFollower, LinkSession, OwnClock, Timebase
from evodrum.grid import DEFAULT_SPEC
from evodrum.loop import as_loop
from evodrum.midi import DRUM_CHANNEL, grid_to_midi

ALL_NOTES_OFF = 123
#: Seconds a port evodrum opened is kept open after its last messages (Stop, note-offs):
#: RtMidi's JACK output hands messages to JACK's next cycle and can drop those still
#: queued when the port closes (thestk/rtmidi#24, #235), leaving a DAW running or a
#: note hanging. Longer than a JACK period at any usual buffer size.
CLOSE_GRACE = 0.1
CLOCK = mido.Message("clock")


def timeline(grid, spec, bpm: float, note_map=None) -> list[tuple[float, mido.Message]]:
    """(beats from loop start, message) for one pass, channel messages only, in order."""
    mid = grid_to_midi(grid, spec, bpm, note_map=note_map)
    events = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if not msg.is_meta:
                events.append((tick / mid.ticks_per_beat, msg.copy(time=0)))
    events.sort(key=lambda e: e[0])     # stable: a track's note-offs stay before its note-ons
    return events


@dataclass
class Cue:
    """A loop ready to send: per bar, (beats into the bar, message), MIDI clock included
    when the player sends it; the tempo it was asked at and whether it loops."""

    bars: list[list[tuple[float, mido.Message]]]
    bar_beats: float
    bpm: float
    loop: bool

    @classmethod
    def of(cls, grid, spec, bpm: float, loop: bool, clock: bool = False,
           note_map=None) -> Cue:
        bar_beats = spec.beats / spec.bars
        bars: list[list] = [[] for _ in range(spec.bars)]
        for at, msg in timeline(grid, spec, bpm, note_map):
            bar = min(int(at / bar_beats + 1e-9), spec.bars - 1)  # last note-offs: last bar
            bars[bar].append((at - bar * bar_beats, msg))
        if clock:   # ticks first on a shared beat, as a DAW's clock leads its notes
            ticks = [(k / PPQN, CLOCK) for k in range(int(round(bar_beats * PPQN)))]
            bars = [sorted(ticks + b, key=lambda e: (round(e[0], 9), e[1] is not CLOCK))
                    for b in bars]
        return cls(bars, bar_beats, float(bpm), loop)


class MidiPortPlayer(Player):
    """Plays loops on a mido output port (a real port, or any mido BaseOutput), on the
    beats of a timebase: its own clock (default), a MIDI clock or a Link session."""

    def __init__(self, port: mido.ports.BaseOutput, close_port: bool = False,
                 timebase: Timebase | None = None, clock: bool = False, note_map=None):
        self.port, self.close_port = port, close_port
        self.note_map = note_map              # the pitches sent (None: General MIDI)
        self.timebase = timebase or OwnClock(120.0)
        self.clock = clock and self.timebase.master
        follows = "" if isinstance(self.timebase, OwnClock) else f", following {self.timebase.description}"
        self.description = f"MIDI port {port.name!r}{follows}" + (
            " with MIDI clock" if self.clock else "")
        self._worker = Background()
        self._sounding: set[tuple[int, int]] = set()
        self._started = False
        self._lock = threading.Lock()
        self._next: Cue | None = None          # the loop to start at the next bar line
        self._transport_running = False         # whether we sent Start (and owe a Stop)

    @classmethod
    def open(cls, name: str, clock: bool = True, clock_in: str | None = None,
             link: bool = False, bpm: float = 120.0, note_map=None) -> MidiPortPlayer:
        """Open the output port called `name` (needs python-rtmidi: evodrum[midi]);
        follow MIDI clock from the input `clock_in`, or join a Link session."""
        from evodrum.audio import ports
        port = ports.open_output(name)
        try:
            timebase = (ClockFollower(clock_in) if clock_in else
                        LinkSession(bpm) if link else OwnClock(bpm))
        except BaseException:
            port.close()
            raise
        return cls(port, close_port=True, timebase=timebase, clock=clock, note_map=note_map)

    def play(self, grid, spec=DEFAULT_SPEC, bpm=120.0, loop=True, name=None):
        """Start `grid` at the timebase's start (now; the next Link bar; the other app's
        Start), or at the next bar line when a loop is playing."""
        performed = as_loop(grid, spec)            # a Loop keeps its feel and its own spec
        cue = Cue.of(performed, performed.spec, float(bpm), loop, self.clock, self.note_map)
        with self._lock:
            if self._started and not self._worker.wait(0):
                self._next = cue
                return
        self.stop()
        self._next, self._started = cue, True
        self._worker.start(self._run, "evodrum-midi")

    def _start(self, grid, spec, bpm, loop, name):
        self.play(grid, spec, bpm, loop, name)

    def _take(self) -> Cue | None:
        with self._lock:
            waiting, self._next = self._next, None
        return waiting

    def _run(self, stopping: threading.Event) -> None:
        """Play from each start of the timebase until stopped, the one-shot is over, or
        (following another app) its Stop, then wait for its next Start."""
        timebase, cue = self.timebase, None
        while True:
            start = timebase.wait_start(stopping)
            if start is None:
                return
            cue = self._take() or cue
            if isinstance(timebase, OwnClock):
                timebase.set_tempo(cue.bpm, start)
            if self.clock:
                self.port.send(mido.Message("songpos", pos=0))
                self.port.send(mido.Message("start"))
                self._transport_running = True
            ended, cue = self._play_from(cue, start, stopping)
            if ended != "stopped":
                if ended == "done":
                    self._stop_transport()
                return
            self._silence()            # the other app stopped: wait for its next Start

    def _play_from(self, cue: Cue, start: float, stopping: threading.Event
                   ) -> tuple[str, Cue]:
        """Send bar after bar from beat `start`, taking a waiting cue at each bar line.
        Returns ("stopping" | "stopped" | "done", the cue playing)."""
        timebase = self.timebase
        bar_abs = math.floor(start / cue.bar_beats + 1e-9)
        bar_start = bar_abs * cue.bar_beats
        bar = bar_abs % len(cue.bars) if isinstance(timebase, ClockFollower) else 0
        first = True
        while True:
            if not first:
                waiting = self._take()
                if waiting is not None:
                    self._silence()
                    if waiting.bpm != cue.bpm:
                        timebase.set_tempo(waiting.bpm, bar_start)
                    cue, bar = waiting, 0
            for at, msg in cue.bars[bar]:
                beat = bar_start + at
                if first and beat < start - 1e-9:
                    continue
                if not timebase.wait_until(beat, stopping):
                    return ("stopping" if stopping.is_set() else "stopped"), cue
                self._send(msg)
            first = False
            bar_start += cue.bar_beats
            bar += 1
            if bar == len(cue.bars):
                with self._lock:
                    if not cue.loop and self._next is None:
                        return "done", cue
                bar = 0

    def _send(self, msg: mido.Message) -> None:
        if msg.type in ("note_on", "note_off"):
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

    def _stop_transport(self) -> None:
        if self._transport_running and not self.port.closed:
            self.port.send(mido.Message("stop"))
        self._transport_running = False

    def stop(self):
        """Stop now (a loop waiting for the bar line is dropped), silence the port and,
        as the master, send Stop."""
        self._worker.stop()
        with self._lock:
            self._next = None
        if not self._started or self.port.closed:
            return
        self._started = False
        self._stop_transport()
        self._silence()

    def wait(self, timeout=None):
        return self._worker.wait(timeout)

    def close(self):
        self.stop()
        self.timebase.close()
        if self.close_port:
            time.sleep(CLOSE_GRACE)        # let the backend deliver Stop and the note-offs
            self.port.close()
