"""MAP-Elites (Mouret & Clune 2015) with pyribs: a GridArchive over two or three
rhythm features, filled by a Gaussian emitter through pyribs' Scheduler.

Each cell keeps its best loop: the one with the lowest fitness (with no target,
as `evodrum map` runs it, the most well-formed). pyribs maximises, so it is told
-fitness; `qd_score_offset` makes the QD-score the sum over elites of
(worst possible fitness - fitness), the summed well-formedness for an atlas.
Needs the `qd` extra (pyribs pulls numba, pandas and scikit-learn, so it is not core).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evodrum import checks
from evodrum.errors import EvodrumError
from evodrum.search.algorithms.base import Algorithm, Evaluation
from evodrum.statefile import Fields, StateError, rng_state
from fitness import FEATURE_NAMES, compute

DEFAULT_FEATURES = ("all.density", "all.syncopation")


@dataclass(frozen=True)
class MapElitesSettings:
    """The archive's features (2 or 3, each in [0, 1]), cells per feature, and the
    emitter's Gaussian step in genotype units."""

    features: tuple[str, ...] = DEFAULT_FEATURES
    cells: int = 16
    sigma: float = 0.3

    def __post_init__(self):
        object.__setattr__(self, "features", tuple(self.features))

    def check(self, config) -> None:
        unknown = [f for f in self.features if f not in FEATURE_NAMES]
        if unknown:
            raise EvodrumError(f"unknown feature {unknown[0]!r}: use LEVEL.FEATURE names "
                               f"such as {', '.join(FEATURE_NAMES[:3])}")
        if not 2 <= len(self.features) <= 3 or len(set(self.features)) != len(self.features):
            raise EvodrumError(f"map-elites needs 2 or 3 distinct features, got "
                               f"{', '.join(self.features)}")
        if not 2 <= self.cells <= 100:
            raise EvodrumError(f"cells must be between 2 and 100, got {self.cells}")
        checks.number(self.sigma, "sigma", 0, 10, low_open=True)


class MapElites(Algorithm):
    name = "map-elites"
    help = "MAP-Elites over rhythm features (pyribs)"
    gene_bytes = 90
    Settings = MapElitesSettings
    stops_early = False

    def memory_needed(self) -> int:
        """The population's, plus the archive's: every cell holds a genotype (float64)."""
        cells = self.settings.cells ** len(self.settings.features)
        return super().memory_needed() + cells * (8 * self.space.dim + 64)

    def start(self, rng, seeds=None):
        s, dim = self.settings, self.space.dim
        # every elite's (worst - fitness) >= 0; a constant objective (no target, no
        # well-formedness weight) counts each elite as 1
        self._worst = worst = self.worst_fitness or 1.0
        # pyribs (with pandas) is imported only when an archive is made: 1-2 s of start-up
        from ribs.archives import GridArchive
        from ribs.emitters import GaussianEmitter
        from ribs.schedulers import Scheduler
        self.archive = GridArchive(solution_dim=dim, dims=[s.cells] * len(s.features),
                                   ranges=[(0.0, 1.0)] * len(s.features),
                                   qd_score_offset=-worst, seed=int(rng.integers(2**31)))
        initial = self.space.random(self.config.population, rng)
        if seeds is not None and len(seeds):
            initial[:len(seeds)] = seeds[:len(initial)]
        self.emitter = GaussianEmitter(
            self.archive, sigma=s.sigma * self.space.prior_std,
            initial_solutions=self.repair(initial), bounds=self._bounds(),
            batch_size=self.config.population, seed=int(rng.integers(2**31)))
        self.scheduler = Scheduler(self.archive, [self.emitter])

    def _bounds(self):
        clipped = self.config.repair == "clip" or self.space.hard_bounds
        return [(self.space.low, self.space.high)] * self.space.dim if clipped else None

    def ask(self) -> np.ndarray:
        return self.repair(self.scheduler.ask())

    def measures(self, grids: np.ndarray) -> np.ndarray:
        """The archive's features of decoded loops, (N, k) in [0, 1]."""
        feats = compute(grids, self.space.spec)
        return np.column_stack([feats[f] for f in self.settings.features]).astype(np.float64)

    def tell(self, evaluation: Evaluation) -> None:
        # a prior penalty beyond the bounds' corner (free latent genotypes) counts as
        # the worst, so no elite lowers the QD-score
        objective = np.maximum(-evaluation.values[:, 0], -self._worst)
        self.scheduler.tell(objective, self.measures(evaluation.grids))
        self.population = evaluation.take(np.arange(len(evaluation)))

    # --- the archive as users see it --------------------------------------------

    def elites(self) -> dict:
        """Every elite: genotype, fitness, features and cell (grid index per feature)."""
        data = self.archive.data()
        order = np.argsort(data["index"])
        cells = np.stack(self.archive.int_to_grid_index(data["index"][order]), axis=0) \
            if len(order) else np.zeros((0, len(self.settings.features)), int)
        return {"genotypes": data["solution"][order].astype(np.float64),
                "fitness": -data["objective"][order].astype(np.float64),
                "measures": data["measures"][order].astype(np.float64),
                "cells": np.asarray(cells).reshape(len(order), -1)}

    def coverage(self) -> float:
        return float(self.archive.stats.coverage)

    def qd_score(self) -> float:
        return float(self.archive.stats.qd_score)

    # --- checkpoints ------------------------------------------------------------

    def state(self) -> dict:
        data = self.archive.data()
        return {"elites": {"solution": data["solution"], "objective": data["objective"],
                           "measures": data["measures"]},
                "archive_rng": self.archive._rng.bit_generator.state,
                "emitter_rng": self.emitter._rng.bit_generator.state,
                "population": self.population.state()}

    def restore(self, state: dict) -> None:
        f = Fields(state, "algorithm")
        e = f.table("elites")
        cells = self.settings.cells ** len(self.settings.features)
        solutions = e.array("solution", (None, self.space.dim))
        n = len(solutions)
        if n > cells:
            raise StateError(e.name("solution"), f"holds {n} elites for {cells} cells")
        objective = e.array("objective", (n,))
        measures = e.array("measures", (n, len(self.settings.features)))
        archive_rng = rng_state(f.data.get("archive_rng"), f.name("archive_rng"))
        emitter_rng = rng_state(f.data.get("emitter_rng"), f.name("emitter_rng"))
        self.start(np.random.default_rng(0))
        for solution, value, where in zip(solutions, objective, measures):
            # one at a time, in the archive's own order, so elite sampling continues exactly
            self.archive.add_single(solution, value, where)
        self.archive._rng.bit_generator.state = archive_rng
        self.emitter._rng.bit_generator.state = emitter_rng
        self.restore_population(f)
