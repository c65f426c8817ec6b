"""Grids as numpy array files: .npy (bare array) or .npz (array plus its resolution),
and `read_file`, which every command uses to read the loops it is given (MIDI or grid files)."""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from evodrum import npyfile
from evodrum.atomic import atomic_path
from evodrum.errors import EvodrumError
from evodrum.grid import MAX_BARS, MAX_STEPS, GridSpec, check_grids, from_midi_velocity
from evodrum.infile import NotAFile, open_regular
from evodrum.loop import Loop, as_loop

if TYPE_CHECKING:
    from evodrum.midi import DrumHits

SUFFIXES = (".npy", ".npz")


def save_grids(path: str | Path, grids, spec: GridSpec) -> Path:
    """Write grids (9, S) or (N, 9, S), or Loops, atomically; .npz also records the
    resolution and, for Loops played with feel, their timing offsets."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise EvodrumError(f"{path}: grid files end in .npy or .npz")
    loops = as_loop(grids, spec).batch()
    grids, spec = loops.velocities, loops.spec
    timing = {"offsets": loops.offsets} if loops.offsets.any() else {}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            if path.suffix.lower() == ".npz":
                np.savez_compressed(f, grids=grids, spec=json.dumps(spec.to_dict()), **timing)
            else:
                np.save(f, grids)
    return path


def load_grids(path: str | Path, spec: GridSpec) -> tuple[np.ndarray, GridSpec]:
    """Read a grid file as a (N, 9, S) batch (N >= 1); an .npz's own resolution wins over
    `spec`.

    Array headers are checked before any data is read: numbers only, a shape of loops of
    the file's resolution, and a size within evodrum's limits (see evodrum.npyfile), so
    a header claiming 10^13 cells or 1 MB records is refused instead of exhausting memory.
    """
    loops = load_loops(path, spec)
    return loops.velocities, loops.spec


def load_loops(path: str | Path, spec: GridSpec) -> Loop:
    """Read a grid file as a batch of Loops: with the timing an .npz keeps (its
    'offsets', checked like the grids), else straight."""
    path = Path(path)
    try:
        f, size = open_regular(path)
    except NotAFile as e:
        raise EvodrumError(f"{path}: {e.reason.replace('not a file', 'not a grid file')}") from None
    try:
        with f:
            if path.suffix.lower() != ".npz":
                grids = npyfile.read_array(f, path, check_shape=_loops_of(spec),
                                           name="the grid array", size=size)
                return Loop.straight(check_grids(grids, spec), spec)
            offsets = None
            with zipfile.ZipFile(f) as archive:
                names = archive.namelist()
                if "grids.npy" not in names:
                    raise ValueError("it holds no array named 'grids'")
                budget = npyfile.Budget(path)
                if "spec.npy" in names:
                    with archive.open("spec.npy") as member:
                        text = npyfile.read_array(member, path, kinds=npyfile.TEXT,
                                                  budget=budget, name="its resolution",
                                                  size=archive.getinfo("spec.npy").file_size)
                    spec = GridSpec.from_dict(json.loads(str(text)))
                with archive.open("grids.npy") as member:
                    grids = npyfile.read_array(member, path, budget=budget, name="the grid array",
                                               check_shape=_loops_of(spec),
                                               size=archive.getinfo("grids.npy").file_size)
                if "offsets.npy" in names:
                    with archive.open("offsets.npy") as member:
                        offsets = npyfile.read_array(member, path, budget=budget,
                                                     name="the timing offsets",
                                                     check_shape=_loops_of(spec),
                                                     size=archive.getinfo("offsets.npy").file_size)
        grids = check_grids(grids, spec)
        return Loop(grids, np.zeros_like(grids) if offsets is None
                    else np.reshape(offsets, grids.shape), spec)
    except (OSError, ValueError, KeyError, TypeError, EOFError, RecursionError,
            zipfile.BadZipFile) as e:
        raise EvodrumError(f"{path}: not a grid file ({e})") from None


def _loops_of(spec: GridSpec):
    """A header check: (9, S) or (N >= 1, 9, S) with S the resolution's steps."""
    def check(shape: tuple) -> None:
        if len(shape) not in (2, 3) or tuple(shape[-2:]) != spec.shape:
            raise ValueError(f"its grids have shape {shape}; loops of this resolution are "
                             f"({spec.shape[0]}, {spec.shape[1]}) or (N, {spec.shape[0]}, "
                             f"{spec.shape[1]})")
        if len(shape) == 3 and shape[0] == 0:
            raise ValueError("it holds no loops (0 grids)")
    return check


