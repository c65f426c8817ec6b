"""A comparison's run folder: one small JSON per finished run, written atomically, and
the fingerprints that tell a finished run of these settings from a stale one.

    FOLDER/runs/TASK/SPACE-ALGORITHM-sSEED.json
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from evodrum import atomic, statefile
from evodrum.compare.config import CompareConfig, RunKey
from evodrum.errors import EvodrumError
from evodrum.grid import GridSpec, from_midi_velocity, to_midi_velocity
from evodrum.infile import NotAFile, open_regular
from evodrum.search.config import MAX_EVALUATIONS
from evodrum.statefile import Fields, StateError

RUNS_DIR = "runs"


def run_path(folder: Path, key: RunKey) -> Path:
    return Path(folder) / RUNS_DIR / key.task / f"{key.space}-{key.algorithm}-s{key.seed:03d}.json"


def grid_text(grid: np.ndarray) -> list[str]:
    """A loop as one string per row: two hex digits (MIDI velocity 00-7f) per step."""
    return [bytes(row).hex() for row in to_midi_velocity(grid)]


def text_grid(rows: list[str]) -> np.ndarray:
    """The (9, S) float32 loop written by `grid_text`."""
    return from_midi_velocity(np.array([list(bytes.fromhex(r)) for r in rows], dtype=np.uint8))


def file_digest(path: Path) -> str:
    """First 16 hex digits of a file's SHA-256, read in chunks from a regular file (a named
    pipe would wait forever); EvodrumError naming a missing file."""
    try:
        f, _ = open_regular(path)
        with f:
            return hashlib.file_digest(f, "sha256").hexdigest()[:16]
    except NotAFile as e:
        raise EvodrumError(f"{path}: cannot read model file ({e.reason})") from None
    except OSError as e:
        raise EvodrumError(f"{path}: cannot read model file ({e.strerror})") from None


def model_fingerprint(config: CompareConfig) -> dict[str, str]:
    """Each space's registry fingerprint (how it decodes, see `evodrum.genotypes`), and
    the digest of the well-formedness reference every run is scored against."""
    from evodrum import genotypes
    from evodrum.compare.runner import space
    from evodrum.genotypes import files
    reference = files.beside_or_shipped(config.model, files.WELLFORMED_FILE)
    prints = {"wellformed": file_digest(reference)}
    from fitness.judges import NAMES, judge_file
    folder = files.judges_dir(config.model)
    prints.update({f"judge-{n}": file_digest(judge_file(folder, n)) for n in NAMES})
    for r in range(max(1, len(config.replicates))):
        prints.update({space_print(name, r): genotypes.fingerprint(space(
            config.base(name), config.model_for(name, r))) for name in config.spaces})
    return prints


def space_print(space: str, replicate: int) -> str:
    """A fingerprint's key for a space's replicate: the space's name for the first."""
    return space if replicate == 0 else f"{space}#{replicate}"


def run_hash(config: CompareConfig, key: RunKey, fingerprint: dict[str, str]) -> str:
    """What determines a run's result besides code: its search settings, target and
    model files. A finished run with another hash belongs to other settings."""
    identity = {"search": config.search_config(key).to_dict(), "budgets": config.all_budgets,
                "target": None if config.target(key.task) is None
                else config.target(key.task).to_dict(),
                "judge": config.judge if config.uses_judge(key.algorithm) else None,
                "model": {k: v for k, v in fingerprint.items()
                          if k in (space_print(key.space, config.replicate(key)), "wellformed")
                          or k.startswith("judge-")}}
    if config.start_for(key) != "prior":        # runs made before starts keep their hash
        identity["start"] = config.start_for(key)
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def save_run(folder: Path, key: RunKey, record: dict, digest: str) -> Path:
    """Write a finished run's record (one line of JSON, ~3 kB) atomically."""
    path = run_path(folder, key)
    atomic.write_text(path, json.dumps(dict(record, run_hash=digest)) + "\n")
    return path


