"""Pareto fronts of minimised objective vectors, vectorised over the whole set:
which points no other point dominates, every point's front (non-dominated sorting),
NSGA-II's selection, and the hypervolume a front encloses (2-d)."""
from __future__ import annotations

from bisect import bisect_left

import numpy as np


def non_dominated(values: np.ndarray) -> np.ndarray:
    """Boolean mask (N,) of the points (N, m) that no other point dominates (every
    objective minimised; a point dominates another if no worse in all, better in one)."""
    v = np.asarray(values, dtype=np.float64)
    no_worse = (v[:, None, :] <= v[None, :, :]).all(axis=2)       # [i, j]: i no worse than j
    better = (v[:, None, :] < v[None, :, :]).any(axis=2)
    dominated = (no_worse & better).any(axis=0)
    return ~dominated


def fronts(values: np.ndarray) -> list[np.ndarray]:
    """Non-dominated sorting: the indices of the points (N, m) front by front, the
    first front being `non_dominated`'s. Two objectives take O(N log N) (points by
    the first objective, each into the first front whose last point does not dominate
    it); more objectives peel fronts with `non_dominated` (O(N^2) memory)."""
    v = np.asarray(values, dtype=np.float64)
    if v.shape[1] != 2:
        left, out = np.arange(len(v)), []
        while len(left):
            first = non_dominated(v[left])
            out.append(left[first])
            left = left[~first]
        return out
    order = np.lexsort((v[:, 1], v[:, 0]))
    lasts: list[tuple[float, float]] = []       # per front: (f2, f1) of its last point
    members: list[list[int]] = []
    for i, f1, f2 in zip(order.tolist(), v[order, 0].tolist(), v[order, 1].tolist()):
        # a front's last point dominates this one iff its (f2, f1) is smaller
        front = bisect_left(lasts, (f2, f1))
        if front == len(lasts):
            lasts.append((f2, f1))
            members.append([i])
        else:
            lasts[front] = (f2, f1)
            members[front].append(i)
    return [np.array(m, dtype=np.int64) for m in members]


def crowding(values: np.ndarray) -> np.ndarray:
    """NSGA-II's crowding distance of each point (N, m) within its front (Deb et al.
    2002, as DEAP's assignCrowdingDist): the ends of each objective are infinitely
    far; inner points sum their neighbours' gaps over the objective's range / m."""
    v = np.asarray(values, dtype=np.float64)
    n, m = v.shape
    distance = np.zeros(n)
    order = np.arange(n)
    for j in range(m):
        order = order[np.argsort(v[order, j], kind="stable")]
        distance[order[[0, -1]]] = np.inf
        span = v[order[-1], j] - v[order[0], j]
        if span == 0 or n < 3:
            continue
        distance[order[1:-1]] += (v[order[2:], j] - v[order[:-2], j]) / (m * span)
    return distance


def select_nsga2(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """NSGA-II environmental selection of `k` of the points (N, m): whole fronts in
    order, the last one cut by crowding distance (largest first). Returns the chosen
    indices (front by front) and each chosen point's crowding distance."""
    chosen, distances = [], []
    for front in fronts(values):
        d = crowding(np.asarray(values)[front])
        room = k - sum(len(c) for c in chosen)
        if len(front) > room:
            keep = np.argsort(-d, kind="stable")[:room]
            front, d = front[keep], d[keep]
        chosen.append(front)
        distances.append(d)
        if len(front) == room:
            break
    return np.concatenate(chosen), np.concatenate(distances)


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
