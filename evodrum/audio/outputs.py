"""Ways to get rendered audio to the speakers, found at run time.

`sounddevice` (PortAudio) loops the audio in memory with no gaps. Without it,
a system command plays a WAV file: afplay (macOS), paplay (PulseAudio),
pw-play (PipeWire) or aplay (ALSA). For those, a loop is written repeated to
about half a minute so the restart between runs is rare.
"""
from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from evodrum.audio.players import AudioOutput, Background
from evodrum.audio.wav import write_wav
from evodrum.errors import EvodrumError

#: Command-line players in the order they are tried, with their arguments.
COMMANDS: dict[str, tuple[str, ...]] = {
    "afplay": ("afplay",),
    "paplay": ("paplay",),
    "pw-play": ("pw-play",),
    "aplay": ("aplay", "-q"),
}
OUTPUT_NAMES = ("sounddevice", *COMMANDS)
INSTALL_HINT = ("pip install 'evodrum[audio]' (sounddevice), or install one of "
                "afplay/paplay/pw-play/aplay")
NO_AUDIO_HINT = "or use --no-audio to write WAV files (`evodrum doctor` checks what is here)"
NO_OUTPUT_HINT = f"no audio output found: {INSTALL_HINT}, {NO_AUDIO_HINT}"
#: The test sound every output must play before a command relies on it.
PROBE_SECONDS = 0.05
PROBE_SR = 44100
PROBE_TIMEOUT = 5.0


class SoundDeviceOutput(AudioOutput):
    """Plays through PortAudio with the `sounddevice` package (gapless looping)."""

    name = "sounddevice"

    def __init__(self):
        self._sd, problem = _load_sounddevice()
        if problem:
            raise EvodrumError(problem)

    def start(self, audio, sr, loop):
        self._sd.play(audio, sr, loop=loop)

    def stop(self):
        self._sd.stop()

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._active():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def _active(self) -> bool:
        try:
            return self._sd.get_stream().active
        except RuntimeError:  # nothing was ever played
            return False


class CommandOutput(AudioOutput):
    """Plays a temporary WAV file with a command such as aplay, restarting it to loop."""

    def __init__(self, argv: tuple[str, ...], repeat_seconds: float = 30.0):
        self.name = argv[0]
        self.argv = argv
        self.repeat_seconds = repeat_seconds
        self._dir = Path(tempfile.mkdtemp(prefix="evodrum-play-"))
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._worker = Background()

    def start(self, audio, sr, loop):
        if loop:
            repeats = max(1, math.ceil(self.repeat_seconds * sr / len(audio)))
            audio = np.concatenate([audio] * repeats)
        path = write_wav(self._dir / "loop.wav", audio, sr)  # the last run has stopped
        self._worker.start(lambda stopping: self._run(path, loop, stopping),
                           f"evodrum-{self.name}")

    def _run(self, path: Path, loop: bool, stopping: threading.Event) -> None:
        while True:
            with self._lock:
                if stopping.is_set():
                    return
                proc = self._proc = subprocess.Popen(
                    [*self.argv, str(path)], stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _, err = proc.communicate()
            if stopping.is_set():
                return
            if proc.returncode != 0:
                lines = err.decode(errors="replace").strip().splitlines() or ["no message"]
                raise EvodrumError(f"{self.name} failed (exit {proc.returncode}): "
                                   f"{lines[-1]}; try another output or --no-audio")
            if not loop:
                return

    def stop(self):
        with self._lock:
            self._worker.stopping.set()
            if self._proc is not None and self._proc.poll() is None:
                self._proc.terminate()
        self._worker.stop()

    def wait(self, timeout=None):
        return self._worker.wait(timeout)

    def close(self):
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


def _load_sounddevice():
    """(sounddevice module, None) when it can play here, else (None, why not)."""
    try:
        import sounddevice
    except ImportError:
        return None, "sounddevice is not installed: pip install 'evodrum[audio]'"
    except OSError:
        return None, "sounddevice needs the PortAudio library (e.g. apt install libportaudio2)"
    try:
        sounddevice.query_devices(kind="output")
    except Exception:  # PortAudioError: no default output device
        return None, "sounddevice finds no audio output device"
    return sounddevice, None


def available_outputs() -> list[str]:
    """Names of the outputs installed on this machine, best first (not yet tried)."""
    found = [name for name, argv in COMMANDS.items() if shutil.which(argv[0])]
    return (["sounddevice"] if _load_sounddevice()[0] else []) + found


def probe(name: str) -> str | None:
    """Play PROBE_SECONDS of silence on output `name`: None if it played, else why not.

    Being installed is not enough: a player with no sound card or no sound server
    fails only when it opens the device, so this opens it for real.
    """
    silence = np.zeros(int(PROBE_SECONDS * PROBE_SR), np.float32)
    if name == "sounddevice":
        sd, problem = _load_sounddevice()
        if problem:
            return problem
        try:
            sd.play(silence, PROBE_SR)
            sd.wait()
        except Exception as e:  # PortAudioError and friends
            return f"sounddevice cannot open the output device ({e})"
        return None
    if name not in COMMANDS:
        raise EvodrumError(f"unknown audio output {name!r}: choose from {', '.join(OUTPUT_NAMES)}")
    argv = COMMANDS[name]
    if not shutil.which(argv[0]):
        return f"{name} is not installed"
    with tempfile.TemporaryDirectory(prefix="evodrum-probe-") as tmp:
        wav = write_wav(Path(tmp) / "probe.wav", silence, PROBE_SR)
        try:
            done = subprocess.run([*argv, str(wav)], check=False, stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=PROBE_TIMEOUT)
        except subprocess.TimeoutExpired:
            return f"{name} did not play {PROBE_SECONDS} s of silence within {PROBE_TIMEOUT:g} s"
        except OSError as e:
            return f"{name} cannot be run ({e.strerror})"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
        return f"{name} cannot play here ({lines[-1] if lines else f'exit {done.returncode}'})"
    return None


def working_output(name: str = "auto") -> str:
    """Output `name`, or for "auto" the first installed one, once it has played the test
    sound (see `probe`); EvodrumError, suggesting --no-audio, if none works."""
    if name != "auto" and name not in OUTPUT_NAMES:
        raise EvodrumError(f"unknown audio output {name!r}: choose from {', '.join(OUTPUT_NAMES)}")
    if name != "auto" and name != "sounddevice" and not shutil.which(COMMANDS[name][0]):
        raise EvodrumError(f"audio output {name!r} is not installed here; "
                           f"available: {', '.join(available_outputs()) or 'none'}")
    candidates = available_outputs() if name == "auto" else [name]
    if not candidates:
        raise EvodrumError(NO_OUTPUT_HINT)
    problems = []
    for candidate in candidates:
        problem = probe(candidate)
        if problem is None:
            return candidate
        problems.append(problem)
    raise EvodrumError(f"no audio output works here: {'; '.join(problems)}; {NO_AUDIO_HINT}")


def open_output(name: str = "auto") -> AudioOutput:
    """The `working_output` for `name`, ready to play."""
    name = working_output(name)
    return SoundDeviceOutput() if name == "sounddevice" else CommandOutput(COMMANDS[name])
