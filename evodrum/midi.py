"""MIDI drum files in, drum grids out, and grids back out as MIDI.

Reading quantises by beat position (tempo changes do not matter), keeps the
loudest hit when two land in one cell, and keeps each hit's timing as its offset
from the grid (`evodrum.loop`): swing and triplets are 16ths with offsets.
Which notes are drums is decided on evidence (see `drum_notes`). A file's length
is rounded up to whole bars, so a loop that ends at its last note keeps its
silent end. Short loops are tiled to the grid length; longer performances are
cut into windows, only from stretches of bars that fit the grid (2/4, 4/4,
8/4): bars in other metres are skipped and reported. Writing gives a file on
channel 10 with each hit at its performed time, that reads back to the same
loop (cells and velocities exactly, offsets within a tick), and lasts its full
length even in tools that stop at the last note (pretty_midi, note_seq).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import mido
import numpy as np

from evodrum import grid as G
from evodrum import limits, smf
from evodrum.atomic import atomic_path
from evodrum.errors import FileError
from evodrum.grid import DEFAULT_SPEC, GridSpec
from evodrum.kit import ROW_PITCH, pitch_table
from evodrum.loop import Loop, as_loop
from evodrum.loop import quantise as quantise_onsets

#: Changes whenever reading the same file can give different grids; corpora record it,
#: so a cache built by an older reader is rebuilt, not reused.
READER_VERSION = 3
#: Time signatures whose bars fit a 4/4 grid (as in McDermott 2018).
SUPPORTED_TIME_SIGNATURES = {(2, 4), (4, 4), (8, 4)}
DRUM_CHANNEL = 9  # MIDI channel 10, zero-based
WRITE_TICKS_PER_BEAT = 480
DEFAULT_BPM = 120.0
#: Tempi a file may set and still be kept (outside this, DEFAULT_BPM is used).
TEMPO_RANGE = (20.0, 400.0)

#: Kick, snare and hi-hat pitches: most of what a drum part plays.
CORE_KIT_PITCHES = np.array([35, 36, 37, 38, 39, 40, 42, 44, 46, 49, 51, 57])
#: Track or instrument names that say "drums", and names of melodic instruments.
DRUM_NAMES = re.compile(r"drum|kit|perc|beat|groove|kick|snare|hi.?hat|cymbal|rhythm|808|909",
                        re.IGNORECASE)
MELODIC_NAMES = re.compile(r"piano|bass|guitar|lead|melod|string|organ|vocal|voice|pad|keys|"
                           r"sax|flute|brass|violin|cello|choir|trumpet|horn|arp|chord", re.IGNORECASE)
#: General MIDI program families (program // 8), for messages.
GM_FAMILIES = ("piano", "chromatic percussion", "organ", "guitar", "bass", "strings",
               "ensemble", "brass", "reed", "pipe", "synth lead", "synth pad",
               "synth effects", "ethnic", "percussive", "sound effects")


class BadMidiFile(FileError):
    """A MIDI file evodrum cannot use; `reason` says why without the path."""


@dataclass
class Bars:
    """The bar lines of a file: start and length in beats, and whether each fits the grid."""

    start: np.ndarray      # float64 beats
    length: np.ndarray     # float64 beats
    fits: np.ndarray       # bool: 2/4, 4/4 or 8/4 and not cut short by a metre change
    metre: list[str]       # "4/4", "9/8", ... per bar

    @property
    def end(self) -> float:
        return float(self.start[-1] + self.length[-1]) if len(self.start) else 0.0

    def stretches(self) -> list[tuple[int, int]]:
        """Runs of consecutive bars that fit, as (first bar, one past the last) indices."""
        edges = np.diff(np.concatenate([[0], self.fits.astype(np.int8), [0]]))
        return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))

    def skipped(self) -> list[str]:
        """Plain descriptions of the runs of bars that do not fit, e.g. "bar 86 (9/8)"."""
        out = []
        bad = ~self.fits
        edges = np.diff(np.concatenate([[0], bad.astype(np.int8), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            metres = sorted(set(self.metre[a:b]))
            where = f"bar {a + 1}" if b - a == 1 else f"bars {a + 1}-{b}"
            out.append(f"{where} ({', '.join(metres)})")
        return out


@dataclass
class DrumHits:
    """The drum hits of one MIDI file, positioned in quarter-note beats."""

    path: str
    beats: np.ndarray         # float64 onset positions in beats
    rows: np.ndarray          # int row index per hit
    velocities: np.ndarray    # uint8 MIDI velocity 1..127 per hit
    bars: Bars
    end_beats: float          # where the file ends (its last event, End of Track included)
    bpm: float                # the tempo at the start
    tempo_beats: np.ndarray   # where each tempo starts, in beats
    tempo_bpm: np.ndarray     # the tempo from there on
    unmapped: dict[int, int]  # pitch -> count of notes the kit has no row for
    warnings: list[str] = field(default_factory=list)  # damage read past, things dropped
    notes: list[str] = field(default_factory=list)     # parts not read as drums, and why

    @property
    def length_beats(self) -> float:
        return self.bars.end

    @property
    def time_signature(self) -> tuple[int, int]:
        num, den = self.bars.metre[0].split("/")
        return int(num), int(den)

    def bpm_at(self, beat: float) -> float:
        """The tempo in force at `beat`."""
        i = np.searchsorted(self.tempo_beats, beat, side="right") - 1
        return float(self.tempo_bpm[i]) if i >= 0 else self.bpm


@dataclass
class Quantised:
    """Hits snapped to a step grid, with how far timing was moved."""

    steps: np.ndarray         # uint8 velocities (9, T)
    offsets: np.ndarray       # float32 timing offsets in steps (9, T), see evodrum.loop
    mean_shift: float         # mean |shift| in steps (0..0.5)
    max_shift: float          # largest |shift| in steps
    collisions: int           # hits dropped because a louder one took the cell


@dataclass
class Windows:
    """The grids a file gives, with where each starts and how many hits it really has."""

    grids: np.ndarray         # uint8 velocities (N, 9, S)
    offsets: np.ndarray       # float32 timing offsets in steps (N, 9, S)
    hits: np.ndarray          # (N,) hits in each window before any tiling
    start_bars: np.ndarray    # (N,) bar (from 1) where each window starts in the file
    start_beats: np.ndarray   # (N,) the same in beats
    loop_steps: int           # the loop's own length when it was tiled, else 0
    quantised: Quantised
    notes: list[str] = field(default_factory=list)  # bars skipped, hits left out

    def __len__(self) -> int:
        return len(self.grids)


def read_drums(path: str | Path, drum_map: str = "groove") -> DrumHits:
    """Parse a type-0/1 MIDI file and return its drum hits; BadMidiFile if unusable."""
    path = str(path)
    try:
        song = smf.parse(path)
        if song.format == 2:
            raise BadMidiFile(path, "type-2 MIDI (independent sequences) is not supported")
        if not len(song.notes):
            damage = f" ({'; '.join(song.warnings)})" if song.warnings else ""
            raise BadMidiFile(path, f"contains no notes{damage}")
        return _drum_hits(path, song, pitch_table(drum_map))
    except (smf.NotMidi, limits.LimitError) as e:
        raise BadMidiFile(path, e.reason) from None


def _drum_hits(path: str, song: smf.Smf, table: np.ndarray) -> DrumHits:
    warnings = list(song.warnings)
    keep, notes = drum_notes(song, table)
    if not keep.any():
        raise BadMidiFile(path, "no drums: " + "; ".join(notes))
    tpb = song.ticks_per_beat
    ticks, pitches, velocities = (song.notes[keep, i] for i in (0, 3, 4))
    rows = table[pitches]
    mapped = rows >= 0
    bad, counts = np.unique(pitches[~mapped], return_counts=True)
    if not mapped.any():
        raise BadMidiFile(path, "no notes on drum pitches the kit knows "
                          f"(pitches {', '.join(map(str, bad))})")
    beats = ticks[mapped] / tpb
    tempo_beats, tempo_bpm = _tempo_map(song, warnings)
    bars = _bars(path, song, float(beats.max()), warnings)
    start = tempo_bpm[0] if len(tempo_beats) and tempo_beats[0] == 0 else DEFAULT_BPM
    return DrumHits(path, beats, rows[mapped].astype(np.int64),
                    velocities[mapped].astype(np.uint8), bars, song.end_tick / tpb, float(start),
                    tempo_beats, tempo_bpm, dict(zip(bad.tolist(), counts.tolist())),
                    warnings, notes)


def _tempo_map(song: smf.Smf, warnings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(beat, BPM) of each usable tempo; a tempo of 0 or out of range is reported and skipped."""
    beats, bpms = [], []
    for tick, micros in song.tempos:
        bpm = 60e6 / micros if micros else float("inf")
        if not TEMPO_RANGE[0] <= bpm <= TEMPO_RANGE[1]:
            shown = "0 microseconds per beat" if not micros else f"{bpm:.6g} BPM"
            warnings.append(f"ignored a tempo of {shown} at beat {tick / song.ticks_per_beat:g}")
            continue
        beats.append(tick / song.ticks_per_beat)
        bpms.append(round(bpm, 3))
    return np.array(beats, float), np.array(bpms, float)


