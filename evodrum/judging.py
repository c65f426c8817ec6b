"""What `evodrum judge` does besides reading: which files a folder's loops are in, and
every window of a file scored by every judge."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from evodrum import gridfile
from evodrum.corpus import MIDI_SUFFIXES
from evodrum.errors import EvodrumError


def loop_files(paths) -> tuple[list[Path], list[str]]:
    """Files as given, and the MIDI and grid files inside folders (sorted, recursively;
    a run's state such as checkpoint.npz is passed over), with a one-line reason per
    folder that holds no loops."""
    suffixes = MIDI_SUFFIXES | set(gridfile.SUFFIXES)
    files, problems = [], []
    for p in map(Path, paths):
        if not p.is_dir():
            files.append(p)
            continue
        found = sorted(f for f in p.rglob("*") if f.suffix.lower() in suffixes and f.is_file()
                       and gridfile.holds_grids(f))
        if not found:
            problems.append(f"{p}: no MIDI or grid files ({', '.join(sorted(suffixes))}) "
                            "in this folder")
        files.extend(found)
    return files, problems


def check_resolution(path, used, spec) -> None:
    """EvodrumError unless a file's grids are at the judges' resolution."""
    if used != spec:
        raise EvodrumError(f"{path}: a grid of {used.describe()}; the judges judge "
                           f"{spec.describe()}")


def score_windows(path, grids: np.ndarray, scorers: dict) -> list[dict]:
    """One {file, window, scores} entry per grid of a file, by every scorer."""
    scores = {name: score(grids) for name, score in scorers.items()}
    return [{"file": str(path), "window": i + 1,
             "scores": {name: round(float(s[i]), 4) for name, s in scores.items()}}
            for i in range(len(grids))]