def holds_grids(path: str | Path) -> bool:
    """False for an .npz that is a readable archive without a 'grids' array (a run's
    checkpoint or other state, not loops); True for anything else a reader should try."""
    if Path(path).suffix.lower() != ".npz":
        return True
    try:
        with zipfile.ZipFile(path) as archive:
            return "grids.npy" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return True  # damaged: reading it reports why


def read_any(path: str | Path, spec: GridSpec) -> tuple[np.ndarray, GridSpec]:
    """Grids (N, 9, S) from a MIDI file or a grid file, with the resolution they use."""
    from evodrum import midi
    if Path(path).suffix.lower() in SUFFIXES:
        return load_grids(path, spec)
    return midi.read_grids(path, spec), spec


@dataclass(frozen=True)
class Plan:
    """What of a file plays: `windows` one after another, each from its bar `skips[k]`
    on (where the window before it ends), `bars` grid bars in all of the file's
    `file_bars` (more when the file is longer than one loop holds)."""

    windows: np.ndarray
    skips: np.ndarray
    bars: int
    file_bars: int

    def stitched(self, takes: Loop) -> Loop:
        """One loop of `bars` bars from the windows as played (a batch, in `windows`
        order): each from its bar `skips[k]` on."""
        spb = takes.spec.steps_per_bar
        pieces = [(takes.velocities[k][:, s * spb:], takes.offsets[k][:, s * spb:])
                  for k, s in enumerate(self.skips)]
        velocities, offsets = (np.concatenate(part, axis=1)[:, :self.bars * spb]
                               for part in zip(*pieces))
        return Loop(velocities, offsets, replace(takes.spec, bars=self.bars))


