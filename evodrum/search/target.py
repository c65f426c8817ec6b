"""`evodrum target` as a library call: a feature-target search that writes a run folder.

The folder holds job.json (what was asked), checkpoint.npz (to resume),
logbook.csv (one row per generation), summary.json and the best loops as MIDI.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evodrum import atomic, genotypes, midi
from evodrum.errors import EvodrumError
from evodrum.genotypes import Space, files
from evodrum.genotypes.locked import locked_as_stored
from evodrum.lock import check_stored
from evodrum.loop import Loop
from evodrum.notemap import check_stored_map
from evodrum.search.config import SearchConfig
from evodrum.search.distinct import distinct_best
from evodrum.search.engine import SearchResult, check_memory, make_algorithm, run_search
from evodrum.search.loopfiles import LoopFiles
from evodrum.search.objective import Objective
from evodrum.statefile import Fields, StateError, read_json
from fitness import Judge, Target, WellFormedness, compute

JOB_FILE = "job.json"
CHECKPOINT_FILE = "checkpoint.npz"
#: What runs before evodrum 0.2 checkpointed to (a pickle, never loaded).
LEGACY_CHECKPOINT = "checkpoint.pkl"
#: The nearest-neighbour well-formedness reference, the default second objective.
WELLFORMED = "wellformed"
#: Refinement steps encoding seed loops (the CLI's --refine bound).
MAX_REFINE = 10_000
#: The most seed loops a job file may name.
MAX_SEED_LOOPS = 1000


@dataclass
class TargetJob:
    """What the user asked for: a target, search settings, and where loops come from."""

    target: Target
    config: SearchConfig
    model: str | None = None          # VAE (and its PCA/well-formedness files); None = shipped
    seed_loops: list[str] = field(default_factory=list)
    corpus: str | None = None         # build the well-formedness reference from this corpus
    refine: int | None = None         # refinement steps for seed loops (None = vae.refine's)
    judge: str = WELLFORMED           # the judge of real drumming the search optimises
    lock: dict | None = None          # cells every result keeps (evodrum.lock.Lock.to_dict)
    drum_map: str = "groove"          # how the seed loops are read (evodrum.notemap.reading)
    drum_channel: int | None = None   # the seed loops' drum channel (None: found)
    bpm: float | None = None          # the tempo its loops are written at (None: a job
    #                                   from before it was kept; such runs used 120)

    def to_dict(self) -> dict:
        return {"target": self.target.to_dict(), "config": self.config.to_dict(),
                "model": self.model, "seed_loops": self.seed_loops, "corpus": self.corpus,
                "refine": self.refine, "judge": self.judge, "lock": self.lock,
                "drum_map": self.drum_map, "drum_channel": self.drum_channel, "bpm": self.bpm}

    @classmethod
    def from_dict(cls, d) -> TargetJob:
        """The job a job.json holds, every field checked (StateError naming it)."""
        f = Fields(d)
        target = f.table("target")
        goals, weights = target.table("goals"), target.table("weights", default=None)
        try:
            goal = Target(goals.data, weights.data if weights else {})
        except (EvodrumError, TypeError, ValueError) as e:
            raise StateError("target", str(e).removeprefix("target: ")) from None
        try:
            config = SearchConfig.from_dict(f.table("config").data)
        except StateError:
            raise
        except (EvodrumError, TypeError, ValueError) as e:
            raise StateError("", f"config: {e}") from None
        seed_loops = f.texts("seed_loops", MAX_SEED_LOOPS, "file names", default=[])
        return cls(goal, config, f.text("model", default=None), list(seed_loops),
                   f.text("corpus", default=None), f.integer("refine", 0, MAX_REFINE, default=None),
                   f.text("judge", default=WELLFORMED), _lock_cells(f.data.get("lock")),
                   check_stored_map(f.text("drum_map", default="groove")),
                   f.integer("drum_channel", 1, 16, default=None),
                   f.number("bpm", *midi.TEMPO_RANGE, default=None))


@dataclass
class BestLoop:
    """One of the best distinct loops a search found, with what it scored."""

    grid: np.ndarray
    distance: float
    features: dict[str, float]
    wellformed: float
    typicality: float
    nearest_distance: float
    judges: dict[str, float] = field(default_factory=dict)   # independent judges' scores


def _lock_cells(d) -> dict | None:
    """A job's locked cells as stored (checked against the model's grid when it runs)."""
    try:
        return check_stored(d)
    except ValueError as e:
        raise StateError("lock", str(e)) from None


def optimised_judges(config: SearchConfig, judge: str = WELLFORMED) -> list[str]:
    """The judges of real drumming a search's fitness includes (so its results say
    nothing independent about them): `judge` when weighted in, or as the second
    objective of a multi-objective algorithm."""
    from evodrum.search.algorithms import algorithm_class
    if config.wellformed_weight > 0 or algorithm_class(config.algorithm).multi_objective:
        return [judge]
    return []


def independent_judges(job: TargetJob, judges: dict[str, Judge]) -> list[str]:
    """Every judge a job's search did not optimise, well-formedness included."""
    optimised = optimised_judges(job.config, job.judge)
    return [n for n in [WELLFORMED, *judges] if n not in optimised]


