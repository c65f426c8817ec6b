"""Search algorithms by name: the registry `target`, `compare` and the CLI read.

Each algorithm is one class in its own module implementing the ask/tell interface
of `evodrum.search.algorithms.base` (read its note), with its own `Settings`
dataclass; the engine (`evodrum.search.engine.run_search`) runs any of them,
keeps the logbook and hall of fame, and checkpoints their `state()`.

Adding an algorithm: a module with an `Algorithm` subclass (name, help, Settings,
start/ask/tell/state/restore) and one `AlgorithmEntry` line below (`random` is
the smallest example). Entries name their module, so `--help` lists every
algorithm without importing DEAP, and an algorithm needing an optional package
(`extra`) fails with what to install only when it is used.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass

from evodrum.errors import EvodrumError


@dataclass(frozen=True)
class AlgorithmEntry:
    """One algorithm: its name, a line of help, where its class lives, and the
    optional package (pip name, extra) it needs beyond the core."""

    name: str
    help: str
    target: str                       # "module:Class"
    needs: tuple[str, str] | None = None

    def load(self) -> type:
        module, cls = self.target.split(":")
        try:
            if self.needs is not None and importlib.util.find_spec(self.needs[0]) is None:
                raise ImportError(f"No module named '{self.needs[0]}'")
            return getattr(importlib.import_module(module), cls)
        except ImportError as e:
            if self.needs is None or self.needs[0] not in str(e):
                raise
            package, extra = self.needs
            raise EvodrumError(f"algorithm {self.name} needs {package}: "
                               f"pip install 'evodrum[{extra}]'") from None


_BASE = "evodrum.search.algorithms"
ALGORITHMS: dict[str, AlgorithmEntry] = {e.name: e for e in (
    AlgorithmEntry("ga", "genetic algorithm: blend crossover, Gaussian mutation, "
                   "tournaments, elitism", f"{_BASE}.ga:GA"),
    AlgorithmEntry("cmaes", "CMA-ES (deap.cma) from the prior's centre", f"{_BASE}.cmaes:CMAES"),
    AlgorithmEntry("random", "prior samples with the same budget (the baseline)",
                   f"{_BASE}.random_search:RandomSearch"),
    AlgorithmEntry("nsga2", "NSGA-II: a Pareto front of target error vs well-formedness",
                   f"{_BASE}.nsga2:NSGA2"),
    AlgorithmEntry("map-elites", "MAP-Elites (pyribs): the best loop in each cell of a "
                   "feature grid", f"{_BASE}.map_elites:MapElites", needs=("ribs", "qd")),
)}


def names() -> tuple[str, ...]:
    """The registered algorithms (CLI choices), in registration order."""
    return tuple(ALGORITHMS)


def entry(name: str) -> AlgorithmEntry:
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise EvodrumError(f"unknown algorithm {name!r}: use one of "
                           f"{', '.join(ALGORITHMS)}") from None


def algorithm_class(name: str) -> type:
    """The algorithm class registered as `name` (imported on first use)."""
    return entry(name).load()


def loadable() -> list[type]:
    """The classes of every algorithm whose packages are installed."""
    out = []
    for e in ALGORITHMS.values():
        try:
            out.append(e.load())
        except EvodrumError:
            continue
    return out
