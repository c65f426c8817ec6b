"""Corpora of drum grids built from folders of MIDI files, cached on disk.

Two kinds of source: the Groove MIDI Dataset (a folder with `info.csv`, whose
official split, style and beat/fill labels are used) and any folder of drum
MIDI files (a user's own library, split deterministically by file). A built
corpus is stored as compressed arrays plus a JSON manifest (source files and
their hashes, settings, split, labels) and reused while nothing has changed.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import click
import numpy as np

from evodrum import atomic
from evodrum.errors import EvodrumError
from evodrum.grid import DEFAULT_SPEC, GridSpec, from_midi_velocity, to_midi_velocity
from evodrum.kit import KIT_VERSION
from evodrum.midi import BadMidiFile, read_drums, to_grids

FORMAT_VERSION = 1
SPLITS = ("train", "validation", "test")
LABELS = ("file", "style", "beat_type", "drummer")
MIDI_SUFFIXES = {".mid", ".midi", ".smf"}


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

    def to_dict(self) -> dict:
        return {"spec": self.spec.to_dict(), "hop_bars": self.hop_bars,
                "min_hits": self.min_hits, "kit": KIT_VERSION, "format": FORMAT_VERSION}


@dataclass
class Corpus:
    """Grids (N, 9, S) in [0, 1] with their split and labels, one entry per window."""

    grids: np.ndarray
    spec: GridSpec
    split: np.ndarray
    labels: dict[str, np.ndarray]
    manifest: dict
    path: Path | None = None
    _hash: str = field(default="", repr=False)

    def __len__(self) -> int:
        return len(self.grids)

    @property
    def manifest_hash(self) -> str:
        """A short hash that changes whenever the corpus content or settings change."""
        if not self._hash:
            text = json.dumps({k: self.manifest[k] for k in ("settings", "files")}, sort_keys=True)
            self._hash = hashlib.sha1(text.encode()).hexdigest()[:16]
        return self._hash

    def split_grids(self, name: str) -> np.ndarray:
        """The grids of one split ('train', 'validation' or 'test')."""
        if name not in SPLITS:
            raise EvodrumError(f"unknown split {name!r}: use one of {', '.join(SPLITS)}")
        return self.grids[self.split == name]


# --- sources ---------------------------------------------------------------

@dataclass
class Source:
    """One MIDI file of a corpus with its split and labels."""

    file: str           # path relative to the corpus root
    split: str
    style: str = ""
    beat_type: str = ""
    drummer: str = ""


def split_by_file(relative_path: str) -> str:
    """Deterministic 80/10/10 split from the file's relative path (never by window)."""
    h = int(hashlib.sha1(relative_path.encode()).hexdigest()[:8], 16) / 2**32
    return "train" if h < 0.8 else "validation" if h < 0.9 else "test"


def find_sources(root: Path) -> list[Source]:
    """The files of a corpus: Groove's info.csv when present, else every MIDI file."""
    info = root / "info.csv"
    if info.is_file():
        with open(info, newline="") as f:
            return [Source(r["midi_filename"], r["split"], r["style"], r["beat_type"], r["drummer"])
                    for r in csv.DictReader(f)]
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                   if p.suffix.lower() in MIDI_SUFFIXES and p.is_file())
    return [Source(f, split_by_file(f), style=_folder_style(f)) for f in files]


def _folder_style(relative_path: str) -> str:
    """A user's own library is often sorted into style folders: use the folder as style."""
    parent = Path(relative_path).parent.as_posix()
    return "" if parent == "." else parent


def file_digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


# --- building --------------------------------------------------------------

def _process(job: tuple[str, Settings]) -> dict:
    """Read one file into grids; runs in a worker process, so it never raises."""
    path, settings = job
    try:
        sha1 = file_digest(Path(path))
    except OSError as e:
        return {"status": "skipped", "reason": f"cannot read the file ({e.strerror})", "sha1": ""}
    try:
        hits = read_drums(path)
        grids, q = to_grids(hits, settings.spec, settings.hop_bars)
    except BadMidiFile as e:
        return {"status": "skipped", "reason": e.reason, "sha1": sha1}
    keep = (grids > 0).sum(axis=(1, 2)) >= settings.min_hits
    result = {"status": "ok", "sha1": sha1, "grids": grids[keep], "windows": int(keep.sum()),
              "sparse_windows": int((~keep).sum()), "hits": int(len(hits.beats)),
              "mean_shift": q.mean_shift, "max_shift": q.max_shift,
              "collisions": q.collisions, "unmapped": hits.unmapped}
    if not keep.any():
        result.update(status="skipped", reason=f"fewer than {settings.min_hits} hits in "
                      "every window" if len(grids) else "shorter than one window")
    return result


