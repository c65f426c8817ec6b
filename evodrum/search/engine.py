"""Runs any registered algorithm generation by generation: ask, evaluate the batch,
tell; seeding, logbook, hall of fame, and checkpoints from which `resume`
continues exactly where a run stopped (the same result as an uninterrupted run)."""
from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from deap import tools

from evodrum import genotypes, statefile
from evodrum.errors import EvodrumError
from evodrum.grid import GridSpec
from evodrum.memory import memory_limit
from evodrum.search import checkpoint as checkpoints
from evodrum.search.algorithms import algorithm_class
from evodrum.search.algorithms.base import Algorithm, Evaluation
from evodrum.search.config import SearchConfig, changed_settings
from evodrum.search.individuals import individuals
from evodrum.search.objective import Objective
from evodrum.statefile import Fields, StateError

HALL_OF_FAME_SIZE = 10
#: A best fitness this close to the objective's floor has reached it (float32 features).
FLOOR_TOLERANCE = 1e-6
CHECKPOINT_FORMAT = "evodrum-search-checkpoint-2"
LOGBOOK_HEADER = ["gen", "evals", "best", "mean", "std", "best_distance", "best_so_far"]


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
    algorithm: Algorithm | None = None   # its final state (e.g. a Pareto front, an archive)
    #: why it stopped: "generations" (all run), "patience" (no better best for
    #: config.patience generations) or "resolution" (the best reached the floor)
    stopped: str = "generations"


