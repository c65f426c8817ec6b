"""`evodrum map` as a library call: an atlas of the loops a genotype space can make.

MAP-Elites (pyribs) fills a grid over two or three rhythm features; each cell keeps
the most well-formed loop found there. The run folder holds every elite as MIDI
(elites/cell_03_07.mid: 1-based cell numbers per feature), atlas.csv (the index to
pick loops from: file, cell, features, well-formedness), atlas.png (heat map, with
the `plot` extra), summary.json (coverage, QD-score) and checkpoint.npz (--resume).
"""
from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from evodrum import atomic, midi
from evodrum.errors import EvodrumError
from evodrum.genotypes import Space
from evodrum.lock import check_stored
from evodrum.loop import Loop
from evodrum.notemap import check_stored_map
from evodrum.search.config import SearchConfig
from evodrum.search.engine import run_search
from evodrum.search.loopfiles import LoopFiles
from evodrum.search.objective import Objective
from evodrum.search.target import MAX_REFINE, MAX_SEED_LOOPS
from evodrum.statefile import Fields, StateError, read_json
from fitness import WellFormedness

CHECKPOINT_FILE = "checkpoint.npz"
JOB_FILE = "job.json"
ELITES_DIR = "elites"
#: The most features a job file may name (an atlas has two or three axes; more is damage).
MAX_FEATURES = 16
#: Terminal view: empty cell, then rising well-formedness.
SHADES = " .:-=+*#%@"


@dataclass
class Atlas:
    """A finished atlas: its elites (features, cells, well-formedness) and scores."""

    features: tuple[str, ...]
    cells: int
    rows: list[dict]              # one per elite: file, cell (1-based), features, wellformed
    quality: np.ndarray           # (cells,) * k, NaN where empty
    coverage: float
    qd_score: float
    evaluations: int
    loop_files: dict              # this run's loop files: written, kept (evodrum.search.loopfiles)


def atlas_config(space: str, features: tuple[str, ...], cells: int, population: int,
                 generations: int, seed: int, sigma: float) -> SearchConfig:
    """The MAP-Elites search an atlas runs: quality = well-formedness alone."""
    return SearchConfig(space=space, algorithm="map-elites", population=population,
                        generations=generations, seed=seed, wellformed_weight=1.0,
                        settings={"features": tuple(features), "cells": cells, "sigma": sigma})


def parse_features(text: str) -> tuple[str, ...]:
    """'density,hats.syncopation' -> ('all.density', 'hats.syncopation'); a bare
    name's level is the one a drummer means (fitness.features.BARE_LEVEL)."""
    from fitness.features import full_name
    return tuple(full_name(f) for f in text.split(",")
                 if f.strip())


@dataclass(frozen=True)
class MapJob:
    """What an atlas was asked for (job.json): --resume continues with exactly this."""

    features: tuple[str, ...]
    space: str
    cells: int
    generations: int
    population: int
    seed: int
    sigma: float
    model: str | None = None       # absolute, so --resume works from anywhere
    corpus: str | None = None
    seed_loops: tuple[str, ...] = ()   # your loops the atlas starts from (absolute)
    refine: int | None = None          # refinement steps encoding them
    lock: dict | None = None           # cells every elite keeps (evodrum.lock.Lock.to_dict)
    drum_map: str = "groove"           # how the seed loops' pitches are read
    drum_channel: int | None = None    # the seed loops' drum channel (None: found)
    bpm: float | None = None           # the elites' tempo (None: a job from before it
    #                                    was kept; such atlases used 120)

    def config(self) -> SearchConfig:
        return atlas_config(self.space, self.features, self.cells, self.population,
                            self.generations, self.seed, self.sigma)

    def to_dict(self) -> dict:
        return {**asdict(self), "features": list(self.features),
                "seed_loops": list(self.seed_loops)}

    @classmethod
    def from_dict(cls, d) -> MapJob:
        """The job a job.json holds, every field checked (StateError naming it)."""
        f = Fields(d)
        features = f.texts("features", MAX_FEATURES, "feature names")
        seed_loops = f.texts("seed_loops", MAX_SEED_LOOPS, "file names", default=[])
        try:
            lock = check_stored(d.get("lock"))
        except ValueError as e:
            raise StateError("lock", str(e)) from None
        job = cls(tuple(features), f.text("space"), f.integer("cells"), f.integer("generations"),
                  f.integer("population"), f.integer("seed"), f.number("sigma"),
                  f.text("model", default=None), f.text("corpus", default=None),
                  tuple(seed_loops), f.integer("refine", 0, MAX_REFINE, default=None), lock,
                  check_stored_map(f.text("drum_map", default="groove")),
                  f.integer("drum_channel", 1, 16, default=None),
                  f.number("bpm", *midi.TEMPO_RANGE, default=None))
        job.config()  # the search's own checks: feature names, counts, sigma's range
        return job


