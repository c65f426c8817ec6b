"""CMA-ES from `deap.cma`, the standard for latent-space search.

It starts at the prior's mean (or the mean of the user's seed loops) with a step
size equal to the prior's spread, so its first generation looks like a prior sample.
"""
from __future__ import annotations

import numpy as np
from deap import base, cma

from evodrum.search.config import SearchConfig
from evodrum.search.evaluation import evaluate_invalid, register_evaluation
from evodrum.search.individuals import Individual, repair
from evodrum.search.objective import Objective


class CMAES:
    """(mu/mu_w, lambda)-CMA-ES with lambda = the population size."""

    def __init__(self, objective: Objective, config: SearchConfig):
        self.config = config
        self.space = objective.space
        self.toolbox = base.Toolbox()
        register_evaluation(self.toolbox, objective)
        self.strategy: cma.Strategy | None = None
        self.population: list = []

    def start(self, rng: np.random.Generator, seeds: np.ndarray | None = None) -> int:
        """Set up the strategy around the prior, or around the mean of seed genotypes
        with half the prior's spread; evaluates nothing yet."""
        std = self.space.prior_std
        centre, sigma = (self.space.centre, std) if seeds is None else (seeds.mean(axis=0), std / 2)
        self.strategy = cma.Strategy(centroid=centre, sigma=sigma, lambda_=self.config.population)
        self.toolbox.register("generate", self.strategy.generate, Individual)
        self.toolbox.register("update", self.strategy.update)
        return 0

    def step(self) -> int:
        """Sample lambda genotypes, evaluate them as one batch, update the strategy."""
        population = self.toolbox.generate()
        for ind, row in zip(population, repair(self.space, self.config, population).tolist()):
            ind[:] = row
        used = evaluate_invalid(self.toolbox, population)
        self.toolbox.update(population)
        self.population = population
        return used

    def state(self) -> dict:
        return {"strategy": self.strategy, "population": self.population}

    def restore(self, state: dict) -> None:
        self.strategy = state["strategy"]
        self.population = state["population"]
        self.toolbox.register("generate", self.strategy.generate, Individual)
        self.toolbox.register("update", self.strategy.update)
