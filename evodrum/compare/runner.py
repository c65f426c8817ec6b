"""One run of a comparison, a pure function of (config, run key): the same inputs give
the same result on any worker. Models are loaded once per worker process.

The search minimises the task's target error (plus well-formedness only if the
config weights it, 0 by default); well-formedness and the independent judges of
real drumming are measured on the best loop afterwards, so the report can show
what chasing the target costs.
"""
from __future__ import annotations

import dataclasses
import functools
import time

import numpy as np

from evodrum import genotypes
from evodrum.compare.config import CompareConfig, RunKey
from evodrum.compare.store import grid_text
from evodrum.genotypes import files
from evodrum.search.engine import run_search
from evodrum.search.objective import Objective
from evodrum.search.pareto import hypervolume_2d
from fitness import compute

#: Hypervolume reference point (target error, 1 - judge score): errors beyond 0.2 (worse
#: than random loops on most tasks) and judge scores of 0 add nothing.
HV_REFERENCE = (0.2, 1.0)


@functools.cache
def reference(model: str | None):
    """The well-formedness reference beside `model` (or the shipped one), once per process."""
    return files.load_reference(model)


@functools.cache
def judges(model: str | None) -> dict:
    """The judges of real drumming beside `model` (or the shipped ones), once per process."""
    return files.load_judges(model)


@functools.cache
def space(name: str, model: str | None):
    """The genotype space `name` decoded by `model`'s files, once per process."""
    return genotypes.open_space(name, model, reference(model).spec)


def run_space(config: CompareConfig, key: RunKey):
    """The genotype space run `key` searches: its space (a variant's own) decoded by its
    replicate's model."""
    return space(config.base(key.space), config.model_for(key.space, config.replicate(key)))


#: Velocity given to training loops (onsets only) a search starts from.
START_VELOCITY = 0.8


def start_genotypes(config: CompareConfig, key: RunKey, genotypes) -> np.ndarray | None:
    """A run's first population when it starts from the corpus: `population` distinct
    training loops drawn with the run's seed, encoded into the space; None: the prior."""
    if config.start_for(key) != "corpus":
        return None
    train = reference(config.model).index.onsets
    rng = np.random.default_rng([key.seed, len(train)])
    pick = rng.choice(len(train), min(config.population, len(train)), replace=False)
    return genotypes.encode(train[np.sort(pick)].astype(np.float32) * START_VELOCITY)


def judge_loop(config: CompareConfig, grids) -> dict[str, float]:
    """Every independent judge's score of one loop (1, 9, S)."""
    return {n: float(j.score(grids)[0]) for n, j in judges(config.model).items()
            if j.spec.shape == grids.shape[1:]}


def objective_for(config: CompareConfig, key: RunKey, search) -> Objective:
    """What one run minimises: the target error (and, for Pareto and archive runs, the
    config's judge in the place of well-formedness, so no search optimises the judge it
    is read by)."""
    genotypes = run_space(config, key).with_prior(search.prior)
    target = config.target(key.task)
    judge = judges(config.model)[config.judge] if config.uses_judge(key.algorithm) \
        else reference(config.model)
    return Objective.for_config(genotypes, target, judge, search)


def front_record(config: CompareConfig, result, genotypes) -> dict:
    """A Pareto run's final front: size, and the hypervolume of (error, 1 - score) for
    every judge (the optimised one, and the others reading the same loops)."""
    front = result.algorithm.front()
    grids = genotypes.decode(front.genotypes)
    scores = {n: j.score(grids) for n, j in judges(config.model).items()}
    hv = {n: hypervolume_2d(np.column_stack([front.distance, 1.0 - s]), HV_REFERENCE)
          for n, s in scores.items()}
    return {"size": len(front), "hypervolume": hv,
            "points": [[round(float(e), 5), *(round(float(s[i]), 4) for s in scores.values())]
                       for i, e in enumerate(front.distance)][:100]}


def archive_record(config: CompareConfig, result, genotypes) -> dict:
    """A MAP-Elites run's archive: coverage, QD-score (sum of the judge's scores of the
    elites) and the other judges' sums over the same elites."""
    algo = result.algorithm
    elites = algo.elites()
    grids = genotypes.decode(elites["genotypes"]) if len(elites["genotypes"]) else None
    sums = {n: float(j.score(grids).sum()) if grids is not None else 0.0
            for n, j in judges(config.model).items()}
    return {"coverage": algo.coverage(), "elites": len(elites["genotypes"]),
            "qd_score": sums}


def outcome(config: CompareConfig, key: RunKey, result, genotypes) -> dict:
    """What a run reached at its budget: best error and judges of its best loop, and its
    front or archive when it has one."""
    ref = reference(config.model)
    best = result.best_grids[:1]
    out = {"error": float(result.best_distance[0]), "evaluations": int(result.evaluations),
           "wellformed": float(ref.score(best)[0]), "judges": judge_loop(config, best),
           "best_grid": grid_text(best[0])}
    if hasattr(result.algorithm, "front"):
        out["front"] = front_record(config, result, genotypes)
    if hasattr(result.algorithm, "elites"):
        out["archive"] = archive_record(config, result, genotypes)
    return out


def run_one(config: CompareConfig, key: RunKey) -> dict:
    """Search one (task, space, algorithm, seed) and score its best loop.

    Returns the run's record: final target error, well-formedness of the best loop
    (score, typicality, nearest corpus distance), the judges' scores of it, the same
    (with the Pareto front or archive, if any) at each budget of the config (a smaller
    one is a shorter run with the same seed), the convergence curve (best error so far
    vs evaluations), wall and CPU time, and the best loop itself.
    """
    genotypes = run_space(config, key)
    ref = reference(config.model)
    target = config.target(key.task)
    search = config.search_config(key)
    wall, cpu = time.perf_counter(), time.process_time()
    seeds = start_genotypes(config, key, genotypes)
    result = run_search(objective_for(config, key, search), search, seeds=seeds)
    best = result.best_grids[:1]
    nearest, _ = ref.nearest(best)
    features = compute(best, genotypes.spec)
    at_budget = {str(config.budget): outcome(config, key, result, genotypes)}
    for budget in config.all_budgets[:-1]:
        shorter = dataclasses.replace(search, generations=max(1, budget // config.population))
        early = run_search(objective_for(config, key, shorter), shorter, seeds=seeds)
        at_budget[str(budget)] = outcome(config, key, early, genotypes)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "run": key._asdict(),
        "replicate": config.replicate(key),
        "start": config.start_for(key),
        "error": float(result.best_distance[0]),
        "fitness": float(result.best_fitness[0]),
        "wellformed": float(ref.score(best)[0]),
        "typicality": float(ref.typicality(best)[0]),
        "nearest_distance": float(nearest[0]),
        "judges": at_budget[str(config.budget)]["judges"],
        "budgets": at_budget,
        "features": {n: round(float(features[n][0]), 6) for n in (target.names if target else ())},
        "evaluations": int(result.evaluations),
        "generations": int(result.generations),
        "wall_seconds": round(wall, 4),
        "cpu_seconds": round(cpu, 4),
        "curve": {"evaluations": [int(r["evals"]) for r in result.logbook],
                  "error": [round(float(r["best_so_far"]), 6) for r in result.logbook]},
        "spec": genotypes.spec.to_dict(),
        "best_grid": grid_text(best[0]),
    }
