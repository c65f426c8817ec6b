"""MIDI drum files in, drum grids out, and grids back out as MIDI.

Reading quantises by beat position (tempo changes do not matter), keeps the
loudest hit when two land in one cell, and keeps each hit's timing as its offset
from the grid (`evodrum.loop`): swing and triplets are 16ths with offsets.
Which notes are drums is decided on evidence (see `drum_notes`). A file's length
is rounded up to whole bars, so a loop that ends at its last note keeps its
silent end. Short loops are tiled to the grid length; longer performances are
cut into windows, only from stretches of bars that fit the grid (on a 4/4 grid
2/4 in pairs, 4/4, 8/4; on a 3/4 grid 3/4 and 6/8): bars in other metres are
skipped and reported. Writing gives a file on
channel 10 with each hit at its performed time, that reads back to the same
loop (cells and velocities exactly, offsets within a tick), and lasts its full
length even in tools that stop at the last note (pretty_midi, note_seq).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import mido
import numpy as np

from evodrum import grid as G
from evodrum import limits, smf
from evodrum.atomic import atomic_path
from evodrum.errors import FileError
from evodrum.grid import DEFAULT_SPEC, GridSpec
from evodrum.infile import once
from evodrum.kit import PERCUSSION_NAMES, PITCH_MAX, PITCH_MIN, ROW_PITCH, ROWS
from evodrum.loop import Loop, as_loop
from evodrum.loop import quantise as quantise_onsets
from evodrum.notemap import DEFAULT as DEFAULT_NOTE_MAP
from evodrum.notemap import builtin_names, reading
from evodrum.notemap import load as load_note_map

#: Changes whenever reading the same file can give different grids; corpora record it,
#: so a cache built by an older reader is rebuilt, not reused.
READER_VERSION = 5
DRUM_CHANNEL = 9  # MIDI channel 10, zero-based
WRITE_TICKS_PER_BEAT = 480
DEFAULT_BPM = 120.0
#: A tempo or time signature this close to the start (in beats) is the file's first, at
#: beat 0: no bar or tempo is that short, but exporters put meta events a tick in.
NEAR_START = 1 / 8
#: Tempi a file may set and still be kept (outside this, DEFAULT_BPM is used).
TEMPO_RANGE = (20.0, 400.0)

#: Kick, snare, hi-hat, crash and ride pitches: most of what a drum part plays.
CORE_KIT_PITCHES = np.array([22, 26, 35, 36, 37, 38, 39, 40, 42, 44, 46, 49, 51, 57])
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
    """A MIDI file evodrum cannot use; `reason` says why without the path.
    `holding_grid`: '' or the grid whose bars would hold a file refused for its metre
    (see `grid_hint`), for a command to offer as it can."""

    holding_grid: str = ""


@dataclass
class Bars:
    """The bar lines of a file: start and length in beats, and whether each fits the grid."""

    start: np.ndarray      # float64 beats
    length: np.ndarray     # float64 beats
    fits: np.ndarray       # bool: the grid holds it (see on_grid)
    metre: list[str]       # "4/4", "9/8", ... per bar
    beats: np.ndarray      # float64 beats of each bar's metre (cut short or not)
    lone: np.ndarray | None = None   # bool: half a grid bar with no other half to pair with

    @property
    def end(self) -> float:
        return float(self.start[-1] + self.length[-1]) if len(self.start) else 0.0

    def on_grid(self, beats_per_bar: int) -> "Bars":
        """The same bar lines, `fits` saying which a grid of `beats_per_bar` beats a bar
        holds: bars of that length (3/4 and 6/8 on a 3-beat grid), of half of it in pairs
        (2/4 on 4/4) or of twice it (8/4), not cut short by a metre change. A run of an
        odd number of half bars before more bars (a 2/4 pickup, one bar of 2 in a 4/4
        song) has its first left out, so grid bars keep to the file's bar lines."""
        ratio = beats_per_bar / self.beats
        whole = np.isclose(self.length, self.beats)
        half = whole & np.isclose(ratio, 2)
        fits = whole & (half | np.isclose(ratio, 1) | np.isclose(ratio, 0.5))
        lone = np.zeros(len(fits), bool)
        edges = np.diff(np.concatenate([[0], half.astype(np.int8), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            if (b - a) % 2 and b < len(fits):
                lone[a] = True
        return Bars(self.start, self.length, fits & ~lone, self.metre, self.beats, lone)

    def metre_map(self, start: float, stop: float) -> list[tuple[float, str]]:
        """(beat from `start`, metre) of the bar in force at `start` and of each bar
        before `stop` whose metre differs from the one before it."""
        i = max(int(np.searchsorted(self.start, start + 1e-9, side="right")) - 1, 0)
        out = [(0.0, self.metre[i])] if len(self.metre) else []
        for j in range(i + 1, len(self.start)):
            if self.start[j] >= stop - 1e-9:
                break
            if self.metre[j] != out[-1][1]:
                out.append((float(self.start[j] - start), self.metre[j]))
        return out

    def stretches(self) -> list[tuple[int, int]]:
        """Runs of consecutive bars that fit, as (first bar, one past the last) indices."""
        edges = np.diff(np.concatenate([[0], self.fits.astype(np.int8), [0]]))
        return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))

    def skipped(self) -> list[str]:
        """Plain descriptions of the runs of bars that do not fit, e.g. "bar 86 (9/8)",
        "bar 1 (2/4, alone)"."""
        out = []
        bad = ~self.fits
        edges = np.diff(np.concatenate([[0], bad.astype(np.int8), [0]]))
        lone = self.lone if self.lone is not None else np.zeros(len(bad), bool)
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            metres = sorted({m + (", alone" if lone[i] else "")
                             for i, m in enumerate(self.metre[a:b], a)})
            where = f"bar {a + 1}" if b - a == 1 else f"bars {a + 1}-{b}"
            out.append(f"{where} ({'; '.join(metres)})")
        return out


def fitting_metres(beats_per_bar: int) -> str:
    """The metres a grid of `beats_per_bar` beats a bar holds, in words: for 4,
    "2/4 (in pairs), 4/4 and 8/4"."""
    def metre(beats: float) -> str:
        return f"{beats:g}/4" if beats == int(beats) else f"{beats * 2:g}/8"
    eighths = f" ({beats_per_bar * 2}/8)" if beats_per_bar % 2 else ""
    return (f"{metre(beats_per_bar / 2)} (in pairs), {metre(beats_per_bar)}{eighths} "
            f"and {metre(beats_per_bar * 2)}")


def grid_hint(hits: DrumHits, spec: GridSpec) -> str:
    """'' or, for a file none of whose bars fits `spec`, the grid that holds them all,
    e.g. "a grid of 3/4 bars with --grid 4x3x4" for a waltz."""
    metres = sorted(set(hits.bars.metre))
    if on_grid(hits, spec).bars.fits.any():
        return ""
    beats = {Fraction(int(n) * 4, int(d)) for n, d in (m.split("/") for m in metres)}
    if len(beats) != 1:
        return ""
    bar = beats.pop()
    per_grid_bar = bar.denominator     # bars of the file in one grid bar of whole beats
    grid_beats = int(bar * per_grid_bar)
    if not 1 <= grid_beats <= 16:
        return ""
    two = "" if per_grid_bar == 1 else f" (two {metres[0]} bars to a grid bar)"
    return (f"a grid of {grid_beats}/4 bars with --grid "
            f"{max(1, spec.bars // per_grid_bar)}x{grid_beats}x{spec.steps_per_beat}{two}")


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
    info: list[str] = field(default_factory=list)      # plain notes: folded, extra tracks
    triplets: "Triplets | None" = None                 # triplet or shuffle material found

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

    def tempo_map(self, start: float, stop: float) -> list[tuple[float, float]]:
        """(beat from `start`, BPM) of the tempo at `start` and each change before `stop`."""
        out = [(0.0, self.bpm_at(start))]
        inside = (self.tempo_beats > start) & (self.tempo_beats < stop)
        for beat, bpm in zip(self.tempo_beats[inside], self.tempo_bpm[inside]):
            if bpm != out[-1][1]:
                out.append((float(beat - start), float(bpm)))
        return out


@dataclass
class Quantised:
    """Hits snapped to a step grid, with how far timing was moved."""

    steps: np.ndarray         # uint8 velocities (9, T)
    offsets: np.ndarray       # float32 timing offsets in steps (9, T), see evodrum.loop
    mean_shift: float         # mean |shift| in steps (0..0.5)
    max_shift: float          # largest |shift| in steps
    collisions: int           # hits dropped because a louder one took the cell
    hit_steps: np.ndarray | None = None  # (H,) the step each hit went to (before wrapping)
    hit_rows: np.ndarray | None = None   # (H,) its row
    hit_shift: np.ndarray | None = None  # (H,) how far it moved, in steps

    def within(self, first: int, stop: int) -> "Quantised":
        """The figures of the hits in steps [first, stop) (one window; no grid)."""
        inside = (self.hit_steps >= first) & (self.hit_steps < stop)
        shift = self.hit_shift[inside]
        cells = self.hit_rows[inside] * (stop - first) + self.hit_steps[inside] - first
        return Quantised(None, None, float(shift.mean()) if len(shift) else 0.0,
                         float(shift.max(initial=0.0)), int(len(cells) - len(np.unique(cells))))

    def describe(self) -> str:
        return (f"quantising moved hits by {self.mean_shift:.2f} steps on average "
                f"(max {self.max_shift:.2f}); {self.collisions} hits merged into louder ones")


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
    moved: list[Quantised] = field(default_factory=list)  # each window's quantising figures
    info: list[str] = field(default_factory=list)   # plain notes (a loop repeated, padded)

    def __len__(self) -> int:
        return len(self.grids)


def read_drums(path: str | Path, drum_map: str = "groove",
               drum_channel: int | None = None) -> DrumHits:
    """Parse a type-0/1 MIDI file and return its drum hits; BadMidiFile if unusable.

    `drum_map`: how pitches are read into rows (see `evodrum.notemap.reading`).
    `drum_channel` (1-16) reads that channel as the kit, whatever the file says
    about it (an e-kit recording on channel 1 with a program change). Inside a command
    (`infile.read_once`) a file read again the same way is parsed once."""
    path = str(path)
    table, own = reading(drum_map)
    return once(path, (table.tobytes(), own, drum_channel),
                lambda: _read_drums(path, table, own, drum_channel))


def _read_drums(path: str, table: np.ndarray, own: frozenset[int],
                drum_channel: int | None) -> DrumHits:
    try:
        song = smf.parse(path)
        if song.format == 2:
            raise BadMidiFile(path, "type-2 MIDI (independent sequences) is not supported")
        if not len(song.notes):
            damage = f" ({'; '.join(song.warnings)})" if song.warnings else ""
            raise BadMidiFile(path, f"contains no notes{damage}")
        return _drum_hits(path, song, table, own, drum_channel)
    except (smf.NotMidi, limits.LimitError) as e:
        raise BadMidiFile(path, e.reason) from None


def _drum_hits(path: str, song: smf.Smf, table: np.ndarray, own: frozenset[int],
               drum_channel: int | None) -> DrumHits:
    warnings, info = list(song.warnings), list(song.info)
    keep, notes = drum_notes(song, table, drum_channel, info)
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
    if len(bad):
        warnings.append(unread_pitches(bad, counts))
    beats = ticks[mapped] / tpb
    tempo_beats, tempo_bpm = _tempo_map(song, warnings)
    bars = _bars(path, song, float(beats.max()), warnings)
    start = tempo_bpm[0] if len(tempo_beats) and tempo_beats[0] == 0 else DEFAULT_BPM
    folded = folded_percussion(pitches[mapped & ~np.isin(pitches, list(own))], table)
    if folded:
        info.append(folded + written_with(np.unique(pitches[mapped])))
    return DrumHits(path, beats, rows[mapped].astype(np.int64),
                    velocities[mapped].astype(np.uint8), bars, song.end_tick / tpb, float(start),
                    tempo_beats, tempo_bpm, dict(zip(bad.tolist(), counts.tolist())),
                    warnings, notes, info, detect_triplets(beats))


def unread_pitches(pitches: np.ndarray, counts: np.ndarray) -> str:
    """One line saying which notes of a drum part no row reads, most played first (a drum
    plugin's articulations outside General MIDI, such as hi-hat edges on low pitches)."""
    total = int(counts.sum())
    if len(pitches) == 1:
        where = f"pitch {pitches[0]}, which no drum row reads"
    else:
        order = np.argsort(-counts, kind="stable")
        shown = [f"{p} ({n})" for p, n in zip(pitches[order][:8], counts[order][:8])]
        more = f" and {len(pitches) - 8} more" if len(pitches) > 8 else ""
        where = f"pitches no drum row reads: {', '.join(shown)}{more}"
    return (f"left out {total} note{'s' if total != 1 else ''} on {where} (a note map of "
            "your kit, given to --drum-map, can place them)")


def folded_percussion(pitches: np.ndarray, table: np.ndarray) -> str:
    """'' or one line saying which hand and Latin percussion (congas, shakers, cowbell,
    claps ...) was read into kit rows, e.g. "12 congas as toms (LT, HT)"."""
    found = np.isin(pitches, list(PERCUSSION_NAMES))
    if not found.any():
        return ""
    groups: dict[str, tuple[int, set]] = {}
    for pitch, n in zip(*np.unique(pitches[found], return_counts=True)):
        name = PERCUSSION_NAMES[int(pitch)]
        count, rows = groups.get(name, (0, set()))
        groups[name] = (count + int(n), rows | {ROWS[table[pitch]]})
    parts = [f"{n} {name} as {'/'.join(sorted(rows, key=ROWS.index))}"
             for name, (n, rows) in sorted(groups.items(), key=lambda g: -g[1][0])]
    return ("read percussion the kit has no row for into the nearest rows: "
            + ", ".join(parts))


def written_with(pitches: np.ndarray) -> str:
    """'' or a hint naming the shipped note map (other than General MIDI's) every one of
    `pitches` belongs to: a file evodrum wrote for that instrument, read as GM."""
    for name in builtin_names():
        if name != DEFAULT_NOTE_MAP and set(pitches.tolist()) <= set(load_note_map(name).pitches):
            return f" (written with --note-map {name}? read it with --drum-map {name})"
    return ""


def _tempo_map(song: smf.Smf, warnings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(beat, BPM) of each usable tempo; a tempo of 0 or out of range is reported and skipped.
    The first tempo holds from beat 0 when it comes before any note or within an eighth
    of a beat (NEAR_START): an exporter that puts it a tick in means the file's tempo, not
    120 BPM for one tick."""
    beats, bpms = [], []
    for tick, micros in song.tempos:
        bpm = 60e6 / micros if micros else float("inf")
        if not TEMPO_RANGE[0] <= bpm <= TEMPO_RANGE[1]:
            shown = "0 microseconds per beat" if not micros else f"{bpm:.6g} BPM"
            warnings.append(f"ignored a tempo of {shown} at beat {tick / song.ticks_per_beat:g}")
            continue
        beats.append(tick / song.ticks_per_beat)
        bpms.append(round(bpm, 3))
    first_note = song.notes[:, 0].min() / song.ticks_per_beat if len(song.notes) else 0.0
    if beats and (beats[0] < NEAR_START or beats[0] <= first_note):
        beats[0] = 0.0
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
        # a time signature a few ticks in is the file's first (an exporter's offset);
        # one later, even in a silent bar, starts where it says
        beat = 0.0 if tick < NEAR_START * tpb else tick / tpb
        if num < 1:
            warnings.append(f"ignored a time signature of {num}/{den} at beat {beat:g}")
            continue
        if beat > max(last_onset, end) or (num, den) == changes[-1][1:]:
            continue
        if beat == changes[-1][0] or (len(changes) == 1 and beat == 0):
            changes[-1] = (beat, num, den)
        else:
            changes.append((beat, num, den))
    starts, lengths, nominal, metres = [], [], [], []
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
        nominal.append(np.full(n, bar))
        metres += [f"{num}/{den}"] * n
    lengths = np.concatenate(lengths)
    return Bars(np.concatenate(starts), lengths, np.zeros(len(lengths), bool), metres,
                np.concatenate(nominal)).on_grid(DEFAULT_SPEC.beats_per_bar)


def drum_notes(song: smf.Smf, table: np.ndarray, drum_channel: int | None = None,
               info: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Which notes are drums, and a plain reason for every part that is not.

    `drum_channel` (1-16), when given, is the kit and nothing else is. Otherwise
    channel 10 is drums; without it, each (track, channel) part is judged on
    evidence: a track or instrument name, whether its pitches look like a kit
    (see `kit_evidence`) and its General MIDI program. Parts read as drums in
    spite of a program are named in `info`.
    """
    notes = song.notes
    parts = notes[:, 1] * 16 + notes[:, 2]
    chosen = DRUM_CHANNEL if drum_channel is None else drum_channel - 1
    on_chosen = notes[:, 2] == chosen
    keep = np.zeros(len(notes), bool)
    reasons = []
    if drum_channel is not None and not on_chosen.any():
        played = ", ".join(str(c + 1) for c in np.unique(notes[:, 2]))
        return keep, [f"nothing is played on channel {drum_channel} (--drum-channel); the "
                      f"file plays on channel{'s' if ',' in played else ''} {played}"]
    for part in np.unique(parts):
        mine = parts == part
        track, channel = divmod(int(part), 16)
        label = _part_label(song, track, channel)
        if on_chosen.any():
            if channel == chosen:
                keep |= mine
            else:
                why = ("is not on the channel chosen with --drum-channel"
                       if drum_channel is not None else "is not on the drum channel")
                reasons.append(f"{label} {why} ({chosen + 1})")
            continue
        why = _not_drums(song, track, channel, notes[mine], table)
        if why is None:
            keep |= mine
            program = song.programs.get((track, channel))
            if program and info is not None:
                info.append(f"read {label.rstrip(',')} as drums: it sets General MIDI program "
                            f"{program + 1} ({GM_FAMILIES[program // 8]}) but plays a drum kit "
                            "(choose another with --drum-channel)")
        else:
            reasons.append(f"{label} {why}")
    return keep, reasons


def _part_label(song: smf.Smf, track: int, channel: int) -> str:
    name = song.track_names.get(track)
    return f"track {track + 1}" + (f" ({name!r})" if name else "") + f", channel {channel + 1},"


@dataclass
class KitEvidence:
    """How much a part off channel 10 plays like a drum kit."""

    core: float        # share of notes on kick, snare, hi-hat, crash and ride pitches
    on_kit: float      # share of notes on pitches the kit reads
    distinct: int      # different pitches
    stepwise: float    # share of the top line's moves by one or two semitones
    onward: float      # share of the top line's moves that keep its direction (a contour)
    rows: int          # kick, snare and cymbal/hat families played (0-3)

    @property
    def contour(self) -> bool:
        """A melodic line: mostly steps, and steps that keep going one way (a kit's
        kick-snare-kick moves by a step too, but turns back)."""
        return self.stepwise >= 0.4 and self.onward >= 0.35

    @property
    def is_kit(self) -> bool:
        """Mostly kit pitches and no melodic contour. A kit with articulations
        (an e-kit's rims, edges and bells) may use many distinct pitches."""
        if self.core < 0.5 or self.on_kit < 0.9:
            return False
        if self.distinct <= 16:
            return not self.contour or self.core >= 0.9
        return not self.contour and self.onward < 0.5 and self.rows == 3

    @property
    def is_full_kit(self) -> bool:
        """Evidence strong enough to outweigh a program change: kick, snare and
        cymbals all played, mostly on kit pitches, no contour."""
        return self.is_kit and self.rows == 3 and self.on_kit >= 0.95

    def describe(self) -> str:
        return (f"{self.distinct} different pitches, {self.core:.0%} on kick, snare or "
                f"hi-hat pitches, {self.stepwise:.0%} of moves by a step")


_KICKS, _SNARES = np.array([35, 36]), np.array([37, 38, 39, 40])
_CYMBALS = np.array([22, 26, 42, 44, 46, 49, 51, 52, 53, 55, 57, 59])


def kit_evidence(notes: np.ndarray, table: np.ndarray) -> KitEvidence:
    """Measure a part's notes (rows of tick, track, channel, pitch, velocity)."""
    pitches, ticks = notes[:, 3], notes[:, 0]
    order = np.lexsort((-pitches, ticks))
    first = np.concatenate([[True], np.diff(ticks[order]) > 0])
    line = pitches[order][first]  # the top note of each onset
    moves = np.diff(line)
    moves = moves[moves != 0]
    stepwise = float((np.abs(moves) <= 2).mean()) if len(moves) else 0.0
    onward = float((np.sign(moves[1:]) == np.sign(moves[:-1])).mean()) if len(moves) > 1 else 0.0
    rows = sum(bool(np.isin(pitches, family).any()) for family in (_KICKS, _SNARES, _CYMBALS))
    return KitEvidence(float(np.isin(pitches, CORE_KIT_PITCHES).mean()),
                       float((table[pitches] >= 0).mean()), len(np.unique(pitches)),
                       stepwise, onward, rows)


def _not_drums(song: smf.Smf, track: int, channel: int, notes: np.ndarray,
               table: np.ndarray) -> str | None:
    """None when a part off channel 10 is a drum part, else why it is not."""
    name = song.track_names.get(track, "")
    pitches = notes[:, 3]
    outside = table[pitches] < 0
    if DRUM_NAMES.search(name):
        return None if not outside.all() else "is named as drums but plays no drum pitches"
    if MELODIC_NAMES.search(name):
        return "is named as a melodic instrument"
    evidence = kit_evidence(notes, table)
    program = song.programs.get((track, channel))
    if program:  # program 0 is also what a part without a program change gets
        if evidence.is_full_kit:
            return None
        return (f"plays General MIDI program {program + 1} ({GM_FAMILIES[program // 8]}), "
                "an instrument, not drums (read it with --drum-channel "
                f"{channel + 1} if it is a kit)")
    if outside.mean() > 0.05 and not evidence.is_kit:
        low, high = int(pitches.min()), int(pitches.max())
        return (f"plays pitches {low}-{high}, {outside.mean():.0%} of its notes outside the "
                f"drum kit's pitches ({PITCH_MIN}-{PITCH_MAX})")
    if evidence.is_kit:
        return None
    return f"looks like a melody, not drums ({evidence.describe()})"


#: A hit is a triplet hit when it sits within this many beats of a triplet-only position
#: (1/6, 1/3, 2/3, 5/6 of a beat), a straight one when as near an off-beat sixteenth.
TRIPLET_TOLERANCE = 1 / 32
#: A file plays triplets or a shuffle when triplet hits are at least this share of all ...
TRIPLET_SHARE = 0.1
#: ... and this many times the straight ones. Human timing alone puts some straight hits
#: near a triplet: on the Groove corpus this flags 28% of the rock performances (many
#: have triplet fills) and 17% of country, against 70% of jazz, 82% of jazz swing and
#: 67% of Purdie shuffles (README "Triplets and shuffle").
TRIPLET_MAJORITY = 2.0


@dataclass
class Triplets:
    """Triplet material: hits on triplet positions (k/6 of a beat) rather than 16ths."""

    share: float       # of all hits
    count: int
    kind: str          # "triplet eighths", "a shuffle (swung eighths)", ...

    def describe(self) -> str:
        return (f"plays {self.kind}: {self.count} hits ({self.share:.0%}) sit on triplet "
                "positions, not sixteenths")


def detect_triplets(beats: np.ndarray) -> Triplets | None:
    """Triplet or shuffle material in hit positions (in beats), named, or None.

    Counts hits near a triplet-only position against hits near an off-beat
    sixteenth (see TRIPLET_TOLERANCE); which triplet positions are used names it.
    """
    if not len(beats):
        return None
    frac = np.mod(beats, 1.0)
    sixth = np.rint(frac * 6).astype(np.int64) % 6
    quarter = np.rint(frac * 4).astype(np.int64) % 4
    near_triplet = np.abs(frac * 6 - np.rint(frac * 6)) / 6 <= TRIPLET_TOLERANCE
    near_sixteenth = np.abs(frac * 4 - np.rint(frac * 4)) / 4 <= TRIPLET_TOLERANCE
    found = near_triplet & (sixth % 3 != 0)
    straight = int((near_sixteenth & (quarter % 2 == 1)).sum())
    total = int(found.sum())
    if total < TRIPLET_SHARE * len(beats) or total < TRIPLET_MAJORITY * straight:
        return None
    c = np.bincount(sixth[found], minlength=6)
    if c[1] + c[5] < 0.2 * total:
        kind = ("a shuffle (swung eighths)" if c[2] < 0.25 * c[4] else "triplet eighths")
    elif c[1] + c[4] < 0.25 * (c[2] + c[5]):
        kind = "swung sixteenths"
    else:
        kind = "triplet sixteenths"
    return Triplets(total / len(beats), total, kind)


def quantise(hits: DrumHits, spec: GridSpec, length_steps: int | None = None) -> Quantised:
    """Hits onto the step grid with their offsets; hits at or past `length_steps` wrap round."""
    exact = hits.beats * spec.steps_per_beat
    shift = np.abs(exact - np.floor(exact + 0.5))
    if length_steps is None:
        length_steps = int(max(round(hits.length_beats * spec.steps_per_beat),
                               np.floor(exact.max() + 0.5) + 1))
    out, offsets, collisions = quantise_onsets(hits.rows, exact, hits.velocities, length_steps)
    return Quantised(out, offsets, float(shift.mean()), float(shift.max()), collisions,
                     np.floor(exact + 0.5).astype(np.int64), hits.rows, shift)


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


def loop_part(hits: DrumHits, spec: GridSpec) -> tuple[int, int] | None:
    """(first bar, one past the last) of the one stretch of fitting bars in a file that
    is otherwise a loop: shorter than one window, with the bars the grid cannot hold
    only before it (a 2/4 pickup, a count-in) or after it; else None. Played as a loop
    is played, those bars left out."""
    stretches = hits.bars.stretches()
    if hits.bars.fits.all() or len(stretches) != 1:
        return None
    a, b = stretches[0]
    span = hits.bars.start[b - 1] + hits.bars.length[b - 1] - hits.bars.start[a]
    return (a, b) if round(span * spec.steps_per_beat) < spec.steps else None


def _bars_of(hits: DrumHits, spec: GridSpec, a: int, b: int) -> DrumHits:
    """`hits` cut to bars [a, b) and moved to start at beat 0 (the hits of other bars
    left out, a hit played just ahead of bar `a` kept on its downbeat)."""
    bars, early = hits.bars, 0.5 / spec.steps_per_beat
    start, end = bars.start[a], bars.start[b - 1] + bars.length[b - 1]
    keep = (hits.beats >= start - early) & (hits.beats < end - early)
    part = Bars(bars.start[a:b] - start, bars.length[a:b], bars.fits[a:b], bars.metre[a:b],
                bars.beats[a:b], None if bars.lone is None else bars.lone[a:b])
    return replace(hits, beats=np.maximum(hits.beats[keep] - start, 0.0), rows=hits.rows[keep],
                   velocities=hits.velocities[keep], bars=part,
                   end_beats=min(hits.end_beats, end) - start)


def on_grid(hits: DrumHits, spec: GridSpec) -> DrumHits:
    """`hits` with its bars fitted to `spec`'s bars (see `Bars.on_grid`)."""
    return replace(hits, bars=hits.bars.on_grid(spec.beats_per_bar))


def to_windows(hits: DrumHits, spec: GridSpec = DEFAULT_SPEC, hop_bars: int = 1,
               to_last_bar: bool = False) -> Windows:
    """A tiled loop, or the windows of a performance's stretches of bars that fit the grid.

    A performance is windowed up to where it really ends (a recording stops mid-bar), or
    with `to_last_bar` to the end of its last bar, the rest of it silent: what a command
    that plays a whole pattern needs when End of Track comes at the last note."""
    hits = on_grid(hits, spec)
    part = loop_part(hits, spec)
    if part is not None:
        return _loop_of_part(hits, spec, *part)
    length = loop_steps(hits, spec)
    q = quantise(hits, spec, length)
    if length is not None:
        loop = q.steps
        return Windows(G.loop_to_grid_length(loop, length, spec)[None],
                       G.loop_to_grid_length(q.offsets, length, spec)[None],
                       np.array([int((loop > 0).sum())]), np.array([1]), np.array([0.0]),
                       length, q, moved=[q], info=_tiling(hits, spec, length))
    bars, spb = hits.bars, spec.steps_per_beat
    hop = hop_bars * spec.beats_per_bar
    grids, offsets, starts, notes = [], [], [], []
    short = []
    played = (round(bars.end * spb) if to_last_bar else
              max(int(np.ceil(hits.end_beats * spb - 1e-9)),
                  int(np.floor(hits.beats.max() * spb + 0.5)) + 1))
    for a, b in bars.stretches():
        first = int(round(bars.start[a] * spb))
        stop = min(played, int(round((bars.start[b - 1] + bars.length[b - 1]) * spb)))
        steps, timing = q.steps[:, first:stop], q.offsets[:, first:stop]
        if to_last_bar and b == len(bars.fits):   # the file's last part of a grid bar
            # (an odd 2/4 bar) is padded with silence to a whole one
            pad = ((0, 0), (0, -(stop - first) % spec.steps_per_bar))
            steps, timing = np.pad(steps, pad), np.pad(timing, pad)
        cut = G.windows(steps, spec, hop_bars)
        if not len(cut):
            short.append(f"bars {a + 1}-{b}" if b - a > 1 else f"bar {a + 1}")
        grids.append(cut)
        offsets.append(G.windows(timing, spec, hop_bars))
        starts.append(bars.start[a] + hop * np.arange(len(cut)))
    skipped = bars.skipped()
    if skipped:
        notes.append(_skipped_note(skipped, spec, int((~_inside(hits.beats, bars)).sum())))
    if short and skipped:
        one = len(short) == 1 and short[0].startswith("bar ")
        notes.append(f"{', '.join(short)} {'is' if one else 'are'} shorter than one window")
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
    first_steps = np.rint(start_beats * spb).astype(np.int64)
    moved = [q.within(a, a + spec.steps) for a in first_steps]
    return Windows(windows, timing, (windows > 0).sum(axis=(1, 2)), bar_of, start_beats, 0, q,
                   notes, moved)


def _loop_of_part(hits: DrumHits, spec: GridSpec, a: int, b: int) -> Windows:
    """Bars [a, b) of a file played as a loop (see `loop_part`), said with the bars left
    out as a warning; the one window starts at bar `a`."""
    part = _bars_of(hits, spec, a, b)
    loop = to_windows(part, spec)
    outside = len(hits.beats) - len(part.beats)
    kept = f"bar {a + 1} is" if b - a == 1 else f"bars {a + 1}-{b} are"
    note = _skipped_note(hits.bars.skipped(), spec, outside) + f"; {kept} played as a loop"
    return replace(loop, start_bars=np.array([a + 1]), start_beats=hits.bars.start[a:a + 1],
                   notes=[note] + loop.notes)


def _holds(spec: GridSpec) -> str:
    """What the grid's bars hold: 'a grid of 4/4 bars holds 2/4 (in pairs), 4/4 and 8/4 bars'."""
    return f"a grid of {spec.beats_per_bar}/4 bars holds {fitting_metres(spec.beats_per_bar)} bars"


def _skipped_note(skipped: list[str], spec: GridSpec, left_out: int) -> str:
    """The line naming the bars a grid cannot hold and the hits left out with them."""
    return (f"skipped {', '.join(skipped)}: {_holds(spec)}"
            + (f" ({left_out} hits there are left out)" if left_out else ""))


def _tiling(hits: DrumHits, spec: GridSpec, length: int) -> list[str]:
    """A line saying how a loop shorter than the grid was made to fill it ([] when not)."""
    own = round(hits.length_beats * spec.steps_per_beat)
    if own == spec.steps:
        return []
    metres = list(dict.fromkeys(hits.bars.metre))
    n = len(hits.bars.start)
    loop = f"a {n}-bar loop" + (f" of {' and '.join(metres)}" if metres != ["4/4"] else "")
    grid = f"{spec.bars} bars of {spec.beats_per_bar}/4"
    pad, repeats = (length - own) / spec.steps_per_beat, spec.steps // length
    return [loop + (f", with {pad:g} silent beats added at its end" if pad else "")
            + (f", repeated {repeats} times" if repeats > 1 else "")
            + f" to fill the grid's {grid}"]


def _inside(beats: np.ndarray, bars: Bars) -> np.ndarray:
    """Which hits lie in bars that fit the grid."""
    i = np.clip(np.searchsorted(bars.start, beats + 1e-9, side="right") - 1, 0, len(bars.fits) - 1)
    return bars.fits[i]


def no_windows_reason(hits: DrumHits, windows: Windows, spec: GridSpec) -> str:
    """Why a file gave no window, in plain words."""
    hits = on_grid(hits, spec)
    if not hits.bars.fits.any():
        metres = sorted(set(hits.bars.metre))
        return f"its bars are in {', '.join(metres)}: {_holds(spec)}"
    if not hits.bars.fits.all():
        split = len(hits.bars.stretches()) > 1
        return (f"no stretch of bars that fit is as long as one window ({spec.describe()})"
                + ("; bars on either side of one the grid cannot hold are not looped together"
                   " (they are not next to each other in the music)" if split else "")
                + f" ({'; '.join(windows.notes)})")
    return f"shorter than one {spec.describe()} window"


def read_windows(path: str | Path, spec: GridSpec = DEFAULT_SPEC, hop_bars: int = 1,
                 drum_map: str = "groove", drum_channel: int | None = None,
                 to_last_bar: bool = False, hint: bool = True) -> tuple[DrumHits, Windows]:
    """The drum hits of a MIDI file and its windows; BadMidiFile if it gives none, with
    the --grid that would hold its bars when `hint` (a command whose grid is a model's
    has no --grid to offer)."""
    return cut_windows(read_drums(path, drum_map, drum_channel), spec, hop_bars, to_last_bar,
                       hint)


def cut_windows(hits: DrumHits, spec: GridSpec = DEFAULT_SPEC, hop_bars: int = 1,
                to_last_bar: bool = False, hint: bool = True) -> tuple[DrumHits, Windows]:
    """`read_windows` of hits already read: a file parsed once is cut as often as a
    command needs (to its last bar, then as `show` counts windows)."""
    hits = on_grid(hits, spec)
    windows = to_windows(hits, spec, hop_bars, to_last_bar)
    if not len(windows):
        holding = grid_hint(hits, spec)
        error = BadMidiFile(hits.path, no_windows_reason(hits, windows, spec)
                            + (f"; read it on {holding}" if hint and holding else ""))
        error.holding_grid = holding
        raise error
    return hits, windows


def read_grids_quantised(path: str | Path, spec: GridSpec = DEFAULT_SPEC,
                         hop_bars: int = 1) -> tuple[np.ndarray, Quantised]:
    """All grids of a MIDI file (float32, (N, 9, S)) and the quantisation report."""
    _, windows = read_windows(path, spec, hop_bars)
    return G.from_midi_velocity(windows.grids), windows.quantised


def read_grids(path: str | Path, spec: GridSpec = DEFAULT_SPEC, hop_bars: int = 1) -> np.ndarray:
    """All grids of a MIDI file as float32 velocities (N, 9, S); BadMidiFile if none."""
    return read_grids_quantised(path, spec, hop_bars)[0]


def read_seed(path: str | Path, spec: GridSpec = DEFAULT_SPEC, drum_map: str = "groove",
              drum_channel: int | None = None) -> Loop:
    """The loop where a MIDI file's drums come in (see `first_window`), with its own
    timing: a seed loop as the musician played it, on a model's grid."""
    _, windows = read_windows(path, spec, 1, drum_map, drum_channel, hint=False)
    i = first_window(windows.grids, spec)
    return Loop(G.from_midi_velocity(windows.grids[i]), windows.offsets[i], spec)


def read_loop(path: str | Path, spec: GridSpec = DEFAULT_SPEC, drum_map: str = "groove",
              drum_channel: int | None = None) -> np.ndarray:
    """The grid where a MIDI file's drums come in (see `first_window`), float32 (9, S)."""
    return read_seed(path, spec, drum_map, drum_channel).velocities


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
                 note_map=None, tempo_map: list[tuple[float, float]] | None = None,
                 metre: str | list[tuple[float, str]] | None = None) -> mido.MidiFile:
    """A MIDI file on channel 10 with tempo, time signature, GM pitches and one-step notes.

    `grid` is a Loop (its own spec is used, each hit at its performed tick) or a
    plain grid of `spec` (played straight). `note_map` (an evodrum.notemap.NoteMap)
    writes each row at a drum plugin's pitch instead of General MIDI's. `tempo_map`
    ((beat, BPM) pairs, the first at beat 0) replaces `bpm` where a loop read from a
    file is written back with the tempo changes it had. `metre` ("6/8", "2/4", or
    (beat, metre) pairs, the first at beat 0, where the file's metre changes) is the
    time signature written when the loop came from a file in it whose bars the grid
    holds; else the grid's own (N/4).
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
    if pitches.size and not (0 <= pitches.min() and pitches.max() <= 127):
        raise ValueError("MIDI pitches must lie in 0..127")
    tempi = [(round(b * ticks_per_beat), mido.bpm2tempo(t))
             for b, t in (tempo_map or [(0, bpm)]) if round(b * ticks_per_beat) < end]
    metres = [(0.0, metre)] if metre is None or isinstance(metre, str) else metre
    signatures = [(round(b * ticks_per_beat), _signature(m, spec)) for b, m in metres
                  if round(b * ticks_per_beat) < end]
    meta = [mido.MetaMessage("track_name", name="evodrum", time=0),
            mido.MetaMessage("set_tempo", tempo=tempi[0][1], time=0),
            mido.MetaMessage("time_signature", **signatures[0][1], time=0)]
    changes = sorted(   # later tempo and metre changes: (tick, message)
        [(t, mido.MetaMessage("set_tempo", tempo=tempo)) for t, tempo in tempi[1:]]
        + [(t, mido.MetaMessage("time_signature", **sig)) for t, sig in signatures[1:]],
        key=lambda change: change[0])
    notes = _note_events(start, stop, pitches, velocity)
    mid = mido.MidiFile(type=midi_type, ticks_per_beat=ticks_per_beat)
    if midi_type == 0:
        mid.tracks.append(mido.MidiTrack(meta + _track(changes, notes, end)))
    else:
        mid.tracks.extend([mido.MidiTrack(meta + _track(changes, NO_NOTES, end)),
                           mido.MidiTrack(_track([], notes, end))])
    return mid


def _signature(metre: str | None, spec: GridSpec) -> dict:
    """The time signature to write: `metre` when the grid holds bars of it, else the
    grid's bars in quarter notes."""
    if metre is not None:
        num, den = (int(x) for x in metre.split("/"))
        bars = Bars(np.zeros(1), np.array([num * 4 / den]), np.zeros(1, bool), [metre],
                    np.array([num * 4 / den])).on_grid(spec.beats_per_bar)
        if bars.fits[0] and den in (1, 2, 4, 8, 16, 32):
            return {"numerator": num, "denominator": den}
    return {"numerator": spec.beats_per_bar, "denominator": 4}


#: `_note_events` of a track without notes.
NO_NOTES = (np.zeros(0, np.int64), [], [], [])


def _note_events(start, stop, pitches, velocity) -> tuple[np.ndarray, list, list, list]:
    """(ticks, types, pitches, velocities) of the note-offs and note-ons in file order:
    by tick, note-offs before note-ons at one tick, each in playing order."""
    ticks = np.concatenate([stop, start]).astype(np.int64)
    order = np.argsort(ticks, kind="stable")
    is_on = order >= len(stop)
    types = np.where(is_on, "note_on", "note_off").tolist()
    velocities = np.concatenate([np.zeros_like(velocity), velocity])[order]   # offs: 0
    return ticks[order], types, np.concatenate([pitches, pitches])[order].tolist(), \
        velocities.tolist()


def _track(changes: list[tuple[int, mido.MetaMessage]], notes, end: int) -> list[mido.Message]:
    """The messages of one track, each made once with its delta time: tempo and metre
    changes ((tick, message)) and `_note_events`, changes first at one tick, ending at
    tick `end`.
    Note fields are ints already checked (pitches) or in range by construction, so
    mido's per-message checks (most of a file's cost) are skipped."""
    ticks, types, pitches, velocities = notes
    every = np.concatenate([np.array([t for t, _ in changes], dtype=np.int64), ticks])
    order = np.argsort(every, kind="stable")
    deltas = np.diff(every[order], prepend=0).tolist()
    track, first_note = [], len(changes)
    for i, delta in zip(order.tolist(), deltas):
        if i < first_note:
            track.append(changes[i][1].copy(time=delta))
        else:
            j = i - first_note
            track.append(mido.Message(types[j], skip_checks=True, channel=DRUM_CHANNEL,
                                      note=pitches[j], velocity=velocities[j], time=delta))
    last = int(every[order[-1]]) if len(every) else 0
    return track + [mido.MetaMessage("end_of_track", time=end - last)]


def write_midi(path: str | Path, grid, spec: GridSpec = DEFAULT_SPEC,
               bpm: float = 120.0, midi_type: int = 1, note_map=None,
               tempo_map: list[tuple[float, float]] | None = None,
               metre: str | list[tuple[float, str]] | None = None) -> Path:
    """Write one loop (a Loop, or a grid played straight) as a MIDI file, atomically;
    `note_map`, `tempo_map` and `metre` as in `grid_to_midi`."""
    path = Path(path)
    mid = grid_to_midi(grid, spec, bpm, midi_type, note_map=note_map, tempo_map=tempo_map,
                       metre=metre)
    with atomic_path(path) as tmp:
        mid.save(tmp)
    return path
