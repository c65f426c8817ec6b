"""Corpora of drum grids built from folders of MIDI files, cached on disk.

Two kinds of source: the Groove MIDI Dataset (a folder with `info.csv`, whose
official split, style and beat/fill labels are used) and any folder of drum
MIDI files (a user's own library, split deterministically by file). A built
corpus is stored as compressed arrays plus a JSON manifest (source files and
their hashes, settings, split, labels) and reused while nothing has changed.

A corpus is identified by its files' content and the settings alone (never by
modification times), so every copy of the same files has the same hash. A cache
is checked by its content when loaded (array names, shapes, velocity range, split
names), so a damaged or hand-edited one is reported in one line and rebuilt.
"""
from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
import re
import stat
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evodrum import atomic, checks, npyfile, statefile
from evodrum.runs import waiting_lock
from evodrum.lifetime import worker_pool
from evodrum.errors import EvodrumError
from evodrum.grid import DEFAULT_SPEC, GridSpec, from_midi_velocity, to_midi_velocity
from evodrum.kit import KIT_VERSION
from evodrum.loop import OFFSET_HIGH, OFFSET_LOW, Loop
from evodrum.midi import READER_VERSION, TEMPO_RANGE, BadMidiFile, read_windows
from evodrum.notemap import NoteMap, reading_key, reading_map

#: Version 2 keeps each hit's timing offset and each window's tempo.
FORMAT_VERSION = 2
SPLITS = ("train", "validation", "test")
LABELS = ("file", "style", "beat_type", "drummer")
#: MIDI files by name: .kar is karaoke MIDI, .rmi MIDI wrapped in RIFF (evodrum.smf reads it).
MIDI_SUFFIXES = {".mid", ".midi", ".smf", ".kar", ".rmi"}
#: What of a manifest's file entry identifies the corpus: content, place and labels.
IDENTITY_KEYS = ("file", "sha1", "split", "style", "beat_type", "drummer")
#: The arrays a cache's grids.npz holds, and nothing else.
ARRAYS = ("velocities", "offsets", "bpm", "split", *(f"label_{k}" for k in LABELS))


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where corpora live: `cache_dir`, else $EVODRUM_CACHE, else ~/.cache/evodrum."""
    if cache_dir:
        return Path(cache_dir)
    if os.environ.get("EVODRUM_CACHE"):
        return Path(os.environ["EVODRUM_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "evodrum"


@dataclass
class Settings:
    """Everything that changes what a build produces."""

    spec: GridSpec = DEFAULT_SPEC
    hop_bars: int = 1
    min_hits: int = 8
    drum_map: str | NoteMap = "groove"   # a name of evodrum.kit.DRUM_MAPS, or a note map
    drum_channel: int | None = None

    def to_dict(self) -> dict:
        settings = {"spec": self.spec.to_dict(), "hop_bars": self.hop_bars,
                    "min_hits": self.min_hits, "kit": KIT_VERSION, "format": FORMAT_VERSION,
                    "reader": READER_VERSION}
        if self.drum_map != "groove":  # caches built before the option stay valid
            settings["drum_map"] = reading_key(self.drum_map)
        if self.drum_channel is not None:
            settings["drum_channel"] = self.drum_channel
        return settings


@dataclass
class Corpus:
    """Grids (N, 9, S) in [0, 1] with their split and labels, one entry per window.

    `offsets` (N, 9, S) hold each hit's timing (see evodrum.loop) and `bpm` (N,)
    the tempo where each window starts, so offsets can be read in milliseconds.
    """

    grids: np.ndarray
    spec: GridSpec
    split: np.ndarray
    labels: dict[str, np.ndarray]
    manifest: dict
    path: Path | None = None
    _hash: str = field(default="", repr=False)
    offsets: np.ndarray | None = None   # None: straight (a corpus made in code from grids)
    bpm: np.ndarray | None = None       # None: 120 BPM throughout

    def __post_init__(self):
        if self.offsets is None:
            self.offsets = np.zeros_like(self.grids, dtype=np.float32)
        if self.bpm is None:
            self.bpm = np.full(len(self.grids), 120.0, np.float32)

    def __len__(self) -> int:
        return len(self.grids)

    @property
    def manifest_hash(self) -> str:
        """A short hash of the settings and the source files' content, paths and labels.

        Modification times and where the folder lives play no part: a copy of the same
        files gives the same hash on any machine.
        """
        if not self._hash:
            files = [{k: f.get(k, "") for k in IDENTITY_KEYS}
                     for f in self.manifest["files"] if f.get("sha1")]
            text = json.dumps({"settings": self.manifest["settings"], "files": files},
                              sort_keys=True)
            self._hash = hashlib.sha1(text.encode()).hexdigest()[:16]
        return self._hash

    def split_grids(self, name: str) -> np.ndarray:
        """The grids of one split ('train', 'validation' or 'test')."""
        return self.grids[self.split_mask(name)]

    def split_mask(self, name: str | None) -> np.ndarray:
        """Which windows belong to split `name` (None: all of them)."""
        if name is None:
            return np.ones(len(self), bool)
        if name not in SPLITS:
            raise EvodrumError(f"unknown split {name!r}: use one of {', '.join(SPLITS)}")
        return self.split == name

    def loops(self, split: str | None = None) -> Loop:
        """The windows of one split (None: all) as a batch of loops with their timing."""
        mask = self.split_mask(split)
        return Loop(self.grids[mask], self.offsets[mask], self.spec)


# --- sources ---------------------------------------------------------------

@dataclass
class Source:
    """One MIDI file of a corpus with its split and labels."""

    file: str           # path relative to the corpus root
    split: str
    style: str = ""
    beat_type: str = ""
    drummer: str = ""
    problem: str = ""   # why it cannot be read at all (a pipe, a dangling link), if so


def split_by_file(relative_path: str) -> str:
    """Deterministic 80/10/10 split from the file's relative path (never by window)."""
    h = int(hashlib.sha1(relative_path.encode()).hexdigest()[:8], 16) / 2**32
    return "train" if h < 0.8 else "validation" if h < 0.9 else "test"


