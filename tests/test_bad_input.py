"""The bad-input suite: hostile options, comparison files, caches, state files, MIDI and
grid files and destinations, each generated here. Every case ends with one `error:` line naming the
problem and a non-zero exit, never a traceback, and leaves its input files unchanged.
Cases that used to hang or exhaust memory run as a real process under a time limit
and an address-space limit (RLIMIT_AS), so a regression fails instead of hanging."""
from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest
from click.testing import CliRunner
from midi_files import basic_beat, drum_file

from evodrum.cli import main

REPO = Path(__file__).resolve().parents[1]
#: The memory one bad-input case may take (the CLI with torch loaded needs ~1 GiB).
MEMORY_LIMIT = 3 * 2**30
SECONDS = 120   # generous on a shared machine: the guard is against hanging, not speed

COMPARE = ('name = "c"\nspaces = ["grid"]\nalgorithms = ["ga"]\nbudget = 40\npopulation = 4\n'
           'seeds = 1\n[search]\nsigma = 0.3\n[[tasks]]\nname = "t"\ngoals = { density = 0.4 }\n')


def loop(tmp: Path) -> Path:
    return drum_file(tmp / "loop.mid", basic_beat(4), length_beats=16)


def toml(tmp: Path, old: str, new: str) -> Path:
    path = tmp / "c.toml"
    path.write_text(COMPARE.replace(old, new))
    return path


def damaged_cache(tmp: Path, damage) -> list:
    from evodrum.corpus import build_corpus
    root = tmp / "lib"
    root.mkdir()
    drum_file(root / "a.mid", basic_beat(4), length_beats=16)
    c = build_corpus(root, cache_dir=tmp / "cache", workers=1)
    damage(c.path)
    return ["data", "info", "lib", "--cache-dir", tmp / "cache"]