@dataclass
class LoopFile:
    """The grids of one input file (MIDI or grid file), with what commands say about them."""

    path: str
    grids: np.ndarray              # float32 (N, 9, S)
    spec: GridSpec
    hits: np.ndarray               # (N,) hits in each grid before tiling
    start_bars: np.ndarray | None  # (N,) bar (from 1) where each window starts; None: grid file
    bpms: np.ndarray | None        # (N,) the file's tempo where each window starts
    warnings: list[str] = field(default_factory=list)
    quantised: object = None       # midi.Quantised for MIDI files
    offsets: np.ndarray | None = None  # float32 (N, 9, S) timing offsets; None: straight
    info: list[str] = field(default_factory=list)  # plain notes: nothing lost
    moved: list = field(default_factory=list)      # midi.Quantised figures of each window
    triplets: object = None        # midi.Triplets when the file plays triplets or a shuffle
    tempo_maps: list = field(default_factory=list)  # (beat in window, BPM) per window
    metre_maps: list = field(default_factory=list)  # (beat in window, metre) per window
    end_bars: np.ndarray | None = None              # (N,) the file's last bar in each window
    start_beats: np.ndarray | None = None           # (N,) the beat each window starts on
    lead_fits: bool = False                         # a bar before the first window fits
    beat_in_bar: np.ndarray | None = None           # (N,) beats into its first bar it starts
    loop_beats: float | None = None                 # one loop's beats before tiling repeats it

    @property
    def metres(self) -> list:
        """The file's metre where each window starts (grid files: none)."""
        return [entries[0][1] for entries in self.metre_maps]

    def loop(self, i: int) -> Loop:
        """Grid `i` with the timing it was played with (grid files: straight)."""
        offsets = self.offsets[i] if self.offsets is not None else np.zeros_like(self.grids[i])
        return Loop(self.grids[i], offsets, self.spec)

    def loops(self) -> Loop:
        """Every grid of the file as a batch of loops with their timing."""
        return Loop(self.grids, self.offsets if self.offsets is not None
                    else np.zeros_like(self.grids), self.spec)

    def __len__(self) -> int:
        return len(self.grids)

    def index(self, window: int | None) -> int:
        """0-based index of `window` (counted from 1), or where the drums come in when None."""
        if window is None:
            from evodrum.midi import first_window
            return first_window(self.grids, self.spec)
        if not 1 <= window <= len(self):
            raise EvodrumError(f"{self.path}: has {len(self)} window"
                               f"{'s' if len(self) != 1 else ''} (numbered from 1), "
                               f"not {window}")
        return window - 1

    def describe(self, i: int) -> str:
        """Where grid `i` comes from, e.g. 'window 3 of 12, from bar 3'."""
        where = f", from bar {self.start_bars[i]}" if self.start_bars is not None else ""
        # every change of metre in order, a tiled loop's once (grid files: none)
        own = [m for _, m in self._own(self.metre_maps[i])] if self.metre_maps else []
        if own and own != [f"{self.spec.beats_per_bar}/4"]:
            # counted as the file counts its bars, not in the grid's
            first, last = self.start_bars[i], self.end_bars[i]
            within = self.beat_in_bar[i] if self.beat_in_bar is not None else 0
            where = (f", bar {first}" if first == last else f", bars {first}-{last}") + \
                (f" of {own[0]}" if len(own) == 1 else f" ({', then '.join(own)})") + \
                (f", from beat {within + 1:g} of bar {first}" if within else "")
        return f"window {i + 1} of {len(self)}{where}"

    def _own(self, entries: list[tuple[float, object]]) -> list[tuple[float, object]]:
        """A window's (beat, value) map up to where tiling starts it over: the file's own
        changes, not each repeat's (equal neighbours are already one entry)."""
        return [e for e in entries if self.loop_beats is None or e[0] < self.loop_beats - 1e-9]

    def whole(self) -> Plan | None:
        """How to play the whole file, window after window (as many bars as one loop
        holds: MAX_BARS, fewer on a fine grid), from its first window (past a count-in
        the grid cannot hold), or None when its windows are not one run a grid bar
        apart or a bar the grid holds comes before them (a grid file, bars the grid
        cannot hold among its bars): then one window plays."""
        bar_beats = self.spec.beats_per_bar
        if self.start_beats is None or self.lead_fits or not np.allclose(
                self.start_beats - self.start_beats[0], bar_beats * np.arange(len(self))):
            return None
        every = len(self) + self.spec.bars - 1
        bars = min(every, MAX_BARS, MAX_STEPS // self.spec.steps_per_bar)
        starts = np.arange(0, bars, self.spec.bars)
        windows = np.minimum(starts, len(self) - 1)
        return Plan(windows, starts - windows, bars, every)

    def extent(self, plan: Plan) -> str:
        """What of the file a whole-file `plan` plays, in words, counting the file's own
        bars: "all 8 bars", "all 16 bars of 2/4", "all 10 bars of 2/4 and 4/4", "the
        first 64 bars" when one loop cannot hold it, "8 bars from bar 2" when bars before
        its first window are left out (a count-in the grid cannot hold)."""
        first = int(self.start_bars[plan.windows[0]])
        grid_metre = f"{self.spec.beats_per_bar}/4"
        changes = self.metre_map(plan) or [(0.0, grid_metre)]
        ends = [beat for beat, _ in changes[1:]] + [plan.bars * self.spec.beats_per_bar]
        bars = sum(int(np.ceil((end - beat) * int(m.split("/")[1]) / (4 * int(m.split("/")[0]))
                               - 1e-9)) for (beat, m), end in zip(changes, ends))
        metres = list(dict.fromkeys(m for _, m in changes))
        bars = f"{bars} bars" + ("" if [_beats(m) for m in metres] == [self.spec.beats_per_bar]
                                 else f" of {' and '.join(metres)}")
        if first > 1:
            return f"{bars} from bar {first}"
        return f"all {bars}" if plan.bars == plan.file_bars else f"the first {bars}"

    def tempo_map(self, plan: Plan) -> list[tuple[float, float]] | None:
        """(beat, BPM) of the file's tempo where `plan` plays, counted from the loop's
        beat 0 (a tempo change inside it kept), or None for a grid file."""
        return self._stitched(self.tempo_maps, plan)

    def _stitched(self, maps: list, plan: Plan) -> list | None:
        """Per-window (beat, value) maps laid out as `plan` plays them: each window's
        piece starts where the pieces before it end, as `Plan.stitched` lays them out
        (one window alone starts at 0, wherever it is in the file)."""
        if not maps:
            return None
        bar_beats = self.spec.beats_per_bar
        out: list = []
        start = 0.0
        for window, skip in zip(plan.windows, plan.skips):
            entries, at = maps[window], skip * bar_beats
            held = [value for beat, value in entries if beat <= at][-1]
            for beat, value in [(at, held)] + [e for e in entries if e[0] > at]:
                beat = float(start + beat - at)
                if beat < plan.bars * bar_beats and (not out or out[-1][1] != value):
                    out.append((beat, value))
            start += (self.spec.bars - skip) * bar_beats
        return out

    def metre_map(self, plan: Plan) -> list[tuple[float, str]] | None:
        """(beat, metre) of the file's time signatures where `plan` plays, counted from
        the loop's beat 0 as `tempo_map` counts, so a loop written from it keeps them (a
        2/4 intro that goes on in 4/4 stays so); None for a grid file."""
        return self._stitched(self.metre_maps, plan)

    def window(self, i: int) -> Plan:
        """The plan that plays window `i` alone."""
        return Plan(np.array([i]), np.array([0]), self.spec.bars, self.spec.bars)

    def bpm(self, i: int, default: float = 120.0) -> float:
        """The file's tempo at grid `i` (grid files have none: `default`)."""
        return float(self.bpms[i]) if self.bpms is not None else default

    def tempo_changes(self) -> str:
        """'' or one line saying in which windows the tempo changes (loops play at one)."""
        changing = [i for i, m in enumerate(self.tempo_maps) if len(m) > 1]
        if not changing:
            return ""
        bpms = [b for i in changing for _, b in self.tempo_maps[i]]
        if len(changing) == 1:
            tiled = self.tempo_maps[changing[0]]
            n = len(self._own(tiled)) - 1
            which = f"{'once' if n == 1 else f'{n} times'} inside window {changing[0] + 1}" + \
                (", and back where the loop repeats" if len(tiled) - 1 > n else "")
        else:
            which = f"inside {len(changing)} of the {len(self)} windows"
        return (f"the tempo changes {which} ({min(bpms):g} to {max(bpms):g} BPM): a loop "
                "plays at one tempo, the one where it starts (--bpm to choose)")


def _repeated(changes: list[tuple[float, object]], length: float,
              beats: int) -> list[tuple[float, object]]:
    """A loop's tempo or metre map as the loop plays, repeated to fill `beats` (a 2-bar
    loop that speeds up in its second bar slows down again where it starts over)."""
    out: list[tuple[float, object]] = []
    for start in np.arange(0, beats, length):
        for beat, value in changes:
            if not out or out[-1][1] != value:
                out.append((float(start + beat), value))
    return out


def _beats(metre: str) -> float:
    """Quarter-note beats in a bar of `metre` ("6/8": 3)."""
    num, den = (int(x) for x in metre.split("/"))
    return num * 4 / den


def read_file(path: str | Path, spec: GridSpec, drum_map: str = "groove",
              hop_bars: int = 1, drum_channel: int | None = None,
              to_last_bar: bool = False, hint: bool = True) -> LoopFile:
    """Every grid of a MIDI or grid file, with hit counts, bars, tempi and warnings;
    `to_last_bar`: windows run to the end of the file's last bar (see `midi.to_windows`);
    `hint`: a refusal names the --grid that holds the file (see `midi.read_windows`)."""
    return read_input(path, spec, drum_map, drum_channel).windows(spec, hop_bars, to_last_bar,
                                                                  hint)


@dataclass(frozen=True)
class Input:
    """One input file, read and parsed once: a MIDI file's drum hits, or a grid file's
    loops. `windows` cuts it as often as a command needs, without reading it again."""

    path: str
    hits: DrumHits | None = None   # a MIDI file's drum hits
    loops: Loop | None = None      # the loops of a grid file

    def windows(self, spec: GridSpec, hop_bars: int = 1, to_last_bar: bool = False,
                hint: bool = True) -> LoopFile:
        """The file's grids as `read_file` gives them (a grid file's are its loops)."""
        if self.loops is not None:
            grids = self.loops.velocities
            return LoopFile(self.path, grids, self.loops.spec, (grids > 0).sum(axis=(1, 2)),
                            None, None, offsets=self.loops.offsets)
        from evodrum import midi
        hits, windows = midi.cut_windows(self.hits, spec, hop_bars, to_last_bar, hint)
        bpms = np.array([hits.bpm_at(b) for b in windows.start_beats])
        skipped = ["not read as drums: " + "; ".join(hits.notes)] if hits.notes else []
        length = windows.loop_steps / spec.steps_per_beat if windows.loop_steps else spec.beats
        tempo_maps = [_repeated(hits.tempo_map(b, b + length), length, spec.beats)
                      for b in windows.start_beats]
        bars = hits.bars
        end_bars = np.searchsorted(bars.start, windows.start_beats + length - 1e-9, side="left")
        metre_maps = [_repeated(bars.metre_map(b, b + length), length, spec.beats)
                      for b in windows.start_beats]
        return LoopFile(self.path, from_midi_velocity(windows.grids), spec, windows.hits,
                        windows.start_bars, bpms, hits.warnings + windows.notes,
                        windows.quantised, windows.offsets, hits.info + windows.info + skipped,
                        windows.moved, hits.triplets, tempo_maps, metre_maps, end_bars,
                        windows.start_beats, bool(bars.fits[:windows.start_bars[0] - 1].any()),
                        windows.start_beats - bars.start[windows.start_bars - 1], length)


def read_input(path: str | Path, spec: GridSpec, drum_map: str = "groove",
               drum_channel: int | None = None) -> Input:
    """Read and parse a MIDI or grid file once (`drum_map`, `drum_channel`: how a MIDI
    file's notes are read; `spec`: a grid file's resolution unless it keeps its own)."""
    if Path(path).suffix.lower() in SUFFIXES:
        return Input(str(path), loops=load_loops(path, spec))
    from evodrum import midi
    return Input(str(path), hits=midi.read_drums(path, drum_map, drum_channel))
