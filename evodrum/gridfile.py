"""Grids as numpy array files: .npy (bare array) or .npz (array plus its resolution)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from evodrum.atomic import atomic_path
from evodrum.errors import EvodrumError
from evodrum.grid import GridSpec, check_grids

SUFFIXES = (".npy", ".npz")


def save_grids(path: str | Path, grids: np.ndarray, spec: GridSpec) -> Path:
    """Write grids (9, S) or (N, 9, S) atomically; .npz also records the resolution."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise EvodrumError(f"{path}: grid files end in .npy or .npz")
    grids = check_grids(grids, spec)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            if path.suffix.lower() == ".npz":
                np.savez_compressed(f, grids=grids, spec=json.dumps(spec.to_dict()))
            else:
                np.save(f, grids)
    return path


def load_grids(path: str | Path, spec: GridSpec) -> tuple[np.ndarray, GridSpec]:
    """Read a grid file as a (N, 9, S) batch; an .npz's own resolution wins over `spec`."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as data:
                grids = data["grids"]
                spec = GridSpec.from_dict(json.loads(str(data["spec"])))
        else:
            grids = np.load(path, allow_pickle=False)
        return check_grids(grids, spec), spec
    except (OSError, ValueError, KeyError) as e:
        raise EvodrumError(f"{path}: not a grid file ({e})") from None


def read_any(path: str | Path, spec: GridSpec) -> tuple[np.ndarray, GridSpec]:
    """Grids (N, 9, S) from a MIDI file or a grid file, with the resolution they use."""
    from evodrum import midi
    if Path(path).suffix.lower() in SUFFIXES:
        return load_grids(path, spec)
    return midi.read_grids(path, spec), spec
