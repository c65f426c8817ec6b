"""MIDI drum files in, drum grids out, and grids back out as MIDI.

Reading quantises by beat position (tempo changes do not matter), keeps the
loudest hit when two land in one cell, and reports how far timing was moved.
Short loops are tiled to the grid length; longer performances are cut into
windows. Writing gives a file on channel 10 that reads back to the same grid.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
from mido.midifiles.meta import KeySignatureError

from evodrum import grid as G
from evodrum.atomic import atomic_path
from evodrum.errors import EvodrumError
from evodrum.grid import DEFAULT_SPEC, GridSpec
from evodrum.kit import N_ROWS, PITCH_TO_ROW, ROW_PITCH

#: What mido raises on corrupt, truncated or malformed files.
MIDO_ERRORS = (EOFError, OSError, ValueError, IndexError, KeyError, KeySignatureError)
#: Time signatures whose bars fit a 4/4 grid (as in McDermott 2018).
SUPPORTED_TIME_SIGNATURES = {(2, 4), (4, 4), (8, 4)}
DRUM_CHANNEL = 9  # MIDI channel 10, zero-based
WRITE_TICKS_PER_BEAT = 480


class BadMidiFile(EvodrumError):
    """A MIDI file evodrum cannot use; `reason` says why without the path."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = str(path), reason


@dataclass
class DrumHits:
    """The drum hits of one MIDI file, positioned in quarter-note beats."""

    path: str
    beats: np.ndarray         # float64 onset positions in beats
    rows: np.ndarray          # int row index per hit
    velocities: np.ndarray    # uint8 MIDI velocity 1..127 per hit
    length_beats: float       # end of the file in beats
    time_signature: tuple[int, int]
    bpm: float
    unmapped: dict[int, int]  # pitch -> count of notes the kit has no row for


@dataclass
class Quantised:
    """Hits snapped to a step grid, with how far timing was moved."""

    steps: np.ndarray         # uint8 velocities (9, T)
    mean_shift: float         # mean |shift| in steps (0..0.5)
    max_shift: float          # largest |shift| in steps
    collisions: int           # hits dropped because a louder one took the cell


def read_drums(path: str | Path) -> DrumHits:
    """Parse a type-0/1 MIDI file and return its drum hits; EvodrumError if unusable."""
    path = str(path)
    try:
        mid = mido.MidiFile(path)
    except MIDO_ERRORS as e:
        raise BadMidiFile(path, f"not a readable MIDI file ({type(e).__name__}: {e})") from None
    if mid.type == 2:
        raise BadMidiFile(path, "type-2 MIDI (independent sequences) is not supported")
    tpb = mid.ticks_per_beat
    if not tpb or tpb <= 0:
        raise BadMidiFile(path, "uses SMPTE time division, not ticks per beat")

    notes: list[tuple[int, int, int, int]] = []  # tick, channel, pitch, velocity
    time_signature, tempo, end_tick = None, 500000, 0
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                notes.append((tick, msg.channel, msg.note, msg.velocity))
            elif msg.type == "time_signature":
                ts = (msg.numerator, msg.denominator)
                if ts not in SUPPORTED_TIME_SIGNATURES:
                    raise BadMidiFile(path, f"time signature {ts[0]}/{ts[1]} is not "
                                       "supported (only 2/4, 4/4 and 8/4)")
                time_signature = time_signature or ts
            elif msg.type == "set_tempo" and tick == 0:
                tempo = msg.tempo
        end_tick = max(end_tick, tick)
    if not notes:
        raise BadMidiFile(path, "contains no notes")

    ticks, channels, pitches, velocities = np.array(notes, dtype=np.int64).T
    on_drum_channel = channels == DRUM_CHANNEL
    if on_drum_channel.any():
        keep = on_drum_channel
    elif (PITCH_TO_ROW[pitches] >= 0).all():
        keep = np.ones_like(on_drum_channel)  # percussion-only file on another channel
    else:
        raise BadMidiFile(path, "no drums (nothing on channel 10, and notes outside "
                          "the percussion range on other channels)")
    rows = PITCH_TO_ROW[pitches[keep]]
    mapped = rows >= 0
    bad, counts = np.unique(pitches[keep][~mapped], return_counts=True)
    if not mapped.any():
        raise BadMidiFile(path, "no notes on drum pitches the kit knows "
                          f"(pitches {', '.join(map(str, bad))})")
    return DrumHits(
        path=path,
        beats=ticks[keep][mapped] / tpb,
        rows=rows[mapped].astype(np.int64),
        velocities=velocities[keep][mapped].astype(np.uint8),
        length_beats=end_tick / tpb,
        time_signature=time_signature or (4, 4),
        bpm=round(60e6 / tempo, 3),
        unmapped=dict(zip(bad.tolist(), counts.tolist())),
    )


def quantise(hits: DrumHits, spec: GridSpec, length_steps: int | None = None) -> Quantised:
    """Snap hits to the nearest step; hits at or past `length_steps` wrap round (loops)."""
    exact = hits.beats * spec.steps_per_beat
    steps = np.rint(exact).astype(np.int64)
    shift = np.abs(exact - steps)
    if length_steps is None:
        length_steps = int(max(np.ceil(hits.length_beats * spec.steps_per_beat), steps.max() + 1))
    steps %= length_steps
    out = np.zeros((N_ROWS, length_steps), dtype=np.uint8)
    np.maximum.at(out, (hits.rows, steps), hits.velocities)
    occupied = len(np.unique(hits.rows * length_steps + steps))
    return Quantised(out, float(shift.mean()), float(shift.max()), len(steps) - occupied)