def _fingerprint(root: Path, sources: list[Source]) -> list[dict]:
    """Size and modification time of each source, for the quick unchanged-check."""
    out = []
    for s in sources:
        try:
            st = (root / s.file).stat()
            out.append({"size": st.st_size, "mtime_ns": st.st_mtime_ns})
        except OSError:
            out.append({"size": -1, "mtime_ns": -1})
    return out


def _cached(folder: Path, root: Path, sources: list[Source], settings: Settings) -> Corpus | None:
    """The cached corpus when its sources and settings are unchanged, else None."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    files = manifest.get("files", [])
    if (manifest.get("settings") != settings.to_dict()
            or [f["file"] for f in files] != [s.file for s in sources]):
        return None
    for entry, fp, src in zip(files, _fingerprint(root, sources), sources):
        if (entry["size"], entry["mtime_ns"]) != (fp["size"], fp["mtime_ns"]):
            if fp["size"] < 0 or file_digest(root / src.file) != entry["sha1"]:
                return None
    try:
        return load_corpus(folder)
    except EvodrumError:
        return None


def build_corpus(source_dir: str | os.PathLike, spec: GridSpec = DEFAULT_SPEC, *,
                 name: str | None = None, cache_dir: str | os.PathLike | None = None,
                 hop_bars: int = 1, min_hits: int = 8, workers: int | None = None,
                 progress: bool = True, force: bool = False) -> Corpus:
    """Build (or reuse from cache) the corpus of all MIDI files under `source_dir`."""
    root = Path(source_dir)
    if not root.is_dir():
        raise EvodrumError(f"{root}: not a folder of MIDI files")
    settings = Settings(spec, hop_bars, min_hits)
    sources = find_sources(root)
    if not sources:
        raise EvodrumError(f"{root}: no MIDI files (.mid, .midi) found")
    folder = cache_root(cache_dir) / "corpora" / (name or root.resolve().name)
    if not force and (cached := _cached(folder, root, sources, settings)) is not None:
        cached.manifest["reused"] = True
        return cached

    jobs = [(str(root / s.file), settings) for s in sources]
    workers = max(1, workers or os.cpu_count() or 1)
    results = []
    with ProcessPoolExecutor(workers) if workers > 1 else _Serial() as pool:
        stream = pool.map(_process, jobs, chunksize=16)
        if progress:
            with click.progressbar(stream, length=len(jobs), label="reading MIDI",
                                   file=sys.stderr) as bar:
                results.extend(bar)
        else:
            results.extend(stream)
    corpus = _assemble(root, sources, results, settings)
    _save(corpus, folder)
    corpus.manifest["reused"] = False
    return corpus


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
    grids, files, fps = [], [], _fingerprint(root, sources)
    for src, res, fp in zip(sources, results, fps):
        entry = {"file": src.file, "sha1": res["sha1"], **fp, "split": src.split,
                 "style": src.style, "beat_type": src.beat_type, "drummer": src.drummer,
                 "status": res["status"]}
        entry.update({k: v for k, v in res.items() if k not in ("grids", "status", "sha1")})
        if res["status"] == "ok":
            grids.append(res["grids"])
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
    return Corpus(from_midi_velocity(velocities), settings.spec, split, labels, manifest)


def _save(corpus: Corpus, folder: Path) -> None:
    """Arrays first, manifest last: a manifest on disk always has its arrays."""
    velocities = to_midi_velocity(corpus.grids)
    with atomic.atomic_path(folder / "grids.npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, velocities=velocities, split=corpus.split,
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
    folder = cache_root(cache_dir) / "corpora" / name
    if not (folder / "manifest.json").is_file():
        raise EvodrumError(f"no corpus {name!r} in {folder.parent}: build one with "
                           "`evodrum data build DIR` (see README: Groove MIDI Dataset)")
    return folder


def load_corpus(name_or_path: str | os.PathLike | None = None,
                cache_dir: str | os.PathLike | None = None) -> Corpus:
    """Load a built corpus by name (default 'groove') or folder; EvodrumError if broken."""
    folder = corpus_folder(name_or_path, cache_dir)
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        with np.load(folder / "grids.npz", allow_pickle=False) as data:
            velocities = data["velocities"]
            split = data["split"]
            labels = {k: data[f"label_{k}"] for k in LABELS}
        spec = GridSpec.from_dict(manifest["settings"]["spec"])
    except (OSError, ValueError, KeyError) as e:
        raise EvodrumError(f"{folder}: corpus cache is damaged ({e}); rebuild it with "
                           "`evodrum data build DIR --force`") from None
    if velocities.shape[1:] != spec.shape or len(velocities) != manifest.get("windows"):
        raise EvodrumError(f"{folder}: corpus arrays do not match the manifest; rebuild it")
    return Corpus(from_midi_velocity(velocities), spec, split, labels, manifest, folder)


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
    }
