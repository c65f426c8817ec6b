"""Run folders and state files someone hands you (issue 24): links and foreign locks in
run folders, and every field of checkpoints, sessions and job files checked on load.
Each case ends in one `error:` line naming the file and the field, and changes nothing
outside the run (nor, for a refused run, inside it)."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from test_bad_input import assert_one_error_line, checksums, run_limited
from waiting import read_line

from evodrum import atomic
from evodrum.cli import main
from evodrum.errors import EvodrumError
from evodrum.runs import LOCK_FILE, folder_lock
from evodrum.search import checkpoint

TARGET = ["target", "-f", "density=0.4", "-g", "2", "-p", "8", "--space", "pca"]


def run_cli(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished target run (PCA space, 8 x 2), copied by each test that changes it."""
    out = tmp_path_factory.mktemp("finished") / "run"
    result = run_cli(*TARGET, "--out", out)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def run(finished_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished_run, out, symlinks=True)
    return out


# --- run folders ---------------------------------------------------------------------

def test_a_foreign_lock_is_left_alone(tmp_path):
    """A `.lock` that is not evodrum's is someone's file: a new run goes beside the folder,
    a resume is refused, and the file keeps its content either way."""
    out = tmp_path / "d"
    out.mkdir()
    (out / LOCK_FILE).write_text("data")
    result = run_cli(*TARGET, "--out", out)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "d-2" / "summary.json").exists()
    result = run_cli("target", "--resume", out)
    assert_one_error_line(result.exit_code, result.output, "")
    (out / "job.json").write_text((tmp_path / "d-2" / "job.json").read_text())
    result = run_cli("target", "--resume", out)
    assert_one_error_line(result.exit_code, result.output, ".lock: is not an evodrum lock")
    assert (out / LOCK_FILE).read_text() == "data"


