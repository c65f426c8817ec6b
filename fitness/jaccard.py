"""Exact nearest neighbour by Jaccard similarity on bit-packed sets (uint64 words).

similarity = |a AND b| / max(|a OR b|, 1) in float32, the nearest being the first
of the most similar; distance = 1 - similarity. Two implementations give the same
numbers: a compiled popcount loop (numba, the optional `fast` extra) and numpy's
`bitwise_count` over blocks of queries (numpy >= 2; an 8-bit lookup table before).
"""
from __future__ import annotations

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


def _compile():
    """The numba kernel, or None when numba is not installed."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(cache=True, nogil=True)
    def kernel(queries, train, t_counts, dist, idx):
        words = queries.shape[1]
        for i in range(queries.shape[0]):
            qc = 0
            for w in range(words):
                qc += _popcount64(queries[i, w])
            best_sim = np.float32(-1.0)
            best = 0
            for j in range(train.shape[0]):
                inter = 0
                for w in range(words):
                    inter += _popcount64(queries[i, w] & train[j, w])
                union = max(qc + t_counts[j] - inter, 1)
                sim = np.float32(inter) / np.float32(union)
                if sim > best_sim:
                    best_sim = sim
                    best = j
            idx[i] = best
            dist[i] = np.float32(1.0) - best_sim

    @numba.njit(inline="always")
    def _popcount64(x):
        # SWAR popcount; LLVM turns it into the popcnt instruction
        x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
        x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
        x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
        return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))

    return kernel


_KERNEL = None
_TRIED = False


def nearest_compiled(queries: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`nearest_numpy`'s result from the numba kernel (ValueError without numba)."""
    global _KERNEL, _TRIED
    if not _TRIED:
        _KERNEL, _TRIED = _compile(), True
    if _KERNEL is None:
        raise ValueError("numba is not installed")
    t_counts = _popcount_numpy(train).sum(axis=1, dtype=np.int64)
    dist = np.empty(len(queries), dtype=np.float32)
    idx = np.empty(len(queries), dtype=np.int64)
    _KERNEL(np.ascontiguousarray(queries), np.ascontiguousarray(train), t_counts, dist, idx)
    return dist, idx


def nearest(queries: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The compiled kernel when numba is installed, else numpy."""
    try:
        return nearest_compiled(queries, train)
    except ValueError:
        return nearest_numpy(queries, train)
