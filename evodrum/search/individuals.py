"""DEAP's creator types for evodrum's searches, created once at import or on first use.

Genotypes are lists of floats (what DEAP's operators expect) with minimised
objectives: `Individual` has one, `individual_type(m)` m of them (Pareto search).
The guards keep a re-import (or a user's own script) from redefining them.
"""
from __future__ import annotations

import numpy as np
from deap import base, creator

if not hasattr(creator, "EvodrumFitness"):
    creator.create("EvodrumFitness", base.Fitness, weights=(-1.0,))
if not hasattr(creator, "EvodrumIndividual"):
    creator.create("EvodrumIndividual", list, fitness=creator.EvodrumFitness)

Individual = creator.EvodrumIndividual


def individual_type(m: int) -> type:
    """The individual class with `m` minimised objectives."""
    if m == 1:
        return Individual
    name = f"EvodrumIndividual{m}"
    if not hasattr(creator, name):
        creator.create(f"EvodrumFitness{m}", base.Fitness, weights=(-1.0,) * m)
        creator.create(name, list, fitness=getattr(creator, f"EvodrumFitness{m}"))
    return getattr(creator, name)


def _fitness_template(cls: type):
    """A fresh, empty fitness of `cls` to copy (DEAP's constructor checks its weights
    on every call, which dominated a generation's bookkeeping)."""
    if "_template" not in cls.__dict__:
        cls._template = cls().fitness
    return cls._template


def _new(cls: type, genes, fitness) -> list:
    """An individual of `cls` without DEAP's per-instance set-up: the genes and a copy
    of `fitness` are all it holds. The copy is a bare instance given the fitness's
    attributes (weighted values, crowding distance): what `copy.copy` gives, at a
    tenth of its cost."""
    ind = list.__new__(cls)
    list.extend(ind, genes)
    copied = object.__new__(type(fitness))
    copied.__dict__.update(fitness.__dict__)
    ind.fitness = copied
    return ind


def individuals(genotypes: np.ndarray, values: np.ndarray | None = None) -> list:
    """DEAP individuals from a (N, dim) array, with fitness `values` (N, m) if given;
    each remembers its row in the arrays as `row`."""
    m = 1 if values is None else values.shape[1]
    cls = individual_type(m)
    empty = _fitness_template(cls)
    weights = np.asarray(empty.weights, dtype=np.float64)
    out = [_new(cls, g, empty) for g in np.asarray(genotypes, dtype=float).tolist()]
    if values is not None:
        weighted = (np.asarray(values, dtype=np.float64) * weights).tolist()
        for ind, w in zip(out, weighted):
            ind.fitness.wvalues = tuple(w)
    for i, ind in enumerate(out):
        ind.row = i
    return out


def clone(ind):
    """A shallow copy (genes, fitness, row): all a DEAP operator can change, at a
    fraction of `copy.deepcopy`'s cost."""
    new = _new(type(ind), ind, ind.fitness)
    new.row = ind.row
    return new


def genotypes(population: list) -> np.ndarray:
    """The (N, dim) float64 array of a population's genotypes."""
    return np.asarray(population, dtype=np.float64)
