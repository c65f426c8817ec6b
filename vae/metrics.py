"""Measures of a representation: onset accuracy, velocity error, latent use, sample quality.

All functions take whole batches of grids (N, 9, S) and are vectorised.
"""
from __future__ import annotations

import numpy as np

#: Thresholds tried when choosing a hit threshold by F1.
THRESHOLDS = np.round(np.arange(0.02, 0.99, 0.02), 2)
#: A hit is "soft" below this velocity.
SOFT = 0.5
#: A latent dimension is active when its posterior mean varies this much over the data.
ACTIVE_VARIANCE = 0.01


def onset_scores(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Onset precision, recall and F1 of predicted grids against true grids (all cells)."""
    t, p = np.asarray(true) > 0, np.asarray(pred) > 0
    tp = float(np.count_nonzero(t & p))
    precision = tp / max(np.count_nonzero(p), 1)
    recall = tp / max(np.count_nonzero(t), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {"precision": precision, "recall": recall, "f1": f1}


def loop_f1(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Per-loop onset F1 (N,) of predicted against true grids (1 when both are empty)."""
    t = np.asarray(true).reshape(len(true), -1) > 0
    p = np.asarray(pred).reshape(len(pred), -1) > 0
    tp = np.count_nonzero(t & p, axis=1)
    total = np.count_nonzero(t, axis=1) + np.count_nonzero(p, axis=1)
    return np.where(total > 0, 2 * tp / np.maximum(total, 1), 1.0)


def f1_by_threshold(true: np.ndarray, scores: np.ndarray,
                    thresholds: np.ndarray = THRESHOLDS) -> np.ndarray:
    """Onset F1 of `scores >= t` against the true hits, for every threshold t."""
    hits = np.asarray(true).ravel() > 0
    scores = np.asarray(scores, dtype=np.float32).ravel()
    all_sorted = np.sort(scores)
    pos_sorted = np.sort(scores[hits])
    predicted = len(all_sorted) - np.searchsorted(all_sorted, thresholds, side="left")
    tp = len(pos_sorted) - np.searchsorted(pos_sorted, thresholds, side="left")
    return 2 * tp / np.maximum(predicted + hits.sum(), 1)


def best_threshold(true: np.ndarray, scores: np.ndarray,
                   thresholds: np.ndarray = THRESHOLDS) -> tuple[float, float]:
    """The threshold on presence scores with the best onset F1, and that F1."""
    f1 = f1_by_threshold(true, scores, thresholds)
    i = int(np.argmax(f1))
    return float(thresholds[i]), float(f1[i])


def velocity_error(true: np.ndarray, pred: np.ndarray) -> float:
    """Mean absolute velocity error on true hits that were also predicted (MIDI scale / 127)."""
    both = (np.asarray(true) > 0) & (np.asarray(pred) > 0)
    if not both.any():
        return float("nan")
    return float(np.abs(np.asarray(true)[both] - np.asarray(pred)[both]).mean())


def row_density(grids: np.ndarray) -> np.ndarray:
    """Fraction of steps holding a hit, per row (9,), over a batch."""
    return (np.asarray(grids) > 0).mean(axis=(0, 2))


def density_deviation(sample: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Relative difference of per-row hit density, sample vs reference (9,)."""
    ref = row_density(reference)
    return (row_density(sample) - ref) / np.maximum(ref, 1e-9)


def soft_cells(grids: np.ndarray, low: float = 0.05) -> float:
    """Fraction of cells played at a velocity between `low` and SOFT."""
    g = np.asarray(grids)
    return float(np.count_nonzero((g > low) & (g < SOFT)) / g.size)


def ghost_rate(sample: np.ndarray, reference: np.ndarray) -> float:
    """Soft cells in `sample` beyond the corpus's own share of soft cells (0 = none extra).

    The paper model's flaw: one sigmoid decides both whether a hit exists and how
    loud it is, so every cell it is unsure of plays as a soft ghost note. Real
    drumming has soft notes too; only the excess over the corpus is a flaw.
    """
    return max(0.0, soft_cells(sample) - soft_cells(reference))


def soft_share(grids: np.ndarray) -> float:
    """Fraction of hits softer than SOFT: real drumming has some, the paper's samples many."""
    g = np.asarray(grids)
    hits = g > 0
    return float(np.count_nonzero(hits & (g < SOFT)) / max(np.count_nonzero(hits), 1))


def active_units(mu: np.ndarray, threshold: float = ACTIVE_VARIANCE) -> int:
    """Latent dimensions whose posterior mean varies over the data (Burda et al. 2016)."""
    return int(np.count_nonzero(np.var(np.asarray(mu), axis=0) > threshold))


def gaussian_kl(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """KL(q(z|x) || N(0, I)) per loop, in nats."""
    return 0.5 * (mu ** 2 + np.exp(logvar) - 1.0 - logvar).sum(axis=-1)


def prior_gap(mu: np.ndarray, logvar: np.ndarray) -> float:
    """KL (nats) from a Gaussian fitted to the aggregate posterior to the prior N(0, I).

    0 when the encodings of real loops fill the prior exactly; large when the prior
    has "holes" where samples decode to loops unlike any in the corpus.
    """
    mu = np.asarray(mu, dtype=np.float64)
    cov = np.cov(mu.T).reshape(mu.shape[1], mu.shape[1]) + np.diag(np.exp(logvar).mean(axis=0))
    mean = mu.mean(axis=0)
    return float(0.5 * (np.trace(cov) + mean @ mean - len(mean) - np.linalg.slogdet(cov)[1]))