def test_a_lock_that_is_a_link_is_never_written_through(run, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (run / LOCK_FILE).unlink(missing_ok=True)
    (run / LOCK_FILE).symlink_to(victim)
    result = run_cli("target", "--resume", run)
    assert_one_error_line(result.exit_code, result.output, "symbolic link")
    assert victim.read_text() == "precious"


@pytest.mark.parametrize("name", ["summary.json", "logbook.csv", "best_01.mid"])
def test_a_run_folder_whose_files_are_links_is_refused(run, tmp_path, name):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (run / name).unlink()
    (run / name).symlink_to(victim)
    result = run_cli("target", "--resume", run)
    assert_one_error_line(result.exit_code, result.output, f"{name}: is a symbolic link")
    assert victim.read_text() == "precious"


def test_a_session_whose_lock_and_summary_are_links_is_refused(tmp_path):
    from evodrum.interactive import store
    from evodrum.interactive.lifecycle import start_session
    from evodrum.interactive.session import Settings
    session, folder, _ = start_session(Settings(space="grid", seed=1), tmp_path / "sess")
    store.save(session, folder / store.SESSION_FILE)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (folder / LOCK_FILE).symlink_to(victim)
    result = run_cli("interactive", "--resume", folder, "--no-audio", input="q\n")
    assert_one_error_line(result.exit_code, result.output, "symbolic link")
    (folder / LOCK_FILE).unlink()
    (folder / "summary.md").symlink_to(victim)
    result = run_cli("studio", "--resume", folder, "--no-browser", "--port", "0")
    assert_one_error_line(result.exit_code, result.output, "summary.md: is a symbolic link")
    assert victim.read_text() == "precious"


def test_nothing_under_a_locked_run_folder_is_written_through_a_link(tmp_path):
    folder = tmp_path / "run"
    (folder / "elites").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    with folder_lock(folder):
        (folder / "late.json").symlink_to(outside / "victim.json")   # made while it runs
        with pytest.raises(EvodrumError, match="symbolic link inside a run folder"):
            atomic.write_text(folder / "late.json", "x")
        os.rmdir(folder / "elites")
        (folder / "elites").symlink_to(outside)
        with pytest.raises(EvodrumError, match="elites: cannot write .it is a symbolic link"):
            atomic.write_text(folder / "elites" / "cell.mid", "x")
    assert list(outside.iterdir()) == []
    atomic.write_text(folder / "late.json", "outside a run, links are followed")
    assert (outside / "victim.json").exists()


def test_a_loop_file_edited_in_a_finished_run_is_kept_by_resume(run, tmp_path):
    edited = b"MThd edited in a DAW"
    (run / "best_01.mid").write_bytes(edited)
    (run / "best_02.mid").unlink()
    result = run_cli("target", "--resume", run)
    assert result.exit_code == 0, result.output
    assert (run / "best_01.mid").read_bytes() == edited        # was written over
    assert (run / "best_02.mid").read_bytes().startswith(b"MThd")   # a missing one is made
    assert "kept best_01.mid" in result.output and "never replaces" in result.output


def test_a_resume_that_plays_the_loops_otherwise_writes_them_beside(run):
    """--bpm and --note-map on a resume: the files there stay, the new take goes beside
    them under the next free names, and only files written are counted as written."""
    import mido
    before = {n: d for n, d in checksums(run).items() if n.suffix == ".mid"}
    r = run_cli("target", "--resume", run, "--bpm", 90, "--note-map", "roland-td")
    assert r.exit_code == 0, r.output
    assert {n: d for n, d in checksums(run).items() if n in before} == before   # all kept
    assert "wrote 4 MIDI files (best_01-2.mid ... best_04-2.mid)" in r.output
    assert "written beside them: best_01-2.mid and 3 more" in r.output
    tempo = next(m.tempo for m in mido.MidiFile(run / "best_01-2.mid").merged_track
                 if m.type == "set_tempo")
    assert round(mido.tempo2bpm(tempo)) == 90
    assert "play " + str(run / "best_01-2.mid") in r.output      # the take just written
    again = run_cli("target", "--resume", run, "--bpm", 90, "--note-map", "roland-td")
    assert again.exit_code == 0, again.output
    assert "kept best_01-2.mid and 3 more" in again.output and "MIDI file" not in again.output
    assert not (run / "best_01-3.mid").exists()


def test_a_resume_asking_nothing_new_keeps_the_loops_and_writes_only_missing_ones(run):
    before = checksums(run)
    r = run_cli("target", "--resume", run)
    assert r.exit_code == 0, r.output
    assert "kept best_01.mid and 3 more" in r.output and "MIDI file" not in r.output
    assert {n for n in checksums(run) if n.suffix == ".mid"} == \
        {n for n in before if n.suffix == ".mid"}
    (run / "best_02.mid").unlink()
    more = run_cli("target", "--resume", run)
    assert more.exit_code == 0, more.output
    assert "wrote 1 MIDI file (best_02.mid), logbook" in more.output
    assert "kept best_01.mid and 2 more" in more.output
    before = {n: d for n, d in checksums(run).items() if n.suffix == ".mid"}
    six = run_cli("target", "--resume", run, "--top", 6)      # more loops than there are
    assert six.exit_code == 0, six.output
    after = {n: d for n, d in checksums(run).items() if n.suffix == ".mid"}
    assert {n: after[n] for n in before} == before
    assert sorted(n.name for n in after.keys() - before.keys()) == ["best_05.mid", "best_06.mid"]
    assert "wrote 2 MIDI files (best_05.mid, best_06.mid)" in six.output   # the first 4 kept


@pytest.mark.parametrize("record, words", [
    ('{"takes": {"best_01.mid": {"../x.mid": "' + "0" * 64 + '"}}}', "not a file in the run"),
    ('{"takes": {"best_01.mid": {"best_01.mid": "f00"}}}', "SHA-256"),
    ('{"takes": ["best_01.mid"]}', "table of loop names"),
])
def test_a_forged_record_of_loop_files_is_one_line(run, record, words):
    (run / "loops.json").write_text(record)
    r = run_cli("target", "--resume", run)
    assert_one_error_line(r.exit_code, r.output, words)


@pytest.mark.slow      # two map runs: ~10 s of CPU
def test_an_elite_edited_in_a_finished_atlas_is_kept_by_resume(tmp_path):
    out = tmp_path / "atlas"
    done = run_cli("map", "--space", "pca", "--cells", 3, "-g", 2, "-p", 8, "--out", out)
    assert done.exit_code == 0, done.output
    elite = next((out / "elites").iterdir())
    elite.write_bytes(b"MThd edited")
    result = run_cli("map", "--resume", out)
    assert result.exit_code == 0, result.output
    assert elite.read_bytes() == b"MThd edited"
    assert f"kept elites/{elite.name}" in result.output
    assert "MIDI file" not in result.output                 # none written: all were there


def test_leftovers_of_a_killed_write_are_removed_on_resume(run):
    leftover = run / ".checkpoint.npz.k2j4h8_q.tmp"
    leftover.write_bytes(b"half a checkpoint")
    mine = run / "notes.tmp"
    mine.write_text("not evodrum's")
    result = run_cli("target", "--resume", run)
    assert result.exit_code == 0, result.output
    assert not leftover.exists() and mine.exists()


# --- checkpoints -----------------------------------------------------------------------

def _damage(path, change):
    state = checkpoint.load(path)
    change(state)
    checkpoint.save(path, state)


def _set(*keys, value):
    def change(state):
        target = state
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value(target[keys[-1]]) if callable(value) else value
    return change


CHECKPOINT_CASES = {
    "population of the wrong shape": (
        _set("algorithm", "population", "genotypes", value=lambda g: g[:, :3]),
        "algorithm.population.genotypes must have shape (8, "),
    "a 1-row population": (
        lambda s: s["algorithm"].update(population={k: v[:1] for k, v in
                                                    s["algorithm"]["population"].items()}),
        "algorithm.population.genotypes must have shape (8, "),
    "a NaN population": (
        _set("algorithm", "population", "fitness", value=lambda f: f * np.nan),
        "algorithm.population.fitness must hold finite numbers"),
    "a 10-byte torch random state": (
        _set("rng", "torch", value=np.zeros(10, np.uint8)), "rng.torch must be torch's"),
    "generation 10^9": (_set("generation", value=10**9), "generation must be within [0, 2]"),
    "generation -5": (_set("generation", value=-5), "generation must be within [0, 2]"),
    "evaluations -1": (_set("evaluations", value=-1), "evaluations must be within [0, 24]"),
    "evaluations beyond the run": (_set("evaluations", value=10**6), "evaluations must be"),
    "a NaN hall of fame": (_set("halloffame", "fitness", value=lambda f: f * np.nan),
                           "halloffame.fitness must hold finite numbers"),
    "an unsorted hall of fame": (_set("halloffame", "fitness", value=lambda f: f[::-1] - 1),
                                 "halloffame.fitness must be sorted"),
    "numpy's random state cut short": (
        _set("rng", "numpy", value=lambda s: [s[0], s[1][:10], *s[2:]]), "rng.numpy[1]"),
    "a logbook of text": (_set("logbook", value=[{"gen": "x"}]), "logbook[0].gen"),
    "an empty array as the format": (_set("format", value=np.zeros(0)),
                                     "not an evodrum search checkpoint"),
    "an array as a setting": (_set("config", "population", value=np.zeros(0)),
                              "other settings (config)"),
    "no algorithm settings": (_set("config", "settings", value=None), "other settings (config)"),
    "an array as Python's random version": (_set("rng", "random", 0, value=np.zeros(0)),
                                            "rng.random is not a Python random"),
    "an array as numpy's generator name": (_set("rng", "numpy", 0, value=np.zeros(0)),
                                           "rng.numpy must be numpy's MT19937"),
}


@pytest.mark.parametrize("case", CHECKPOINT_CASES)
def test_a_damaged_checkpoint_is_one_line_naming_the_field(run, case):
    import torch  # noqa: F401  (a VAE run has torch loaded: its random state is checked)
    change, words = CHECKPOINT_CASES[case]
    _damage(run / "checkpoint.npz", change)
    before = checksums(run)
    result = run_cli("target", "--resume", run)
    assert_one_error_line(result.exit_code, result.output, words)
    assert str(run / "checkpoint.npz") in result.output
    assert checksums(run) == before


@pytest.mark.parametrize("dtype", ["V100", "complex128", "M8[s]"])
def test_a_checkpoint_array_of_no_numbers_is_refused_from_its_header(run, dtype):
    _damage(run / "checkpoint.npz", _set("algorithm", "population", "fitness",
                                         value=np.zeros(8, dtype)))
    result = run_cli("target", "--resume", run)
    assert_one_error_line(result.exit_code, result.output, "not numbers")


@pytest.mark.slow      # memory-limited evodrum processes
def test_a_checkpoint_that_is_a_pipe_or_a_link_to_dev_zero_is_refused_at_once(run):
    (run / "checkpoint.npz").unlink()
    os.mkfifo(run / "checkpoint.npz")
    result = run_limited(["target", "--resume", run], run.parent)
    assert_one_error_line(result.returncode, result.stderr, "checkpoint.npz: ")
    (run / "checkpoint.npz").unlink()
    (run / "checkpoint.npz").symlink_to("/dev/zero")
    result = run_limited(["target", "--resume", run], run.parent)
    assert_one_error_line(result.returncode, result.stderr, "symbolic link")


# --- job files ---------------------------------------------------------------------------

JOB_CASES = {
    "refine -1": (lambda j: j.update(refine=-1), "refine must be within [0, 10000]"),
    "seed_loops 'abc'": (lambda j: j.update(seed_loops="abc"), "seed_loops must be a list"),
    "seed_loops [1]": (lambda j: j.update(seed_loops=[1]), "seed_loops must be a list"),
    "model 5": (lambda j: j.update(model=5), "model must be text"),
    "goals a list": (lambda j: j["target"].update(goals=[1]), "target.goals must be a JSON obj"),
    "population 10^9": (lambda j: j["config"].update(population=10**9), "population"),
    "sigma NaN": (lambda j: j["config"]["settings"].update(sigma=float("nan")), "sigma"),
    "lock cell 10^20": (lambda j: j.update(lock={"cells": [[10**20, 0, 0]]}), "whole numbers"),
    "lock cell 0.9": (lambda j: j.update(lock={"cells": [[0.9, 63.9, 100]]}), "whole numbers"),
    "lock cell twice": (lambda j: j.update(lock={"cells": [[0, 1, 90], [0, 1, 100]]}),
                        "cell twice"),
    "drum_map 7": (lambda j: j.update(drum_map=7), "drum_map must be text"),
    "drum_map of no map": (lambda j: j.update(drum_map="nope"), "drum_map must be one of"),
    "drum_map a relative path": (lambda j: j.update(drum_map="kit.toml"), "full path"),
    "drum_map with a NUL": (lambda j: j.update(drum_map="/a\x00b.toml"), "full path"),
    "bpm 10^9": (lambda j: j.update(bpm=10**9), "bpm must be within [20, 400]"),
    "bpm '90'": (lambda j: j.update(bpm="90"), "bpm must be a number"),
}


@pytest.mark.parametrize("case", JOB_CASES)
def test_a_damaged_target_job_is_one_line_naming_the_field(run, case):
    change, words = JOB_CASES[case]
    job = json.loads((run / "job.json").read_text())
    change(job)
    (run / "job.json").write_text(json.dumps(job))
    result = run_cli("target", "--resume", run)
    assert_one_error_line(result.exit_code, result.output, words)
    assert "job.json" in result.output


@pytest.mark.slow      # memory-limited evodrum processes
def test_state_files_that_are_pipes_or_devices_are_refused_not_read(run, tmp_path):
    (run / "job.json").unlink()
    os.mkfifo(run / "job.json")
    result = run_limited(["target", "--resume", run], tmp_path)
    assert_one_error_line(result.returncode, result.stderr, "pipe")
    result = run_limited(["interactive", "--resume", "/dev/zero", "--no-audio"], tmp_path)
    assert_one_error_line(result.returncode, result.stderr, "/dev/zero")


# --- sessions ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def session_doc(tmp_path_factory):
    from evodrum.interactive import store
    from evodrum.interactive.lifecycle import start_session
    from evodrum.interactive.session import Settings
    session, folder, _ = start_session(Settings(space="grid", seed=3, loops=4),
                                       tmp_path_factory.mktemp("s") / "sess")
    store.save(session, folder / store.SESSION_FILE)
    return json.loads((folder / store.SESSION_FILE).read_text())


SESSION_CASES = {
    "rng_state {'x': 1}": (lambda d: d.update(rng_state={"x": 1}), "rng_state must be"),
    "rng_state of another shape": (
        lambda d: d["rng_state"].update(state={"state": "x", "inc": 1}), "rng_state is not"),
    "settings.loops 10^7": (lambda d: d["settings"].update(loops=10**7),
                            "loops must be within [2, 16]"),
    "a NaN genotype": (lambda d: d["loops"][0]["genotype"].__setitem__(0, float("nan")),
                       "loops[0].genotype must hold finite numbers"),
    "a genotype of text": (lambda d: d["loops"][0].update(genotype="abc"),
                           "loops[0].genotype must be a list of numbers"),
    "a genotype that is a number": (lambda d: d["loops"][0].update(genotype=5),
                                    "loops[0].genotype must be a list of numbers"),
    "a loop id that is a list": (lambda d: d["loops"][0].update(id=[1]), "loops[0].id must be"),
    "a hit off the grid": (lambda d: d["loops"][0].update(hits=[[20, 0, 100]]),
                           "loops[0].hits holds a row outside"),
    "velocity 300": (lambda d: d["loops"][0].update(hits=[[0, 0, 300]]), "velocity outside"),
    "rating 11": (lambda d: d["loops"][0].update(rating=11), "loops[0].rating must be within"),
    "unknown operator": (lambda d: d["loops"][0].update(op="rm -rf"), "loops[0].op must be"),
    "two loops with one id": (lambda d: d["loops"][1].update(id=d["loops"][0]["id"]),
                              "is used by two loops"),
    "current 10^9": (lambda d: d.update(current=10**9), "current must be within"),
    "selected -1": (lambda d: d.update(selected=-1), "selected must be within"),
    "a generation naming a missing loop": (
        lambda d: d["generations"][0]["loops"].append(999), "names loop 999"),
    "spec of 10^6 bars": (lambda d: d["spec"].update(bars=10**6), "spec"),
    "generations a dict": (lambda d: d.update(generations={}), "generations must be a list"),
    "drum_map a list": (lambda d: d["settings"].update(drum_map=[1]), "drum_map must be one of"),
    "drum_map with a NUL": (lambda d: d["settings"].update(drum_map="/a\x00b.toml"),
                            "drum_map must be one of"),
}


@pytest.mark.parametrize("case", SESSION_CASES)
def test_a_damaged_session_is_one_line_naming_the_field(session_doc, tmp_path, case):
    from evodrum.interactive import store
    change, words = SESSION_CASES[case]
    doc = json.loads(json.dumps(session_doc))
    change(doc)
    path = tmp_path / "session.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(EvodrumError, match="damaged session file") as refused:
        store.load(path)
    assert words in str(refused.value) and str(path) in str(refused.value)


def test_every_session_setting_is_checked_on_load(session_doc, tmp_path):
    """Each field of Settings, given a value of the wrong type, is refused by name: a field
    added later without a check fails here."""
    from evodrum.interactive import store
    from evodrum.interactive.session import Settings
    for field in dataclasses.fields(Settings):
        doc = json.loads(json.dumps(session_doc))
        doc["settings"][field.name] = {"a": "table"}
        path = tmp_path / "session.json"
        path.write_text(json.dumps(doc))
        with pytest.raises(EvodrumError) as refused:
            store.load(path)
        assert field.name in str(refused.value), (field.name, str(refused.value))


def test_a_session_with_a_nan_genotype_is_refused_by_the_cli(session_doc, tmp_path):
    doc = json.loads(json.dumps(session_doc))
    doc["loops"][0]["genotype"][0] = float("nan")
    folder = tmp_path / "sess"
    folder.mkdir()
    (folder / "session.json").write_text(json.dumps(doc))
    before = checksums(folder)
    result = run_cli("interactive", "--resume", folder, "--no-audio", input="q\n")
    assert_one_error_line(result.exit_code, result.output, "genotype must hold finite")
    assert checksums(folder) == before


# --- shared caches and comparison files ------------------------------------------------

def test_two_builds_of_one_corpus_cache_wait_for_each_other(tmp_path):
    """While one build holds the cache, a second `data build` says it waits and writes
    nothing; once the first is done, the second finishes (and the cache is whole)."""
    import subprocess
    import sys
    from midi_files import basic_beat, drum_file

    from evodrum.runs import waiting_lock
    root = tmp_path / "lib"
    root.mkdir()
    drum_file(root / "a.mid", basic_beat(4), length_beats=16)
    cache = tmp_path / "cache"
    folder = cache / "corpora" / "lib"
    with waiting_lock(folder, "the test"):
        second = subprocess.Popen([sys.executable, "-m", "evodrum", "data", "build", str(root),
                                   "--cache-dir", str(cache), "--workers", "1"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=dict(os.environ, EVODRUM_RUNS=str(tmp_path / "runs")))
        line = read_line(second.stderr, "the second build to say it waits")
        assert "waiting for another build of this corpus" in line, line
        assert not (folder / "manifest.json").exists() and not (folder / "grids.npz").exists()
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    from evodrum.corpus import load_corpus
    assert len(load_corpus(folder)) > 0


def test_a_comparison_file_with_a_byte_order_mark_is_read(tmp_path):
    from evodrum.compare.config import load_config
    path = tmp_path / "c.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'name = "bom"\nspaces = ["grid"]\nalgorithms = ["ga"]\n'
                     b'budget = 8\npopulation = 4\nseeds = 1\n[[tasks]]\nname = "t"\n'
                     b'goals = { density = 0.4 }\n')
    assert load_config(path).name == "bom"


# --- model and reference files: arrays checked from their headers -------------------------

def _claiming_npz(path, **shapes):
    """An .npz whose members' headers claim `shapes` of float64 but hold 8 bytes each."""
    import io
    import zipfile
    with zipfile.ZipFile(path, "w") as archive:
        for name, shape in shapes.items():
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                          "shape": shape})
            archive.writestr(f"{name}.npy", header.getvalue() + bytes(8))
    return path


