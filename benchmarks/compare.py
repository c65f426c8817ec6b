"""Benchmark of a comparison's cost: one run per (space, algorithm) on one
single-threaded worker, and the whole comparison's estimated time on this machine.

    python -m benchmarks.compare [CONFIG] [SEEDS]

CONFIG defaults to runs/compare-default.toml, SEEDS (runs timed per cell) to 2.
Goal on a 2-core machine: the default comparison under 15 minutes.
"""
from __future__ import annotations

import os
import sys

from evodrum.compare.config import RunKey, load_config
from evodrum.compare.pool import run_on_pool


def main(argv: list[str]) -> None:
    config = load_config(argv[0] if argv else "runs/compare-default.toml")
    seeds = int(argv[1]) if len(argv) > 1 else 2
    task = config.tasks[0].name
    keys = [RunKey(task, s, a, seed) for s in config.spaces for a in config.algorithms
            for seed in range(seeds)]
    records = {}
    run_on_pool(config, keys, 1, records.__setitem__)
    cores = os.cpu_count() or 1
    runs_per_cell = len(config.tasks) * config.seeds
    total = 0.0
    print(f"{config.name}: one worker, task {task}, {seeds} seeds per cell, "
          f"{config.population} x {config.generations}")
    for space in config.spaces:
        for algorithm in config.algorithms:
            cell = [records[RunKey(task, space, algorithm, s)] for s in range(seeds)]
            cpu = sum(r["cpu_seconds"] for r in cell) / seeds
            wall = sum(r["wall_seconds"] for r in cell) / seeds
            total += cpu * runs_per_cell
            print(f"  {space:<5} {algorithm:<6} {cpu:6.2f} s CPU  {wall:6.2f} s wall per run")
    print(f"estimated: {total:.0f} s CPU for {len(config.runs())} runs, "
          f"{total / cores / 60:.1f} min on {cores} cores (goal < 15 min)")


if __name__ == "__main__":
    main(sys.argv[1:])
