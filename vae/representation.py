"""What every genotype -> phenotype map offers the search: encode, decode, sample.

A representation maps latent vectors (N, zdim) to drum grids (N, 9, S). The VAE
and the PCA baseline both implement it, so searches, evaluation and the CLI
treat them alike. `latent_std` tells a search how wide the prior is per
dimension (ones for a VAE, the component std for PCA).
"""
from __future__ import annotations

import numpy as np

from evodrum.grid import VELOCITY_LEVELS, GridSpec, check_grids

#: Softest velocity a decoded hit gets, so a hit always survives MIDI quantisation.
MIN_VELOCITY = 1.0 / VELOCITY_LEVELS


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function of logits (an overflow to exp(inf) is its 0, not a warning)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


class Representation:
    """Base class: subclasses set `spec`, `zdim`, `latent_std`, `card`, `hit_threshold`
    and implement `encode` and `decode_scores`."""

    spec: GridSpec
    zdim: int
    latent_std: np.ndarray
    card: dict
    _threshold: np.ndarray
    #: The prior fresh codes are drawn from: "normal" (N(0, diag(latent_std^2))) or, for a
    #: model with a learned mixture, "learned" (see vae.prior and `use_prior`).
    prior: str = "normal"
    #: Whether it can play a take (vae.playing): only a decoder of hit probabilities can.
    has_takes: bool = False

    def use_prior(self, name: str) -> str:
        """Choose the prior `sample_latent` draws from; returns the one in use (only
        models with a learned prior have "learned")."""
        if name not in ("learned", "normal"):
            raise ValueError(f"unknown prior {name!r}: use learned or normal")
        return self.prior

    @property
    def hit_threshold(self) -> np.ndarray:
        """Per-row presence score (9,) from which a decoded cell is a hit."""
        return self._threshold

    @hit_threshold.setter
    def hit_threshold(self, value) -> None:
        """Set one threshold for all rows, or one per row (ValueError for anything else:
        a card's `hit_threshold` is data from a stranger)."""
        rows = self.spec.shape[0]
        try:
            t = np.asarray(value, dtype=np.float32)
            t = np.broadcast_to(t, (rows,)).copy()
        except (TypeError, ValueError):
            t = None
        if t is None or not np.isfinite(t).all():
            raise ValueError(f"hit_threshold must be one number or {rows} finite numbers, "
                             f"got {str(value)[:40]}")
        self._threshold = t
        self.thresholds_changed()

    def thresholds_changed(self) -> None:
        """Hook for subclasses that cache something derived from the thresholds."""

    @property
    def name(self) -> str:
        """Short label for tables: the card's name, else its kind."""
        return str(self.card.get("name") or self.card.get("kind", type(self).__name__))

    def encode(self, grids: np.ndarray) -> np.ndarray:
        """Latent codes (N, zdim) of grids (N, 9, S) or one grid (9, S)."""
        raise NotImplementedError

    def decode_scores(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw decoder output for (N, zdim): (presence score, velocity), each (N, 9, S).

        The presence score is what the hit decision thresholds (a hit probability
        for the VAEs, the reconstructed value for PCA).
        """
        raise NotImplementedError

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Grids (N, 9, S) float32: hits where presence >= hit_threshold, at their velocity."""
        presence, velocity = self.decode_scores(z)
        return to_grids(presence, velocity, self.hit_threshold)

    def sample(self, n: int, temperature: float = 1.0,
               rng: np.random.Generator | int | None = None) -> np.ndarray:
        """`n` grids decoded from the prior N(0, diag(latent_std^2) * temperature^2)."""
        return self.decode(self.sample_latent(n, temperature, rng))

    def sample_latent(self, n: int, temperature: float = 1.0,
                      rng: np.random.Generator | int | None = None,
                      prior: str | None = None) -> np.ndarray:
        """`n` latent vectors from the prior, scaled by `temperature` (`prior`: see
        `use_prior`; None = the one in use)."""
        rng = np.random.default_rng(rng)
        z = rng.standard_normal((n, self.zdim), dtype=np.float32)
        return z * (self.latent_std * np.float32(temperature)).astype(np.float32)

    def check_latent(self, z: np.ndarray) -> np.ndarray:
        """z as a float32 batch (N, zdim); one vector (zdim,) becomes a batch of one."""
        z = np.asarray(z, dtype=np.float32)
        if z.ndim == 1:
            z = z[None]
        if z.ndim != 2 or z.shape[1] != self.zdim:
            raise ValueError(f"expected latent vectors of shape (N, {self.zdim}), got {z.shape}")
        return z

    def flat_grids(self, grids: np.ndarray) -> np.ndarray:
        """Grids checked against the spec and flattened to (N, 9 * S)."""
        arr = check_grids(grids, self.spec)
        return arr.reshape(len(arr), -1)


def to_grids(presence: np.ndarray, velocity: np.ndarray, threshold) -> np.ndarray:
    """Hits where presence >= threshold (one, or one per row), carrying `velocity`
    (at least MIN_VELOCITY)."""
    t = np.asarray(threshold, dtype=np.float32)
    t = t[:, None] if t.ndim == 1 else t
    vel = np.clip(velocity, MIN_VELOCITY, 1.0)
    return np.where(presence >= t, vel, 0.0).astype(np.float32)