def test_model_files_claiming_gigabytes_are_refused_from_their_headers(tmp_path):
    """Arrays whose headers claim 720 MB each (under the cell limit) in 8 bytes of data:
    every model-side loader refuses before setting memory aside."""
    from fitness import WellFormedness
    from fitness.judges import Judge
    from vae import decoder
    from vae.pca import load_pca
    path = _claiming_npz(tmp_path / "big.npz", train=(9000, 10000), heldout=(9000, 10000),
                         mean=(9000, 10000), meta=(9000, 10000), card=(9000, 10000))
    for load in (WellFormedness.load, Judge.load, decoder.load, load_pca):
        with pytest.raises(EvodrumError) as refused:
            load(path)
        assert str(path) in str(refused.value), (load, str(refused.value))
        assert "claims more data" in str(refused.value), (load, str(refused.value))


def test_arrays_over_the_byte_limit_together_are_refused(tmp_path, monkeypatch):
    """Each array under the limit, all of them over it: refused, naming the variable."""
    from evodrum import npyfile
    monkeypatch.setenv("EVODRUM_MAX_ARRAY_BYTES", str(10_000))
    path = tmp_path / "two.npz"
    np.savez(path, a=np.zeros(1000), b=np.zeros(1000))
    with pytest.raises(EvodrumError, match="EVODRUM_MAX_ARRAY_BYTES"):
        npyfile.load_npz(path)


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """A small real comparison (c.toml, its output c/), run once for the tests that
    each damage a copy of it."""
    from test_bad_input import COMPARE
    folder = tmp_path_factory.mktemp("compared")
    (folder / "c.toml").write_text(COMPARE)
    done = run_cli("compare", folder / "c.toml", "--out", folder / "c", "--workers", 1,
                   "--no-plots")
    assert done.exit_code == 0, done.output
    return folder


