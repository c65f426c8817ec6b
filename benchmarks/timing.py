"""The one timing helper every benchmark uses: repeats of a call, with a warm-up,
reported as best and median of both CPU time and wall time. The machine may be
shared, so CPU time (this process's and its finished children's rusage) is the
figure to quote; wall time is printed beside it."""
from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and of its children that have ended."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Stopwatch:
    """CPU and wall seconds since it was made, said as a long benchmark's last line."""

    def __init__(self):
        self.cpu, self.wall = cpu_seconds(), time.perf_counter()

    def line(self) -> str:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        return (f"{cpu_seconds() - self.cpu:.0f} s CPU, {time.perf_counter() - self.wall:.0f} "
                f"s wall (load average {load}).")


@dataclass
class Timing:
    """Seconds per call of several repeats: wall `times` and `cpu` times."""

    times: list[float]
    cpu: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def measure(fn: Callable[[], object], repeats: int = 5, *, warmup: bool = True,
            clock: Callable[[], float] = time.perf_counter) -> Timing:
    """Time `repeats` calls of fn() (after one untimed warm-up call unless warmup=False):
    wall time by `clock` (`time.process_time` measures this process's CPU instead)
    and CPU time with children (`cpu_seconds`)."""
    if warmup:
        fn()
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = clock(), cpu_seconds()
        fn()
        times.append(clock() - start)
        cpu.append(cpu_seconds() - start_cpu)
    return Timing(times, cpu)


def once(fn: Callable[[], object]) -> float:
    """Wall seconds of a single call (for one-off costs such as a cold build)."""
    return measure(fn, 1, warmup=False).times[0]


def line(label: str, timing: Timing, unit: str = "s", goal: str = "", floor: str = "") -> str:
    """One benchmark line: median CPU beside median wall, then the goal and floor."""
    scale = {"s": 1, "ms": 1000}[unit]
    parts = [f"{label}: {scale * timing.cpu_median:.3g} {unit} CPU "
             f"({scale * timing.median:.3g} {unit} wall), median of {len(timing.times)}"]
    parts += [f"goal {goal}"] * bool(goal) + [f"floor {floor}"] * bool(floor)
    return "; ".join(parts)