def load_job(folder: Path) -> TargetJob:
    """The job a run folder was started with (for --resume), checked field by field."""
    path = Path(folder) / JOB_FILE
    if not os.path.lexists(path):
        raise EvodrumError(f"{folder}: not a target run folder (it has no {JOB_FILE})")
    data = read_json(path, "target run's job file")
    try:
        return TargetJob.from_dict(data)
    except StateError as e:
        raise EvodrumError(f"{path}: not a target run folder's job ({e})") from None


def build_objective(job: TargetJob, judges: dict[str, Judge]) -> tuple[Objective, WellFormedness]:
    """The space, target and well-formedness reference the job names; its judge
    (the reference, or one of `judges`) is the search's second objective."""
    choices = [WELLFORMED, *judges]
    if job.judge not in choices:
        raise EvodrumError(f"unknown judge {job.judge!r}: choose {', '.join(choices)}")
    reference = files.load_reference(job.model, job.corpus)
    space = genotypes.open_space(job.config.space, job.model, reference.spec, job.config.prior)
    space = locked_as_stored(space, job.lock)
    judge = reference if job.judge == WELLFORMED else judges[job.judge]
    if judge.spec != reference.spec:
        raise EvodrumError(f"judge {job.judge!r} reads {judge.spec.steps}-step loops, the "
                           f"model {reference.spec.steps}: retrain it with `evodrum data judges`")
    objective = Objective.for_config(space, job.target, judge, job.config)
    return objective, reference


def seed_genotypes(space: Space, paths: list[str], refine_steps: int | None = None,
                   drum_map: str = "groove", drum_channel: int | None = None
                   ) -> np.ndarray | None:
    """Genotypes of the user's own loops (first window of each file, read with
    `drum_map` and `drum_channel`), refined so they decode to the loops as written
    (`refine_steps`, see Space.encode)."""
    if not paths:
        return None
    grids = np.stack([midi.read_loop(p, space.spec, drum_map, drum_channel) for p in paths])
    return space.encode(grids, refine_steps)


def best_loops(result: SearchResult, objective: Objective, reference: WellFormedness,
               k: int, judges: dict[str, Judge] | None = None) -> list[BestLoop]:
    """Up to `k` loops a listener tells apart (`evodrum.search.distinct`), best first,
    fully scored (by every judge in `judges` too)."""
    picked = distinct_best(result, objective.space, k)
    return scored_loops(picked.grids, objective, reference, judges)


def scored_loops(grids: np.ndarray, objective: Objective, reference: WellFormedness,
                 judges: dict[str, Judge] | None = None) -> list[BestLoop]:
    """Loops with their target distance, features, well-formedness and judges' scores."""
    feats = compute(grids, objective.space.spec)
    dist, _ = reference.nearest(grids)
    typical = reference.typicality(grids)
    score = reference.score(grids)
    distance = objective.target.distance(grids, objective.space.spec)
    judged = {name: j.score(grids) for name, j in (judges or {}).items()
              if j.spec == objective.space.spec}
    return [BestLoop(grids[i], float(distance[i]),
                     {n: float(feats[n][i]) for n in objective.target.names},
                     float(score[i]), float(typical[i]), float(dist[i]),
                     {n: float(s[i]) for n, s in judged.items()})
            for i in range(len(grids))]


