"""NSGA-II (Deb et al. 2002): a Pareto search over (target error, 1 - well-formedness)
with the GA's variation operators, DEAP's crowded tournaments (`selTournamentDCD`)
and evodrum's own non-dominated sorting (`pareto.select_nsga2`: O(N log N) for two
objectives; DEAP's sort is quadratic in Python, 20 s of a 4,000-loop generation).

Each generation breeds `population` offspring from crowded tournaments, evaluates
the changed ones, and keeps the best `population` of parents + offspring by
non-domination rank and crowding distance. `front()` is the final population's
non-dominated set, one member per distinct loop.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from deap import tools

from evodrum.errors import EvodrumError
from evodrum.search.algorithms.base import Algorithm, Evaluation
from evodrum.search.algorithms.ga import seeded_population
from evodrum.search.algorithms.variation import Variation
from evodrum.search.individuals import clone, individuals
from evodrum.search.pareto import non_dominated, select_nsga2
from evodrum.statefile import Fields


@dataclass(frozen=True)
class NSGA2Settings(Variation):
    """The GA's variation settings; selection is NSGA-II's own."""

    def check(self, config) -> None:
        super().check(config)
        if config.population % 4:
            raise EvodrumError(f"nsga2 needs a population divisible by 4 (its crowded "
                               f"tournaments pair parents), got {config.population}")


class NSGA2(Algorithm):
    name = "nsga2"
    help = "NSGA-II Pareto search over target error and well-formedness"
    gene_bytes = 120
    Settings = NSGA2Settings
    multi_objective = True
    initial_generation = True
    stops_early = False

    def __init__(self, space, config):
        super().__init__(space, config)
        self.toolbox = self.settings.toolbox(space.dim)
        self._initial: np.ndarray | None = None
        self._offspring: tuple[list, list] | None = None

    def start(self, rng, seeds=None):
        self._initial = self.repair(seeded_population(
            self.space, self.config.population, self.settings.sigma, rng, seeds))

    def _ranked(self) -> list:
        """The population as DEAP individuals, front by front, with crowding distances
        assigned (for the crowded tournaments)."""
        pop = self.population
        order, distance = select_nsga2(pop.values, len(pop))
        parents = individuals(pop.genotypes[order], pop.values[order])
        for ind, row, d in zip(parents, order.tolist(), distance.tolist()):
            ind.row, ind.fitness.crowding_dist = row, d
        return parents

    def ask(self) -> np.ndarray:
        if self.population is None:
            return self._initial
        parents = self._ranked()
        offspring = [clone(ind) for ind in tools.selTournamentDCD(parents, len(parents))]
        changed = self.settings.vary(self.toolbox, offspring)
        self._offspring = (offspring, changed)
        return self.repair(np.asarray(changed, np.float64)) if changed \
            else np.zeros((0, self.space.dim))

    def tell(self, evaluation: Evaluation) -> None:
        if self.population is None:
            self.population = evaluation.take(np.arange(len(evaluation)))
            return
        offspring, changed = self._offspring
        n = len(self.population)
        pool = Evaluation.concat([self.population, evaluation.take(np.arange(len(evaluation)))])
        for i, ind in enumerate(changed):
            ind.row = n + i                      # evaluated rows follow the parents' rows
        # parents, then offspring (unchanged ones are their parent's row again)
        rows = np.concatenate([np.arange(n), [ind.row for ind in offspring]]).astype(np.int64)
        chosen, _ = select_nsga2(pool.values[rows], n)
        self.population = pool.take(rows[chosen])
        self._offspring = None

    def front(self) -> Evaluation:
        """The population's non-dominated members, one per distinct objective vector
        (distinct genotypes often decode to one loop), lowest target error first."""
        pop = self.population
        keep = np.flatnonzero(non_dominated(pop.values))
        _, first = np.unique(pop.values[keep], axis=0, return_index=True)
        keep = keep[np.sort(first)]
        return pop.take(keep[np.argsort(pop.values[keep, 0], kind="stable")])

    def state(self) -> dict:
        return {"population": self.population.state()}

    def restore(self, state: dict) -> None:
        self.restore_population(Fields(state, "algorithm"))
