"""Runs a search generation by generation: seeding, logbook, hall of fame, and
checkpoints from which `resume` continues exactly where a run stopped."""
from __future__ import annotations

import pickle
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from deap import tools

from evodrum.atomic import atomic_path
from evodrum.errors import EvodrumError
from evodrum.grid import GridSpec
from evodrum.search.cmaes import CMAES
from evodrum.search.config import SearchConfig
from evodrum.search.ga import GA
from evodrum.search.individuals import genotypes
from evodrum.search.objective import Objective

ALGORITHM_CLASSES = {"ga": GA, "cmaes": CMAES}
HALL_OF_FAME_SIZE = 10
CHECKPOINT_FORMAT = "evodrum-search-checkpoint-1"


@dataclass
class SearchResult:
    """What a finished run leaves: the best genotypes, their loops, and the logbook."""

    config: SearchConfig
    spec: GridSpec                # resolution of the loops
    best_genotypes: np.ndarray    # (k, dim), best first
    best_grids: np.ndarray        # (k, 9, S)
    best_fitness: np.ndarray      # (k,)
    best_distance: np.ndarray     # (k,) target distance alone
    logbook: tools.Logbook
    evaluations: int
    generations: int


def seed_everything(seed: int) -> None:
    """Seed Python's `random` (DEAP's operators), numpy's global RNG (deap.cma) and torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def _statistics() -> tools.Statistics:
    stats = tools.Statistics(key=lambda ind: ind.fitness.values[0])
    stats.register("best", np.min)
    stats.register("mean", np.mean)
    stats.register("std", np.std)
    return stats


def _rng_states() -> dict:
    states = {"random": random.getstate(), "numpy": np.random.get_state()}
    if "torch" in sys.modules:
        states["torch"] = sys.modules["torch"].get_rng_state()
    return states


def _restore_rngs(states: dict) -> None:
    random.setstate(states["random"])
    np.random.set_state(states["numpy"])
    if "torch" in states and "torch" in sys.modules:
        sys.modules["torch"].set_rng_state(states["torch"])


def save_checkpoint(path: Path, config: SearchConfig, algorithm, hof, logbook,
                    generation: int, evaluations: int) -> None:
    """Everything needed to continue the run, pickled atomically."""
    payload = {"format": CHECKPOINT_FORMAT, "config": config.to_dict(), "generation": generation,
               "evaluations": evaluations, "algorithm": algorithm.state(), "halloffame": hof,
               "logbook": logbook, "rng": _rng_states()}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)


def load_checkpoint(path: Path, config: SearchConfig) -> dict:
    """A checkpoint written by this run's settings; EvodrumError if it is another run's."""
    try:
        with open(path, "rb") as f:
            payload = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as e:
        raise EvodrumError(f"{path}: cannot read search checkpoint ({e})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise EvodrumError(f"{path}: not an evodrum search checkpoint")
    if payload["config"] != config.to_dict():
        changed = sorted(k for k, v in config.to_dict().items() if payload["config"].get(k) != v)
        raise EvodrumError(f"{path}: checkpoint was written with other settings "
                           f"({', '.join(changed)}); resume with the same options")
    return payload


def run_search(objective: Objective, config: SearchConfig, *,
               seeds: np.ndarray | None = None, checkpoint: Path | None = None,
               resume: bool = False,
               on_generation: Callable[[int, dict], None] | None = None) -> SearchResult:
    """Run `config.generations` generations minimising `objective`.

    `seeds` are genotypes to start from (e.g. encoded user loops). With a
    `checkpoint` path, state is saved every `config.checkpoint_every` generations
    and at the end; `resume=True` continues from it exactly. `on_generation` gets
    (generation, logbook record) after each one, for progress display.
    """
    algorithm = ALGORITHM_CLASSES[config.algorithm](objective, config)
    hof = tools.HallOfFame(HALL_OF_FAME_SIZE)
    stats = _statistics()
    logbook = tools.Logbook()
    logbook.header = ["gen", "evals", "best", "mean", "std", "best_distance", "best_so_far"]
    if resume and checkpoint is not None and checkpoint.exists():
        state = load_checkpoint(checkpoint, config)
        algorithm.restore(state["algorithm"])
        hof, logbook = state["halloffame"], state["logbook"]
        generation, evaluations = state["generation"], state["evaluations"]
        _restore_rngs(state["rng"])
        objective.evaluations = evaluations
    else:
        seed_everything(config.seed)
        rng = np.random.default_rng(config.seed)
        generation, evaluations = 0, algorithm.start(rng, seeds)
        if evaluations:
            _record(logbook, stats, hof, algorithm.population, 0, evaluations, on_generation)

    while generation < config.generations:
        generation += 1
        evaluations += algorithm.step()
        _record(logbook, stats, hof, algorithm.population, generation, evaluations, on_generation)
        if checkpoint is not None and (generation % config.checkpoint_every == 0
                                       or generation == config.generations):
            save_checkpoint(checkpoint, config, algorithm, hof, logbook, generation, evaluations)

    best = genotypes(hof.items)
    return SearchResult(
        config=config, spec=objective.space.spec, best_genotypes=best, best_grids=objective.space.decode(best),
        best_fitness=np.array([ind.fitness.values[0] for ind in hof.items]),
        best_distance=np.array([ind.distance for ind in hof.items]),
        logbook=logbook, evaluations=evaluations, generations=generation)


def _record(logbook, stats, hof, population, generation, evaluations, on_generation) -> None:
    hof.update(population)
    record = stats.compile(population)
    best = min(population, key=lambda ind: ind.fitness.values[0])
    so_far = min(ind.distance for ind in population)
    if len(logbook):
        so_far = min(so_far, logbook[-1]["best_so_far"])
    record.update(best_distance=best.distance, best_so_far=so_far)
    logbook.record(gen=generation, evals=evaluations, **record)
    if on_generation is not None:
        on_generation(generation, record)
