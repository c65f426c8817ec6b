"""Feature-target search over a genotype space, with any registered algorithm.

The public API, importable from here (loaded on first use, so `--help` stays fast):

    from evodrum.search import SearchConfig, Objective, run_search
    from evodrum import genotypes
    space = genotypes.open_space("vae")
    result = run_search(Objective(space, parse_target("density=0.4"), reference),
                        SearchConfig(algorithm="cmaes"))

Modules: `config` (settings), `objective` (what is minimised), `algorithms` (the
ask/tell interface and registry), `engine` (the generation loop, logbook, hall of
fame, checkpoints), `checkpoint` (JSON + arrays, no pickle), `target` (a run
folder as `evodrum target` writes it).
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "SearchConfig": "config", "Objective": "objective", "Scores": "objective",
    "run_search": "engine", "SearchResult": "engine", "make_algorithm": "engine",
    "Algorithm": "algorithms.base", "Evaluation": "algorithms.base",
    "algorithm_class": "algorithms", "algorithm_names": "algorithms",
    "TargetJob": "target", "prepare_target": "target", "run_target": "target",
    "load_job": "target",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'evodrum.search' has no attribute {name!r}")
    module = importlib.import_module(f"evodrum.search.{_EXPORTS[name]}")
    return getattr(module, "names" if name == "algorithm_names" else name)
