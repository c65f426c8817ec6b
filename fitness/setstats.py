"""How far a set of loops is from a corpus in distribution (Yang & Lerch 2020).

For each descriptor (every feature, and the 9-row hit-density vector) take two
distance distributions: intra-set distances inside the corpus, and inter-set
distances between the set's loops and the corpus's. A set drawn like the corpus
gives the same distribution twice: overlapping area (OA) 1, KL divergence 0.
The set's own intra-set distances against the corpus's show lost variety (a
search that converges on one loop has intra-set distances near 0).
"""
from __future__ import annotations

import numpy as np

from evodrum.grid import GridSpec, onsets
from evodrum.kit import ROWS
from fitness.features import FEATURE_NAMES, feature_matrix

#: Random pairs per distance distribution: enough for a smooth density, cheap to estimate.
MAX_PAIRS = 4000
#: Smallest kernel bandwidth, so a set of identical values still has a density.
MIN_BANDWIDTH = 0.01
GRID_POINTS = 256


def descriptors(grids: np.ndarray, spec: GridSpec) -> dict[str, np.ndarray]:
    """Per loop vectors to compare: each feature (n, 1) and 'row_density' (n, 9)."""
    matrix = feature_matrix(grids, spec)
    out = {name: matrix[:, i:i + 1] for i, name in enumerate(FEATURE_NAMES)}
    out["row_density"] = onsets(grids).mean(axis=2, dtype=np.float32)
    return out


def intra_distances(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Euclidean distances between random distinct pairs of rows of x (n >= 2)."""
    i = rng.integers(0, len(x), MAX_PAIRS)
    j = (i + rng.integers(1, len(x), MAX_PAIRS)) % len(x)
    return np.linalg.norm(x[i] - x[j], axis=1)


def inter_distances(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Euclidean distances between random rows of x and random rows of y."""
    return np.linalg.norm(x[rng.integers(0, len(x), MAX_PAIRS)]
                          - y[rng.integers(0, len(y), MAX_PAIRS)], axis=1)


def _density(samples: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gaussian kernel density of `samples` on `grid` (Silverman bandwidth, floored)."""
    sd = samples.std()
    iqr = np.subtract(*np.percentile(samples, [75, 25]))
    spread = min(sd, iqr / 1.34) if iqr > 0 else sd
    bw = max(0.9 * spread * len(samples) ** -0.2, MIN_BANDWIDTH)
    z = (grid[:, None] - samples[None, :]) / bw
    p = np.exp(-0.5 * z * z).sum(axis=1)
    return p / np.trapezoid(p, grid)


def overlap_and_kl(reference: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """Overlapping area of two sample distributions' densities, and KL(reference || other)."""
    lo = min(reference.min(), other.min()) - 4 * MIN_BANDWIDTH
    hi = max(reference.max(), other.max()) + 4 * MIN_BANDWIDTH
    grid = np.linspace(lo, hi, GRID_POINTS)
    p, q = _density(reference, grid), _density(other, grid)
    oa = np.trapezoid(np.minimum(p, q), grid)
    kl = np.trapezoid(p * np.log(np.maximum(p, 1e-12) / np.maximum(q, 1e-12)), grid)
    return float(min(oa, 1.0)), float(max(kl, 0.0))


def compare(grids: np.ndarray, corpus: np.ndarray, spec: GridSpec, seed: int = 0) -> dict:
    """Per descriptor: set and corpus means, OA/KL of inter-set vs corpus intra-set
    distances, and OA of the set's intra-set vs the corpus's (None for a single loop).

    Also 'rows': mean hit density per row for the set and the corpus.
    """
    rng = np.random.default_rng(seed)
    mine, theirs = descriptors(grids, spec), descriptors(corpus, spec)
    result = {}
    for name, x in mine.items():
        y = theirs[name]
        corpus_intra = intra_distances(y, rng)
        oa, kl = overlap_and_kl(corpus_intra, inter_distances(x, y, rng))
        intra_oa = overlap_and_kl(corpus_intra, intra_distances(x, rng))[0] if len(x) > 1 else None
        result[name] = {"mean": float(x.mean()), "corpus_mean": float(y.mean()),
                        "oa": oa, "kl": kl, "intra_oa": intra_oa}
    rows_set, rows_corpus = mine["row_density"].mean(axis=0), theirs["row_density"].mean(axis=0)
    result["rows"] = {r: {"set": float(a), "corpus": float(b)}
                      for r, a, b in zip(ROWS, rows_set, rows_corpus)}
    return result