def loop_steps(hits: DrumHits, spec: GridSpec) -> int | None:
    """The loop length in steps when the file is a loop no longer than the grid, else None.

    The length is the file's length rounded to whole bars of its own time signature,
    then stretched to the shortest length that tiles the grid (a 3-bar loop fills
    4 bars with one silent bar, a 1-bar loop repeats 4 times).
    """
    num, den = hits.time_signature
    bar_beats = num * 4 / den
    bars = max(1, round(hits.length_beats / bar_beats))
    steps = round(bars * bar_beats * spec.steps_per_beat)
    if steps > spec.steps:
        return None
    return next(n for n in range(steps, spec.steps + 1) if spec.steps % n == 0)


def to_grids(hits: DrumHits, spec: GridSpec = DEFAULT_SPEC, hop_bars: int = 1) -> tuple[np.ndarray, Quantised]:
    """Grids (N, 9, S) of uint8 MIDI velocities: a tiled loop or performance windows."""
    length = loop_steps(hits, spec)
    q = quantise(hits, spec, length)
    if length is not None:
        return G.loop_to_grid_length(q.steps, length, spec)[None], q
    return G.windows(q.steps, spec, hop_bars), q


def read_grids_quantised(path: str | Path, spec: GridSpec = DEFAULT_SPEC,
                         hop_bars: int = 1) -> tuple[np.ndarray, Quantised]:
    """All grids of a MIDI file (float32, (N, 9, S)) and the quantisation report."""
    grids, q = to_grids(read_drums(path), spec, hop_bars)
    if len(grids) == 0:
        raise BadMidiFile(path, f"shorter than one {spec.describe()} window")
    return G.from_midi_velocity(grids), q


def read_grids(path: str | Path, spec: GridSpec = DEFAULT_SPEC, hop_bars: int = 1) -> np.ndarray:
    """All grids of a MIDI file as float32 velocities (N, 9, S); BadMidiFile if none."""
    return read_grids_quantised(path, spec, hop_bars)[0]


def read_loop(path: str | Path, spec: GridSpec = DEFAULT_SPEC) -> np.ndarray:
    """The first grid of a MIDI file, float32 (9, S)."""
    return read_grids(path, spec)[0]


def grid_to_midi(grid: np.ndarray, spec: GridSpec = DEFAULT_SPEC, bpm: float = 120.0,
                 midi_type: int = 1, ticks_per_beat: int = WRITE_TICKS_PER_BEAT) -> mido.MidiFile:
    """A MIDI file on channel 10 with tempo, time signature, GM pitches and one-step notes."""
    grid = G.check_grids(grid, spec)[0]
    if midi_type not in (0, 1):
        raise ValueError("midi_type must be 0 or 1")
    step_ticks = ticks_per_beat // spec.steps_per_beat
    if step_ticks * spec.steps_per_beat != ticks_per_beat:
        raise ValueError(f"ticks_per_beat {ticks_per_beat} is not divisible into "
                         f"{spec.steps_per_beat} steps")
    rows, steps = np.nonzero(grid)
    velocity = G.to_midi_velocity(grid)[rows, steps]
    start = steps * step_ticks
    # (tick, order, message): note-offs sort before note-ons at the same tick.
    events = [(int(t), 1, mido.Message("note_on", channel=DRUM_CHANNEL, note=int(p), velocity=int(v)))
              for t, p, v in zip(start, ROW_PITCH[rows], velocity)]
    events += [(int(t), 0, mido.Message("note_off", channel=DRUM_CHANNEL, note=int(p), velocity=0))
               for t, p in zip(start + step_ticks, ROW_PITCH[rows])]
    events.sort(key=lambda e: (e[0], e[1]))

    meta = [mido.MetaMessage("track_name", name="evodrum", time=0),
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0),
            mido.MetaMessage("time_signature", numerator=spec.beats_per_bar, denominator=4, time=0)]
    end = spec.beats * ticks_per_beat
    drums = mido.MidiTrack()
    last = 0
    for tick, _, msg in events:
        drums.append(msg.copy(time=tick - last))
        last = tick
    drums.append(mido.MetaMessage("end_of_track", time=end - last))
    mid = mido.MidiFile(type=midi_type, ticks_per_beat=ticks_per_beat)
    if midi_type == 0:
        mid.tracks.append(mido.MidiTrack(meta + list(drums)))
    else:
        conductor = mido.MidiTrack(meta)
        conductor.append(mido.MetaMessage("end_of_track", time=end))
        mid.tracks.extend([conductor, drums])
    return mid


def write_midi(path: str | Path, grid: np.ndarray, spec: GridSpec = DEFAULT_SPEC,
               bpm: float = 120.0, midi_type: int = 1) -> Path:
    """Write one grid as a MIDI file, atomically; returns the path."""
    path = Path(path)
    mid = grid_to_midi(grid, spec, bpm, midi_type)
    with atomic_path(path) as tmp:
        mid.save(tmp)
    return path