def seed_everything(seed: int) -> None:
    """Seed Python's `random` (DEAP's operators), numpy's global RNG (deap.cma) and torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def check_memory(algorithm: Algorithm, limit: int | None = None) -> None:
    """EvodrumError, before anything runs, when the population would need more than
    `limit` bytes (default `memory_limit()`), naming the largest that fits."""
    limit = memory_limit() if limit is None else limit
    need = algorithm.memory_needed()
    if need <= limit:
        return
    config = algorithm.config
    per_loop = need / config.population
    fits = int(limit // per_loop) // 4 * 4 if limit > per_loop else 0
    raise EvodrumError(
        f"a population of {config.population:,} would need about {need / 2**30:.1f} GB with "
        f"{config.algorithm} in the {config.space} space, more than the {limit / 2**30:.1f} GB "
        f"a search may use here (half this machine's memory): give --population "
        f"{fits:,} or fewer")


def make_algorithm(space, config: SearchConfig) -> Algorithm:
    """The algorithm `config` names, set up for `space`."""
    return algorithm_class(config.algorithm)(space, config)


class Run:
    """The mutable state of one search: algorithm, hall of fame, logbook, counters."""

    def __init__(self, objective: Objective, config: SearchConfig):
        self.objective, self.config = objective, config
        self.algorithm = make_algorithm(objective.space, config)
        check_memory(self.algorithm)
        self.algorithm.worst_fitness = objective.worst_fitness()
        objective.needs_wellformed = objective.needs_wellformed or self.algorithm.multi_objective
        self.hof = tools.HallOfFame(HALL_OF_FAME_SIZE)
        self.logbook = tools.Logbook()
        self.logbook.header = list(LOGBOOK_HEADER)
        self.generation = self.evaluations = 0
        early = config.patience > 0 and self.algorithm.stops_early
        self.floor = objective.floor() if early else -np.inf
        self._best, self._stalled = np.inf, 0

    def stop_reason(self) -> str | None:
        """With `config.patience` > 0 (0 runs every generation, as comparisons need):
        "resolution" once the best fitness reaches the objective's floor, "patience"
        after that many generations without a better one; else None."""
        if self._best <= self.floor + FLOOR_TOLERANCE:
            return "resolution"
        if self.floor > -np.inf and self._stalled >= self.config.patience:
            return "patience"
        return None

    def _track(self, best: float) -> None:
        """Count generations since the best fitness last improved."""
        if best < self._best:
            self._best, self._stalled = best, 0
        else:
            self._stalled += 1

    def evaluate(self, genes: np.ndarray) -> Evaluation:
        """Decode and score one batch, as the algorithm's objectives (a vector each)."""
        if not len(genes):
            m = 2 if self.algorithm.multi_objective else 1
            return Evaluation(np.zeros((0, self.objective.space.dim)), np.zeros((0, m)),
                              np.zeros(0), np.zeros(0), None)
        grids, scores = self.objective.evaluate(genes)
        values = self.objective.vector(scores, genes) if self.algorithm.multi_objective \
            else scores.fitness[:, None]
        return Evaluation(np.asarray(genes, np.float64), values, scores.fitness, scores.distance,
                          scores.wellformed, grids)

    def step(self, on_generation) -> None:
        genes = self.algorithm.ask()
        self.algorithm.tell(self.evaluate(genes))
        self.evaluations += len(genes)
        self.record(on_generation)

    def record(self, on_generation) -> None:
        """Hall of fame and one logbook line from the algorithm's current population."""
        pop = self.algorithm.population
        fitness = pop.fitness
        worst = self.hof.keys[0].values[0] if len(self.hof) == HALL_OF_FAME_SIZE else np.inf
        candidates = np.flatnonzero(fitness < worst)   # only these can enter the hall of fame
        if len(candidates):
            inds = individuals(pop.genotypes[candidates], fitness[candidates, None])
            for ind, i in zip(inds, candidates):
                ind.distance = float(pop.distance[i])
            self.hof.update(inds)
        best = int(np.argmin(fitness))
        so_far = float(pop.distance.min())
        if len(self.logbook):
            so_far = min(so_far, self.logbook[-1]["best_so_far"])
        record = {"best": float(fitness[best]), "mean": float(np.mean(fitness)),
                  "std": float(np.std(fitness)), "best_distance": float(pop.distance[best]),
                  "best_so_far": so_far}
        self.logbook.record(gen=self.generation, evals=self.evaluations, **record)
        self._track(record["best"])
        if on_generation is not None:
            on_generation(self.generation, {"gen": self.generation, "evals": self.evaluations,
                                            **record})

    # --- checkpoints ------------------------------------------------------------

    def save(self, path: Path) -> None:
        hof = self.hof.items
        checkpoints.save(path, {
            "format": CHECKPOINT_FORMAT, "config": self.config.to_dict(),
            "fingerprint": genotypes.fingerprint(self.objective.space),
            "generation": self.generation, "evaluations": self.evaluations,
            "algorithm": self.algorithm.state(),
            "halloffame": {"genotypes": np.asarray(hof, np.float64).reshape(len(hof), -1),
                           "fitness": np.array([i.fitness.values[0] for i in hof]),
                           "distance": np.array([i.distance for i in hof])},
            "logbook": [dict(r) for r in self.logbook], "rng": _rng_states()})

    def restore(self, path: Path) -> None:
        """Continue from a checkpoint, every entry checked first (it may come from anyone):
        one EvodrumError naming the file and the entry, never a half-restored run."""
        state = checkpoints.load(path)
        if not isinstance(state, dict) or not _plain(state.get("format")) \
                or state.get("format") != CHECKPOINT_FORMAT:
            raise EvodrumError(f"{path}: not an evodrum search checkpoint")
        ours = json.loads(json.dumps(self.config.to_dict()))   # tuples read back as lists
        theirs = state.get("config")
        if not _plain(theirs) or theirs != ours:
            changed = changed_settings(theirs, ours) if _plain(theirs) and isinstance(
                theirs, dict) and isinstance(theirs.get("settings", {}), dict) else ["config"]
            raise EvodrumError(f"{path}: checkpoint was written with other settings "
                               f"({', '.join(changed)}); resume with the same options")
        try:
            f = Fields(state)
            genotypes.check_fingerprint(f.text("fingerprint", default=None),
                                        self.objective.space, str(path))
            self.generation = f.integer("generation", 0, self.config.generations)
            most = self.config.population * (self.generation + 1)
            self.evaluations = f.integer("evaluations", 0, most)
            self.algorithm.restore(f.table("algorithm").data)
            self.hof.items = self._hall_of_fame(f.table("halloffame"))
            self.hof.keys = [ind.fitness for ind in reversed(self.hof.items)]  # worst first
            for r in _logbook(f, self.generation):
                self.logbook.record(**r)
                self._track(r["best"])
            _restore_rngs(f.table("rng"))
        except StateError as e:
            raise EvodrumError(f"{path}: damaged search checkpoint: {e}") from None
        self.objective.evaluations = self.evaluations

    def _hall_of_fame(self, h: Fields) -> list:
        """The best individuals so far (best first): genotypes of this space, finite scores."""
        genes = h.array("genotypes", (None, self.objective.space.dim))
        n = len(genes)
        if not 1 <= n <= HALL_OF_FAME_SIZE:
            raise StateError(h.name("genotypes"), f"must hold 1 to {HALL_OF_FAME_SIZE} "
                             f"genotypes, got {n}")
        fitness, distance = h.array("fitness", (n,)), h.array("distance", (n,))
        if np.any(np.diff(fitness) < 0):
            raise StateError(h.name("fitness"), "must be sorted best (lowest) first")
        inds = individuals(genes.astype(np.float64), fitness.astype(np.float64)[:, None])
        for ind, d in zip(inds, distance.tolist()):
            ind.distance = d
        return inds


def _logbook(f: Fields, generation: int) -> list[dict]:
    """The logbook's records: one per generation so far, each with LOGBOOK_HEADER's numbers."""
    records = []
    for r in f.tables("logbook", generation + 1):
        record = {"gen": r.integer("gen", 0, generation), "evals": r.integer("evals", 0)}
        for key in LOGBOOK_HEADER[2:]:
            record[key] = r.number(key)
        records.append(record)
    return records