def logbook_csv(result: SearchResult) -> str:
    """The logbook as CSV text, one row per generation."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=result.logbook.header)
    writer.writeheader()
    for record in result.logbook:
        writer.writerow({k: record[k] for k in result.logbook.header})
    return buf.getvalue()


@dataclass
class PreparedTarget:
    """A job with its models loaded and seed loops encoded, ready to run."""

    job: TargetJob
    objective: Objective
    reference: WellFormedness
    seeds: np.ndarray | None
    judges: dict[str, Judge] = field(default_factory=dict)


def prepare_target(job: TargetJob, resume: bool = False) -> PreparedTarget:
    """Load what the job needs, so bad models or loops fail before any search starts.
    A resumed run continues from its checkpoint, so its seed loops are not read again."""
    judges = files.load_judges(job.model)
    objective, reference = build_objective(job, judges)
    check_memory(make_algorithm(objective.space, job.config))
    seeds = None if resume else seed_genotypes(objective.space, job.seed_loops, job.refine,
                                               job.drum_map, job.drum_channel)
    return PreparedTarget(job, objective, reference, seeds, judges)


def check_resumable(folder: Path) -> None:
    """EvodrumError for a run folder whose only checkpoint is an old pickle."""
    if (folder / LEGACY_CHECKPOINT).exists() and not (folder / CHECKPOINT_FILE).exists():
        raise EvodrumError(f"{folder / LEGACY_CHECKPOINT}: a checkpoint from an older evodrum "
                           "(a pickle, which is never loaded); start the run again with the "
                           f"settings in {folder / JOB_FILE}")


def run_target(prepared: PreparedTarget, folder: Path, *, resume: bool = False, top: int = 4,
               bpm: float = 120.0, on_generation=None,
               perform=None, note_map=None) -> tuple[SearchResult, list[BestLoop]]:
    """Run (or resume) the job in `folder`; writes the logbook, summary and best loops.

    `perform` turns grids into the Loops written (their feel); None writes them straight.
    `note_map` (evodrum.notemap) sets the MIDI files' pitches (None: General MIDI).
    """
    job, objective, reference, seeds = (prepared.job, prepared.objective, prepared.reference,
                                        prepared.seeds)
    loop_files = LoopFiles(folder, resume)
    if not resume:
        atomic.write_json(folder / JOB_FILE, job.to_dict())
    result = run_search(objective, job.config, seeds=seeds, checkpoint=folder / CHECKPOINT_FILE,
                        resume=resume, on_generation=on_generation)
    loops = best_loops(result, objective, reference, top, prepared.judges)
    spec = objective.space.spec
    # the front (fixed by the job) is played first, then the best one at a time: each
    # best loop's take is the same whatever --top, so a resume asking more keeps them
    front = (write_front(result, prepared, loop_files, bpm, perform, note_map)
             if hasattr(result.algorithm, "front") else None)
    played = [lp for b in loops for lp in _played([b.grid], spec, perform)]
    files = [loop_files.write(f"best_{i:02d}.mid", lp, spec, bpm, note_map)
             for i, lp in enumerate(played, 1)]
    atomic.write_text(folder / "logbook.csv", logbook_csv(result))
    summary = {
        "job": job.to_dict(), "folder": str(folder), "bpm": bpm,   # what these files play at
        "evaluations": result.evaluations,
        "generations": result.generations, "stopped": result.stopped,
        "optimised_judges": optimised_judges(job.config, job.judge),
        "independent_judges": independent_judges(job, prepared.judges),
        "best": [_loop_record(f, b) for f, b in zip(files, loops)]}
    if front is not None:
        summary["front"] = front
    summary["loop_files"] = loop_files.finish()
    atomic.write_json(folder / "summary.json", summary)
    return result, loops


def _loop_record(file: str, loop: BestLoop) -> dict:
    return {"file": file, "distance": loop.distance, "features": loop.features,
            "wellformed": loop.wellformed, "typicality": loop.typicality,
            "nearest_corpus_distance": loop.nearest_distance, "judges": loop.judges}


def _played(grids: list, spec, perform):
    """The Loops `perform` makes of `grids` (straight without it); empty for no grids."""
    if not len(grids):
        return []
    return perform(np.stack(grids)) if perform else Loop.straight(np.stack(grids), spec)


def write_front(result: SearchResult, prepared: PreparedTarget, loop_files: LoopFiles,
                bpm: float, perform=None, note_map=None) -> list[dict]:
    """A Pareto search's front: front_NN.mid per member (lowest target error first),
    front.csv, and front.png when matplotlib is installed."""
    from evodrum import plotting
    objective, reference, folder = prepared.objective, prepared.reference, loop_files.folder
    front = result.algorithm.front()
    grids = objective.space.decode(front.genotypes)
    _, first = np.unique(grids.reshape(len(grids), -1), axis=0, return_index=True)
    keep = np.sort(first)
    loops = scored_loops(grids[keep], objective, reference, prepared.judges)
    records = []
    played = _played([b.grid for b in loops], objective.space.spec, perform)
    for i, (loop, lp) in enumerate(zip(loops, played), 1):
        file = loop_files.write(f"front_{i:02d}.mid", lp, objective.space.spec, bpm, note_map)
        records.append(_loop_record(file, loop))
    judge = prepared.job.judge
    names = list(objective.target.names)
    # the optimised judge's score follows the target error (objective 2 is 1 - it)
    extra = [] if judge == WELLFORMED else [judge]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["file", "distance", *extra, "wellformed", "typicality", *names])
    for r in records:
        writer.writerow([r["file"], f"{r['distance']:.6f}",
                         *(f"{r['judges'][j]:.6f}" for j in extra), f"{r['wellformed']:.6f}",
                         f"{r['typicality']:.6f}", *(f"{r['features'][n]:.6f}" for n in names)])
    atomic.write_text(folder / "front.csv", buf.getvalue())
    if plotting.available():
        from evodrum.search import plots
        score = [r["wellformed"] if judge == WELLFORMED else r["judges"][judge] for r in records]
        values = np.column_stack([[r["distance"] for r in records], 1 - np.array(score)])
        plots.front(result.algorithm.population.values, values, folder / "front.png",
                    f"{objective.target}: {len(records)} loops on the front",
                    "well-formedness" if judge == WELLFORMED else f"{judge} judge")
    return records