@pytest.mark.parametrize("change,words", [
    (lambda r: r.update(error=float("nan")), "error must be a finite number"),
    (lambda r: r.update(error="0.1"), "error must be a number"),
    (lambda r: r["curve"].update(error=[0.1]), "curve.error must hold"),
    (lambda r: r["run"].update(seed=7), "names another run"),
    (lambda r: r["budgets"].popitem(), "budgets."),
    (lambda r: r.update(judges={"markov": [1]}), "judges.markov must be a number"),
    (lambda r: r.update(best_grid=["zz"] * 9), "best_grid must be 9 rows of"),
    (lambda r: r.update(best_grid=["ff" * 64] * 9), "best_grid must be 9 rows of"),
    (lambda r: r.update(best_grid=None), "best_grid must be a list, got null"),
    (lambda r: next(iter(r["budgets"].values())).update(best_grid=[None] * 9),
     "best_grid must be a list of rows of hex digits"),
    (lambda r: r.update(spec=None), "spec must be a JSON object"),
    (lambda r: r["spec"].update(bars=None), "spec.bars must be"),
])
def test_a_forged_comparison_run_record_is_one_line(compared, tmp_path, change, words):
    """A record with the right run hash (copied from a real one) but damaged fields."""
    config, out = tmp_path / "c.toml", tmp_path / "c"
    shutil.copy(compared / "c.toml", config)
    shutil.copytree(compared / "c", out)
    path = next((out / "runs").rglob("*.json"))
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))
    result = run_cli("compare", config, "--out", out, "--report-only", "--no-plots")
    assert_one_error_line(result.exit_code, result.output, words)
    assert "damaged run record" in result.output and str(path) in result.output


