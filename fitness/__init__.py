"""What makes a drum loop good: rhythm features, feature targets, and well-formedness
measured against a corpus. Knows grids (numpy) only: no CLI, DEAP or torch."""
from fitness.features import FEATURE_NAMES, FEATURES, LEVELS, compute, feature_matrix, summarize
from fitness.target import Target, parse_target
from fitness.wellformed import WellFormedness

__all__ = ["FEATURE_NAMES", "FEATURES", "LEVELS", "compute", "feature_matrix", "summarize",
           "Target", "parse_target", "WellFormedness"]
