"""MIDI ports by name, through mido's rtmidi backend: the system's default MIDI API
(ALSA on Linux, CoreMIDI, Windows MM), then JACK when a JACK server runs (JACK or
PipeWire's JACK, and machines without an ALSA sequencer). `MIDO_BACKEND` chooses
another mido backend, as mido documents.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading

import mido

from evodrum.errors import EvodrumError

JACK = "mido.backends.rtmidi/UNIX_JACK"
NEEDS = "needs python-rtmidi: pip install 'evodrum[midi]'"


@contextlib.contextmanager
def quiet_stderr():
    """Hide what the MIDI libraries print on fd 2 while probing (ALSA's 'cannot open
    /dev/snd/seq', JACK's 'server not running'): the error they raise says it in one line."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):   # a test's captured stderr
        yield
        return
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _backends() -> list[tuple[mido.Backend, str | None]]:
    """(backend, why it cannot be used or None) for the default API, then JACK on Linux."""
    found = []
    names = [None] + ([JACK] if sys.platform.startswith("linux")
                      and os.environ.get("MIDO_BACKEND") is None else [])
    for name in names:
        backend = mido.Backend(name, load=False) if name else mido.backend
        try:
            if name == JACK:
                os.environ.setdefault("JACK_NO_START_SERVER", "1")  # never start a server
            with quiet_stderr():
                backend.get_output_names()
            found.append((backend, None))
        except ImportError:
            raise EvodrumError(f"MIDI ports {NEEDS}") from None
        except Exception as e:   # the backend's own errors: no ALSA sequencer, no JACK server
            found.append((backend, str(e).splitlines()[0] if str(e) else type(e).__name__))
    return found


def _find(name: str, kind: str, option: str) -> mido.Backend:
    """The backend that has a `kind` ("output"/"input") port called `name`."""
    listed, problems = [], []
    for backend, problem in _backends():
        if problem:
            problems.append(problem)
            continue
        names = backend.get_output_names() if kind == "output" else backend.get_input_names()
        if name in names:
            return backend
        listed += names
    if not listed and problems:
        raise EvodrumError(f"{option}: cannot reach the MIDI system ({'; '.join(problems)})")
    raise EvodrumError(f"{option}: no MIDI {kind} called {name!r}; "
                       f"available: {', '.join(map(repr, listed)) or 'none'}")


def open_output(name: str, option: str = "--midi-port") -> mido.ports.BaseOutput:
    """The output port called `name`; EvodrumError listing the ports when there is none."""
    backend = _find(name, "output", option)
    try:
        return backend.open_output(name)
    except Exception as e:   # OSError or the backend's own error types
        raise EvodrumError(f"{option}: cannot open {name!r} ({e})") from None


class PolledInput:
    """An rtmidi input read by a thread of ours, calling `callback(message)` for each
    message (MIDI clock included).

    mido's callbacks run inside the MIDI system's thread; under JACK that thread is
    the real-time process callback, and waiting there for Python's GIL makes JACK
    drop the cycle's events (xruns). rtmidi queues messages in C instead, and this
    thread drains the queue every POLL_SECONDS."""

    POLL_SECONDS = 0.0005

    def __init__(self, rt, name: str, callback):
        self._rt, self.name, self.callback = rt, name, callback
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="evodrum-midi-in", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while not self._stop.is_set():
            got = self._rt.get_message()
            if got is None:
                self._stop.wait(self.POLL_SECONDS)
                continue
            try:
                msg = mido.Message.from_bytes(got[0])
            except ValueError:        # not a whole MIDI message: ignore it, as mido does
                continue
            self.callback(msg)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._rt.close_port()


def open_input(name: str, callback, option: str = "--clock-in"):
    """The input port called `name`, calling `callback(message)` for every message
    (MIDI clock included) from a thread of its own."""
    backend = _find(name, "input", option)
    if not backend.name.startswith("mido.backends.rtmidi"):   # MIDO_BACKEND chose another
        return backend.open_input(name, callback=callback)
    import rtmidi
    api = backend.api or ""
    try:
        rt = rtmidi.MidiIn(getattr(rtmidi, f"API_{api}", rtmidi.API_UNSPECIFIED),
                           "evodrum")
        rt.ignore_types(sysex=True, timing=False, active_sense=True)
        rt.open_port(rt.get_ports().index(name))
    except Exception as e:   # the backend's own error types
        raise EvodrumError(f"{option}: cannot open {name!r} ({e})") from None
    return PolledInput(rt, name, callback)
