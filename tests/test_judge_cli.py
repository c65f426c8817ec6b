"""`evodrum judge` and `evodrum data judges` as a user runs them."""
from __future__ import annotations

import hashlib
import json

import numpy as np
from cli_runner import run
from click.testing import CliRunner
from midi_files import basic_beat, drum_file

from evodrum import gridfile
from evodrum.cli import main
from evodrum.grid import DEFAULT_SPEC, GridSpec


def digests(folder) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def library(tmp_path):
    """A folder with a 4-bar MIDI loop, an 8-bar performance, a grid file of noise, a
    damaged MIDI file and a grid file at another resolution."""
    lib = tmp_path / "lib"
    (lib / "more").mkdir(parents=True)
    drum_file(lib / "loop.mid", basic_beat(4), length_beats=16)
    drum_file(lib / "more" / "long.mid", basic_beat(8), length_beats=32)
    rng = np.random.default_rng(0)
    noise = ((rng.random((2, 9, 64)) < 0.3) * 0.8).astype(np.float32)
    gridfile.save_grids(lib / "noise.npz", noise, DEFAULT_SPEC)
    (lib / "broken.mid").write_bytes(b"MThd garbage")
    gridfile.save_grids(lib / "short.npz", np.zeros((1, 9, 32), np.float32), GridSpec(bars=2))
    return lib


def test_judge_a_folder_as_json(tmp_path):
    lib = library(tmp_path)
    before = digests(lib)
    r = CliRunner().invoke(main, ["judge", str(lib), "--json"])
    assert r.exit_code == 1  # two bad files were skipped
    entries = json.loads(r.stdout)
    assert [(e["file"].split("lib/")[1], e["window"]) for e in entries] == [
        ("loop.mid", 1), ("more/long.mid", 1), ("more/long.mid", 2), ("more/long.mid", 3),
        ("more/long.mid", 4), ("more/long.mid", 5), ("noise.npz", 1), ("noise.npz", 2)]
    for e in entries:
        assert set(e["scores"]) == {"markov", "classifier", "wellformed"}
        assert all(0 <= v <= 1 for v in e["scores"].values())
    beat, noise = entries[0]["scores"], entries[-1]["scores"]
    assert beat["markov"] > 0.2        # a likely pattern; the classifier reads a textbook
    assert beat["classifier"] > noise["classifier"]     # beat as over-regular (test_judges)
    assert noise["markov"] < 0.05 and noise["classifier"] < 0.05
    assert "broken.mid: the file is cut short inside its header" in r.stderr
    assert "short.npz: a grid of 2 bars" in r.stderr and "(skipped)" in r.stderr
    assert digests(lib) == before


def test_judge_table_and_missing_file(tmp_path):
    loop = drum_file(tmp_path / "loop.mid", basic_beat(4), length_beats=16)
    r = run("judge", loop)
    assert r.exit_code == 0, r.output
    header, line = r.output.splitlines()[:2]
    assert header.split()[-3:] == ["markov", "classifier", "wellformed"]
    assert line.split()[1] == "1"
    r = CliRunner().invoke(main, ["judge", str(tmp_path / "nope.mid")])
    assert r.exit_code == 1 and "nope.mid: no such file" in r.stderr


def test_judge_has_help():
    r = run("judge", "--help")
    assert r.exit_code == 0 and "markov" in r.output and "classifier" in r.output


def test_data_judges_builds_files_and_never_overwrites(groove_corpus, tmp_path):
    out = tmp_path / "model"
    r = run("data", "judges", groove_corpus.path, "-o", out)
    assert r.exit_code == 0, r.output
    assert "hi-hat moved to the ride" in r.output and "reggae" in r.output
    assert sorted(p.name for p in out.iterdir()) == [
        "judge-classifier.json", "judge-classifier.npz", "judge-markov.json", "judge-markov.npz"]
    before = digests(out)
    r = run("data", "judges", groove_corpus.path, "-o", out)
    assert r.exit_code == 1 and "already exists; give --force" in r.output
    assert digests(out) == before
    r = run("judge", tmp_path / "x.mid", "--model", out)  # judges found beside a model folder
    assert "x.mid: no such file" in r.output