def run_search(objective: Objective, config: SearchConfig, *,
               seeds: np.ndarray | None = None, checkpoint: Path | None = None,
               resume: bool = False,
               on_generation: Callable[[int, dict], None] | None = None) -> SearchResult:
    """Run up to `config.generations` generations minimising `objective`; with
    `config.patience` > 0 fewer when the best reaches the objective's floor or stops
    improving for that many generations (algorithms that `stops_early`).

    `seeds` are genotypes to start from (e.g. encoded user loops). With a
    `checkpoint` path, state is saved every `config.checkpoint_every` generations
    and at the end; `resume=True` continues from it exactly (refusing other settings
    or a model that decodes differently). `on_generation` gets (generation, logbook
    record) after each one, for progress display.
    """
    run = Run(objective, config)
    if resume and checkpoint is not None and checkpoint.exists():
        run.restore(checkpoint)
    else:
        seed_everything(config.seed)
        run.algorithm.start(np.random.default_rng(config.seed), seeds)
        if run.algorithm.initial_generation:
            run.step(on_generation)

    while run.generation < config.generations and run.stop_reason() is None:
        run.generation += 1
        run.step(on_generation)
        if checkpoint is not None and (run.generation % config.checkpoint_every == 0
                                       or run.generation == config.generations
                                       or run.stop_reason() is not None):
            run.save(checkpoint)

    best = np.asarray(run.hof.items, np.float64).reshape(len(run.hof), -1)
    return SearchResult(
        config=config, spec=objective.space.spec, best_genotypes=best,
        best_grids=objective.space.decode(best),
        best_fitness=np.array([ind.fitness.values[0] for ind in run.hof.items]),
        best_distance=np.array([ind.distance for ind in run.hof.items]),
        logbook=run.logbook, evaluations=run.evaluations, generations=run.generation,
        algorithm=run.algorithm, stopped=run.stop_reason() or "generations")


def _rng_states() -> dict:
    """Python's, numpy's global and torch's random states as plain data."""
    version, keys, gauss = random.getstate()
    name, mt, pos, has_gauss, cached = np.random.get_state()
    states = {"random": [version, np.array(keys, dtype=np.uint64), gauss],
              "numpy": [name, mt, pos, has_gauss, cached]}
    if "torch" in sys.modules:
        states["torch"] = sys.modules["torch"].get_rng_state().numpy()
    return states


def _plain(value) -> bool:
    """True when a checkpoint's entry is plain JSON (no array where a setting belongs),
    so comparing it with a setting gives True or False rather than an array."""
    if isinstance(value, dict):
        return all(_plain(v) for v in value.values())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return not isinstance(value, np.ndarray)


def _restore_rngs(states: Fields) -> None:
    """Python's, numpy's global and torch's random states, each checked before it is set."""
    saved = states.items("random", 3)
    if len(saved) != 3:
        raise StateError(states.name("random"), "must be [version, keys, gauss]")
    version, keys, gauss = saved
    keys = statefile.array(keys, states.name("random") + "[1]", (625,), "iu")
    if type(version) is not int or version != 3 \
            or not (gauss is None or isinstance(gauss, float)) \
            or keys.min() < 0 or keys.max() >= 2**32:
        raise StateError(states.name("random"), "is not a Python random generator state")
    state = states.items("numpy", 5)
    if len(state) != 5 or not isinstance(state[0], str) or state[0] != "MT19937":
        raise StateError(states.name("numpy"), "must be numpy's MT19937 state (5 entries)")
    name, mt, pos, has_gauss, cached = state
    mt = statefile.array(mt, states.name("numpy") + "[1]", (624,), "iu")
    numbers = Fields({"pos": pos, "has_gauss": has_gauss, "cached": cached}, states.name("numpy"))
    numbers.integer("pos", 0, 624), numbers.integer("has_gauss", 0, 1), numbers.number("cached")
    torch = sys.modules.get("torch")
    torch_state = states.array("torch", (None,), "u", default=None)
    if torch is not None and torch_state is not None:
        size = torch.get_rng_state().numel()
        if torch_state.dtype != np.uint8 or len(torch_state) != size:
            raise StateError(states.name("torch"), f"must be torch's random state ({size} "
                             f"bytes), got {len(torch_state)} of {torch_state.dtype}")
    random.setstate((3, tuple(int(k) for k in keys), gauss))
    np.random.set_state((name, np.asarray(mt, dtype=np.uint32), int(pos), int(has_gauss),
                         float(cached)))
    if torch is not None and torch_state is not None:
        torch.set_rng_state(torch.from_numpy(np.ascontiguousarray(torch_state)))
