"""The genetic algorithm: DEAP's blend crossover, Gaussian mutation and tournament
selection, with elitism (DEAP's own algorithms have none, so the loop is here)."""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from deap import tools

from evodrum import checks
from evodrum.search.algorithms.base import Algorithm, Evaluation
from evodrum.search.algorithms.variation import Variation
from evodrum.search.individuals import clone, individuals
from evodrum.statefile import Fields


def sel_tournament(individuals: list, k: int, tournsize: int) -> list:
    """DEAP's `selTournament`: the same draws from `random` (`choice` over the
    individuals' positions draws what `choice` over them does), the same winners (an
    aspirant replaces the best so far where DEAP's Fitness says it is greater: not
    less or equal by weighted values), without a Fitness method call per comparison."""
    weighted = [ind.fitness.wvalues for ind in individuals]
    positions = range(len(individuals))
    chosen = []
    for _ in range(k):
        best = random.choice(positions)
        for _ in range(tournsize - 1):
            i = random.choice(positions)
            if not weighted[i] <= weighted[best]:
                best = i
        chosen.append(individuals[best])
    return chosen


@dataclass(frozen=True)
class GASettings(Variation):
    """Variation plus tournament size and the number of elites kept unchanged."""

    tournsize: int = 3
    elite: int = 2

    def check(self, config) -> None:
        super().check(config)
        checks.integer(self.tournsize, "tournsize", 1, config.population)
        checks.integer(self.elite, "elite", 0, config.population - 1)


def seeded_population(space, n: int, sigma: float, rng: np.random.Generator,
                      seeds: np.ndarray | None) -> np.ndarray:
    """`n` prior genotypes, or, given seed genotypes, the seeds themselves and
    variations of them (Gaussian moves of `sigma`) for half the population, the rest
    from the prior so the search can still leave the seeds behind."""
    initial = space.random(n, rng)
    if seeds is not None and len(seeds):
        half = max(len(seeds), n // 2)
        around = seeds[np.arange(half) % len(seeds)].copy()
        around[len(seeds):] += rng.normal(0, sigma, around[len(seeds):].shape)
        initial[:half] = around[:n]
    return initial


class GA(Algorithm):
    """A generational GA with `elite` survivors."""

    name = "ga"
    help = "genetic algorithm: blend crossover, Gaussian mutation, tournaments, elitism"
    Settings = GASettings
    initial_generation = True

    def __init__(self, space, config):
        super().__init__(space, config)
        self.toolbox = self.settings.toolbox(space.dim)
        self.toolbox.register("select", sel_tournament, tournsize=self.settings.tournsize)
        self._initial: np.ndarray | None = None
        self._next: tuple[list, list] | None = None

    def start(self, rng, seeds=None):
        self._initial = self.repair(seeded_population(
            self.space, self.config.population, self.settings.sigma, rng, seeds))

    def ask(self) -> np.ndarray:
        """The initial population, then each generation's changed offspring."""
        if self.population is None:
            return self._initial
        tb, elite = self.toolbox, self.settings.elite
        parents = individuals(self.population.genotypes, self.population.values)
        elites = list(map(clone, tools.selBest(parents, elite)))
        offspring = list(map(clone, tb.select(parents, len(parents) - elite)))
        changed = self.settings.vary(tb, offspring)
        genes = self.repair(np.asarray(changed, dtype=np.float64)) if changed \
            else np.zeros((0, self.space.dim))
        self._next = (elites + offspring, changed)
        return genes

    def tell(self, evaluation: Evaluation) -> None:
        if self.population is None:
            self.population = evaluation
            return
        new, changed = self._next
        fresh = {id(ind): i for i, ind in enumerate(changed)}
        # rows: unchanged ones from the parents, changed ones from the evaluation
        from_new = np.array([id(ind) in fresh for ind in new])
        rows = np.array([fresh.get(id(ind), ind.row) for ind in new])
        old = self.population.take(rows[~from_new])
        now = evaluation.take(rows[from_new])
        order = np.empty(len(new), dtype=np.int64)
        order[~from_new] = np.arange(len(old))
        order[from_new] = len(old) + np.arange(len(now))
        self.population = Evaluation.concat([old, now]).take(order)
        self._next = None

    def state(self) -> dict:
        return {"population": self.population.state()}

    def restore(self, state: dict) -> None:
        self.restore_population(Fields(state, "algorithm"))
