"""Search settings: everything that, with the seed, determines a run's result."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from evodrum.errors import EvodrumError

ALGORITHMS = ("ga", "cmaes")
REPAIRS = ("clip", "penalty")
MUTATIONS = ("gaussian", "flip")


@dataclass(frozen=True)
class SearchConfig:
    """One search: space, algorithm, budget, operators and seed.

    The GA and CMA-ES use the same operators and budget in every space; `sigma`
    and `indpb` are in genotype units. `indpb=None` mutates 4 genes per
    individual on average (4 / dim), the same expected number in every space.
    """

    space: str = "vae"
    algorithm: str = "ga"
    population: int = 100
    generations: int = 100
    seed: int = 0
    # GA operators (DEAP: cxBlend, mutGaussian, selTournament) and elitism
    cxpb: float = 0.7
    alpha: float = 0.3
    mutpb: float = 0.9
    sigma: float = 0.3
    indpb: float | None = None
    mutation: str = "gaussian"
    tournsize: int = 3
    elite: int = 2
    # bounds: clip into them, or (latent spaces) a penalty on leaving the prior's bulk
    repair: str = "clip"
    prior_weight: float = 0.05
    # objective
    wellformed_weight: float = 0.0
    checkpoint_every: int = 10

    def __post_init__(self):
        def bad(name, allowed):
            raise EvodrumError(f"{name} must be {allowed}, got {getattr(self, name)!r}")
        if self.algorithm not in ALGORITHMS:
            bad("algorithm", " or ".join(ALGORITHMS))
        if self.repair not in REPAIRS:
            bad("repair", " or ".join(REPAIRS))
        if self.mutation not in MUTATIONS:
            bad("mutation", " or ".join(MUTATIONS))
        if self.mutation == "flip" and self.space != "grid":
            raise EvodrumError("mutation 'flip' is the grid space's native operator: use it "
                               "with space grid")
        if self.population < 4:
            bad("population", "at least 4")
        if self.generations < 1:
            bad("generations", "at least 1")
        if not 0 <= self.elite < self.population:
            bad("elite", f"between 0 and population - 1 ({self.population - 1})")
        for name in ("cxpb", "mutpb"):
            if not 0 <= getattr(self, name) <= 1:
                bad(name, "within [0, 1]")
        if self.indpb is not None and not 0 < self.indpb <= 1:
            bad("indpb", "within (0, 1]")
        if self.sigma <= 0 or self.alpha < 0 or self.tournsize < 1:
            raise EvodrumError("sigma must be > 0, alpha >= 0 and tournsize >= 1")
        if self.wellformed_weight < 0 or self.prior_weight < 0:
            raise EvodrumError("weights must be >= 0")

    def gene_probability(self, dim: int) -> float:
        """Per-gene mutation probability for a genotype of `dim` genes."""
        return self.indpb if self.indpb is not None else min(1.0, 4.0 / dim)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SearchConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise EvodrumError(f"unknown search settings: {', '.join(sorted(unknown))}; "
                               f"allowed: {', '.join(sorted(names))}")
        return cls(**d)
