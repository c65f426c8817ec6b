"""Pareto fronts of minimised objective vectors, vectorised over the whole set:
which points no other point dominates, and the hypervolume they enclose (2-d)."""
from __future__ import annotations

import numpy as np


def non_dominated(values: np.ndarray) -> np.ndarray:
    """Boolean mask (N,) of the points (N, m) that no other point dominates (every
    objective minimised; a point dominates another if no worse in all, better in one)."""
    v = np.asarray(values, dtype=np.float64)
    no_worse = (v[:, None, :] <= v[None, :, :]).all(axis=2)       # [i, j]: i no worse than j
    better = (v[:, None, :] < v[None, :, :]).any(axis=2)
    dominated = (no_worse & better).any(axis=0)
    return ~dominated


def hypervolume_2d(values: np.ndarray, reference: tuple[float, float]) -> float:
    """Area dominated by the points (N, 2) and bounded by `reference` (minimisation);
    points beyond the reference add nothing."""
    v = np.asarray(values, dtype=np.float64)
    v = v[(v[:, 0] < reference[0]) & (v[:, 1] < reference[1])]
    if not len(v):
        return 0.0
    v = v[non_dominated(v)]
    v = v[np.lexsort((v[:, 1], v[:, 0]))]          # by the first objective, ascending
    widths = np.diff(np.append(v[:, 0], reference[0]))
    return float(np.sum(widths * (reference[1] - v[:, 1])))
