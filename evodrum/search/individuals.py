"""DEAP's creator types for evodrum's searches, created once at import.

Genotypes are lists of floats (what DEAP's operators expect) with a minimising
fitness. The guard keeps a re-import (or a user's own script) from redefining them.
"""
from __future__ import annotations

import numpy as np
from deap import base, creator

if not hasattr(creator, "EvodrumFitness"):
    creator.create("EvodrumFitness", base.Fitness, weights=(-1.0,))
if not hasattr(creator, "EvodrumIndividual"):
    creator.create("EvodrumIndividual", list, fitness=creator.EvodrumFitness)

Individual = creator.EvodrumIndividual


def individuals(genotypes: np.ndarray) -> list:
    """DEAP individuals from a (N, dim) array."""
    return [Individual(row) for row in np.asarray(genotypes, dtype=float).tolist()]


def genotypes(population: list) -> np.ndarray:
    """The (N, dim) float64 array of a population's genotypes."""
    return np.asarray(population, dtype=np.float64)


def repair(space, config, population) -> np.ndarray:
    """Genotypes clipped into the space's bounds, unless latent genotypes are kept free
    and a prior penalty in the fitness holds them (`repair='penalty'`); grid values
    are always clipped into [0, 1]."""
    g = genotypes(population)
    return space.clip(g) if config.repair == "clip" or space.name == "grid" else g
