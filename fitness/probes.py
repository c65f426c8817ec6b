"""Probes of a judge of real drumming, on real loops: edits it must shrug off, edits it
must catch, every style of the corpus, and loops optimised against one judge read by
the others (a Goodhart check). Used by the tests and printed by `evodrum data judges`.

A scorer is any callable from a (N, 9, S) batch to scores in [0, 1].
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fitness import perturb

Scorer = Callable[[np.ndarray], np.ndarray]

#: Edits after which a real loop is still real drumming.
KEEPS = {
    "real (held-out test loops)": lambda g, rng: g,
    "shifted by one step": lambda g, rng: perturb.shift(g, 1),
    "shifted by three steps": lambda g, rng: perturb.shift(g, 3),
    "hi-hat moved to the ride": lambda g, rng: perturb.revoice(g, perturb.REVOICE["hats-to-ride"]),
    "toms reversed": lambda g, rng: perturb.revoice(g, perturb.REVOICE["toms-reversed"]),
    "closed hi-hat doubled": lambda g, rng: perturb.double_hats(g),
}


def probe_sets(grids: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every probe of real loops `grids` by name: the kept edits, the corruptions, and
    loops with nothing (or one hit) in them."""
    sets = {name: edit(grids, rng) for name, edit in KEEPS.items()}
    sets.update(perturb.corruptions(grids, rng))
    empty = np.zeros((1, *grids.shape[1:]), np.float32)
    single = empty.copy()
    single[0, 0, 0] = 0.8
    sets.update({"empty loop": empty, "one kick": single})
    return sets


def probe_table(scorers: dict[str, Scorer], grids: np.ndarray, seed: int = 0) -> dict[str, dict]:
    """Median score of each scorer on each probe of `grids`: {probe: {scorer: median}}."""
    sets = probe_sets(grids, np.random.default_rng(seed))
    return {probe: {name: float(np.median(score(g))) for name, score in scorers.items()}
            for probe, g in sets.items()}


def style_table(scorers: dict[str, Scorer], grids: np.ndarray, styles: np.ndarray) -> dict:
    """Mean score per top-level style ('latin/samba' counts as 'latin'):
    {style: {"loops": n, scorer: mean}}, largest styles first."""
    top = np.array([str(s).split("/")[0] or "(none)" for s in styles])
    scores = {name: score(grids) for name, score in scorers.items()}
    names, counts = np.unique(top, return_counts=True)
    table = {}
    for style in names[np.argsort(-counts, kind="stable")]:
        pick = top == style
        table[str(style)] = {"loops": int(pick.sum()),
                             **{name: float(s[pick].mean()) for name, s in scores.items()}}
    return table


def hill_climb(objective: Scorer, start: np.ndarray, rng: np.random.Generator,
               steps: int = 400, velocity: float = 0.8) -> np.ndarray:
    """Greedy single-cell flips up `objective`, for a whole population at once: each
    step proposes one flip per loop and keeps it where the score does not fall."""
    grids = np.array(start, dtype=np.float32)
    n, rows, cols = grids.shape
    current = objective(grids)
    at = np.arange(n)
    for _ in range(steps):
        r, c = rng.integers(0, rows, n), rng.integers(0, cols, n)
        trial = grids.copy()
        trial[at, r, c] = np.where(grids[at, r, c] > 0, 0.0, velocity)
        proposed = objective(trial)
        better = proposed >= current
        grids[better] = trial[better]
        current = np.where(better, proposed, current)
    return grids


def goodhart_table(objectives: dict[str, Scorer], scorers: dict[str, Scorer],
                   start: np.ndarray, seed: int = 0, steps: int = 400) -> dict[str, dict]:
    """Loops hill-climbed from `start` against each objective (a judge's raw score, which
    has a slope where its calibrated score is flat), read by every scorer:
    {optimised: {scorer: median}}. A judge worth trusting is not fooled by loops that
    fooled another."""
    table = {}
    for target, objective in objectives.items():
        climbed = hill_climb(objective, start, np.random.default_rng(seed), steps)
        table[target] = {name: float(np.median(score(climbed))) for name, score in scorers.items()}
    return table
