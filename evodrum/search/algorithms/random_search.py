"""Random search: every generation a fresh sample from the space's prior, with the
same budget as the other algorithms; the baseline every comparison table needs."""
from __future__ import annotations

import numpy as np

from evodrum.search.algorithms.base import Algorithm, Evaluation
from evodrum.statefile import Fields, rng_state


class RandomSearch(Algorithm):
    """`population` prior samples per generation; nothing is learned between them."""

    name = "random"
    help = "random search: prior samples with the same budget (the baseline)"
    gene_bytes = 70

    def start(self, rng, seeds=None):
        self.rng = rng
        self.seeds = None if seeds is None or not len(seeds) else self.repair(seeds)

    def ask(self) -> np.ndarray:
        genes = self.space.random(self.config.population, self.rng)
        if self.seeds is not None:          # the user's own loops count in the first sample
            genes[:len(self.seeds)] = self.seeds[:len(genes)]
            self.seeds = None
        return self.repair(genes)

    def tell(self, evaluation: Evaluation) -> None:
        self.population = evaluation.take(np.arange(len(evaluation)))

    def state(self) -> dict:
        return {"rng": self.rng.bit_generator.state, "seeds": self.seeds,
                "population": self.population.state()}

    def restore(self, state: dict) -> None:
        f = Fields(state, "algorithm")
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = rng_state(f.data.get("rng"), f.name("rng"))
        self.seeds = f.array("seeds", (None, self.space.dim), default=None)
        self.restore_population(f)
