"""Exact nearest neighbour by Jaccard similarity on bit-packed sets (uint64 words).

similarity = |a AND b| / max(|a OR b|, 1) in float32, the nearest being the first
of the most similar; distance = 1 - similarity. Two implementations give the same
numbers: a compiled popcount loop (numba, the optional `fast` extra) and numpy's
`bitwise_count` over blocks of queries (numpy >= 2; an 8-bit lookup table before).
"""
from __future__ import annotations

import threading

import numpy as np

#: Query x train pairs per numpy block (a uint64 temporary of this many words, 8 MB).
BLOCK_PAIRS = 1 << 20


def _popcount_numpy(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    return table[x.view(np.uint8)].reshape(*x.shape, 8).sum(axis=-1, dtype=np.uint8)


def nearest_numpy(queries: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distance (Q,) float32, index (Q,) int64) of each query's nearest train set."""
    q_counts = _popcount_numpy(queries).sum(axis=1, dtype=np.int32)
    t_counts = _popcount_numpy(train).sum(axis=1, dtype=np.int32)
    dist = np.empty(len(queries), dtype=np.float32)
    idx = np.empty(len(queries), dtype=np.int64)
    step = max(1, BLOCK_PAIRS // max(1, len(train)))
    for start in range(0, len(queries), step):
        q = queries[start:start + step]
        inter = np.zeros((len(q), len(train)), dtype=np.uint16)
        for w in range(queries.shape[1]):
            inter += _popcount_numpy(q[:, w, None] & train[None, :, w])
        inter = inter.astype(np.int32)
        union = q_counts[start:start + step, None] + t_counts[None, :] - inter
        sim = inter.astype(np.float32) / np.maximum(union, 1).astype(np.float32)
        best = sim.argmax(axis=1)
        idx[start:start + step] = best
        dist[start:start + step] = 1.0 - sim[np.arange(len(q)), best]
    return dist, idx


def _kernels():
    """The numba module (its kernels), or None when numba is not installed (imported
    on first use: numba's own import costs ~0.7 s, paid only by processes that score;
    the studio's threads may score at once, so the first import is done under a lock)."""
    global _KERNELS, _TRIED
    if not _TRIED:
        with _KERNELS_LOCK:
            if not _TRIED:
                try:
                    from fitness import jaccard_numba
                    _KERNELS = jaccard_numba
                except ImportError:
                    _KERNELS = None
                _TRIED = True
    return _KERNELS


def _kernel():
    return None if _kernels() is None else _kernels().nearest_kernel


_KERNELS = None
_TRIED = False
_KERNELS_LOCK = threading.Lock()


def nearest_compiled(queries: np.ndarray, train: np.ndarray,
                     t_counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`nearest_numpy`'s result from the numba kernel (ValueError without numba);
    `t_counts` are the train sets' sizes, if already known."""
    kernel = _kernel()
    if kernel is None:
        raise ValueError("numba is not installed")
    if t_counts is None:
        t_counts = _popcount_numpy(train).sum(axis=1, dtype=np.int64)
    dist = np.empty(len(queries), dtype=np.float32)
    idx = np.empty(len(queries), dtype=np.int64)
    kernel(np.ascontiguousarray(queries), np.ascontiguousarray(train), t_counts, dist, idx)
    return dist, idx


class Index:
    """Exact Jaccard nearest neighbour over fixed train sets (uint64 words): the
    compiled kernel when numba is installed, else numpy.

    `order` (a permutation of the rows, most often nearest first) is the scan order
    of `within`, whose scans stop early; `nearest` always scans in the given order,
    so its ties (the first of equally near rows) never depend on it.
    """

    def __init__(self, train: np.ndarray, order: np.ndarray | None = None):
        self.train = np.ascontiguousarray(train)
        self._counts = _popcount_numpy(train).sum(axis=1, dtype=np.int64)
        order = np.arange(len(train)) if order is None else order
        self._ordered = np.ascontiguousarray(self.train[order])
        self._ordered_counts = np.ascontiguousarray(self._counts[order])

    @property
    def compiled(self) -> bool:
        """Whether the numba kernel runs the scans (asked at the first scan, so a process
        that only loads a reference never imports numba)."""
        return _kernel() is not None

    def nearest(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.compiled:
            return nearest_compiled(queries, self.train, self._counts)
        return nearest_numpy(queries, self.train)

    def within(self, queries: np.ndarray, cap: float) -> np.ndarray:
        """Each query's nearest distance (float32) where it exceeds `cap`, else some
        distance <= cap: enough for a score that is the same for every distance up to
        `cap`, and much faster (a scan stops at the first row within the cap)."""
        if not self.compiled:
            return nearest_numpy(queries, self.train)[0]
        dist = np.empty(len(queries), dtype=np.float32)
        _kernels().capped_kernel(np.ascontiguousarray(queries), self._ordered,
                                 self._ordered_counts, np.float32(cap), dist)
        return dist
