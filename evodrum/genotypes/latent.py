"""Latent genotype spaces: a representation's (VAE or PCA) latent vector, each
dimension divided by its prior standard deviation so every latent space has a
standard normal prior (the same sigma means the same move in every space).
Fresh genotypes are drawn from the representation's prior in use: a VAE's learned
mixture when it has one (vae.prior), else the standard normal."""
from __future__ import annotations

import copy

import numpy as np

from evodrum.genotypes.base import Space
from evodrum.grid import check_grids

#: Latent genotypes are repaired into +-LATENT_BOUND (3 prior standard deviations).
LATENT_BOUND = 3.0


class LatentSpace(Space):
    """A representation's latent space with a standard normal prior per dimension."""

    def __init__(self, name: str, representation, prior: str | None = None):
        super().__init__(name, representation.zdim, -LATENT_BOUND, LATENT_BOUND,
                         representation.spec)
        self.representation = representation
        self.prior = prior   # None: the representation's own (its learned one if it has one)
        self._std = np.asarray(representation.latent_std, dtype=np.float32)

    def with_prior(self, prior):
        """This space (sharing its model) drawing from `prior`: learned or normal."""
        if prior not in ("learned", "normal"):
            raise ValueError(f"unknown prior {prior!r}: use learned or normal")
        other = copy.copy(self)
        other.prior = prior
        return other

    def random(self, n, rng):
        """`n` genotypes from the space's prior (the model's learned one by default)."""
        z = self.representation.sample_latent(n, rng=rng, prior=self.prior)
        return np.asarray(z, np.float64) / self._std

    def probes(self, n, rng):
        """Standard normal genotypes: what a fingerprint decodes, whatever the prior."""
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
