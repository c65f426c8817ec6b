"""Audition renders: every loop at the same loudness, rendered once, and ready
before it is asked for.

A play press should answer at once even with FluidSynth (which loads its
148 MB soundfont on every run, about 0.8 s): `Audition` wraps any renderer
with a cache of finished renders and a background worker that renders the
loops on screen ahead of time (`prefetch`). A press for a loop the worker is
busy with waits for that render; any other uncached loop is rendered at once.
Every audition is brought to the same loudness (`loudness.normalise`), so a
rating follows the groove rather than the volume.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from evodrum.audio.loudness import normalise
from evodrum.grid import GridSpec
from evodrum.loop import as_loop

#: Renders kept (a 4-bar loop at 44.1 kHz is 1.4 MB): a few generations' worth.
CAPACITY = 64


class Audition:
    """A renderer (see players.Renderer) that normalises loudness and caches renders."""

    def __init__(self, renderer, normalised: bool = True, capacity: int = CAPACITY):
        self.renderer, self.normalised, self.capacity = renderer, normalised, capacity
        self._done: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._pending: dict[tuple, Future] = {}
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evodrum-render")

    @staticmethod
    def _key(grid, spec: GridSpec, bpm, sr, tail) -> tuple:
        loop = as_loop(grid, spec)
        return (loop.velocities.tobytes(), loop.offsets.tobytes(), loop.velocities.shape,
                loop.spec, float(bpm), int(sr), tail)

    def _render(self, key, grid, spec, bpm, sr, tail) -> np.ndarray:
        try:
            audio = self.renderer(grid, spec, bpm, sr, tail)
            if self.normalised:
                audio = normalise(audio, sr)
            audio.flags.writeable = False
            with self._lock:
                self._done[key] = audio
                while len(self._done) > self.capacity:
                    self._done.popitem(last=False)
            return audio
        finally:  # a failed render is tried again (and reported) at the next press
            with self._lock:
                self._pending.pop(key, None)

    def __call__(self, grid, spec, bpm, sr, tail) -> np.ndarray:
        key = self._key(grid, spec, bpm, sr, tail)
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
            pending = self._pending.get(key)
        if pending is not None:
            return pending.result()
        return self._render(key, as_loop(grid, spec), spec, bpm, sr, tail)

    def cached(self, grid, spec, bpm, sr, tail) -> bool:
        with self._lock:
            return self._key(grid, spec, bpm, sr, tail) in self._done

    def prefetch(self, grids, spec: GridSpec, bpm: float, sr: int, tail: str = "wrap") -> None:
        """Render `grids` in the background, in order, skipping those already done."""
        for grid in grids:
            key = self._key(grid, spec, bpm, sr, tail)
            with self._lock:
                if key in self._done or key in self._pending:
                    continue
                self._pending[key] = self._worker.submit(
                    self._render, key, as_loop(np.copy(grid) if isinstance(grid, np.ndarray)
                                               else grid, spec), spec, bpm, sr, tail)

    def close(self) -> None:
        """Drop renders not started yet and let the worker finish."""
        with self._lock:
            for future in self._pending.values():
                future.cancel()
            self._pending.clear()
        self._worker.shutdown(wait=False, cancel_futures=True)
