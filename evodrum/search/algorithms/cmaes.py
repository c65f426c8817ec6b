"""CMA-ES from `deap.cma`, the standard for latent-space search.

It starts at the prior's mean (or the mean of the user's seed loops) with a step
size equal to the prior's spread, so its first generation looks like a prior sample.
Its checkpoint state is the strategy's arrays (centroid, step size, paths, covariance
and its eigendecomposition); everything else `deap.cma` derives from the dimension.
"""
from __future__ import annotations

import numpy as np
from deap import cma

from evodrum.search.algorithms.base import Algorithm, Evaluation
from evodrum.search.individuals import individuals
from evodrum.statefile import Fields

#: The strategy's evolving state; deap.cma recomputes the rest from dim and lambda.
STRATEGY_STATE = ("centroid", "sigma", "pc", "ps", "C", "B", "diagD", "BD", "cond",
                  "update_count")


class CMAES(Algorithm):
    """(mu/mu_w, lambda)-CMA-ES with lambda = the population size."""

    name = "cmaes"
    help = "CMA-ES (deap.cma) from the prior's centre, step size = the prior's spread"
    gene_bytes = 75

    def start(self, rng, seeds=None):
        """Set up the strategy around the prior, or around the mean of seed genotypes
        with half the prior's spread."""
        std = self.space.prior_std
        centre, sigma = (self.space.centre, std) if seeds is None else (seeds.mean(axis=0), std / 2)
        self.strategy = cma.Strategy(centroid=centre, sigma=sigma, lambda_=self.config.population)

    def ask(self) -> np.ndarray:
        """lambda genotypes drawn around the centroid (numpy's global RNG, as deap.cma)."""
        return self.repair(np.asarray(self.strategy.generate(np.asarray)))

    def tell(self, evaluation: Evaluation) -> None:
        # deap.cma ranks DEAP individuals by fitness; the repaired genes are what it learns from
        self.strategy.update(individuals(evaluation.genotypes, evaluation.values))
        # kept best first, in the order deap.cma's stable sort ranked them
        self.population = evaluation.take(np.argsort(evaluation.values[:, 0], kind="stable"))

    def state(self) -> dict:
        s = self.strategy
        return {"strategy": {k: getattr(s, k) for k in STRATEGY_STATE},
                "population": self.population.state()}

    def restore(self, state: dict) -> None:
        f = Fields(state, "algorithm")
        saved, dim = f.table("strategy"), self.space.dim
        vectors = {k: saved.array(k, (dim,)).astype(np.float64)
                   for k in ("centroid", "pc", "ps", "diagD")}
        matrices = {k: saved.array(k, (dim, dim)).astype(np.float64) for k in ("C", "B", "BD")}
        sigma = saved.number("sigma", 0, 1e6, low_open=True)
        self.strategy = cma.Strategy(centroid=vectors["centroid"], sigma=sigma,
                                     lambda_=self.config.population)
        for k, value in {**vectors, **matrices}.items():
            setattr(self.strategy, k, value)
        self.strategy.sigma = sigma
        self.strategy.cond = saved.number("cond", 0)
        self.strategy.update_count = saved.integer("update_count", 0, 2**62)
        self.restore_population(f)