def read_json(path: Path) -> dict:
    """A JSON object from `path`; EvodrumError naming the file for anything else."""
    try:
        record = statefile.read_json(path, "run record")
    except EvodrumError as e:
        raise EvodrumError(f"{path}: unreadable ({str(e).removeprefix(f'{path}: ')}); "
                           "delete it to rerun that run") from None
    if not isinstance(record, dict):
        raise EvodrumError(f"{path}: holds a {type(record).__name__}, not a run record; "
                           "delete it to rerun that run")
    return record


#: Longest convergence curve kept in a run record (one point per generation).
MAX_CURVE = 10**7


def check_record(record: dict, key: RunKey, config: CompareConfig) -> None:
    """StateError naming the first field of a run record that the report could not read
    as written by `runner.run_one` (its run, finite scores, curve, every budget)."""
    f = Fields(record)
    run = f.table("run")
    if [run.data.get(k) for k in RunKey._fields] != list(key):
        raise StateError("run", f"names another run than {key.label}")
    try:
        spec = GridSpec.from_dict(record.get("spec"))
    except ValueError as e:
        raise StateError("", str(e)) from None
    _grid(f, "best_grid", spec)
    _scores(f, ("error", "fitness", "wellformed", "typicality", "nearest_distance"))
    for name in ("wall_seconds", "cpu_seconds"):
        f.number(name, 0)
    f.integer("evaluations", 0, MAX_EVALUATIONS)
    f.integer("generations", 0, MAX_EVALUATIONS)
    _judges(f.table("judges"))
    _judges(f.table("features"))
    curve = f.table("curve")
    evaluations = curve.items("evaluations", MAX_CURVE)
    errors = curve.numbers("error", len(evaluations), MAX_CURVE)
    curve.numbers("evaluations", len(errors), MAX_CURVE, low=0)
    budgets = f.table("budgets")
    for budget in config.all_budgets:
        at = budgets.table(str(budget))
        _scores(at, ("error", "wellformed"))
        at.integer("evaluations", 0, MAX_EVALUATIONS)
        _judges(at.table("judges"))
        _grid(at, "best_grid", spec, default=None)
        front = at.table("front", default=None)
        if front is not None:
            front.integer("size", 0)
            _judges(front.table("hypervolume"))
        archive = at.table("archive", default=None)
        if archive is not None:
            archive.number("coverage", 0, 1)
            archive.integer("elites", 0)
            _judges(archive.table("qd_score"))


def _grid(f: Fields, key: str, spec: GridSpec, default=statefile.REQUIRED) -> None:
    """A loop as `grid_text` writes it: a row of two hex digits (00-7f) per step, per drum."""
    rows = f.texts(key, spec.shape[0], "rows of hex digits", default=default)
    if rows is None:
        return
    try:
        levels = [bytes.fromhex(row) for row in rows]
    except ValueError:
        levels = []
    if len(levels) != spec.shape[0] or any(len(row) != spec.steps or max(row) > 127
                                            for row in levels):
        raise StateError(f.name(key), f"must be {spec.shape[0]} rows of {spec.steps} MIDI "
                         "velocities (two hex digits each, 00 to 7f)")


def _scores(f: Fields, names) -> None:
    for name in names:
        f.number(name)


def _judges(f: Fields) -> None:
    """A table of finite numbers by name (judges' scores, feature values)."""
    for name in f.data:
        f.number(name)


def finished_runs(folder: Path, config: CompareConfig,
                  fingerprint: dict[str, str]) -> tuple[dict[RunKey, dict], list[RunKey]]:
    """(results of this config's finished runs, keys whose file holds another config's run)."""
    done, stale = {}, []
    for key in config.runs():
        path = run_path(folder, key)
        if path.exists():
            record = read_json(path)
            if record.get("run_hash") == run_hash(config, key, fingerprint):
                try:
                    check_record(record, key, config)
                except StateError as e:
                    raise EvodrumError(f"{path}: damaged run record: {e}; delete it to rerun "
                                       "that run") from None
                done[key] = record
            else:
                stale.append(key)
    return done, stale