def save_job(folder: Path, job: MapJob) -> None:
    """Write the atlas's job.json atomically (what --resume reads)."""
    atomic.write_json(Path(folder) / JOB_FILE, job.to_dict())


def load_job(folder: Path) -> MapJob:
    """The job an atlas run folder was started with; EvodrumError naming job.json if it is
    missing or damaged."""
    path = Path(folder) / JOB_FILE
    try:
        return MapJob.from_dict(read_json(path, "map run's job file"))
    except (OSError, ValueError, EvodrumError) as e:
        reason = getattr(e, "strerror", None) or str(e).removeprefix(f"{path}: ")
        raise EvodrumError(f"{path}: not a map run's job file ({reason})") from None


def make_atlas(space: Space, reference: WellFormedness, config: SearchConfig, folder: Path, *,
               resume: bool = False, bpm: float = 120.0, on_generation=None,
               perform=None, note_map=None, seeds: np.ndarray | None = None) -> Atlas:
    """Run (or resume) the atlas search in `folder` and write its files; `perform` turns
    grids into the Loops written (their feel), None writes them straight; `note_map`
    (evodrum.notemap) sets their MIDI pitches, None General MIDI; `seeds` are genotypes
    (the user's loops) among the first ones tried."""
    objective = Objective(space, None, reference, wellformed_weight=1.0)
    result = run_search(objective, config, seeds=seeds, checkpoint=folder / CHECKPOINT_FILE,
                        resume=resume, on_generation=on_generation)
    algo = result.algorithm
    elites = algo.elites()
    grids = space.decode(elites["genotypes"])
    wellformed = reference.score(grids) if len(grids) else np.zeros(0)
    features = config.operators.features
    cells = config.operators.cells
    quality = np.full((cells,) * len(features), np.nan)
    rows = []
    played = (perform(grids) if perform else Loop.straight(grids, space.spec)) if len(grids) \
        else []
    loop_files = LoopFiles(folder, resume)
    for loop, cell, measures, wf in zip(played, elites["cells"], elites["measures"], wellformed):
        name = "cell_" + "_".join(f"{c + 1:02d}" for c in cell) + ".mid"
        file = loop_files.write(f"{ELITES_DIR}/{name}", loop, space.spec, bpm, note_map)
        quality[tuple(cell)] = wf
        rows.append({"file": file, "cell": [int(c) + 1 for c in cell],
                     "features": {f: float(m) for f, m in zip(features, measures)},
                     "wellformed": float(wf)})
    atlas = Atlas(features, cells, rows, quality, algo.coverage(), algo.qd_score(),
                  result.evaluations, loop_files.finish())
    atomic.write_text(folder / "atlas.csv", index_csv(atlas))
    atomic.write_json(folder / "summary.json", {
        "config": config.to_dict(), "folder": str(folder), "bpm": bpm,
        "evaluations": result.evaluations,
        "cells": cells ** len(features), "elites": len(rows), "coverage": atlas.coverage,
        "qd_score": atlas.qd_score, "index": "atlas.csv", "loop_files": atlas.loop_files})
    from evodrum import plotting
    if plotting.available():
        from evodrum.search import plots
        plots.atlas(quality, features, folder / "atlas.png",
                    f"{space.name} space: {len(rows)} of {cells ** len(features)} cells filled")
    return atlas


def index_csv(atlas: Atlas) -> str:
    """The atlas index: one row per elite, best-formed first."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["file", "cell", *atlas.features, "wellformed"])
    for r in sorted(atlas.rows, key=lambda r: -r["wellformed"]):
        writer.writerow([r["file"], ",".join(map(str, r["cell"])),
                         *(f"{r['features'][f]:.4f}" for f in atlas.features),
                         f"{r['wellformed']:.4f}"])
    return buf.getvalue()


def terminal_view(atlas: Atlas) -> str:
    """The atlas as characters: rows = the second feature (high at the top), columns =
    the first; darker = more well-formed, blank = no loop found (max over a third)."""
    q = atlas.quality if atlas.quality.ndim == 2 else np.nanmax(
        np.where(np.isnan(atlas.quality), -1.0, atlas.quality), axis=2)
    q = np.where(q < 0, np.nan, q)
    levels = np.where(np.isnan(q), 0, 1 + np.minimum(len(SHADES) - 2,
                                                     np.nan_to_num(q) * (len(SHADES) - 1)).astype(int))
    lines = [f"{atlas.features[1]} ^"]
    for y in range(q.shape[1] - 1, -1, -1):
        lines.append(f"{(y + 0.5) / q.shape[1]:5.2f} |" + "".join(SHADES[v] * 2 for v in levels[:, y]) + "|")
    lines.append("      +" + "-" * (2 * q.shape[0]) + f"> {atlas.features[0]} (0 to 1)")
    lines.append(f"shades: '{SHADES[1]}' barely well-formed ... '{SHADES[-1]}' as typical as real "
                 "loops; blank: no loop found")
    return "\n".join(lines)
