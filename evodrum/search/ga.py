"""The genetic algorithm: DEAP's blend crossover, Gaussian mutation and tournament
selection, with elitism (DEAP's own algorithms have none, so the loop is here)."""
from __future__ import annotations

import random

import numpy as np
from deap import base, tools

from evodrum.search.config import SearchConfig
from evodrum.search.evaluation import evaluate_invalid, register_evaluation
from evodrum.search.individuals import individuals, repair
from evodrum.search.objective import Objective


def mut_flip(individual, indpb):
    """The grid space's native mutation: each cell flips hit <-> rest with probability
    `indpb` (v -> 1 - v keeps a loud hit's mirror a clear rest)."""
    for i in range(len(individual)):
        if random.random() < indpb:
            individual[i] = 1.0 - individual[i]
    return individual,


class GA:
    """A generational GA with `elite` survivors; `population` holds DEAP individuals."""

    def __init__(self, objective: Objective, config: SearchConfig):
        space = objective.space
        self.config = config
        self.space = space
        tb = base.Toolbox()
        tb.register("mate", tools.cxBlend, alpha=config.alpha)
        indpb = config.gene_probability(space.dim)
        if config.mutation == "flip":
            tb.register("mutate", mut_flip, indpb=indpb)
        else:
            tb.register("mutate", tools.mutGaussian, mu=0.0, sigma=config.sigma, indpb=indpb)
        tb.register("select", tools.selTournament, tournsize=config.tournsize)
        register_evaluation(tb, objective)
        self.toolbox = tb
        self.population: list = []

    def start(self, rng: np.random.Generator, seeds: np.ndarray | None = None) -> int:
        """Draw and evaluate the first generation; returns evaluations used.

        From the prior, or, given seed genotypes, the seeds themselves, variations
        of them (Gaussian moves of `sigma`) for half the population, the rest from
        the prior so the search can still leave the seeds behind.
        """
        n = self.config.population
        initial = self.space.random(n, rng)
        if seeds is not None and len(seeds):
            half = max(len(seeds), n // 2)
            around = seeds[np.arange(half) % len(seeds)].copy()
            around[len(seeds):] += rng.normal(0, self.config.sigma, around[len(seeds):].shape)
            initial[:half] = around[:n]
        self.population = individuals(repair(self.space, self.config, initial))
        return evaluate_invalid(self.toolbox, self.population)

    def step(self) -> int:
        """Breed, evaluate and replace one generation; returns evaluations used."""
        cfg, tb = self.config, self.toolbox
        elites = list(map(tb.clone, tools.selBest(self.population, cfg.elite)))
        offspring = list(map(tb.clone, tb.select(self.population, len(self.population) - cfg.elite)))
        for a, b in zip(offspring[::2], offspring[1::2]):
            if random.random() < cfg.cxpb:
                tb.mate(a, b)
                del a.fitness.values, b.fitness.values
        for child in offspring:
            if random.random() < cfg.mutpb:
                tb.mutate(child)
                del child.fitness.values
        changed = [ind for ind in offspring if not ind.fitness.valid]
        if changed:
            for ind, row in zip(changed, repair(self.space, self.config, changed).tolist()):
                ind[:] = row
        used = evaluate_invalid(tb, offspring)
        self.population = elites + offspring
        return used

    def state(self) -> dict:
        return {"population": self.population}

    def restore(self, state: dict) -> None:
        self.population = state["population"]