@pytest.mark.parametrize("change, words", [
    (lambda m: m["invocations"][0].update(seconds="x"), "invocations[0].seconds must be a number"),
    (lambda m: m["invocations"][0].pop("started"), "invocations[0].started is missing"),
    (lambda m: m.update(invocations={}), "invocations must be a list"),
    (lambda m: m.update(model={"vae": [1]}), "model.vae must be text"),
])
def test_a_damaged_comparison_record_is_one_line(compared, tmp_path, change, words):
    """comparison.json's invocations and fingerprints, read by the report: a traceback."""
    config, out = tmp_path / "c.toml", tmp_path / "c"
    shutil.copy(compared / "c.toml", config)
    shutil.copytree(compared / "c", out)
    meta = json.loads((out / "comparison.json").read_text())
    change(meta)
    (out / "comparison.json").write_text(json.dumps(meta))
    result = run_cli("compare", config, "--out", out, "--report-only", "--no-plots")
    assert_one_error_line(result.exit_code, result.output, words)
    assert f"{out / 'comparison.json'}: damaged comparison record" in result.output


# --- the studio's session journal -------------------------------------------------------

@pytest.fixture
def journalled(tmp_path):
    """A session saved as the studio saves it: a snapshot, then one journal line."""
    from evodrum.interactive import store
    from evodrum.interactive.lifecycle import start_session
    from evodrum.interactive.session import Settings
    session, folder, _ = start_session(Settings(space="grid", seed=2, loops=4), tmp_path / "s")
    journal = store.Journal(folder / store.SESSION_FILE)
    session.dirty = True
    journal.save(session)
    session.rate(0, 7)
    journal.save(session)
    assert (folder / store.JOURNAL_FILE).stat().st_size > 0
    assert store.load(folder).loop_at(0).rating == 7
    return folder


