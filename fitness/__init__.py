"""What makes a drum loop good: rhythm features, feature targets, and well-formedness
measured against a corpus, and judges of real drumming. Knows grids (numpy) only: no CLI, DEAP or torch."""
from fitness.features import (
           FEATURE_NAMES,
           FEATURES,
           LEVELS,
           compute,
           feature_matrix,
           summarize,
)
from fitness.judges import Judge, build_judges, load_judges
from fitness.target import Target, parse_target
from fitness.wellformed import WellFormedness

__all__ = [
           "FEATURES",
           "FEATURE_NAMES",
           "LEVELS",
           "Judge",
           "Target",
           "WellFormedness",
           "build_judges",
           "compute",
           "feature_matrix",
           "load_judges",
           "parse_target",
           "summarize",
]
