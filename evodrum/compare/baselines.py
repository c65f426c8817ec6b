"""The corpus look-up baseline: for each task, the training loop whose features match
its goals best. A search that cannot beat copying the corpus adds nothing, and a
search whose loops read less real than that copy pays for its match.

The training loops are the well-formedness reference's (distinct onset patterns of
the training split); features depend on onsets only, so they are exact.
"""
from __future__ import annotations

import functools

import numpy as np

from evodrum.compare.config import CompareConfig
from evodrum.compare.store import grid_text

#: Velocity given to the reference's onsets (which carry none) for the chosen loop.
VELOCITY = 0.8


@functools.cache
def _training_loops(model: str | None) -> np.ndarray:
    from evodrum.compare.runner import reference
    return reference(model).index.onsets.astype(np.float32) * VELOCITY


def corpus_lookup(config: CompareConfig) -> dict[str, dict]:
    """Per task: the best-matching training loop's target error and judges' scores."""
    from evodrum.compare.runner import judges, reference
    grids = _training_loops(config.model)
    ref, every_judge = reference(config.model), judges(config.model)
    out = {}
    for task in config.tasks:
        error = task.target.distance(grids, ref.spec)
        best = int(np.argmin(error))
        loop = grids[best:best + 1]
        out[task.name] = {
            "error": float(error[best]), "wellformed": float(ref.score(loop)[0]),
            "judges": {n: float(j.score(loop)[0]) for n, j in every_judge.items()},
            "best_grid": grid_text(loop[0]), "training_loops": len(grids)}
    return out
