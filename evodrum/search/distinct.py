"""The best loops a search found that a musician hears as different loops.

A hall of fame of a converged search holds near-copies (the same hits, or two or
three cells apart). Results are picked best first from the hall of fame and the
final population, skipping any loop whose onsets lie fewer than
MIN_DIFFERENT_CELLS cells from one already picked.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Two results differ in at least this many cells (a hit added, dropped or moved
#: counts one per cell): about one change per bar of a 4-bar loop and more, which a
#: listener hears; 2-3 cells (a ghost note, one hat) they often do not.
MIN_DIFFERENT_CELLS = 6


@dataclass
class Picked:
    """The chosen loops, best first: genotypes, grids, fitness and target error."""

    genotypes: np.ndarray
    grids: np.ndarray
    fitness: np.ndarray
    distance: np.ndarray


def different_cells(onsets: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Cells in which one flattened onset pattern (D,) differs from each of `others` (M, D)."""
    return (others != onsets).sum(axis=1)


def distinct_best(result, space, k: int, min_cells: int = MIN_DIFFERENT_CELLS) -> Picked:
    """Up to `k` loops from `result`'s hall of fame and final population, best fitness
    first, each at least `min_cells` onset cells away from every loop picked before it."""
    genes, fit, dist = result.best_genotypes, result.best_fitness, result.best_distance
    grids = result.best_grids
    pop = getattr(result.algorithm, "population", None)
    if pop is not None and len(pop):
        genes = np.concatenate([genes, pop.genotypes])
        fit = np.concatenate([fit, pop.fitness])
        dist = np.concatenate([dist, pop.distance])
        grids = np.concatenate([grids, pop.grids if pop.grids is not None
                                else space.decode(pop.genotypes)])
    onsets = grids.reshape(len(grids), -1) > 0
    chosen: list[int] = []
    for i in np.argsort(fit, kind="stable"):
        if len(chosen) == k:
            break
        if not chosen or different_cells(onsets[i], onsets[chosen]).min() >= min_cells:
            chosen.append(int(i))
    pick = np.array(chosen, int)
    return Picked(genes[pick], grids[pick], fit[pick], dist[pick])
