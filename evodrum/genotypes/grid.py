"""The raw phenotype as a genotype space: one real in [0, 1] per cell (576 at the
default resolution), a hit where the value is above 0.5, its velocity rising from
1/127 at 0.5 to 1 at 1.0."""
from __future__ import annotations

import numpy as np

from evodrum.genotypes.base import Space
from evodrum.grid import DEFAULT_SPEC, VELOCITY_LEVELS, GridSpec, check_grids

#: Share of cells holding a hit in the Groove corpus: the grid prior's hit rate, so a
#: random grid is as dense as real drumming rather than half full.
GRID_HIT_RATE = 0.13


class GridSpace(Space):
    """The raw phenotype: one value in [0, 1] per cell, a hit above 0.5."""

    hard_bounds = True
    cell_genes = True

    def __init__(self, spec: GridSpec = DEFAULT_SPEC):
        super().__init__("grid", spec.shape[0] * spec.steps, 0.0, 1.0, spec)

    def random(self, n, rng):
        hit = rng.random((n, self.dim)) < GRID_HIT_RATE
        return np.where(hit, 0.5, 0.0) + 0.5 * rng.random((n, self.dim))

    def decode(self, genotypes):
        g = np.asarray(genotypes, dtype=np.float32).reshape(len(genotypes), *self.spec.shape)
        velocity = np.clip((g - 0.5) * 2.0, 1.0 / VELOCITY_LEVELS, 1.0)
        return np.where(g > 0.5, velocity, 0.0).astype(np.float32)

    def encode(self, grids, refine_steps=None):
        grids = check_grids(grids, self.spec).reshape(-1, self.dim).astype(np.float64)
        return np.where(grids > 0, 0.5 + grids / 2.0, 0.25)

    @property
    def centre(self):
        return np.full(self.dim, 0.25 + 0.5 * GRID_HIT_RATE)

    @property
    def prior_std(self):
        """Std of the prior mixture U(0, .5) / U(.5, 1) with hit rate p."""
        p = GRID_HIT_RATE
        return float(np.sqrt((1 + 6 * p) / 12 - (0.25 + 0.5 * p) ** 2))