def _bars(path: str, song: smf.Smf, last_onset: float, warnings: list[str]) -> Bars:
    """Bar lines from the time signatures, up to the last whole bar the file needs.

    The last bar is the one holding the last hit, or the bar End of Track is
    nearest to when that is later: a file that ends at its last note (note_seq,
    pretty_midi, many DAWs) keeps the silent rest of its last bar.
    """
    tpb = song.ticks_per_beat
    end = song.end_tick / tpb
    changes = [(0.0, 4, 4)]
    for tick, num, den in song.time_signatures:
        beat = tick / tpb
        if num < 1:
            warnings.append(f"ignored a time signature of {num}/{den} at beat {beat:g}")
            continue
        if beat > max(last_onset, end) or (num, den) == changes[-1][1:]:
            continue
        if beat == changes[-1][0] or (len(changes) == 1 and beat == 0):
            changes[-1] = (beat, num, den)
        else:
            changes.append((beat, num, den))
    starts, lengths, fits, metres = [], [], [], []
    total = 0
    for i, (beat, num, den) in enumerate(changes):
        bar = num * 4 / den
        if i + 1 < len(changes):
            n = int(np.ceil((changes[i + 1][0] - beat) / bar - 1e-9))
            stop = changes[i + 1][0]
        else:
            held = int((last_onset - beat) // bar) + 1 if last_onset >= beat else 0
            n = max(held, int(round((end - beat) / bar)), 1 if not total else 0)
            stop = beat + n * bar
        total += n
        limits.BARS.check(path, total, "the file's length")
        first = beat + bar * np.arange(n)
        length = np.minimum(bar, stop - first)  # a metre change may cut the last bar short
        starts.append(first)
        lengths.append(length)
        fits.append(np.isclose(length, bar) & ((num, den) in SUPPORTED_TIME_SIGNATURES))
        metres += [f"{num}/{den}"] * n
    return Bars(np.concatenate(starts), np.concatenate(lengths), np.concatenate(fits), metres)


def drum_notes(song: smf.Smf, table: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Which notes are drums, and a plain reason for every part that is not.

    Channel 10 is drums. Without it, each (track, channel) part is judged on
    evidence: a track or instrument name, its General MIDI program, and whether
    its pitches look like a kit (mostly kick/snare/hi-hat pitches, few distinct
    pitches, no melody moving by steps).
    """
    notes = song.notes
    parts = notes[:, 1] * 16 + notes[:, 2]
    drum_channel = notes[:, 2] == DRUM_CHANNEL
    keep = np.zeros(len(notes), bool)
    reasons = []
    for part in np.unique(parts):
        mine = parts == part
        track, channel = divmod(int(part), 16)
        label = _part_label(song, track, channel)
        if drum_channel.any():
            if channel == DRUM_CHANNEL:
                keep |= mine
            else:
                reasons.append(f"{label} is not on the drum channel (10)")
            continue
        why = _not_drums(song, track, channel, notes[mine], table)
        if why is None:
            keep |= mine
        else:
            reasons.append(f"{label} {why}")
    return keep, reasons


def _part_label(song: smf.Smf, track: int, channel: int) -> str:
    name = song.track_names.get(track)
    return f"track {track + 1}" + (f" ({name!r})" if name else "") + f", channel {channel + 1},"


def _not_drums(song: smf.Smf, track: int, channel: int, notes: np.ndarray,
               table: np.ndarray) -> str | None:
    """None when a part off channel 10 is a drum part, else why it is not."""
    name = song.track_names.get(track, "")
    pitches, ticks = notes[:, 3], notes[:, 0]
    outside = table[pitches] < 0
    if DRUM_NAMES.search(name):
        return None if not outside.all() else "is named as drums but plays no drum pitches"
    if MELODIC_NAMES.search(name):
        return "is named as a melodic instrument"
    program = song.programs.get((track, channel))
    if program:  # program 0 is also what a part without a program change gets
        return (f"plays General MIDI program {program + 1} ({GM_FAMILIES[program // 8]}), "
                "an instrument, not drums")
    if outside.mean() > 0.05:
        low, high = int(pitches.min()), int(pitches.max())
        return f"plays pitches {low}-{high}, outside the drum kit's"
    core = np.isin(pitches, CORE_KIT_PITCHES).mean()
    distinct = len(np.unique(pitches))
    order = np.lexsort((-pitches, ticks))
    first = np.concatenate([[True], np.diff(ticks[order]) > 0])
    line = pitches[order][first]  # the top note of each onset
    moves = np.abs(np.diff(line))
    moves = moves[moves > 0]
    stepwise = float((moves <= 2).mean()) if len(moves) else 0.0
    if core >= 0.5 and distinct <= 16 and (stepwise < 0.4 or core >= 0.9):
        return None
    return (f"looks like a melody, not drums ({distinct} different pitches, "
            f"{core:.0%} on kick, snare or hi-hat pitches, {stepwise:.0%} of moves "
            "by a step)")


def quantise(hits: DrumHits, spec: GridSpec, length_steps: int | None = None) -> Quantised:
    """Hits onto the step grid with their offsets; hits at or past `length_steps` wrap round."""
    exact = hits.beats * spec.steps_per_beat
    shift = np.abs(exact - np.floor(exact + 0.5))
    if length_steps is None:
        length_steps = int(max(round(hits.length_beats * spec.steps_per_beat),
                               np.floor(exact.max() + 0.5) + 1))
    out, offsets, collisions = quantise_onsets(hits.rows, exact, hits.velocities, length_steps)
    return Quantised(out, offsets, float(shift.mean()), float(shift.max()), collisions)


def loop_steps(hits: DrumHits, spec: GridSpec) -> int | None:
    """The loop length in steps when the file is a loop no longer than the grid, else None.

    A loop is a file of whole bars that all fit the grid. Its length is stretched
    to the shortest length that tiles the grid (a 3-bar loop fills 4 bars with
    one silent bar, a 1-bar loop repeats 4 times).
    """
    if not hits.bars.fits.all():
        return None
    steps = round(hits.length_beats * spec.steps_per_beat)
    if steps > spec.steps:
        return None
    return next(n for n in range(steps, spec.steps + 1) if spec.steps % n == 0)


def to_windows(hits: DrumHits, spec: GridSpec = DEFAULT_SPEC, hop_bars: int = 1) -> Windows:
    """A tiled loop, or the windows of a performance's stretches of bars that fit the grid."""
    length = loop_steps(hits, spec)
    q = quantise(hits, spec, length)
    if length is not None:
        loop = q.steps
        return Windows(G.loop_to_grid_length(loop, length, spec)[None],
                       G.loop_to_grid_length(q.offsets, length, spec)[None],
                       np.array([int((loop > 0).sum())]), np.array([1]), np.array([0.0]),
                       length, q)
    bars, spb = hits.bars, spec.steps_per_beat
    hop = hop_bars * spec.beats_per_bar
    grids, offsets, starts, notes = [], [], [], []
    short = []
    # A performance is windowed up to where it really ends, not its rounded-up last bar.
    played = max(int(np.ceil(hits.end_beats * spb - 1e-9)),
                 int(np.floor(hits.beats.max() * spb + 0.5)) + 1)
    for a, b in bars.stretches():
        first = int(round(bars.start[a] * spb))
        stop = min(played, int(round((bars.start[b - 1] + bars.length[b - 1]) * spb)))
        cut = G.windows(q.steps[:, first:stop], spec, hop_bars)
        if not len(cut):
            short.append(f"bars {a + 1}-{b}" if b - a > 1 else f"bar {a + 1}")
        grids.append(cut)
        offsets.append(G.windows(q.offsets[:, first:stop], spec, hop_bars))
        starts.append(bars.start[a] + hop * np.arange(len(cut)))
    skipped = bars.skipped()
    if skipped:
        outside = ~_inside(hits.beats, bars)
        notes.append(f"skipped {', '.join(skipped)}: only 2/4, 4/4 and 8/4 bars fit the grid"
                     + (f" ({int(outside.sum())} hits there are left out)" if outside.any()
                        else ""))
    if short and skipped:
        notes.append(f"{', '.join(short)} between them are shorter than one window")
    last = max((int(round(bars.start[a] * spb)) + len(g) * hop * spb - hop * spb + spec.steps
                for (a, _), g in zip(bars.stretches(), grids) if len(g)), default=0)
    after = int((np.floor(hits.beats * spb + 0.5) >= last).sum()) if last else 0
    if after and not skipped:
        notes.append(f"{after} hits after the last whole window (bar "
                     f"{int(np.searchsorted(bars.start, last / spb + 1e-9, side='right'))}"
                     " on) are in no window")
    start_beats = np.concatenate(starts) if starts else np.zeros(0)
    windows = (np.concatenate(grids) if grids
               else np.zeros((0, *spec.shape), np.uint8))
    timing = (np.concatenate(offsets) if offsets
              else np.zeros((0, *spec.shape), np.float32))
    bar_of = np.searchsorted(bars.start, start_beats + 1e-9, side="right")
    return Windows(windows, timing, (windows > 0).sum(axis=(1, 2)), bar_of, start_beats, 0, q,
                   notes)


def _inside(beats: np.ndarray, bars: Bars) -> np.ndarray:
    """Which hits lie in bars that fit the grid."""
    i = np.clip(np.searchsorted(bars.start, beats + 1e-9, side="right") - 1, 0, len(bars.fits) - 1)
    return bars.fits[i]


def no_windows_reason(hits: DrumHits, windows: Windows, spec: GridSpec) -> str:
    """Why a file gave no window, in plain words."""
    if not hits.bars.fits.any():
        return (f"its bars are in {', '.join(sorted(set(hits.bars.metre)))}: only 2/4, 4/4 "
                "and 8/4 bars fit the grid")
    if not hits.bars.fits.all():
        return (f"no stretch of 2/4, 4/4 or 8/4 bars is as long as one {spec.describe()} "
                f"window ({'; '.join(windows.notes)})")
    return f"shorter than one {spec.describe()} window"


def read_windows(path: str | Path, spec: GridSpec = DEFAULT_SPEC, hop_bars: int = 1,
                 drum_map: str = "groove") -> tuple[DrumHits, Windows]:
    """The drum hits of a MIDI file and its windows; BadMidiFile if it gives none."""
    hits = read_drums(path, drum_map)
    windows = to_windows(hits, spec, hop_bars)
    if not len(windows):
        raise BadMidiFile(path, no_windows_reason(hits, windows, spec))
    return hits, windows


def read_grids_quantised(path: str | Path, spec: GridSpec = DEFAULT_SPEC,
                         hop_bars: int = 1) -> tuple[np.ndarray, Quantised]:
    """All grids of a MIDI file (float32, (N, 9, S)) and the quantisation report."""
    _, windows = read_windows(path, spec, hop_bars)
    return G.from_midi_velocity(windows.grids), windows.quantised


def read_grids(path: str | Path, spec: GridSpec = DEFAULT_SPEC, hop_bars: int = 1) -> np.ndarray:
    """All grids of a MIDI file as float32 velocities (N, 9, S); BadMidiFile if none."""
    return read_grids_quantised(path, spec, hop_bars)[0]


def read_loop(path: str | Path, spec: GridSpec = DEFAULT_SPEC) -> np.ndarray:
    """The grid where a MIDI file's drums come in (see `first_window`), float32 (9, S)."""
    _, windows = read_windows(path, spec)
    return G.from_midi_velocity(windows.grids[first_window(windows.grids, spec)])


def first_window(grids: np.ndarray, spec: GridSpec) -> int:
    """Where the drums come in: the first window whose first bar has a hit, else the
    first with any hit, else 0. A song's silent intro is passed over."""
    opens = np.flatnonzero(np.asarray(grids)[:, :, :spec.steps_per_bar].any(axis=(1, 2)))
    if len(opens):
        return int(opens[0])
    found = np.flatnonzero(np.asarray(grids).any(axis=(1, 2)))
    return int(found[0]) if len(found) else 0


def grid_to_midi(grid, spec: GridSpec = DEFAULT_SPEC, bpm: float = 120.0,
                 midi_type: int = 1, ticks_per_beat: int = WRITE_TICKS_PER_BEAT,
                 note_map=None) -> mido.MidiFile:
    """A MIDI file on channel 10 with tempo, time signature, GM pitches and one-step notes.

    `grid` is a Loop (its own spec is used, each hit at its performed tick) or a
    plain grid of `spec` (played straight). `note_map` (an evodrum.notemap.NoteMap)
    writes each row at a drum plugin's pitch instead of General MIDI's.
    """
    loop = as_loop(grid, spec)
    if loop.is_batch:
        raise ValueError("write one loop per MIDI file, not a batch")
    spec = loop.spec
    if midi_type not in (0, 1):
        raise ValueError("midi_type must be 0 or 1")
    step_ticks = ticks_per_beat // spec.steps_per_beat
    if step_ticks * spec.steps_per_beat != ticks_per_beat:
        raise ValueError(f"ticks_per_beat {ticks_per_beat} is not divisible into "
                         f"{spec.steps_per_beat} steps")
    played = loop.perform()
    pitches = (ROW_PITCH if note_map is None else note_map.array())[played.rows]
    velocity = G.to_midi_velocity(played.velocities)
    start = played.ticks(ticks_per_beat)
    end = spec.beats * ticks_per_beat
    # A note lasts a step, or up to the next hit of its drum, so a drum's notes never
    # overlap. The last hits ring to the loop's end, so tools that measure a file by
    # its last note-off (pretty_midi, note_seq) see the whole loop.
    order = np.lexsort((start, pitches))
    following = np.full(len(start), end)
    same = pitches[order][1:] == pitches[order][:-1]
    following[order[:-1][same]] = start[order][1:][same]
    stop = np.minimum(np.minimum(start + step_ticks, following), end)
    stop = np.where(start == start.max(initial=0), end, stop)
    # (tick, order, message): note-offs sort before note-ons at the same tick.
    events = [(int(t), 1, mido.Message("note_on", channel=DRUM_CHANNEL, note=int(p), velocity=int(v)))
              for t, p, v in zip(start, pitches, velocity)]
    events += [(int(t), 0, mido.Message("note_off", channel=DRUM_CHANNEL, note=int(p), velocity=0))
               for t, p in zip(stop, pitches)]
    events.sort(key=lambda e: (e[0], e[1]))

    meta = [mido.MetaMessage("track_name", name="evodrum", time=0),
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0),
            mido.MetaMessage("time_signature", numerator=spec.beats_per_bar, denominator=4, time=0)]
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


def write_midi(path: str | Path, grid, spec: GridSpec = DEFAULT_SPEC,
               bpm: float = 120.0, midi_type: int = 1, note_map=None) -> Path:
    """Write one loop (a Loop, or a grid played straight) as a MIDI file, atomically;
    `note_map` as in `grid_to_midi`."""
    path = Path(path)
    mid = grid_to_midi(grid, spec, bpm, midi_type, note_map=note_map)
    with atomic_path(path) as tmp:
        mid.save(tmp)
    return path
