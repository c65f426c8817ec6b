"""A small probabilistic model of drum patterns, independent of every searched map:
each cell's hit probability given where it falls in the bar, the same drum's last
steps, and what the drums before it play at that step.

    p(x) = prod_{t, r} p(x[r,t] | phase(t), x[r,t-1], x[r,t-4], x[r,t-16], hits in rows < r at t)

A (rows x phases x contexts) table of smoothed counts from the training loops; a
loop's log-likelihood is a sum of table look-ups. Displacement-tolerant: the loop
is read at every phase of the bar and the best reading counts, so a groove moved by
a sixteenth is as likely as the original. The judge's raw score is the gain over
the loop's own per-row hit rates (nats per cell): how much knowing real drumming
explains beyond its density, so an empty loop (which every density model finds
likely) earns nothing.
"""
from __future__ import annotations

import numpy as np

#: Same-row lags the context reads, in steps.
LAGS = (1, 4, 16)
#: Hits in the earlier rows at the same step, capped: 0, 1, 2 or more.
CHORD_STATES = 3
CONTEXTS = 2 ** len(LAGS) * CHORD_STATES
#: Pseudo-counts added to each hit / no-hit count (Jeffreys prior).
SMOOTHING = 0.5


def contexts(onsets: np.ndarray) -> np.ndarray:
    """Context-and-outcome code of every cell of (N, R, S) booleans: (N, R, S) uint8 in
    [0, 2 * CONTEXTS). Lags wrap around: a loop's first step follows its last."""
    on = onsets.astype(np.uint8)
    steps, reach = on.shape[-1], max(LAGS)
    padded = np.concatenate([on[..., steps - reach:], on], axis=-1)
    history = np.zeros_like(on)
    for bit, lag in enumerate(LAGS):
        history |= padded[..., reach - lag:reach - lag + steps] << bit
    chord = np.minimum(np.cumsum(on, axis=1, dtype=np.uint8) - on, CHORD_STATES - 1)
    return ((history * CHORD_STATES + chord) << 1) | on


class MarkovModel:
    """Log-probability table `logp[row, phase, context-and-outcome]` of a fitted model."""

    kind = "markov"

    def __init__(self, logp: np.ndarray):
        self.logp = np.asarray(logp, dtype=np.float32)
        self.rows, self.phases, codes = self.logp.shape
        if codes != 2 * CONTEXTS:
            raise ValueError(f"expected {2 * CONTEXTS} context codes, got {codes}")
        # (phases, rows * codes): one row per phase for the phase-alignment product.
        self._table = np.ascontiguousarray(self.logp.transpose(1, 0, 2).reshape(self.phases, -1))
        shifts = np.arange(self.phases)
        self._aligned = (shifts[:, None] + shifts[None, :]) % self.phases  # [k, p] -> p + k

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"logp": self.logp}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> MarkovModel:
        return cls(arrays["logp"])

    @classmethod
    def fit(cls, onsets: np.ndarray, phases: int) -> MarkovModel:
        """Count every cell of (N, R, S) training onsets by (row, phase, context)."""
        _, rows, steps = onsets.shape
        phase = np.arange(steps) % phases
        code = contexts(onsets)
        index = (np.arange(rows)[None, :, None] * phases + phase) * (2 * CONTEXTS) + code
        counts = np.bincount(index.ravel(), minlength=rows * phases * 2 * CONTEXTS)
        counts = counts.reshape(rows, phases, CONTEXTS, 2) + SMOOTHING
        logp = np.log(counts / counts.sum(axis=-1, keepdims=True))
        return cls(logp.reshape(rows, phases, 2 * CONTEXTS))

    def loglik(self, onsets: np.ndarray) -> np.ndarray:
        """Log-likelihood (nats) of (N, R, S) onsets at its best phase of the bar: (N,)."""
        n, rows, steps = onsets.shape
        codes = 2 * CONTEXTS
        phase = np.arange(steps) % self.phases
        index = ((np.arange(n)[:, None, None] * self.phases + phase) * rows
                 + np.arange(rows)[None, :, None]) * codes + contexts(onsets)
        counts = np.bincount(index.ravel(), minlength=n * self.phases * rows * codes)
        counts = counts.reshape(n, self.phases, rows * codes).astype(np.float32)
        by_phase = counts @ self._table.T          # [n, p, q]: cells of phase p read as phase q
        readings = by_phase[:, np.arange(self.phases)[None, :], self._aligned].sum(axis=-1)
        return readings.max(axis=1)

    def raw(self, onsets: np.ndarray) -> np.ndarray:
        """The judge's raw score: log-likelihood gain per cell over each row's own hit
        rate, (N,) nats; higher = more like real drumming."""
        _, rows, steps = onsets.shape
        rate = onsets.mean(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            own = steps * (np.where(rate > 0, rate * np.log(rate), 0.0)
                           + np.where(rate < 1, (1 - rate) * np.log1p(-rate), 0.0))
        return (self.loglik(onsets) - own.sum(axis=1)) / (rows * steps)
