"""Search checkpoints as one .npz file: a JSON document (settings, counters, logbook,
random-number states) plus plain numeric arrays (populations, strategy matrices).

Loaded with `allow_pickle=False`, so a checkpoint a user is handed can hold no code:
a pickle, or an .npz with object arrays, is refused, never executed. The state is
rebuilt from the arrays by each algorithm's `restore`.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from evodrum import npyfile
from evodrum.atomic import atomic_path
from evodrum.errors import EvodrumError
from evodrum.infile import NotAFile, open_regular
from evodrum.statefile import parse_json

ARRAY = "__array__"


def _split(obj, arrays: dict, key: str):
    """`obj` with every numpy array replaced by a reference into `arrays`."""
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise TypeError(f"{key}: object arrays cannot be checkpointed")
        arrays[key] = obj
        return {ARRAY: key}
    if isinstance(obj, dict):
        return {str(k): _split(v, arrays, f"{key}/{k}") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_split(v, arrays, f"{key}/{i}") for i, v in enumerate(obj)]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _join(obj, arrays):
    if isinstance(obj, dict):
        if set(obj) == {ARRAY}:
            if not isinstance(obj[ARRAY], str) or obj[ARRAY] not in arrays:
                raise ValueError(f"it refers to an array it does not hold ({obj[ARRAY]!r})")
            return arrays[obj[ARRAY]]
        return {k: _join(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_join(v, arrays) for v in obj]
    return obj


def save(path: Path, state: dict) -> None:
    """Write `state` (dicts, lists, numbers, strings, numeric arrays) atomically."""
    arrays: dict[str, np.ndarray] = {}
    meta = _split(state, arrays, "state")
    names = {k: f"a{i}" for i, k in enumerate(arrays)}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, meta=np.array(json.dumps({"names": names, "state": meta})),
                     **{names[k]: v for k, v in arrays.items()})


def load(path: Path) -> dict:
    """The state `save` wrote; EvodrumError naming the file for anything else.

    A checkpoint is read like any state file: a regular file (never a link, pipe or
    device), every array's header checked (numbers only, bounded bytes) before its data
    is read, and its JSON document bounded in depth. What the state means is checked
    by the engine and each algorithm's `restore`."""
    try:
        f, _ = open_regular(path, follow_links=False)
    except NotAFile as e:
        raise EvodrumError(f"{path}: cannot read search checkpoint ({e.reason})") from None
    try:
        with f:
            data = npyfile.read_npz(path, f, text=("meta",))
        if "meta" not in data or data["meta"].ndim != 0:
            raise ValueError("it holds no description ('meta')")
        doc = parse_json(str(data["meta"]), path, "search checkpoint")
        if not (isinstance(doc, dict) and isinstance(doc.get("names"), dict)
                and all(isinstance(v, str) for v in doc["names"].values())):
            raise ValueError("its description names no arrays")
        arrays = {k: data[name] for k, name in doc["names"].items()}
        return _join(doc.get("state"), arrays)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError,
            zipfile.BadZipFile) as e:
        raise EvodrumError(f"{path}: cannot read search checkpoint ({e})") from None
