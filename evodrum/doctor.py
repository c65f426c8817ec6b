"""`evodrum doctor`: what works on this machine, and what to install for what does not.

Each check tries the real thing (loads the shipped model, renders with FluidSynth,
plays a short silence on every audio output) rather than only looking for files,
and returns `Check` rows; `diagnose()` runs them all. The CLI prints them as one
table or as JSON.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from evodrum.errors import EvodrumError
from evodrum.text import count

OK, MISSING, BROKEN, INFO = "ok", "missing", "broken", "info"
#: Statuses of a check: ok; missing (optional, not installed); broken (installed but
#: not working); info (nothing to fix). A `required` check that is not ok fails doctor.
STATUSES = (OK, MISSING, BROKEN, INFO)


@dataclass(frozen=True)
class Check:
    """One row of the report: what was checked, how it went, and what to do about it."""

    area: str
    name: str
    status: str
    detail: str
    fix: str = ""
    required: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Diagnosis:
    """Every check, plus the two answers a user wants first: can I hear loops, and how."""

    checks: list[Check]
    audio_output: str | None
    synth: str

    @property
    def ok(self) -> bool:
        """False when something evodrum needs (not an optional extra) is broken."""
        return all(c.status in (OK, INFO) for c in self.checks if c.required)

    @property
    def sound_advice(self) -> str:
        """How loops will be heard here, or what to install to hear them."""
        if self.audio_output:
            return (f"`evodrum play` and `interactive` play loops with {self.synth} through "
                    f"{self.audio_output}")
        system = {"Darwin": "brew install portaudio, then pip install 'evodrum[audio]'",
                  "Windows": "pip install 'evodrum[audio]' (sounddevice)"}.get(
            platform.system(), "apt install alsa-utils (aplay) or pulseaudio-utils (paplay), "
                               "or pip install 'evodrum[audio]' (sounddevice, needs "
                               "libportaudio2)")
        return (f"no audio output works here, so `evodrum play` and `interactive` stop at once "
                f"with an error. To hear loops: {system}. Until then, --no-audio and "
                f"`evodrum render` write WAV files (made with {self.synth}) for any player")

    def to_dict(self) -> dict:
        return {"ok": self.ok, "audio_output": self.audio_output, "synth": self.synth,
                "sound": self.sound_advice, "checks": [c.to_dict() for c in self.checks]}


def _elapsed(start: float) -> str:
    return f"{(time.perf_counter() - start) * 1000:.0f} ms"


# --- Python, torch, the shipped model, corpora --------------------------------------

def check_python() -> list[Check]:
    from evodrum import __version__
    return [Check("python", "python", OK if sys.version_info >= (3, 11) else BROKEN,
                  f"{platform.python_version()} on {platform.system()} {platform.machine()}; "
                  f"evodrum {__version__}", "evodrum needs Python 3.11 or newer", required=True)]


def check_torch() -> list[Check]:
    try:
        import torch
    except ImportError as e:
        return [Check("python", "torch", BROKEN, f"cannot import torch ({e})",
                      "pip install torch --index-url https://download.pytorch.org/whl/cpu",
                      required=True)]
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only"
    threads = (f"{count(torch.get_num_threads(), 'thread')} (interop "
               f"{torch.get_num_interop_threads()}) on {count(os.cpu_count() or 1, 'core')}; "
               "OMP_NUM_THREADS="
               f"{os.environ.get('OMP_NUM_THREADS', 'unset')}")
    return [Check("python", "torch", OK, f"{torch.__version__}, {build} build", required=True),
            Check("python", "torch threads", INFO, threads)]


def check_model() -> list[Check]:
    import numpy as np

    import vae
    from evodrum.genotypes.files import load_reference
    rows = []
    for name, load in (("shipped VAE", vae.load_model), ("shipped PCA-20", vae.load_default_pca)):
        start = time.perf_counter()
        try:
            model = load()
            grids = model.decode(np.zeros((1, model.zdim), np.float32))
        except Exception as e:  # noqa: BLE001 (a broken install shows here, not as a traceback)
            rows.append(Check("model", name, BROKEN, str(e), "reinstall evodrum (pip install .)",
                              required=True))
            continue
        rows.append(Check("model", name, OK, f"{model.name}, z = {model.zdim}, decodes "
                          f"{grids.shape[1]}x{grids.shape[2]} grids; loaded in {_elapsed(start)}",
                          required=True))
    try:
        ref = load_reference()
        rows.append(Check("model", "well-formedness reference", OK,
                          f"{ref.info['distinct_train_loops']} training loops", required=True))
    except Exception as e:  # noqa: BLE001 (as above)
        rows.append(Check("model", "well-formedness reference", BROKEN, str(e),
                          "reinstall evodrum (pip install .)", required=True))
    return rows


def check_corpora() -> list[Check]:
    from evodrum.corpus import cache_root, read_manifest
    root = cache_root() / "corpora"
    found = []
    for manifest in sorted(root.glob("*/manifest.json")):
        try:   # read as any state file: a list, a pipe or a link is "unreadable", not a hang
            windows = read_manifest(manifest.parent).get("windows", "?")
        except EvodrumError:
            windows = "unreadable manifest"
        found.append(f"{manifest.parent.name} ({windows} windows)")
    groove = os.environ.get("EVODRUM_GROOVE")
    rows = [Check("data", "corpus cache", OK if found else INFO,
                  f"{root}: {', '.join(found)}" if found else f"{root}: no corpus built "
                  "(only training, tests and corpus targets need one)",
                  "" if found else "evodrum data build ~/data/groove (see the README's "
                  "Groove MIDI Dataset section)")]
    if groove:
        there = (Path(groove) / "info.csv").is_file()
        rows.append(Check("data", "EVODRUM_GROOVE", OK if there else BROKEN,
                          f"{groove}" + ("" if there else ": no info.csv there"),
                          "" if there else "point EVODRUM_GROOVE at the unzipped groove folder"))
    return rows


# --- sound ------------------------------------------------------------------------

def check_outputs() -> tuple[list[Check], str | None]:
    """Every way to the speakers, each tried with a short silence; and the one `auto` uses."""
    from evodrum.audio import outputs
    rows, chosen = [], None
    for name in outputs.OUTPUT_NAMES:
        installed = (importlib.util.find_spec("sounddevice") is not None if name == "sounddevice"
                     else shutil.which(outputs.COMMANDS[name][0]) is not None)
        if not installed:  # what to install is said once, in Diagnosis.sound_advice
            rows.append(Check("audio output", name, MISSING, "not installed"))
            continue
        problem = outputs.probe(name)
        if problem is None:
            chosen = chosen or name
            rows.append(Check("audio output", name, OK,
                              f"played a {outputs.PROBE_SECONDS} s test sound"))
        else:
            rows.append(Check("audio output", name, BROKEN, problem,
                              "check the sound card or sound server, or choose another output"))
    return rows, chosen


def check_synths() -> tuple[list[Check], str]:
    """The built-in kit, FluidSynth, and every soundfont found; and what `auto` renders with."""
    import numpy as np

    from evodrum.audio import choose, soundfont, synth
    from evodrum.grid import DEFAULT_SPEC
    grid = np.zeros(DEFAULT_SPEC.shape, np.float32)
    grid[0, ::16] = 1.0  # a kick on every bar's one
    start = time.perf_counter()
    synth.render(grid, DEFAULT_SPEC, 120.0)
    rows = [Check("sound", "built-in kit", OK, f"rendered a 4-bar loop in {_elapsed(start)}")]
    program = shutil.which("fluidsynth")
    install = "apt install fluidsynth fluid-soundfont-gm, or brew install fluid-synth"
    if program is None:
        rows.append(Check("sound", "fluidsynth", MISSING, "not installed: the built-in kit "
                          "plays instead", install))
    else:
        version = _first_line([program, "--version"])
        rows.append(Check("sound", "fluidsynth", OK, f"{program}: {version}"))
    fonts = _soundfonts()
    if not fonts:
        rows.append(Check("sound", "soundfonts", MISSING, "no General MIDI soundfont in "
                          + ", ".join(soundfont.SOUNDFONT_DIRS),
                          "apt install fluid-soundfont-gm, or set EVODRUM_SOUNDFONT=FILE.sf2"))
    for font in fonts:
        where = f" -> {font.resolve()}" if font.is_symlink() else ""
        rows.append(Check("sound", f"soundfont {font.name}", OK if program else INFO,
                          f"{font}{where} ({font.stat().st_size / 1e6:.0f} MB)"))
    try:
        renderer, described = choose.open_renderer("auto")
        if renderer is not synth.render:
            start = time.perf_counter()
            audio = renderer(grid, DEFAULT_SPEC, 120.0, synth.DEFAULT_SR, "wrap")
            heard = float(abs(audio).max())
            rows.append(Check("sound", "FluidSynth test render", OK if heard > 0.01 else BROKEN,
                              f"{described}: peak {heard:.2f}, {_elapsed(start)}",
                              "" if heard > 0.01 else "try another soundfont (--soundfont)"))
    except Exception as e:  # noqa: BLE001 (fluidsynth's errors, a bad EVODRUM_SOUNDFONT)
        rows.append(Check("sound", "FluidSynth test render", BROKEN, str(e),
                          "try another soundfont (--soundfont), or --synth builtin"))
        described = "built-in kit"
    return rows, described


def _soundfonts() -> list[Path]:
    from evodrum.audio import soundfont
    env = os.environ.get("EVODRUM_SOUNDFONT")
    found = [Path(env)] if env and Path(env).is_file() else []
    return found + [p for d in soundfont.SOUNDFONT_DIRS if Path(d).is_dir()
                    for p in sorted(Path(d).glob("*.sf2")) if p not in found]


def _first_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, check=False, capture_output=True, timeout=10,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"does not run ({e})"
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    return lines[0] if lines else f"exit {done.returncode}"


def check_midi_ports() -> list[Check]:
    import mido

    from evodrum.audio.ports import quiet_stderr
    try:
        with quiet_stderr():        # the error below says what ALSA would print
            names = mido.get_output_names()
    except ImportError:
        return [Check("midi", "MIDI output ports", MISSING,
                      "python-rtmidi is not installed (evodrum[midi], for --midi-port)")]
    except Exception as e:  # noqa: BLE001 (the backend's own errors: no ALSA sequencer)
        return [Check("midi", "MIDI output ports", BROKEN, f"cannot reach the MIDI system ({e})",
                      "on Linux: load the ALSA sequencer (modprobe snd-seq)")]
    return [Check("midi", "MIDI output ports", OK if names else INFO,
                  ", ".join(map(repr, names)) if names else "none (start a synth or DAW, or "
                  "a virtual MIDI port, to use --midi-port)")]


# --- optional extras ----------------------------------------------------------------

def extras() -> dict[str, list[str]]:
    """{extra: [requirement names]}: from setup.cfg in a source checkout (the truth for
    the code that runs), else from the installed package's metadata."""
    source = _extras_from_setup_cfg()
    if source:
        return source
    try:
        requires = importlib.metadata.requires("evodrum") or []
    except importlib.metadata.PackageNotFoundError:
        requires = []
    found: dict[str, list[str]] = {}
    for req in requires:
        m = re.match(r"([A-Za-z0-9_.\-]+).*;\s*extra\s*==\s*['\"]([^'\"]+)['\"]", req)
        if m:
            found.setdefault(m.group(2), []).append(m.group(1))
    return found


