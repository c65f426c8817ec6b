"""What every genotype space offers a search: a prior to sample, batch decode and
encode (latent spaces refine the code so that it decodes to the loop as written),
bounds and their repair. Spaces are registered in `evodrum.genotypes`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from evodrum.grid import GridSpec


@dataclass
class Space:
    """A genotype space: `dim` reals within [low, high], decoded to (N, 9, S) grids."""

    name: str
    dim: int
    low: float
    high: float
    spec: GridSpec
    #: Genes outside [low, high] mean nothing (grid cells), so they are always clipped,
    #: even when a prior penalty repairs latent genotypes.
    hard_bounds: ClassVar[bool] = False
    #: Each gene is one cell's hit/rest value, so a bit-flip mutation means something.
    cell_genes: ClassVar[bool] = False

    def random(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` genotypes drawn from the space's prior, (n, dim) float64."""
        raise NotImplementedError

    def with_prior(self, prior: str) -> "Space":
        """This space drawing fresh genotypes from `prior` ("learned" or "normal"; spaces
        without a learned prior have one prior only)."""
        return self

    def probes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Fixed genotypes that identify the decoder (a fingerprint); the prior by default."""
        return self.random(n, rng)

    def decode(self, genotypes: np.ndarray) -> np.ndarray:
        """Grids (N, 9, S) float32 for genotypes (N, dim)."""
        raise NotImplementedError

    def decode_hits(self, genotypes: np.ndarray) -> np.ndarray:
        """Onsets only, as 0/1 grids (N, 9, S) float32: what a search scores (features
        and judges read onsets), the same hits as `decode`, often cheaper."""
        return (self.decode(genotypes) > 0).astype(np.float32)

    def encode(self, grids: np.ndarray, refine_steps: int | None = None) -> np.ndarray:
        """Genotypes (N, dim) whose decoding is (close to) the given grids.

        `refine_steps`: latent spaces refine codes by that many steps (vae.refine;
        None = its default, 0 = the encoder mean); other spaces ignore it."""
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
