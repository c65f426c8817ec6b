"""Batch-aware evaluation for DEAP: a whole population decoded and scored in one call.

DEAP's algorithms evaluate with `toolbox.map(toolbox.evaluate, individuals)`;
here `map` hands the whole list to `evaluate`, which scores it as one batch and
also stores each individual's target distance and well-formedness on it.
"""
from __future__ import annotations

from deap import base

from evodrum.search.individuals import genotypes
from evodrum.search.objective import Objective


def batch_map(evaluate, individuals):
    """`toolbox.map` for a batch evaluator: one call for the whole list."""
    return evaluate(list(individuals))


def register_evaluation(toolbox: base.Toolbox, objective: Objective) -> None:
    """Register the batch-aware `map` and `evaluate` for `objective` on `toolbox`."""

    def evaluate(population):
        _, scores = objective.evaluate(genotypes(population))
        wf = scores.wellformed
        for i, ind in enumerate(population):
            ind.distance = float(scores.distance[i])
            ind.wellformed = None if wf is None else float(wf[i])
        return [(float(f),) for f in scores.fitness]

    toolbox.register("map", batch_map)
    toolbox.register("evaluate", evaluate)


def evaluate_invalid(toolbox: base.Toolbox, population) -> int:
    """Evaluate the individuals without a valid fitness; returns how many there were."""
    invalid = [ind for ind in population if not ind.fitness.valid]
    if invalid:
        for ind, fit in zip(invalid, toolbox.map(toolbox.evaluate, invalid)):
            ind.fitness.values = fit
    return len(invalid)
