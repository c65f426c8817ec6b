"""A learned sampling prior: a Gaussian mixture fitted to the aggregate posterior.

A VAE's standard normal prior has holes: codes that no training loop encodes
near (the shipped model's z = 0 decodes to a 139-hit blob). Sampling from a
mixture fitted to where the training loops do encode (the aggregate posterior,
one draw from each loop's q(z|x)) gives loops that read more like drumming.
It is fitted once at training time with scikit-learn; sampling needs only the
stored arrays (weights, means, Cholesky factors of the covariances) and numpy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Mixture components (the issue's measurement used 32).
COMPONENTS = 32
#: Names a command accepts for `--prior`.
PRIORS = ("learned", "normal")


@dataclass(frozen=True)
class MixturePrior:
    """Full-covariance Gaussian mixture over latent codes: K weights, (K, d) means, (K, d, d)
    lower Cholesky factors of the covariances."""

    weights: np.ndarray
    means: np.ndarray
    chol: np.ndarray

    def __post_init__(self):
        """ValueError for arrays no fitted mixture has (wrong shapes, NaN, weights not a
        distribution, a factor that is not lower triangular with a positive diagonal)."""
        w, m, c = (np.asarray(a, np.float64) for a in (self.weights, self.means, self.chol))
        if w.ndim != 1 or m.ndim != 2 or c.ndim != 3 or len(w) < 1 \
                or m.shape[0] != len(w) or c.shape != (len(w), m.shape[1], m.shape[1]):
            raise ValueError(f"mixture prior arrays do not fit together: weights {w.shape}, "
                             f"means {m.shape}, cholesky {c.shape}")
        if not all(np.isfinite(a).all() for a in (w, m, c)):
            raise ValueError("mixture prior holds non-finite numbers")
        if (w < 0).any() or abs(w.sum() - 1) > 1e-4:
            raise ValueError("mixture prior weights are not a distribution")
        diag = np.diagonal(c, axis1=1, axis2=2)
        if (diag <= 0).any() or np.abs(np.triu(c, 1)).max(initial=0) > 0:
            raise ValueError("mixture prior covariance factors are not lower triangular with "
                             "a positive diagonal")
        object.__setattr__(self, "weights", (w / w.sum()).astype(np.float64))
        object.__setattr__(self, "means", m.astype(np.float32))
        object.__setattr__(self, "chol", c.astype(np.float32))

    @property
    def zdim(self) -> int:
        return self.means.shape[1]

    @property
    def components(self) -> int:
        return len(self.weights)

    def sample(self, n: int, temperature: float = 1.0,
               rng: np.random.Generator | int | None = None) -> np.ndarray:
        """`n` codes (n, d) float32: a component by weight, then its Gaussian with the
        spread scaled by `temperature` (0: the component means)."""
        rng = np.random.default_rng(rng)
        which = rng.choice(self.components, size=n, p=self.weights)
        eps = rng.standard_normal((n, self.zdim), dtype=np.float32) * np.float32(temperature)
        return (self.means[which] + np.einsum("nij,nj->ni", self.chol[which], eps)
                ).astype(np.float32)

    def log_density(self, z: np.ndarray) -> np.ndarray:
        """log p(z) under the mixture, (N,) nats."""
        z = np.asarray(z, np.float64)
        parts = []
        for w, m, c in zip(self.weights, self.means.astype(np.float64),
                           self.chol.astype(np.float64)):
            u = np.linalg.solve(c, (z - m).T).T   # c is lower triangular: whitened residual
            logdet = np.log(np.diagonal(c)).sum()
            parts.append(np.log(w) - 0.5 * (u * u).sum(1) - logdet
                         - 0.5 * self.zdim * np.log(2 * np.pi))
        parts = np.stack(parts)
        top = parts.max(axis=0)
        return top + np.log(np.exp(parts - top).sum(axis=0))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The plain arrays a model file stores."""
        return {"weights": self.weights.astype(np.float32), "means": self.means,
                "chol": self.chol}

    @classmethod
    def from_arrays(cls, arrays: dict) -> MixturePrior:
        return cls(np.asarray(arrays["weights"]), np.asarray(arrays["means"]),
                   np.asarray(arrays["chol"]))


def aggregate_posterior(mu: np.ndarray, logvar: np.ndarray, draws: int = 2,
                        seed: int = 0) -> np.ndarray:
    """`draws` codes from each loop's posterior q(z|x) = N(mu, exp(logvar)), stacked."""
    rng = np.random.default_rng(seed)
    mu, std = np.asarray(mu, np.float64), np.exp(0.5 * np.asarray(logvar, np.float64))
    return np.concatenate([mu + std * rng.standard_normal(mu.shape) for _ in range(draws)])


def fit(mu: np.ndarray, logvar: np.ndarray, components: int = COMPONENTS,
        seed: int = 0) -> MixturePrior:
    """A full-covariance mixture fitted (EM, scikit-learn) to the aggregate posterior of
    training loops whose posteriors are N(mu, exp(logvar))."""
    from sklearn.mixture import GaussianMixture
    codes = aggregate_posterior(mu, logvar, seed=seed)
    k = max(1, min(components, len(codes) // (4 * codes.shape[1])))
    gmm = GaussianMixture(k, covariance_type="full", reg_covar=1e-4, max_iter=200,
                          random_state=seed).fit(codes)
    return MixturePrior(gmm.weights_, gmm.means_, np.linalg.cholesky(gmm.covariances_))
