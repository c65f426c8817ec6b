"""The ask/tell interface every search algorithm implements, in the style of
`deap.cma` and pyribs: the engine asks for genotypes, evaluates them as one batch,
and tells the algorithm their evaluation; the algorithm never sees the objective.

    algo = GA(space, config)               # config.operators: GA.Settings
    algo.start(rng, seeds)                 # seeds: (k, dim) genotypes or None
    genes = algo.ask()                     # (n, dim) float64, already repaired
    algo.tell(evaluation)                  # an Evaluation of exactly those genes
    algo.population                        # Evaluation: what the logbook records
    algo.state() / algo.restore(state)     # plain data: numbers, lists, numpy arrays

Objectives are vectors: `Evaluation.values` is (n, m), every column minimised.
Single-objective algorithms get m = 1 (the weighted fitness); an algorithm with
`multi_objective = True` gets (target error, 1 - well-formedness).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from evodrum.statefile import Fields


@dataclass(frozen=True)
class NoSettings:
    """An algorithm without settings of its own."""

    def check(self, config) -> None:
        """Raise EvodrumError if these settings do not fit `config` (space, population)."""


@dataclass
class Evaluation:
    """A batch of evaluated genotypes; every array has one row per genotype."""

    genotypes: np.ndarray              # (n, dim) float64
    values: np.ndarray                 # (n, m) objectives, minimised
    fitness: np.ndarray                # (n,) scalar fitness (weighted sum), for the logbook
    distance: np.ndarray               # (n,) target error alone
    wellformed: np.ndarray | None      # (n,) well-formedness score, when computed
    grids: np.ndarray | None = None    # (n, 9, S) decoded loops (not kept in checkpoints)

    def __len__(self) -> int:
        return len(self.genotypes)

    def take(self, index) -> "Evaluation":
        """The rows `index` (an index array or a boolean mask), without the grids."""
        return Evaluation(self.genotypes[index], self.values[index], self.fitness[index],
                          self.distance[index],
                          None if self.wellformed is None else self.wellformed[index])

    @staticmethod
    def concat(parts: list["Evaluation"]) -> "Evaluation":
        wf = None if any(p.wellformed is None for p in parts) else \
            np.concatenate([p.wellformed for p in parts])
        return Evaluation(*(np.concatenate([getattr(p, f) for p in parts])
                            for f in ("genotypes", "values", "fitness", "distance")), wf)

    def state(self) -> dict:
        """Plain arrays for a checkpoint."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "grids"}
        return {k: v for k, v in d.items() if v is not None}

    @classmethod
    def from_state(cls, d, rows: int, dim: int, objectives: int,
                   where: str = "algorithm.population") -> "Evaluation":
        """A checkpoint's population, checked: `rows` genotypes of `dim` finite numbers,
        each with `objectives` values, a fitness, a distance (StateError naming the field)."""
        f = Fields(d, where)
        genotypes = f.array("genotypes", (rows, dim)).astype(np.float64)
        values = f.array("values", (rows, objectives)).astype(np.float64)
        fitness = f.array("fitness", (rows,)).astype(np.float64)
        distance = f.array("distance", (rows,)).astype(np.float64)
        wellformed = f.array("wellformed", (rows,), default=None)
        return cls(genotypes, values, fitness, distance,
                   None if wellformed is None else wellformed.astype(np.float64))


class Algorithm:
    """Base class of a registered search algorithm (see the module note)."""

    name: ClassVar[str]
    help: ClassVar[str]
    Settings: ClassVar[type] = NoSettings
    #: Objectives as a vector (Pareto search) rather than one weighted fitness.
    multi_objective: ClassVar[bool] = False
    #: The first ask is an initial population, recorded as generation 0; otherwise
    #: every ask is one of the `generations` counted ones.
    initial_generation: ClassVar[bool] = False
    #: Measured peak memory per gene of a population member (DEAP keeps genotypes as
    #: lists of Python floats, with copies while breeding): see `memory_needed`.
    gene_bytes: ClassVar[int] = 130
    #: ... and per decoded grid cell (the loops, onsets and scores of a batch).
    cell_bytes: ClassVar[int] = 14
    #: A run may stop once its best stops improving (`patience`) or reaches the
    #: target's floor; not for those whose result is a whole front or archive.
    stops_early: ClassVar[bool] = True

    def __init__(self, space, config):
        self.space = space
        self.config = config
        self.settings = config.operators
        self.population: Evaluation | None = None
        #: the objective's largest possible fitness (Objective.worst_fitness), set by
        #: the engine before `start`; archives measure their QD-score from it
        self.worst_fitness: float = 1.0

    def memory_needed(self) -> int:
        """About how many bytes a generation of this population needs at its peak
        (measured with 1,000-16,000 loops in the vae and grid spaces)."""
        cells = int(np.prod(self.space.spec.shape))
        return self.config.population * (self.space.dim * self.gene_bytes
                                          + cells * self.cell_bytes)

    def repair(self, genes: np.ndarray) -> np.ndarray:
        """Genotypes clipped into the space's bounds, unless latent genotypes are kept
        free and a prior penalty in the fitness holds them (`repair='penalty'`); spaces
        with hard bounds (the grid's [0, 1]) are always clipped."""
        genes = np.asarray(genes, dtype=np.float64)
        if self.config.repair == "clip" or self.space.hard_bounds:
            return self.space.clip(genes)
        return genes

    def start(self, rng: np.random.Generator, seeds: np.ndarray | None = None) -> None:
        raise NotImplementedError

    def ask(self) -> np.ndarray:
        raise NotImplementedError

    def tell(self, evaluation: Evaluation) -> None:
        raise NotImplementedError

    def state(self) -> dict:
        raise NotImplementedError

    def restore(self, state: dict) -> None:
        """Continue from `state()`'s data, every entry checked (StateError naming it)."""
        raise NotImplementedError

    def restore_population(self, state: Fields) -> None:
        """The checkpoint's current population: exactly `population` rows of this space."""
        self.population = Evaluation.from_state(
            state.data.get("population"), self.config.population, self.space.dim,
            2 if self.multi_objective else 1)