def _journal_lines(folder):
    from evodrum.interactive import store
    return [json.loads(line) for line in (folder / store.JOURNAL_FILE).read_text().splitlines()]


@pytest.mark.parametrize("change,words", [
    (lambda e: e.setdefault("set", {}).update(format="x"), "names 'format', not a session"),
    (lambda e: e.setdefault("set", {}).update(selected=99), "selected must be within"),
    (lambda e: e.setdefault("set", {}).update(settings={"loops": 10**7}), "settings"),
    (lambda e: e.update(loops=[{"id": 1, "genotype": [float("nan")]}]), "loops[0].genotype"),
    (lambda e: e.update(generations_kept=-1), "generations_kept must be within"),
    (lambda e: e.update(dropped=[[1]]), "dropped must be a loop id"),
    (lambda e: e.update(loops=[{"id": [1]}]), "loops.id must be a loop id"),
])
def test_a_damaged_journal_line_is_one_line_naming_the_field(journalled, change, words):
    from evodrum.interactive import store
    entries = _journal_lines(journalled)
    change(entries[-1])
    (journalled / store.JOURNAL_FILE).write_text("".join(json.dumps(e) + "\n" for e in entries))
    with pytest.raises(EvodrumError) as refused:
        store.load(journalled)
    assert words in str(refused.value), str(refused.value)