def _extras_from_setup_cfg() -> dict[str, list[str]]:
    import configparser
    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).resolve().parents[1] / "setup.cfg")
    if not cfg.has_section("options.extras_require"):
        return {}
    return {extra: [re.match(r"[A-Za-z0-9_.\-]+", line.strip()).group(0)
                    for line in text.split("\n") if line.strip()]
            for extra, text in cfg.items("options.extras_require")}


def check_extras() -> list[Check]:
    rows = []
    for extra, packages in extras().items():
        missing = [p for p in packages if not _installed(p)]
        rows.append(Check("extras", f"evodrum[{extra}]", MISSING if missing else OK,
                          ("missing " + ", ".join(missing)) if missing
                          else ", ".join(f"{p} {importlib.metadata.version(p)}" for p in packages),
                          f"pip install 'evodrum[{extra}]'" if missing else ""))
    return rows


def _installed(package: str) -> bool:
    try:
        importlib.metadata.version(package)
        return True
    except importlib.metadata.PackageNotFoundError:
        return importlib.util.find_spec(package.replace("-", "_")) is not None


def diagnose() -> Diagnosis:
    """Run every check (a few seconds: it loads the model and tries every sound path)."""
    outputs_rows, output = check_outputs()
    synth_rows, synth_name = check_synths()
    checks = [*check_python(), *check_torch(), *check_model(), *check_corpora(),
              *outputs_rows, *synth_rows, *check_midi_ports(), *check_extras()]
    return Diagnosis(checks, output, synth_name)