def find_sources(root: Path) -> list[Source]:
    """The files of a corpus: Groove's info.csv when present, else every MIDI file.

    Special entries (pipes, devices, sockets, link loops, dangling links) are listed
    with their problem, so a build names them as skipped instead of hanging on a pipe.
    """
    info = root / "info.csv"
    if info.is_file():
        sources = _groove_sources(info)
    else:
        found = []
        for folder, _, names in os.walk(root):
            for n in names:
                rel = (Path(folder) / n).relative_to(root).as_posix()
                if Path(n).suffix.lower() in MIDI_SUFFIXES or _special_problem(root / rel):
                    found.append(rel)
        sources = [Source(f, split_by_file(f), style=_folder_style(f)) for f in sorted(found)]
    for s in sources:
        s.problem = _special_problem(root / s.file)
    return sources


def _groove_sources(info: Path) -> list[Source]:
    """The files, splits and labels listed in the Groove MIDI Dataset's info.csv."""
    try:
        with open(info, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        sources = [Source(r["midi_filename"], r["split"], r["style"], r["beat_type"],
                          r["drummer"]) for r in rows]
    except (OSError, UnicodeDecodeError, csv.Error, KeyError, TypeError) as e:
        raise EvodrumError(f"{info}: not a Groove info.csv (needs columns midi_filename, "
                           f"split, style, beat_type, drummer; {e})") from None
    for s in sources:
        if s.split not in SPLITS or not s.file or Path(s.file).is_absolute() \
                or ".." in Path(s.file).parts:
            raise EvodrumError(f"{info}: row for {s.file!r} has split {s.split!r} or a path "
                               f"outside the folder; use {', '.join(SPLITS)} and relative paths")
    return sources


def _special_problem(path: Path) -> str:
    """Why `path` is not a regular file to read ('' for a regular or missing file)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "a loop of symbolic links"
        return "a symbolic link to a missing file" if path.is_symlink() else ""
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device node, not a file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file"
    return "a folder, not a file" if stat.S_ISDIR(mode) else "not a regular file"


def _folder_style(relative_path: str) -> str:
    """A user's own library is often sorted into style folders: use the folder as style."""
    parent = Path(relative_path).parent.as_posix()
    return "" if parent == "." else parent


def file_digest(path: Path) -> str:
    """SHA-1 of a file's bytes, its identity in a corpus."""
    return hashlib.sha1(path.read_bytes()).hexdigest()


def default_name(root: Path) -> str:
    """A corpus name from its folder's name, made safe for use as a folder name."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", root.resolve().name).strip("-_")[:100]
    return cleaned or "corpus"


# --- building --------------------------------------------------------------

def _process(job: tuple[str, Settings]) -> dict:
    """Read one file into grids; runs in a worker process, so it never raises."""
    path, settings = job
    try:
        sha1 = file_digest(Path(path))
    except OSError as e:
        return {"status": "skipped", "reason": f"cannot read the file ({e.strerror})", "sha1": ""}
    try:
        hits, windows = read_windows(path, settings.spec, settings.hop_bars, settings.drum_map,
                                     settings.drum_channel)
    except BadMidiFile as e:
        return {"status": "skipped", "reason": e.reason, "sha1": sha1}
    except MemoryError:
        return {"status": "skipped", "reason": "too large to read into memory", "sha1": sha1}
    except Exception as e:   # noqa: BLE001 -- one strange file must not end a batch
        return {"status": "skipped", "reason": f"could not be read ({e or 'unexpected problem'})",
                "sha1": sha1}
    keep = windows.hits >= settings.min_hits  # hits before tiling: a 2-hit file stays 2
    q = windows.quantised
    bpm = np.array([hits.bpm_at(b) for b in windows.start_beats[keep]], np.float32)
    result = {"status": "ok", "sha1": sha1, "grids": windows.grids[keep],
              "offsets": windows.offsets[keep], "bpm": bpm,
              "windows": int(keep.sum()), "sparse_windows": int((~keep).sum()),
              "hits": int(len(hits.beats)), "mean_shift": q.mean_shift,
              "max_shift": q.max_shift, "collisions": q.collisions, "unmapped": hits.unmapped,
              "warnings": hits.warnings + windows.notes,
              "notes": hits.info + windows.info + ([hits.triplets.describe()]
                                                   if hits.triplets else [])}
    if not keep.any():
        result.update(status="skipped", reason=f"fewer than {settings.min_hits} hits in "
                      "every window")
    return result


def _content_digest(path: Path) -> str:
    """SHA-1 of a source's bytes, '' when it cannot be read."""
    try:
        return file_digest(path)
    except OSError:
        return ""


def _cached(folder: Path, root: Path, sources: list[Source], settings: Settings) -> Corpus | None:
    """The cached corpus when its files' content and the settings are unchanged, else None.

    A damaged cache counts as out of date, so a build replaces it.
    """
    try:
        manifest = read_manifest(folder)
    except EvodrumError:
        return None
    files = manifest["files"]
    if (manifest["settings"] != settings.to_dict()
            or [f.get("file") for f in files] != [s.file for s in sources]):
        return None
    for entry, src in zip(files, sources):
        digest = "" if src.problem else _content_digest(root / src.file)
        if digest != entry.get("sha1", ""):
            return None
    try:
        return load_corpus(folder)
    except EvodrumError:
        return None


def build_corpus(source_dir: str | os.PathLike, spec: GridSpec = DEFAULT_SPEC, *,
                 name: str | None = None, cache_dir: str | os.PathLike | None = None,
                 hop_bars: int = 1, min_hits: int = 8, workers: int | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 force: bool = False, drum_map: str = "groove",
                 drum_channel: int | None = None) -> Corpus:
    """Build (or reuse from cache) the corpus of all MIDI files under `source_dir`.

    `drum_map` is how pitches are read into rows (see evodrum.notemap.reading);
    `drum_channel` (1-16) reads that channel of every file as the kit.

    `progress(done, total)` is called as files are read. Files that cannot be used
    are skipped with their reason; the build goes on.
    """
    root = Path(source_dir)
    if not root.is_dir():
        raise EvodrumError(f"{root}: not a folder of MIDI files")
    name = checks.name(name, "corpus name") if name is not None else default_name(root)
    hop_bars = checks.integer(hop_bars, "hop (bars between windows)", 1, 1024)
    min_hits = checks.integer(min_hits, "min-hits", 0, spec.shape[0] * spec.shape[1])
    # a note map is read once, here, and handed to the workers (processes of their own,
    # which a command's infile.read_once does not reach): every file is read through
    # the pitches the cache is keyed on, even if the map file is edited mid-build
    settings = Settings(spec, hop_bars, min_hits, reading_map(drum_map), drum_channel)
    sources = find_sources(root)
    if not sources:
        raise EvodrumError(f"{root}: no MIDI files (.mid, .midi) found")
    folder = cache_root(cache_dir) / "corpora" / name
    if not force and (cached := _cached(folder, root, sources, settings)) is not None:
        cached.manifest["reused"] = True
        return cached

    _check_writable(folder)      # before reading every file, not after
    with waiting_lock(folder, "another build of this corpus"):  # one build writes a cache
        if not force and (cached := _cached(folder, root, sources, settings)) is not None:
            cached.manifest["reused"] = True      # the build we waited for made it
            return cached
        corpus = _build(root, sources, settings, workers, progress)
        _save(corpus, folder)
    corpus.manifest["reused"] = False
    return corpus


def _build(root: Path, sources: list, settings: Settings, workers: int | None,
           progress: Callable[[int, int], None] | None) -> Corpus:
    """Read every usable source file (in `workers` processes) into a corpus."""
    readable = [s for s in sources if not s.problem]
    jobs = [(str(root / s.file), settings) for s in readable]
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
    results = {}
    with worker_pool(workers) if workers > 1 else _Serial() as pool:
        for i, (src, res) in enumerate(zip(readable, pool.map(_process, jobs, chunksize=16))):
            results[src.file] = res
            if progress:
                progress(i + 1, len(jobs))
    skipped = {"status": "skipped", "sha1": ""}
    return _assemble(root, sources, [results.get(s.file) or dict(skipped, reason=s.problem)
                                     for s in sources], settings)


def _check_writable(folder: Path) -> None:
    """EvodrumError naming `folder` when the cache cannot be written there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise EvodrumError(f"{folder}: cannot write the corpus cache "
                           f"({(e.strerror or str(e)).lower()})") from None


class _Serial:
    """Stand-in for a process pool when only one worker is wanted."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, fn, items, chunksize=1):
        return map(fn, items)


def _assemble(root: Path, sources: list[Source], results: list[dict], settings: Settings) -> Corpus:
    """Concatenate per-file results into a Corpus with a manifest."""
    grids, offsets, tempi, files = [], [], [], []
    for src, res in zip(sources, results):
        entry = {"file": src.file, "sha1": res["sha1"], "split": src.split,
                 "style": src.style, "beat_type": src.beat_type, "drummer": src.drummer,
                 "status": res["status"]}
        entry.update({k: v for k, v in res.items()
                      if k not in ("grids", "offsets", "bpm", "status", "sha1")})
        if res["status"] == "ok":
            grids.append(res["grids"])
            offsets.append(res["offsets"])
            tempi.append(res["bpm"])
        files.append(entry)
    velocities = (np.concatenate(grids) if grids
                  else np.zeros((0, *settings.spec.shape), np.uint8))
    kept = [f for f in files if f["status"] == "ok"]
    counts = np.array([f["windows"] for f in kept], dtype=np.int64)
    manifest = {"source": str(root.resolve()), "settings": settings.to_dict(), "files": files}
    split = np.repeat([f["split"] for f in kept], counts) if kept else np.array([], str)
    labels = {"file": np.repeat([f["file"] for f in kept], counts) if kept else np.array([], str)}
    for key in LABELS[1:]:
        labels[key] = np.repeat([f[key] for f in kept], counts) if kept else np.array([], str)
    return Corpus(from_midi_velocity(velocities), settings.spec, split, labels, manifest,
                  offsets=(np.concatenate(offsets) if offsets
                           else np.zeros((0, *settings.spec.shape), np.float32)),
                  bpm=np.concatenate(tempi) if tempi else np.zeros(0, np.float32))


def _save(corpus: Corpus, folder: Path) -> None:
    """Arrays first, manifest last: a manifest on disk always has its arrays."""
    velocities = to_midi_velocity(corpus.grids)
    with atomic.atomic_path(folder / "grids.npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, velocities=velocities, split=corpus.split,
                                offsets=corpus.offsets.astype(np.float32),
                                bpm=corpus.bpm.astype(np.float32),
                                **{f"label_{k}": v for k, v in corpus.labels.items()})
    corpus.manifest["windows"] = len(corpus)
    atomic.write_json(folder / "manifest.json", corpus.manifest)
    corpus.path = folder


# --- loading ---------------------------------------------------------------

def corpus_folder(name_or_path: str | os.PathLike | None = None,
                  cache_dir: str | os.PathLike | None = None) -> Path:
    """Resolve a corpus name ('groove') or a folder holding manifest.json."""
    if name_or_path is not None and (Path(name_or_path) / "manifest.json").is_file():
        return Path(name_or_path)
    name = str(name_or_path or "groove")
    if not checks.NAME_PATTERN.fullmatch(name):
        raise EvodrumError(f"no corpus folder {name!r} (a folder holding manifest.json), and "
                           "not a corpus name (letters, digits, '-' or '_')")
    folder = cache_root(cache_dir) / "corpora" / name
    if not (folder / "manifest.json").is_file():
        raise EvodrumError(f"no corpus {name!r} in {folder.parent}: build one with "
                           "`evodrum data build DIR` (see README: Groove MIDI Dataset)")
    return folder


class DamagedCache(EvodrumError):
    """A corpus cache whose files are unreadable or whose content is not what a build writes."""

    def __init__(self, folder: Path, problem: str):
        super().__init__(f"{folder}: corpus cache is damaged ({problem}); rebuild it with "
                         "`evodrum data build DIR` (it replaces a damaged cache)")


def read_manifest(folder: Path) -> dict:
    """A cache's manifest.json, checked to have the shape a build writes; DamagedCache if not."""
    path = Path(folder) / "manifest.json"
    try:
        manifest = statefile.read_json(path, "manifest")
    except EvodrumError as e:
        if "nested more than" in str(e):
            raise DamagedCache(folder, "manifest.json is nested too deeply") from None
        raise DamagedCache(folder, f"manifest.json unreadable: "
                           f"{str(e).removeprefix(f'{path}: ')}") from None
    if not isinstance(manifest, dict):
        raise DamagedCache(folder, f"manifest.json holds a {type(manifest).__name__}, not a "
                           "table")
    files, settings = manifest.get("files"), manifest.get("settings")
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise DamagedCache(folder, "manifest.json has no list of files")
    if not isinstance(settings, dict) or not isinstance(settings.get("spec"), dict):
        raise DamagedCache(folder, "manifest.json has no settings")
    return manifest


def load_corpus(name_or_path: str | os.PathLike | None = None,
                cache_dir: str | os.PathLike | None = None) -> Corpus:
    """Load a built corpus by name (default 'groove') or folder; EvodrumError if damaged.

    Its content is checked: the array names, shapes and types a build writes,
    velocities within MIDI's 0-127, split names, and the manifest's window count.
    """
    folder = corpus_folder(name_or_path, cache_dir)
    manifest = read_manifest(folder)
    try:
        spec = GridSpec.from_dict(manifest["settings"]["spec"])
    except (EvodrumError, ValueError, KeyError, TypeError) as e:
        raise DamagedCache(folder, f"grid settings unreadable: {e}") from None
    arrays = _read_arrays(folder)
    velocities, split = arrays["velocities"], arrays["split"]
    labels = {k: arrays[f"label_{k}"] for k in LABELS}
    n = len(velocities)
    if velocities.dtype != np.uint8 or velocities.shape[1:] != spec.shape:
        raise DamagedCache(folder, f"velocities are {velocities.dtype} {velocities.shape[1:]}, "
                           f"not uint8 {spec.shape}")
    if n != manifest.get("windows"):
        raise DamagedCache(folder, f"{n} windows in grids.npz, {manifest.get('windows')} in "
                           "manifest.json")
    if n and int(velocities.max()) > 127:
        raise DamagedCache(folder, f"velocity {int(velocities.max())} is beyond MIDI's 127")
    offsets, bpm = arrays["offsets"], arrays["bpm"]
    if offsets.dtype != np.float32 or offsets.shape != velocities.shape:
        raise DamagedCache(folder, f"offsets are {offsets.dtype} {offsets.shape}, not float32 "
                           f"{velocities.shape}")
    if n and not (np.isfinite(offsets).all() and offsets.min() >= OFFSET_LOW
                  and offsets.max() < OFFSET_HIGH and not offsets[velocities == 0].any()):
        raise DamagedCache(folder, "timing offsets outside [-0.5, 0.5) of a step, or on "
                           "empty cells")
    if bpm.dtype != np.float32 or bpm.shape != (n,) or (n and not (
            (bpm >= TEMPO_RANGE[0]) & (bpm <= TEMPO_RANGE[1])).all()):
        raise DamagedCache(folder, f"tempi are not {n} values within "
                           f"{TEMPO_RANGE[0]:g}-{TEMPO_RANGE[1]:g} BPM")
    for key, values in [("split", split), *((f"label_{k}", v) for k, v in labels.items())]:
        if values.shape != (n,) or values.dtype.kind != "U":
            raise DamagedCache(folder, f"{key} holds {values.shape} {values.dtype}, not {n} names")
    if not np.isin(split, SPLITS).all():
        raise DamagedCache(folder, f"unknown split names {sorted(set(split) - set(SPLITS))[:3]}")
    return Corpus(from_midi_velocity(velocities), spec, split, labels, manifest, folder,
                  offsets=offsets, bpm=bpm)


def _read_arrays(folder: Path) -> dict[str, np.ndarray]:
    """The arrays of grids.npz (no pickles), after checking no header claims more than the
    archive holds, so a doctored header cannot ask for terabytes."""
    path = folder / "grids.npz"
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(i.filename.removesuffix(".npy") for i in archive.infolist())
            if names != sorted(ARRAYS):
                raise DamagedCache(folder, f"grids.npz holds arrays {names[:8]}, not "
                                   f"{list(ARRAYS)}")
            for info in archive.infolist():
                with archive.open(info) as member:
                    shape, _, dtype = _npy_header(member)
                if int(np.prod(shape, dtype=object)) * dtype.itemsize > info.file_size:
                    raise DamagedCache(folder, f"{info.filename} claims more data than it holds")
        data = npyfile.load_npz(path, text=("split", "label_*"))
        return {k: data[k] for k in ARRAYS}
    except DamagedCache:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise DamagedCache(folder, f"grids.npz unreadable: {e}") from None


def _npy_header(member) -> tuple:
    """(shape, fortran_order, dtype) from the header of one .npy inside an archive."""
    major, _ = np.lib.format.read_magic(member)
    read = np.lib.format.read_array_header_1_0 if major == 1 else \
        np.lib.format.read_array_header_2_0
    return read(member)


def summary(corpus: Corpus) -> dict:
    """What a build kept and skipped, for the summary table."""
    files = corpus.manifest["files"]
    kept = [f for f in files if f["status"] == "ok"]
    skipped = Counter(f["reason"] for f in files if f["status"] != "ok")
    shifts = np.array([f["mean_shift"] for f in kept]) if kept else np.zeros(1)
    hits = np.array([f["hits"] for f in kept]) if kept else np.zeros(1)
    unmapped = Counter()
    for f in kept:
        unmapped.update({int(k): v for k, v in f.get("unmapped", {}).items()})
    return {
        "files": len(files), "kept": len(kept), "skipped": dict(skipped.most_common()),
        "skipped_files": [(f["file"], f["reason"]) for f in files if f["status"] != "ok"],
        "windows": {s: int((corpus.split == s).sum()) for s in SPLITS},
        "sparse_windows": sum(f.get("sparse_windows", 0) for f in kept),
        "mean_shift_steps": float((shifts * hits).sum() / max(hits.sum(), 1)),
        "max_shift_steps": max((f["max_shift"] for f in kept), default=0.0),
        "collisions": sum(f.get("collisions", 0) for f in kept),
        "unmapped_pitches": dict(unmapped),
        "noted_files": [(f["file"], n) for f in kept for n in f.get("notes", ())],
        "triplet_files": sum(any(n.startswith("plays ") for n in f.get("notes", ()))
                             for f in kept),
    }