def test_a_journal_that_is_a_link_is_refused(journalled, tmp_path):
    from evodrum.interactive import store
    journal = journalled / store.JOURNAL_FILE
    (tmp_path / "elsewhere").write_bytes(journal.read_bytes())
    journal.unlink()
    journal.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(EvodrumError, match="symbolic link"):
        store.load(journalled)


def test_doctor_reads_a_hostile_manifest_as_unreadable(tmp_path, monkeypatch):
    from evodrum.doctor import check_corpora
    monkeypatch.setenv("EVODRUM_CACHE", str(tmp_path))
    (tmp_path / "corpora" / "listed").mkdir(parents=True)
    (tmp_path / "corpora" / "listed" / "manifest.json").write_text("[1, 2]")
    (tmp_path / "corpora" / "piped").mkdir()
    os.mkfifo(tmp_path / "corpora" / "piped" / "manifest.json")
    found = check_corpora()[0].detail
    assert "listed (unreadable manifest" in found and "piped (unreadable manifest" in found


@pytest.mark.parametrize("bad, field", [("4", "bars"), (4.5, "bars"), (True, "bars")])
def test_a_stored_resolution_is_whole_numbers_not_rounded(tmp_path, bad, field):
    """GridSpec.from_dict (grid files, corpus manifests, run records) refuses "4", 4.5 and
    true instead of rounding them, naming the field; a grid file saying so is one line."""
    import numpy as np
    from click.testing import CliRunner

    from evodrum.cli import main
    from evodrum.grid import GridSpec
    with pytest.raises(ValueError, match=f"spec.{field} must be a whole number"):
        GridSpec.from_dict({"bars": bad, "beats_per_bar": 4, "steps_per_beat": 4})
    path = tmp_path / "loops.npz"
    spec = json.dumps({"bars": bad, "beats_per_bar": 4, "steps_per_beat": 4})
    np.savez(path, grids=np.zeros((1, 9, 64), np.float32), spec=np.array(spec))
    before = path.read_bytes()
    r = CliRunner().invoke(main, ["render", str(path), "-o", str(tmp_path / "x.wav")])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.output.startswith(f"error: {path}: not a grid file (spec.{field} must be a whole")
    assert path.read_bytes() == before


@pytest.mark.parametrize("change", [dict(bit_generator=np.zeros(0)), dict(state=np.zeros(0))])
def test_a_generator_state_holding_an_array_where_text_belongs_is_refused(change):
    """A checkpoint (an .npz) can put an array anywhere: map-elites' archive_rng with an
    array as its name or state was a traceback on --resume."""
    from evodrum.statefile import StateError, rng_state
    saved = dict(np.random.default_rng(0).bit_generator.state, **change)
    with pytest.raises(StateError, match="algorithm.archive_rng (must be|is not)"):
        rng_state(saved, "algorithm.archive_rng")


def test_a_comparison_fingerprints_a_model_file_without_waiting_on_a_pipe(tmp_path):
    """The reference and judges beside a comparison's model are hashed: a named pipe there
    made read_bytes() wait for a writer forever."""
    from evodrum.compare.store import file_digest
    os.mkfifo(tmp_path / "wellformed.npz")
    with pytest.raises(EvodrumError, match="wellformed.npz: cannot read model file \\(is a "):
        file_digest(tmp_path / "wellformed.npz")
    (tmp_path / "judge.npz").write_bytes(b"abc")
    assert file_digest(tmp_path / "judge.npz") == "ba7816bf8f01cfea"