def test_target_reports_the_judges_it_did_not_optimise(tmp_path):
    for weight, optimised in (("0.1", ["wellformed"]), ("0", [])):
        out = tmp_path / f"run-{weight}"
        r = run("target", "--features", "density=0.3", "--generations", "2", "--population",
                "8", "--wellformed", weight, "--out", out, "--verbose")
        assert r.exit_code == 0, r.output
        summary = json.loads((out / "summary.json").read_text())
        assert summary["optimised_judges"] == optimised
        assert summary["independent_judges"] == ["wellformed"] * (not optimised) + [
            "markov", "classifier"]
        for best in summary["best"]:
            assert set(best["judges"]) == {"markov", "classifier"}
        rows = {x.split()[0] for x in r.output.splitlines() if x.startswith("  ")}
        assert {"markov", "classifier"} <= rows          # never optimised here: no star
        assert ("wellformed*" in rows) == bool(optimised)


def test_judge_a_target_run_folder_as_the_readme_shows(tmp_path):
    """A run folder holds checkpoint.npz beside its loops: the loops are judged, the
    run's state is passed over without a word, and nothing is changed."""
    out = tmp_path / "target-run"
    r = run("target", "--features", "all.density=0.3", "--generations", "2",
            "--population", "8", "--out", out)
    assert r.exit_code == 0, r.output
    assert (out / "checkpoint.npz").is_file()
    before = digests(out)
    r = run("judge", out, "--json")
    assert r.exit_code == 0, r.output
    judged = {e["file"].rsplit("/", 1)[1] for e in json.loads(r.stdout)}
    assert judged == {p.name for p in out.glob("best_*.mid")} and judged
    assert "checkpoint" not in r.stderr
    assert digests(out) == before


def test_judge_of_one_unreadable_file_is_a_plain_error(tmp_path):
    """One file given: its problem is the error (nothing else was to be judged), as
    features and data build say it; '(skipped)' is for a file among several."""
    bad = tmp_path / "bad.mid"
    bad.write_text("not midi")
    r = run("judge", bad)
    assert r.exit_code == 1 and r.stderr.strip().splitlines() == [
        f"error: {bad}: this is a text file, not MIDI"], r.stderr


def test_judge_a_folder_without_loops_is_one_error_naming_it(tmp_path):
    empty, notes = tmp_path / "empty", tmp_path / "notes"
    empty.mkdir(), notes.mkdir()
    (notes / "readme.txt").write_text("no loops here")
    for folder in (empty, notes):
        r = run("judge", folder)
        assert r.exit_code == 1 and "Traceback" not in r.output
        assert r.stderr.strip().splitlines() == [
            f"error: {folder}: no MIDI or grid files (.kar, .mid, .midi, .npy, .npz, .rmi, .smf) "
            "in this folder (skipped)"]


def test_judge_model_must_be_a_model_and_says_when_judges_are_shipped(tmp_path):
    loop = drum_file(tmp_path / "loop.mid", basic_beat(4), length_beats=16)
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    (tmp_path / "nothing").mkdir()
    for model, problem in [(tmp_path / "missing.pt", "missing.pt: no such model file"),
                           (text, "notes.txt: not a model file"),
                           (tmp_path / "nothing", "model.pt: no such model file")]:
        r = run("judge", loop, "--model", model)
        assert r.exit_code != 0 and r.stdout == "", r.output
        assert len(r.stderr.strip().splitlines()) == 1 and problem in r.stderr
    from vae.files import DEFAULT_MODEL
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "model.pt").write_bytes(DEFAULT_MODEL.read_bytes())
    r = run("judge", loop, "--model", mine)
    assert r.exit_code == 0, r.output
    assert f"note: no judges beside {mine}; using the shipped ones" in r.stderr
    assert r.stdout == run("judge", loop).stdout


def test_judge_reads_like_the_other_commands(tmp_path):
    """Through the shared reader: damage read past is a warning, and --drum-map is offered."""
    loop = drum_file(tmp_path / "loop.mid", basic_beat(4), length_beats=16)
    loop.write_bytes(loop.read_bytes() + bytes(16))
    before = digests(tmp_path)
    r = run("judge", loop, "--drum-map", "magenta")
    assert r.exit_code == 0, r.output
    assert f"warning: {loop}: ignored 16 bytes of junk after the last track" in r.stderr
    assert digests(tmp_path) == before