#: (case, builder(tmp) -> CLI arguments, words the error line must hold)
CASES = {
    "sample --temperature nan": (lambda t: ["sample", "--temperature", "nan"], "finite"),
    "sample --temperature inf": (lambda t: ["sample", "--temperature", "inf"], "finite"),
    "sample -n 10^10": (lambda t: ["sample", "-n", "10000000000"], "100000"),
    "sample --seed -1": (lambda t: ["sample", "--seed", "-1"], "2^64 - 1"),
    "sample --seed 2^64": (lambda t: ["sample", "--seed", str(2**64)], "2^64 - 1"),
    "sample --bpm nan": (lambda t: ["sample", "--bpm", "nan"], "finite"),
    "vary --amount nan": (lambda t: ["vary", loop(t), "--amount", "nan"], "finite"),
    "interpolate --steps 100000": (lambda t: ["interpolate", loop(t), loop(t), "--steps",
                                              "100000"], "256"),
    "target --sigma nan": (lambda t: ["target", "-f", "density=0.3", "--sigma", "nan"], "finite"),
    "target --sigma inf": (lambda t: ["target", "-f", "density=0.3", "--sigma", "inf"], "finite"),
    "target --wellformed nan": (lambda t: ["target", "-f", "density=0.3", "--wellformed", "nan"],
                                "finite"),
    "target weight 1e-320": (lambda t: ["target", "-f", "density=0.3:1e-320"], "weight"),
    "target --seed 2^64": (lambda t: ["target", "-f", "density=0.3", "--seed", str(2**64)],
                           "2^64 - 1"),
    "render --bpm nan": (lambda t: ["render", loop(t), "--bpm", "nan", "-o", t / "x.wav"],
                         "finite"),
    "reconstruct --bpm nan": (lambda t: ["reconstruct", loop(t), "--bpm", "nan"], "finite"),
    "target --bpm nan": (lambda t: ["target", "--like", loop(t), "--bpm", "nan"], "finite"),
    "reconstruct --refine 10^11": (lambda t: ["reconstruct", loop(t), "--refine",
                                              "99999999999"], "10000"),
    "steer -n 10^8": (lambda t: ["steer", loop(t), "-n", "100000000", "--attribute",
                                 "syncopation=1"], "1000"),
    "map --sigma nan": (lambda t: ["map", "--sigma", "nan"], "finite"),
    "map --seed -1": (lambda t: ["map", "--seed", "-1"], "2^64 - 1"),
    "studio --seed -1": (lambda t: ["studio", "--seed", "-1", "--no-browser"], "2^64 - 1"),
    "data judges --seed -1": (lambda t: ["data", "judges", "--seed", "-1", "-o", t / "j"],
                              "2^64 - 1"),
    "train --lr nan": (lambda t: ["train", "--lr", "nan"], "finite"),
    "train --beta nan": (lambda t: ["train", "--beta", "nan"], "finite"),
    "data build --grid 1000000x4x4": (lambda t: ["data", "build", t, "--grid", "1000000x4x4"],
                                      "bars"),
    "data build --name ../../x": (lambda t: ["data", "build", loop(t).parent, "--name", "../../x",
                                             "--cache-dir", t / "cache"], "corpus name"),
    "compare elite 1.5": (lambda t: ["compare", toml(t, "sigma = 0.3", "elite = 1.5")],
                          "elite must be a whole number"),
    "compare sigma nan": (lambda t: ["compare", toml(t, "sigma = 0.3", "sigma = nan")],
                          "sigma must be a finite number"),
    "compare weight 1e-320": (lambda t: ["compare", toml(t, "sigma = 0.3",
                                                         "wellformed_weight = 1e-320")],
                              "wellformed_weight"),
    "compare file is binary": (lambda t: ["compare", _file(t, "c.toml", bytes(range(256)))],
                               "not valid TOML"),
    "cache: manifest a list": (lambda t: damaged_cache(
        t, lambda p: (p / "manifest.json").write_text("[]")), "holds a list"),
    "cache: velocities 255": (lambda t: damaged_cache(t, lambda p: np.savez_compressed(
        p / "grids.npz", **{**dict(np.load(p / "grids.npz")),
                            "velocities": np.full((1, 9, 64), 255, np.uint8)})), "velocity 255"),
    "cache: half a file": (lambda t: damaged_cache(t, lambda p: (p / "grids.npz").write_bytes(
        (p / "grids.npz").read_bytes()[:100])), "damaged"),
    "target --out empty": (lambda t: ["target", "-f", "density=0.3", "-g", "1", "-p", "4",
                                      "--out", ""], "is empty"),
    "render -o empty": (lambda t: ["render", loop(t), "-o", " "], "is empty"),
    "target --resume: job.json a list": (lambda t: ["target", "--resume", _file(t, "run/job.json",
                                                                          b"[]").parent],
                                         "not a target run folder"),
    "compare run record a list": (lambda t: _compare_with_bad_record(t, "[1, 2]"), "run record"),
    "compare run record nested": (lambda t: _compare_with_bad_record(t, "[" * 100_000),
                                  "unreadable"),
    "data build: the cache under a file": (lambda t: ["data", "build", loop(t).parent,
                                                      "--cache-dir", _file(t, "f", b"x") / "c"],
                                           "cannot write the corpus cache"),
    "target: the runs root under a file": (lambda t: ["target", "-f", "density=0.3", "-g", "1",
                                                      "-p", "4", "--out", _file(t, "g", b"x") / "r"],
                                           "cannot create the folder"),
    "convert to a folder": (lambda t: ["convert", loop(t), _folder(t, "out.npy")], "directory"),
    "convert to a pipe nobody reads": (lambda t: ["convert", loop(t), _fifo(t, "out.npy")],
                                       "named pipe"),
    "steer --attribute syncopation=1e308": (lambda t: ["steer", loop(t), "--attribute",
                                                       "syncopation=1e308"],
                                            "amount must be within [-10, 10]"),
    "convert: a grid file of 0 loops": (lambda t: ["convert", _grids(t, np.zeros((0, 9, 64))),
                                                   t / "out.mid"], "holds no loops"),
    "target --like: a grid file of 0 loops": (lambda t: ["target", "--like",
                                                         _grids(t, np.zeros((0, 9, 64)))],
                                              "holds no loops"),
    "convert: a grid file of dates": (lambda t: ["convert", _grids(t, np.zeros((1, 9, 64),
                                                                         "M8[s]")),
                                                 t / "out.mid"], "holds dates"),
    "convert: a grid file of complex numbers": (
        lambda t: ["convert", _grids(t, np.zeros((1, 9, 64), np.complex64)), t / "out.mid"],
        "holds complex numbers"),
    "compare: model missing, grid space only": (
        lambda t: ["compare", toml(t, "budget = 40", f'budget = 40\nmodel = "{t / "gone.pt"}"')],
        "no such model file"),
    "compare: model a text file, grid space only": (
        lambda t: ["compare", toml(t, "budget = 40", 'budget = 40\nmodel = "'
                                   + str(_file(t, "passwd", b"root:x:0:0:root:/root:/bin/sh\n"))
                                   + '"')], "not a model file"),
}


