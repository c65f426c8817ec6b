"""What a feature-target search minimises, for a whole population in one call.

fitness = target distance
        + wellformed_weight * (1 - well-formedness score)   (optional second objective)
        + prior_weight * prior excess                        (optional latent repair)

All three terms are computed on the batch of decoded grids at once. Pareto search
gets them as a vector instead: (target distance + prior term, 1 - well-formedness).
Without a target (an atlas of what a space makes) the distance is 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evodrum.genotypes import Space
from fitness import Target, WellFormedness

#: Distinct onset patterns whose well-formedness is remembered during a run.
WF_CACHE_SIZE = 200_000


@dataclass
class Scores:
    """Per-individual parts of the fitness, each (N,)."""

    fitness: np.ndarray
    distance: np.ndarray
    wellformed: np.ndarray | None = None


@dataclass
class Objective:
    """A target in one genotype space, with optional well-formedness and prior terms."""

    space: Space
    target: Target | None
    wellformedness: WellFormedness | None = None
    wellformed_weight: float = 0.0
    prior_weight: float = 0.0
    #: compute well-formedness even at weight 0 (Pareto search, archives use it)
    needs_wellformed: bool = False
    evaluations: int = field(default=0, init=False)
    _wf_cache: dict = field(default_factory=dict, init=False, repr=False)

    def wellformed(self, grids: np.ndarray) -> np.ndarray:
        """Well-formedness scores, computed once per distinct onset pattern.

        The score depends on onsets only, and a converging population decodes to
        many identical loops, so only patterns not seen before reach the
        nearest-neighbour search.
        """
        packed = np.packbits(grids.reshape(len(grids), -1) > 0, axis=1)
        keys = [row.tobytes() for row in packed]
        new = {k: i for i, k in enumerate(keys) if k not in self._wf_cache}
        if new:
            if len(self._wf_cache) > WF_CACHE_SIZE:
                self._wf_cache.clear()
            scores = self.wellformedness.score(grids[list(new.values())])
            self._wf_cache.update(zip(new, scores.tolist()))
        return np.array([self._wf_cache[k] for k in keys], dtype=np.float32)

    @classmethod
    def for_config(cls, space: Space, target: Target, reference: WellFormedness | None,
                   config) -> "Objective":
        """The objective a SearchConfig describes: its well-formedness weight, and the
        prior penalty only when it repairs bounds by penalty rather than clipping."""
        return cls(space, target, reference, config.wellformed_weight,
                   config.prior_weight if config.repair == "penalty" else 0.0)

    def worst_fitness(self) -> float:
        """The largest fitness this objective can give a genotype within the space's
        bounds: the target term (at most 1), the full well-formedness weight, and the
        prior penalty at the bounds' corner. An archive's QD-score is measured from it."""
        target = 0.0 if self.target is None else 1.0
        corner = np.full((1, self.space.dim), max(abs(self.space.low), abs(self.space.high)))
        penalty = self.prior_weight * float(self.space.prior_excess(corner)[0]) \
            if self.prior_weight > 0 else 0.0
        return target + self.wellformed_weight + penalty

    def floor(self) -> float:
        """The least fitness any genotype can reach: the target's resolution floor
        (the other terms are never below 0)."""
        return 0.0 if self.target is None else self.target.floor(self.space.spec)

    def score_grids(self, grids: np.ndarray) -> Scores:
        """Target distance and, when it counts, well-formedness of decoded grids."""
        distance = np.zeros(len(grids), np.float32) if self.target is None \
            else self.target.distance(grids, self.space.spec)
        fitness = distance.astype(np.float64)
        wf = None
        wanted = self.wellformed_weight > 0 or self.needs_wellformed
        if wanted and self.wellformedness is not None:
            wf = self.wellformed(grids)
            fitness = fitness + self.wellformed_weight * (1.0 - wf)
        return Scores(fitness, distance, wf)

    def vector(self, scores: Scores, genotypes: np.ndarray) -> np.ndarray:
        """The objectives as columns (N, 2), each minimised: target distance (plus the
        prior term when it repairs bounds) and 1 - well-formedness."""
        first = scores.distance.astype(np.float64)
        if self.prior_weight > 0:
            first = first + self.prior_weight * self.space.prior_excess(genotypes)
        wf = scores.wellformed if scores.wellformed is not None else np.ones(len(first))
        return np.column_stack([first, 1.0 - wf.astype(np.float64)])

    def evaluate(self, genotypes: np.ndarray) -> tuple[np.ndarray, Scores]:
        """Decode and score a batch of genotypes (N, dim); returns (onset grids, scores).
        Every score reads onsets only, so only the hits are decoded (0/1 grids)."""
        genotypes = np.asarray(genotypes, dtype=np.float64)
        grids = self.space.decode_hits(genotypes)
        scores = self.score_grids(grids)
        if self.prior_weight > 0:
            scores.fitness = scores.fitness + self.prior_weight * self.space.prior_excess(genotypes)
        self.evaluations += len(genotypes)
        return grids, scores
