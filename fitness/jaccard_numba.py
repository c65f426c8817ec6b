"""The compiled kernel of `fitness.jaccard` (numba, the `fast` extra): one popcount
loop over query x train words. Module-level so numba caches the machine code on disk
(`cache=True`) and later processes load it instead of compiling again."""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(inline="always")
def popcount64(x):
    """SWAR popcount of one uint64 (LLVM emits the popcnt instruction for it)."""
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@numba.njit(cache=True, nogil=True)
def nearest_kernel(queries, train, t_counts, dist, idx):
    """Fill dist/idx with each query's nearest train row (first of the most similar).
    A plain scan of every row: branch-free inner loops that LLVM vectorises, faster
    here than pruning by member counts (tried: 1.5x slower on a search's loops)."""
    words = queries.shape[1]
    for i in range(queries.shape[0]):
        qc = 0
        for w in range(words):
            qc += popcount64(queries[i, w])
        best_sim = np.float32(-1.0)
        best = 0
        for j in range(train.shape[0]):
            inter = 0
            for w in range(words):
                inter += popcount64(queries[i, w] & train[j, w])
            union = max(qc + t_counts[j] - inter, 1)
            sim = np.float32(inter) / np.float32(union)
            if sim > best_sim:
                best_sim = sim
                best = j
        idx[i] = best
        dist[i] = np.float32(1.0) - best_sim


@numba.njit(cache=True, nogil=True)
def capped_kernel(queries, train, t_counts, cap, dist):
    """`nearest_kernel`'s distances where they exceed `cap`; elsewhere some distance
    <= cap: a query's scan stops at the first row within `cap` (a score capped there
    needs no nearer one). Rows are best given most-often-nearest first."""
    words = queries.shape[1]
    for i in range(queries.shape[0]):
        qc = 0
        for w in range(words):
            qc += popcount64(queries[i, w])
        best_sim = np.float32(-1.0)
        for j in range(train.shape[0]):
            inter = 0
            for w in range(words):
                inter += popcount64(queries[i, w] & train[j, w])
            union = max(qc + t_counts[j] - inter, 1)
            sim = np.float32(inter) / np.float32(union)
            if sim > best_sim:
                best_sim = sim
                if np.float32(1.0) - best_sim <= cap:
                    break
        dist[i] = np.float32(1.0) - best_sim
