"""The `Player` interface the interactive session drives, and the audio player.

Every player starts playback without blocking (`play`), can be stopped at
any time (`stop`), and reports the end of a one-shot playback (`wait`). A new
`play` replaces whatever was playing, so a session can hop between loops.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Callable, Protocol

import numpy as np

from evodrum.audio.synth import DEFAULT_SR, NO_MEMORY, AudioTooLong, render
from evodrum.errors import EvodrumError
from evodrum.grid import DEFAULT_SPEC, GridSpec
from evodrum.loop import as_loop


class Renderer(Protocol):
    """Turns a loop (a Loop, or a grid played straight) into audio: `synth.render` or a
    `FluidSynthRenderer`."""

    def __call__(self, grid, spec: GridSpec, bpm: float, sr: int,
                 tail: str) -> np.ndarray: ...


class Player(ABC):
    """Plays one loop at a time in the background."""

    #: A short phrase for the user, e.g. "built-in kit through aplay".
    description = "player"

    def play(self, grid: np.ndarray, spec: GridSpec = DEFAULT_SPEC, bpm: float = 120.0,
             loop: bool = True, name: str | None = None) -> None:
        """Start playing `grid` (replacing the current loop) and return at once.

        `grid` is a Loop (played with its feel, at its own spec) or a grid of `spec`.
        `name` labels the loop where a player keeps files (see FilePlayer).
        A render too long to hold (or a MemoryError) raises AudioTooLong, for the caller
        to name the loop (`AudioTooLong.of`).
        """
        self.stop()
        performed = as_loop(grid, spec)
        try:
            self._start(performed, performed.spec, float(bpm), loop, name)
        except MemoryError:        # one line where the caller names the loop, never a traceback
            raise AudioTooLong(NO_MEMORY) from None

    @abstractmethod
    def _start(self, grid: np.ndarray, spec: GridSpec, bpm: float, loop: bool,
               name: str | None) -> None: ...

    @abstractmethod
    def stop(self) -> None:
        """Silence playback now; harmless when nothing plays."""

    @abstractmethod
    def wait(self, timeout: float | None = None) -> bool:
        """Block until playback ends (or `timeout` seconds); True when it has ended.

        Raises EvodrumError when the backend failed while playing.
        """

    def prefetch(self, grids: list[np.ndarray], spec: GridSpec = DEFAULT_SPEC,
                 bpm: float = 120.0) -> None:
        """Get these loops ready ahead of a play press (audio players render them in the
        background); players with nothing to prepare ignore it."""

    @property
    def is_playing(self) -> bool:
        return not self.wait(0)

    def close(self) -> None:
        """Stop and release the backend (ports, temporary files)."""
        self.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Background:
    """One worker thread with a stop flag.

    An error in the worker is raised by the next `wait`, or by the next
    `start` if nobody waited, so a failing backend is never silent.
    """

    def __init__(self):
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self._error: BaseException | None = None

    def start(self, work: Callable[[threading.Event], None], name: str) -> None:
        self._raise_error()
        self.stopping = threading.Event()
        stopping = self.stopping

        def run():
            try:
                work(stopping)
            except BaseException as e:  # handed to the caller of wait() or start()
                self._error = e

        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the worker to finish and wait until it has."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join()

    def wait(self, timeout: float | None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return False
        self._raise_error()
        return True

    def _raise_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error if isinstance(error, EvodrumError) else EvodrumError(str(error))


class AudioOutput(ABC):
    """A way to get rendered audio to the speakers (sounddevice, a command...)."""

    name = "output"

    @abstractmethod
    def start(self, audio: np.ndarray, sr: int, loop: bool) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    def wait(self, timeout: float | None) -> bool: ...

    def close(self) -> None:
        self.stop()


class AudioPlayer(Player):
    """Renders each loop (built-in kit or FluidSynth) and plays it on an AudioOutput."""

    def __init__(self, output: AudioOutput, renderer: Renderer = render,
                 sr: int = DEFAULT_SR, renderer_name: str = "built-in kit"):
        self.output, self.renderer, self.sr = output, renderer, sr
        self.description = f"{renderer_name} through {output.name}"

    def _start(self, grid, spec, bpm, loop, name):
        audio = self.renderer(grid, spec, bpm, self.sr, "wrap" if loop else "ring")
        self.output.start(audio, self.sr, loop)

    def prefetch(self, grids, spec=DEFAULT_SPEC, bpm=120.0):
        if hasattr(self.renderer, "prefetch"):
            self.renderer.prefetch(grids, spec, bpm, self.sr)

    def stop(self):
        self.output.stop()

    def wait(self, timeout=None):
        return self.output.wait(timeout)

    def close(self):
        self.output.close()
        if hasattr(self.renderer, "close"):
            self.renderer.close()
