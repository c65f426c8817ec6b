"""A classifier of real loops against corrupted ones (flips, noise, shuffles), on
features that ignore where the loop starts and which drum plays which part.

The features are cyclic autocorrelations (of the loop's combined onsets, of each
row, and across rows), how hits gather on the phases of the beat and bar (sorted,
so a displaced groove reads the same), and sorted per-row densities. A logistic
regression on the standardised features and their squares (so "too dense" and
"too sparse" can both count against a loop) gives the judge's raw score: the log
odds that a loop is real drumming rather than a corruption of it.
"""
from __future__ import annotations

import numpy as np

#: Autocorrelation lags (steps) the features read.
LAGS = np.array([1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 24, 32])
#: Beat subdivisions whose phase histograms the features read (hits per phase of a
#: cycle this many steps long).
CYCLES = (4, 8, 16)
#: L2 penalty on the weights (per training example).
L2 = 1e-3


def features(onsets: np.ndarray) -> np.ndarray:
    """Shift- and voice-invariant features of (N, R, S) booleans: (N, F) float32."""
    on = onsets.astype(np.float32)
    n, rows, steps = on.shape
    hits = on.sum(axis=(1, 2))
    union = on.max(axis=1)
    chord = on.sum(axis=1)
    safe_hits = np.maximum(hits, 1.0)[:, None]
    safe_steps = np.maximum(union.sum(axis=1), 1.0)[:, None]

    spectra = np.fft.rfft(on, axis=-1)
    per_row = np.fft.irfft((spectra.real ** 2 + spectra.imag ** 2).sum(axis=1), n=steps, axis=-1)
    summed = np.fft.rfft(chord, axis=-1)
    all_rows = np.fft.irfft(summed.real ** 2 + summed.imag ** 2, n=steps, axis=-1)
    merged = np.fft.rfft(union, axis=-1)
    combined = np.fft.irfft(merged.real ** 2 + merged.imag ** 2, n=steps, axis=-1)
    across = all_rows - per_row                     # pairs of hits on different rows

    parts = [combined[:, LAGS] / safe_steps, per_row[:, LAGS] / safe_hits,
             across[:, np.r_[0, LAGS]] / safe_hits]
    for cycle in CYCLES:
        if steps % cycle == 0:
            phase = union.reshape(n, steps // cycle, cycle).sum(axis=1) / safe_steps
            parts.append(-np.sort(-phase, axis=1))
    density = on.mean(axis=-1)
    parts += [-np.sort(-density, axis=1), union.mean(axis=1, keepdims=True),
              (density > 0).mean(axis=1, keepdims=True),
              (chord.max(axis=1, keepdims=True) / rows)]
    return np.concatenate(parts, axis=1).astype(np.float32)


class Classifier:
    """Standardisation and logistic weights over features and their squares."""

    kind = "classifier"

    def __init__(self, mean: np.ndarray, scale: np.ndarray, weights: np.ndarray, bias: float):
        self.mean = np.asarray(mean, dtype=np.float32)
        self.scale = np.asarray(scale, dtype=np.float32)
        self.weights = np.asarray(weights, dtype=np.float32)
        self.bias = float(bias)
        if self.weights.shape != (2 * len(self.mean),) or self.scale.shape != self.mean.shape:
            raise ValueError("classifier arrays do not fit each other")

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "scale": self.scale, "weights": self.weights,
                "bias": np.float32(self.bias)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Classifier:
        return cls(arrays["mean"], arrays["scale"], arrays["weights"], float(arrays["bias"]))

    def _design(self, x: np.ndarray) -> np.ndarray:
        """Standardised features (clipped, so one wild value cannot dominate) and squares."""
        z = np.clip((x - self.mean) / self.scale, -8.0, 8.0)
        return np.concatenate([z, z * z], axis=1)

    def raw(self, onsets: np.ndarray) -> np.ndarray:
        """The judge's raw score: log odds that each loop is real rather than
        corrupted, (N,); higher = more like real drumming."""
        return self._design(features(onsets)) @ self.weights + self.bias

    @classmethod
    def fit(cls, real: np.ndarray, corrupted: np.ndarray) -> Classifier:
        """Fit on (N, R, S) real and (M, R, S) corrupted onsets, both classes weighted
        equally; L-BFGS on the penalised log loss (deterministic)."""
        x = features(np.concatenate([real, corrupted]))
        mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
        design = cls(mean, scale, np.zeros(2 * x.shape[1]), 0.0)._design(x).astype(np.float64)
        y = np.r_[np.ones(len(real)), np.zeros(len(corrupted))]
        w = np.where(y == 1, 0.5 / len(real), 0.5 / len(corrupted))

        def loss(theta):
            z = design @ theta[:-1] + theta[-1]
            p = 0.5 * (1 + np.tanh(0.5 * z))                     # stable sigmoid
            value = (w * (np.logaddexp(0, z) - y * z)).sum() + 0.5 * L2 * theta[:-1] @ theta[:-1]
            grad_z = w * (p - y)
            grad = np.r_[design.T @ grad_z + L2 * theta[:-1], grad_z.sum()]
            return value, grad

        from scipy.optimize import minimize   # only training needs it (0.3-0.4 s to import)
        theta = minimize(loss, np.zeros(design.shape[1] + 1), jac=True, method="L-BFGS-B",
                         options={"maxiter": 500}).x
        return cls(mean, scale, theta[:-1], theta[-1])
