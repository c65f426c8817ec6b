"""The one timing helper every benchmark uses: repeats of a call, with a warm-up,
reported as best and median (the machine may be shared: medians are the figure)."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Timing:
    """Seconds per call of several repeats."""

    times: list[float]

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def measure(fn: Callable[[], object], repeats: int = 5, *, warmup: bool = True,
            clock: Callable[[], float] = time.perf_counter) -> Timing:
    """Time `repeats` calls of fn() (after one untimed warm-up call unless warmup=False);
    `clock=time.process_time` measures this process's CPU instead of wall time."""
    if warmup:
        fn()
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return Timing(times)


def once(fn: Callable[[], object]) -> float:
    """Wall seconds of a single call (for one-off costs such as a cold build)."""
    return measure(fn, 1, warmup=False).times[0]
