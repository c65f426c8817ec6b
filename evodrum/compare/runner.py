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

from evodrum import genotypes
from evodrum.compare.config import CompareConfig, RunKey
from evodrum.compare.store import grid_text
from evodrum.genotypes import files
from evodrum.search.engine import run_search
from evodrum.search.objective import Objective
from fitness import compute


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


def judge_loop(config: CompareConfig, grids) -> dict[str, float]:
    """Every independent judge's score of one loop (1, 9, S)."""
    return {n: float(j.score(grids)[0]) for n, j in judges(config.model).items()
            if j.spec.shape == grids.shape[1:]}


def run_one(config: CompareConfig, key: RunKey) -> dict:
    """Search one (task, space, algorithm, seed) and score its best loop.

    Returns the run's record: final target error, well-formedness of the best loop
    (score, typicality, nearest corpus distance), the judges' scores of it, the same
    at each smaller budget of the config (a shorter run with the same seed), the
    convergence curve (best error so far vs evaluations), wall and CPU time, and the
    best loop itself.
    """
    genotypes = space(key.space, config.model)
    ref = reference(config.model)
    target = config.task(key.task).target
    search = config.search_config(key)
    objective = Objective.for_config(genotypes, target, ref, search)
    wall, cpu = time.perf_counter(), time.process_time()
    result = run_search(objective, search)
    best = result.best_grids[:1]
    nearest, _ = ref.nearest(best)
    features = compute(best, genotypes.spec)
    judged = judge_loop(config, best)
    at_budget = {str(config.budget): {"error": float(result.best_distance[0]),
                                      "evaluations": int(result.evaluations),
                                      "wellformed": float(ref.score(best)[0]), "judges": judged}}
    for budget in config.all_budgets[:-1]:
        shorter = dataclasses.replace(search, generations=max(1, budget // config.population))
        early = run_search(Objective.for_config(genotypes, target, ref, shorter), shorter)
        loop = early.best_grids[:1]
        at_budget[str(budget)] = {"error": float(early.best_distance[0]),
                                  "evaluations": int(early.evaluations),
                                  "wellformed": float(ref.score(loop)[0]),
                                  "judges": judge_loop(config, loop)}
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "run": key._asdict(),
        "error": float(result.best_distance[0]),
        "fitness": float(result.best_fitness[0]),
        "wellformed": float(ref.score(best)[0]),
        "typicality": float(ref.typicality(best)[0]),
        "nearest_distance": float(nearest[0]),
        "judges": judged,
        "budgets": at_budget,
        "features": {n: round(float(features[n][0]), 6) for n in target.names},
        "evaluations": int(result.evaluations),
        "generations": int(result.generations),
        "wall_seconds": round(wall, 4),
        "cpu_seconds": round(cpu, 4),
        "curve": {"evaluations": [int(r["evals"]) for r in result.logbook],
                  "error": [round(float(r["best_so_far"]), 6) for r in result.logbook]},
        "spec": genotypes.spec.to_dict(),
        "best_grid": grid_text(best[0]),
    }