def _grids(tmp: Path, grids: np.ndarray) -> Path:
    np.save(tmp / "grids.npy", grids)
    return tmp / "grids.npy"


_FINISHED: dict[str, Path] = {}


def _compare_with_bad_record(tmp: Path, text: str) -> list:
    """A finished tiny comparison (run once per session, copied) with one run file replaced."""
    config = toml(tmp, "", "")
    if "folder" not in _FINISHED:
        first = tmp.parent / f"{tmp.name}-finished"
        assert CliRunner().invoke(main, ["compare", str(config), "--out", str(first),
                                         "--workers", "1", "--no-plots"]).exit_code == 0
        _FINISHED["folder"] = first
    out = tmp / "out"
    shutil.copytree(_FINISHED["folder"], out)
    (out / ".lock").unlink(missing_ok=True)
    next((out / "runs").rglob("*.json")).write_text(text)
    return ["compare", config, "--out", out, "--report-only", "--no-plots"]


def _file(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _folder(tmp: Path, name: str) -> Path:
    (tmp / name).mkdir()
    return tmp / name


def _fifo(tmp: Path, name: str) -> Path:
    os.mkfifo(tmp / name)
    return tmp / name


def checksums(folder: Path) -> dict:
    """Content of every regular file under `folder` (links and pipes left alone)."""
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*")
            if p.is_file() and not p.is_symlink() and ".lock" not in p.name}


def assert_one_error_line(code: int, output: str, words: str) -> None:
    """A non-zero exit, no traceback, and output that ends with one `error:` line (a usage
    mistake may add its `(see: ... --help)` hint after it)."""
    assert code not in (0, None) and "Traceback" not in output, output[-3000:]
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [i for i, line in enumerate(lines) if line.startswith("error:")]
    assert len(errors) == 1, output[-3000:]
    assert all(line.startswith("  (see:") for line in lines[errors[0] + 1:]), output[-3000:]
    assert words in lines[errors[0]], lines[errors[0]]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_error_line(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    build, words = CASES[case]
    args = [str(a) for a in build(tmp_path)]
    before = checksums(tmp_path)
    result = CliRunner().invoke(main, args)
    assert_one_error_line(result.exit_code, result.output, words)
    assert checksums(tmp_path) == before, "an input file was changed"


# --- cases that used to hang or exhaust memory: a real process, limited ----------------

def limited():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_limited(args, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), EVODRUM_RUNS=str(cwd / "runs"),
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "evodrum", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=SECONDS, preexec_fn=limited)


LIMITED = {
    "compare budget 10^12": (("budget = 40", "budget = 1000000000000"), "budget must be within"),
    "compare budget 1e12": (("budget = 40", "budget = 1e12"), "budget must be a whole number"),
    "compare tournsize 10^9": (("sigma = 0.3", "tournsize = 1000000000"), "tournsize"),
    "compare population 10^6": (("population = 4", "population = 1000000"), "population"),
    "compare seeds 10^9": (("seeds = 1", "seeds = 1000000000"), "seeds must be within"),
    "compare deep TOML": (("goals = { density = 0.4 }", "goals = " + "[" * 200_000
                           + "]" * 200_000), "key 'goals' is nested too deeply"),
}


@pytest.mark.slow      # a memory-limited evodrum process
@pytest.mark.parametrize("case", LIMITED)
def test_costly_bad_input_ends_quickly_within_bounded_memory(case, tmp_path):
    change, words = LIMITED[case]
    config = toml(tmp_path, *change)
    result = run_limited(["compare", config, "--out", tmp_path / "out"], tmp_path)
    assert_one_error_line(result.returncode, result.stderr, words)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow      # a memory-limited evodrum process
def test_sample_far_beyond_the_limit_in_a_real_process(tmp_path):
    result = run_limited(["sample", "-n", "10000000000"], tmp_path)
    assert_one_error_line(result.returncode, result.stderr, "100000")
    assert len(result.stdout) < 1000


@pytest.mark.slow      # a memory-limited evodrum process
def test_a_damaged_cache_in_a_real_process(tmp_path):
    args = damaged_cache(tmp_path, lambda p: (p / "manifest.json").write_text(
        "[" * 100_000 + "]" * 100_000))
    result = run_limited(args, tmp_path)
    assert_one_error_line(result.returncode, result.stderr, "nested too deeply")
    rebuilt = run_limited(["data", "build", tmp_path / "lib", "--cache-dir", tmp_path / "cache"],
                          tmp_path)
    assert rebuilt.returncode == 0 and "built" in rebuilt.stdout, rebuilt.stderr[-2000:]
    assert json.loads((tmp_path / "cache" / "corpora" / "lib" / "manifest.json").read_text())


