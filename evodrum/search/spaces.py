"""Genotype spaces: what a search moves through, and how a genotype becomes a loop.

One interface, three implementations, so representations are compared honestly:

- `vae`: 20 reals with a standard normal prior, decoded by the VAE decoder;
- `pca`: 20 reals, decoded by the PCA-20 baseline; each component is divided by
  its standard deviation so its prior is also standard normal (the same sigma
  means the same move in both spaces);
- `grid`: one real in [0, 1] per cell (576), the raw phenotype: a hit where the
  value is above 0.5, its velocity rising from 1/127 at 0.5 to 1 at 1.0.

Every space draws initial genotypes from its prior, decodes whole batches in one
call and encodes grids back (so a search can start from a user's own loops; the
latent spaces refine the code so that it decodes to the loop as written).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evodrum.errors import EvodrumError
from evodrum.grid import DEFAULT_SPEC, VELOCITY_LEVELS, GridSpec, check_grids

#: Latent genotypes are repaired into +-LATENT_BOUND (3 prior standard deviations).
LATENT_BOUND = 3.0
#: Share of cells holding a hit in the Groove corpus: the grid prior's hit rate, so a
#: random grid is as dense as real drumming rather than half full.
GRID_HIT_RATE = 0.13

SPACES = ("vae", "pca", "grid")


@dataclass
class Space:
    """A genotype space: `dim` reals within [low, high], decoded to (N, 9, S) grids."""

    name: str
    dim: int
    low: float
    high: float
    spec: GridSpec

    def random(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` genotypes drawn from the space's prior, (n, dim) float64."""
        raise NotImplementedError

    def decode(self, genotypes: np.ndarray) -> np.ndarray:
        """Grids (N, 9, S) float32 for genotypes (N, dim)."""
        raise NotImplementedError

    def encode(self, grids: np.ndarray) -> np.ndarray:
        """Genotypes (N, dim) whose decoding is (close to) the given grids."""
        raise NotImplementedError

    def clip(self, genotypes: np.ndarray) -> np.ndarray:
        """Genotypes moved back inside the bounds."""
        return np.clip(genotypes, self.low, self.high)

    def prior_excess(self, genotypes: np.ndarray) -> np.ndarray:
        """How far each genotype lies outside the bulk of the prior (0 inside), (N,)."""
        return np.zeros(len(genotypes))

    @property
    def centre(self) -> np.ndarray:
        """The prior's mean, where CMA-ES starts."""
        return np.zeros(self.dim)

    @property
    def prior_std(self) -> float:
        """The prior's standard deviation per gene, CMA-ES's initial step size."""
        return 1.0


class LatentSpace(Space):
    """A representation's latent space with a standard normal prior per dimension."""

    def __init__(self, name: str, representation):
        super().__init__(name, representation.zdim, -LATENT_BOUND, LATENT_BOUND,
                         representation.spec)
        self.representation = representation
        self._std = np.asarray(representation.latent_std, dtype=np.float32)

    def random(self, n, rng):
        return rng.standard_normal((n, self.dim))

    def decode(self, genotypes):
        return self.representation.decode(np.asarray(genotypes, np.float32) * self._std)

    def encode(self, grids, refine_steps: int | None = None):
        """Codes refined so they decode to the grids as written (vae.refine; 0 = encoder mean)."""
        from vae import refine
        steps = refine.DEFAULT_STEPS if refine_steps is None else refine_steps
        codes = refine.encode(self.representation, check_grids(grids, self.spec), steps).codes
        return codes / self._std

    def prior_excess(self, genotypes):
        """Mean squared z beyond 1 (its prior expectation): 0 in the typical set."""
        return np.maximum(0.0, np.mean(np.square(genotypes), axis=1) - 1.0)


class GridSpace(Space):
    """The raw phenotype: one value in [0, 1] per cell, a hit above 0.5."""

    def __init__(self, spec: GridSpec = DEFAULT_SPEC):
        super().__init__("grid", spec.shape[0] * spec.steps, 0.0, 1.0, spec)

    def random(self, n, rng):
        hit = rng.random((n, self.dim)) < GRID_HIT_RATE
        return np.where(hit, 0.5, 0.0) + 0.5 * rng.random((n, self.dim))

    def decode(self, genotypes):
        g = np.asarray(genotypes, dtype=np.float32).reshape(len(genotypes), *self.spec.shape)
        velocity = np.clip((g - 0.5) * 2.0, 1.0 / VELOCITY_LEVELS, 1.0)
        return np.where(g > 0.5, velocity, 0.0).astype(np.float32)

    def encode(self, grids):
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


def make_space(name: str, model=None, pca=None, spec: GridSpec | None = None) -> Space:
    """The named space; `model` and `pca` default to the shipped ones."""
    from evodrum.search import models
    if name == "vae":
        return LatentSpace("vae", model if model is not None else models.load_vae())
    if name == "pca":
        return LatentSpace("pca", pca if pca is not None else models.load_pca())
    if name == "grid":
        return GridSpace(spec or (model.spec if model is not None else DEFAULT_SPEC))
    raise EvodrumError(f"unknown space {name!r}: use one of {', '.join(SPACES)}")
