"""The Target and Map views' searches, run in a background thread on the studio's
own space with progress after every generation (one of each kind at a time).

- Target: `evodrum target`'s engine (a GA) towards feature goals, with its
  well-formedness term and weight (stay like real drumming); its best
  distinct loops come back with their genotypes, so "vary from here" can bring
  any of them into the session.
- Map: `evodrum map`'s MAP-Elites (pyribs, the `qd` extra) over two rhythm
  features; every cell's elite comes back for the clickable heat map.
"""
from __future__ import annotations

import threading

import numpy as np

import fitness
from evodrum.errors import EvodrumError
from evodrum.grid import quantize_velocity, to_midi_velocity

#: A small, quick target search: a population of 60 decodes in about a millisecond.
TARGET_POPULATION = 60
MAX_GENERATIONS = 200
BEST = 4
#: The atlas: 100 loops a generation, cells per feature as asked (at most 24 on screen).
ATLAS_POPULATION, MAX_CELLS = 100, 24


class Background:
    """One search at a time in a thread: its job (progress, results) for the page."""

    def __init__(self, studio):
        self.studio = studio
        self.job: dict | None = None
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def _check_generations(self, generations: int) -> int:
        if self.running:
            raise EvodrumError("a search is running: wait for it to finish")
        if not 1 <= int(generations) <= MAX_GENERATIONS:
            raise EvodrumError(f"generations are 1 to {MAX_GENERATIONS}")
        return int(generations)

    def progress(self, generation: int, record: dict) -> None:
        with self.lock:
            self.job["generation"] = generation
            self.job["best_distance"] = record.get("best_so_far")

    def _launch(self, job: dict, work) -> None:
        """Run work() -> results dict in a thread; a failure is reported on the page."""
        self.job = job

        def run():
            try:
                found = work()
                with self.lock:
                    self.job.update(found)
            except Exception as e:  # shown on the page; the server carries on
                with self.lock:
                    self.job["error"] = f"the search failed: {e}"
            with self.lock:
                self.job["done"] = True

        self.thread = threading.Thread(target=run, name="evodrum-studio-search", daemon=True)
        self.thread.start()

    def _found(self, pick) -> np.ndarray:
        """The grid of the loop `pick(job)` names (an IndexError or None: there is none)."""
        with self.lock:
            try:
                found = pick(self.job or {})
            except (IndexError, KeyError):
                found = None
        if found is None:
            raise EvodrumError("there is no such loop in the last search")
        return self.studio.grid_from_levels(found["grid"])

    def _loop(self, genotype: np.ndarray, grid: np.ndarray, **about) -> dict:
        grid = quantize_velocity(grid)
        return {"grid": to_midi_velocity(grid).tolist(), "genotype": genotype.round(5).tolist(),
                "gain_db": self.studio.gain(grid), **about}


class TargetRun(Background):
    """The studio's feature-target search."""

    def features(self) -> list[dict]:
        """Every feature with the selected loop's value as the slider's start."""
        s = self.studio.session
        values = fitness.compute(s.loop_at(s.selected).grid[None], s.spec)
        from fitness.features import about, plain_name
        return [{"name": n, "value": round(float(values[n][0]), 3),
                 "default_on": n in ("all.density", "kick_snare.syncopation"),
                 "label": plain_name(n), "about": about(n)}
                for n in fitness.FEATURE_NAMES]

    def view(self) -> dict:
        with self.lock:
            return {"features": self.features(), "running": self.running, "job": self.job}

    def result(self, index: int) -> np.ndarray:
        """The grid of the last search's result `index` (from 0)."""
        return self._found(lambda job: job["best"][index] if index >= 0 else None)

    def start(self, goals: dict, generations: int) -> dict:
        from evodrum.genotypes import files
        from evodrum.search.config import DEFAULT_WELLFORMED_WEIGHT, SearchConfig
        from evodrum.search.distinct import distinct_best
        from evodrum.search.engine import run_search
        from evodrum.search.objective import Objective
        generations = self._check_generations(generations)
        try:
            target = fitness.Target({str(k): float(v) for k, v in goals.items()})
        except (TypeError, ValueError, OverflowError):
            raise EvodrumError("goals are {feature: number within [0, 1]}") from None
        space = self.studio.decoding_space
        config = SearchConfig(space=self.studio.session.settings.space,
                              population=TARGET_POPULATION, generations=generations,
                              seed=int(np.random.default_rng().integers(1 << 30)),
                              wellformed_weight=DEFAULT_WELLFORMED_WEIGHT)
        reference = files.load_reference(self.studio.session.settings.model)
        objective = Objective.for_config(space, target, reference, config)

        def work():
            result = run_search(objective, config, on_generation=self.progress)
            best = distinct_best(result, space, BEST)
            wellformed = objective.wellformed(best.grids)
            return {"generation": result.generations, "best": [
                self._loop(best.genotypes[i], best.grids[i],
                           distance=float(best.distance[i]),
                           wellformed=round(float(wellformed[i]), 3))
                for i in range(len(best.grids))]}

        self._launch({"goals": target.goals, "generation": 0, "generations": generations,
                      "best_distance": None, "best": [], "error": None, "done": False}, work)
        return self.view()


class AtlasRun(Background):
    """The Map view: MAP-Elites over two features of the studio's space."""

    def view(self) -> dict:
        with self.lock:
            from fitness.features import about, plain_name
            return {"features": [{"name": n, "label": plain_name(n), "about": about(n)}
                                 for n in fitness.FEATURE_NAMES], "running": self.running,
                    "job": self.job}

    def cell(self, x: int, y: int) -> np.ndarray:
        """The grid of the atlas's elite in cell (x, y), counting from 0."""
        return self._found(lambda job: next((e for e in job["elites"] if e["cell"] == [x, y]),
                                            None))

    def start(self, features: list, cells: int, generations: int) -> dict:
        from evodrum.genotypes import files
        from evodrum.search.atlas import atlas_config
        from evodrum.search.engine import run_search
        from evodrum.search.objective import Objective
        generations = self._check_generations(generations)
        if not 2 <= int(cells) <= MAX_CELLS:
            raise EvodrumError(f"cells per feature are 2 to {MAX_CELLS}")
        try:
            import ribs  # noqa: F401  (the qd extra)
        except ImportError:
            raise EvodrumError("the atlas needs pyribs: pip install 'evodrum[qd]'") from None
        names = tuple(str(f) for f in features)
        settings = self.studio.session.settings
        config = atlas_config(settings.space, names, int(cells), ATLAS_POPULATION, generations,
                              seed=0, sigma=0.3)
        reference = files.load_reference(settings.model)
        space = self.studio.decoding_space
        objective = Objective(space, None, reference, wellformed_weight=1.0)

        def work():
            result = run_search(objective, config, on_generation=self.progress)
            elites = result.algorithm.elites()
            grids = space.decode(elites["genotypes"])
            wellformed = reference.score(grids) if len(grids) else np.zeros(0)
            return {"coverage": result.algorithm.coverage(), "elites": [
                self._loop(g, grid, cell=[int(c) for c in cell], wellformed=float(wf),
                           measures=[round(float(m), 3) for m in measures])
                for g, grid, cell, wf, measures in zip(elites["genotypes"], grids,
                                                       elites["cells"], wellformed,
                                                       elites["measures"])]}

        self._launch({"features": list(names), "cells": int(cells), "generation": 0,
                      "generations": generations, "elites": [], "error": None,
                      "done": False}, work)
        return self.view()
