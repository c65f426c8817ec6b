"""The Target view's search: `evodrum target`'s engine run in a background thread
on the studio's own space, reporting progress after every generation.

One search at a time; its best distinct loops come back with their genotypes,
so "vary from here" can bring any of them into the session.
"""
from __future__ import annotations

import threading

import numpy as np

import fitness
from evodrum.errors import EvodrumError
from evodrum.grid import quantize_velocity, to_midi_velocity

#: A small, quick search: a population of 60 decodes in about a millisecond.
POPULATION = 60
MAX_GENERATIONS = 200
BEST = 4


class TargetRun:
    """The studio's feature-target search: start it, poll it."""

    def __init__(self, studio):
        self.studio = studio
        self.job: dict | None = None
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def features(self) -> list[dict]:
        """Every feature with the selected loop's value as the slider's start."""
        s = self.studio.session
        grid = s.loop_at(s.selected).grid
        values = fitness.compute(grid[None], s.spec)
        return [{"name": n, "value": round(float(values[n][0]), 3),
                 "default_on": n in ("all.density", "all.syncopation"),
                 "about": "kick+snare" if n.startswith("kick_snare") else n.split(".")[0]}
                for n in fitness.FEATURE_NAMES]

    def view(self) -> dict:
        with self.lock:
            return {"features": self.features(), "running": self.running, "job": self.job}

    def start(self, goals: dict, generations: int) -> dict:
        from evodrum.search.config import SearchConfig
        from evodrum.search.engine import run_search
        from evodrum.search.objective import Objective
        if self.running:
            raise EvodrumError("a target search is running: wait for it to finish")
        if not 1 <= int(generations) <= MAX_GENERATIONS:
            raise EvodrumError(f"generations are 1 to {MAX_GENERATIONS}")
        try:
            target = fitness.Target({str(k): float(v) for k, v in goals.items()})
        except (TypeError, ValueError):
            raise EvodrumError("goals are {feature: number within [0, 1]}") from None
        space = self.studio.space
        config = SearchConfig(space=self.studio.session.settings.space, population=POPULATION,
                              generations=int(generations), seed=int(np.random.randint(1 << 30)))
        objective = Objective.for_config(space, target, None, config)
        self.job = {"goals": target.goals, "generation": 0, "generations": int(generations),
                    "best_distance": None, "best": [], "error": None}

        def progress(generation, record):
            with self.lock:
                self.job["generation"] = generation
                self.job["best_distance"] = record["best_so_far"]

        def work():
            try:
                result = run_search(objective, config, on_generation=progress)
                _, first = np.unique(result.best_grids.reshape(len(result.best_grids), -1) > 0,
                                     axis=0, return_index=True)
                pick = np.sort(first)[:BEST]
                best = []
                for i in pick:
                    grid = quantize_velocity(result.best_grids[i])
                    best.append({"grid": to_midi_velocity(grid).tolist(),
                                 "genotype": result.best_genotypes[i].round(5).tolist(),
                                 "distance": float(result.best_distance[i]),
                                 "gain_db": self.studio.gain(grid)})
                with self.lock:
                    self.job["best"] = best
                    self.job["generation"] = result.generations
            except Exception as e:  # reported on the page, the server carries on
                with self.lock:
                    self.job["error"] = f"the search failed: {e}"

        self.thread = threading.Thread(target=work, name="evodrum-studio-target", daemon=True)
        self.thread.start()
        return self.view()