# --- files that cost too much to read: limits named in one line, in a real process -----

def _long_midi(tmp: Path) -> Path:
    """Ticks-per-beat 1 and a delta of 10^8 beats: 25 million bars of silence."""
    mid = mido.MidiFile(ticks_per_beat=1)
    track = mido.MidiTrack([mido.Message("note_on", channel=9, note=36, velocity=100),
                            mido.Message("note_on", channel=9, note=36, velocity=0, time=10**8)])
    mid.tracks.append(track)
    mid.save(tmp / "long.mid")
    return tmp / "long.mid"


def _overflowing_delta(tmp: Path) -> Path:
    """A delta time of 9 bytes (MIDI allows 4)."""
    events = b"\xff" * 8 + b"\x7f" + b"\x99\x24\x64" + b"\x00\xff\x2f\x00"
    data = (b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480)
            + b"MTrk" + struct.pack(">I", len(events)) + events)
    return _file(tmp, "delta.mid", data)


def _huge_npy(tmp: Path) -> Path:
    """An .npy whose header claims 10^13 grids."""
    header = repr({"descr": "<f4", "fortran_order": False, "shape": (10**13, 9, 64)})
    text = header.encode().ljust(118) + b"\n"
    return _file(tmp, "huge.npy", b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text
                 + bytes(64))


FILES = {
    "show: 25 million bars": (lambda t: ["show", _long_midi(t)], "EVODRUM_MAX_BARS"),
    "reconstruct: 25 million bars": (lambda t: ["reconstruct", _long_midi(t)], "limit"),
    "features: a 9-byte delta time": (lambda t: ["features", _overflowing_delta(t)], "4 bytes"),
    "show: a pipe as input": (lambda t: ["show", _fifo(t, "pipe.mid")], "pipe"),
    "target --like: a header claiming 10^13 grids": (
        lambda t: ["target", "--like", _huge_npy(t)], "EVODRUM_MAX_GRID_CELLS"),
    "convert: 1.5 MB of 1 MB void records": (lambda t: ["convert", _void_npz(t), t / "o.mid"],
                                             "raw (void) records"),
    "target --like: float64 (11000, 9, 1000)": (lambda t: ["target", "--like", _wide_npy(t)],
                                                "shape (11000, 9, 1000)"),
}


def _void_npz(tmp: Path) -> Path:
    """1,500 records of 1 MB each, compressed to ~1.5 MB: 1.5 GB once read."""
    np.savez_compressed(tmp / "void.npz", grids=np.zeros(1500, dtype="V1000000"))
    return tmp / "void.npz"


def _wide_npy(tmp: Path) -> Path:
    """A header claiming float64 (11000, 9, 1000), 99M cells: under the cell limit."""
    with open(tmp / "wide.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False,
                                                 "shape": (11000, 9, 1000)})
        f.write(bytes(1000))
    return tmp / "wide.npy"


@pytest.mark.slow      # a memory-limited evodrum process
@pytest.mark.parametrize("case", FILES)
def test_costly_files_are_refused_within_bounded_memory(case, tmp_path):
    build, words = FILES[case]
    args = build(tmp_path)
    before = checksums(tmp_path)
    result = run_limited(args, tmp_path)
    assert_one_error_line(result.returncode, result.stderr, words)
    assert checksums(tmp_path) == before


@pytest.mark.slow      # a memory-limited evodrum process
def test_a_batch_skips_costly_and_special_files_and_keeps_the_rest(tmp_path):
    root = tmp_path / "folder"
    root.mkdir()
    drum_file(root / "good.mid", basic_beat(4), length_beats=16)
    _long_midi(root)
    _overflowing_delta(root)
    _fifo(root, "pipe.mid")
    (root / "dangling.mid").symlink_to(root / "gone.mid")
    before = checksums(root)
    result = run_limited(["data", "build", root, "--cache-dir", tmp_path / "cache",
                          "--list-skipped"], tmp_path)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    out = result.stdout
    for name in ("long.mid", "delta.mid", "pipe.mid", "dangling.mid"):
        assert name in out, out
    assert checksums(root) == before
    from evodrum.corpus import load_corpus
    assert set(load_corpus("folder", tmp_path / "cache").labels["file"]) == {"good.mid"}
