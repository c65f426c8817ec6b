"""Reading a long MIDI file once per command: `python -m benchmarks.reading`.

A 17-minute song as a DAW exports it (440 bars of 4/4 at 102 BPM with one bar of 3/4
in the middle; 16th hats, kick, snare, every hit a little off the grid) read as the
commands read it, inside a command's `infile.read_once` block: what `groove`, `render`
and `play` read of it (the window where the drums come in, as the 3/4 bar keeps the
song from playing whole), and a `--lock`ed `--seed-loops` file of `target` (said,
locked from, encoded). Prints how often each parses the file and its CPU beside wall
time; goal: one parse per command; floor: one parse (`midi.read_drums`).
"""
from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import mido
import numpy as np

from benchmarks.timing import line, measure
from evodrum import infile, midi, smf
from evodrum.cli import inputs
from evodrum.grid import DEFAULT_SPEC

BARS, BPM, ODD_BAR, TPB = 440, 102, 220, 480


def song(path: Path) -> Path:
    """The song described above, as a type-0 file."""
    rng = np.random.default_rng(1)
    events, beat = [], 0.0
    for bar in range(BARS):
        beats = 3 if bar == ODD_BAR else 4
        if bar in (0, ODD_BAR, ODD_BAR + 1):
            events.append((beat, 0, mido.MetaMessage("time_signature", numerator=beats,
                                                     denominator=4)))
        hits = [(beat + s / 4, 42, 70) for s in range(4 * beats)]
        hits += [(beat + b, 36 if b % 2 == 0 else 38, 110) for b in range(beats)]
        for at, pitch, velocity in hits:
            at += rng.uniform(-0.03, 0.03) if at > 0 else 0
            events += [(at, 2, mido.Message("note_on", channel=9, note=pitch, velocity=velocity)),
                       (at + 0.1, 1, mido.Message("note_off", channel=9, note=pitch))]
        beat += beats
    track, now = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(BPM))]), 0
    for at, _, message in sorted(events, key=lambda e: e[:2]):
        tick = round(at * TPB)
        track.append(message.copy(time=tick - now))
        now = tick
    mido.MidiFile(ticks_per_beat=TPB, tracks=[track]).save(path)
    return path


def main() -> None:
    parses = []
    parse = smf.parse
    smf.parse = lambda path, *a: parses.append(path) or parse(path, *a)
    with tempfile.TemporaryDirectory(prefix="evodrum-bench-") as tmp:
        path = str(song(Path(tmp) / "song.mid"))

        def played():           # groove, render, play
            inputs.to_play(path, DEFAULT_SPEC, None)

        def seed():             # target --seed-loops song.mid --lock BD
            inputs.tell_seed_loops([path], DEFAULT_SPEC)
            midi.read_seed(path, DEFAULT_SPEC)
            midi.read_loop(path, DEFAULT_SPEC)

        floor = measure(lambda: midi.read_drums(path), 5)
        print(line(f"one parse of a {BARS}-bar song", floor, "ms"))
        for label, reads in [("what groove, render and play read", played),
                             ("a --lock'ed seed loop of target", seed)]:
            def command(reads=reads):
                with infile.read_once():
                    reads()
            with contextlib.redirect_stderr(io.StringIO()):     # their warnings and notes
                parses.clear()
                command()
                count = len(parses)
                timing = measure(command, 5)
            print(line(f"{label}: {count} parse{'s' * (count != 1)}", timing, "ms",
                       goal="1 parse", floor=f"{1000 * floor.cpu_median:.3g} ms CPU"))


if __name__ == "__main__":
    main()
