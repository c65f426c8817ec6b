"""Latent genotype spaces: a representation's (VAE or PCA) latent vector, each
dimension divided by its prior standard deviation so every latent space has a
standard normal prior (the same sigma means the same move in every space)."""
from __future__ import annotations

import numpy as np

from evodrum.genotypes.base import Space
from evodrum.grid import check_grids

#: Latent genotypes are repaired into +-LATENT_BOUND (3 prior standard deviations).
LATENT_BOUND = 3.0


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

    def decode_hits(self, genotypes):
        """The hit head alone when the representation has one (vae.decoder)."""
        if hasattr(self.representation, "decode_hits"):
            return self.representation.decode_hits(np.asarray(genotypes, np.float32) * self._std)
        return super().decode_hits(genotypes)

    def encode(self, grids, refine_steps: int | None = None):
        """Codes refined so they decode to the grids as written (vae.refine; 0 = encoder mean)."""
        from vae import refine
        steps = refine.DEFAULT_STEPS if refine_steps is None else refine_steps
        codes = refine.encode(self.representation, check_grids(grids, self.spec), steps).codes
        return codes / self._std

    def prior_excess(self, genotypes):
        """Mean squared z beyond 1 (its prior expectation): 0 in the typical set."""
        return np.maximum(0.0, np.mean(np.square(genotypes), axis=1) - 1.0)
