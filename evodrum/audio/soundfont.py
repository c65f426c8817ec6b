"""Render with FluidSynth and a General MIDI soundfont: real drum sounds.

The loop is written as MIDI (`evodrum.midi.write_midi`) and rendered by the
`fluidsynth` command line, so no Python binding is needed. Its output is
fitted to the loop length the same way the built-in kit's is (see TAILS).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from evodrum.audio.synth import TAILS, check_memory, fold, loop_samples, soft_limit
from evodrum.audio.wav import read_wav
from evodrum.errors import EvodrumError
from evodrum.midi import write_midi

#: Where system packages put General MIDI soundfonts (Debian/Ubuntu, Fedora, Homebrew).
SOUNDFONT_DIRS = ("/usr/share/sounds/sf2", "/usr/share/soundfonts",
                  "/usr/local/share/soundfonts", "/opt/homebrew/share/soundfonts")
#: Preferred soundfonts, best first; any other .sf2 found comes after these.
PREFERRED = ("FluidR3_GM.sf2", "default.sf2", "GeneralUser_GS.sf2", "TimGM6mb.sf2")
#: FluidSynth's default gain (0.2) is quiet for drums alone.
GAIN = 0.8
TIMEOUT_SECONDS = 120
#: FluidSynth writes stereo.
STEREO = 2


def find_soundfont() -> Path | None:
    """$EVODRUM_SOUNDFONT, else a GM soundfont in the usual system folders, else None."""
    env = os.environ.get("EVODRUM_SOUNDFONT")
    if env:
        if not Path(env).is_file():
            raise EvodrumError(f"EVODRUM_SOUNDFONT={env}: soundfont not found")
        return Path(env)
    found = [p for d in SOUNDFONT_DIRS if Path(d).is_dir() for p in sorted(Path(d).glob("*.sf2"))]
    rank = {name: i for i, name in enumerate(PREFERRED)}
    return min(found, key=lambda p: rank.get(p.name, len(rank)), default=None)


def fit_loop(audio: np.ndarray, n: int, tail: str) -> np.ndarray:
    """Make float32 audio n samples long: fold the overhang onto the start ("wrap"),
    drop it ("cut"), or keep it ("ring"); short audio is padded with silence.
    Works in `audio` itself when it is long enough (a long render is held once)."""
    if tail not in TAILS:
        raise ValueError(f"tail must be one of {', '.join(TAILS)}, got {tail!r}")
    if len(audio) < n:
        padded = np.zeros((n, *audio.shape[1:]), np.float32)
        padded[:len(audio)] = audio
        return padded
    if tail == "wrap":
        return fold(audio, n)
    return audio[:n] if tail == "cut" else audio


class FluidSynthRenderer:
    """A renderer (see players.Renderer) that runs `fluidsynth` with a soundfont."""

    def __init__(self, soundfont: str | os.PathLike, program: str = "fluidsynth"):
        self.program = shutil.which(program)
        if self.program is None:
            raise EvodrumError(f"--soundfont needs the {program} program: install FluidSynth "
                               "(apt install fluidsynth, brew install fluid-synth) or use "
                               "the built-in kit (--synth builtin)")
        self.soundfont = Path(soundfont)
        if not self.soundfont.is_file():
            raise EvodrumError(f"{self.soundfont}: soundfont not found")

    def __call__(self, grid, spec, bpm, sr, tail):
        n = loop_samples(spec, bpm, sr)
        check_memory(n, STEREO, sr)
        with tempfile.TemporaryDirectory(prefix="evodrum-fluid-") as tmp:
            mid, wav = Path(tmp) / "loop.mid", Path(tmp) / "loop.wav"
            write_midi(mid, grid, spec, bpm)
            argv = [self.program, "-ni", "-g", str(GAIN), "-F", str(wav), "-r", str(sr),
                    str(self.soundfont), str(mid)]
            # a long render gets a second more for every second of 48 kHz audio
            timeout = TIMEOUT_SECONDS + n // 48000
            try:
                done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                      timeout=timeout)
            except subprocess.TimeoutExpired:
                raise EvodrumError(f"fluidsynth took over {timeout} s to render "
                                   f"with {self.soundfont}") from None
            if done.returncode != 0 or not wav.is_file():
                lines = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
                raise EvodrumError(f"fluidsynth could not render with {self.soundfont}: "
                                   f"{lines[-1] if lines else f'exit {done.returncode}'}")
            audio, rate = read_wav(wav)
        if rate != sr:
            raise EvodrumError(f"fluidsynth wrote {rate} Hz audio, expected {sr} Hz")
        return soft_limit(fit_loop(audio, n, tail), copy=False)
