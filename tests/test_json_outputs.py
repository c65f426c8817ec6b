"""Every `--json` output, parsed as a script would: one JSON document on stdout, with the
keys the README documents. Runs on the shipped model and example loops (no corpus)."""
from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from evodrum import examples
from evodrum.cli import main
from evodrum.kit import ROWS
from fitness.features import FEATURE_NAMES

FUNK, ROCK = str(examples.path("funk")), str(examples.path("rock"))


def stdout_json(*args, env=None):
    r = CliRunner().invoke(main, [str(a) for a in args], env=env)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)  # the whole of stdout is one document


def test_encode_json_and_npy(tmp_path):
    npy = tmp_path / "codes.npy"
    doc = stdout_json("encode", FUNK, "--json", "-o", npy)
    assert set(doc) == {"file", "model", "zdim", "refine_steps", "npy", "windows"}
    assert doc["file"] == FUNK and doc["zdim"] == 20 and doc["refine_steps"] == 50
    assert doc["npy"] == str(npy) and len(doc["windows"]) == 1
    w = doc["windows"][0]
    assert set(w) == {"window", "code", "onset_f1", "onset_f1_encoder_mean", "log_prior",
                      "typicality"}
    assert w["window"] == 1 and len(w["code"]) == 20
    assert 0.5 < w["onset_f1"] <= 1 and w["onset_f1"] >= w["onset_f1_encoder_mean"]
    assert 0 <= w["typicality"] <= 1 and w["log_prior"] < 0
    codes = np.load(npy, allow_pickle=False)
    assert codes.shape == (1, 20) and codes.dtype == np.float32
    np.testing.assert_allclose(codes[0], w["code"], atol=1e-5)
    plain = CliRunner().invoke(main, ["encode", FUNK]).stdout.split()
    np.testing.assert_allclose(np.array(plain, float), codes[0], atol=1e-3)


def test_encode_refuses_a_non_npy_output(tmp_path):
    r = CliRunner().invoke(main, ["encode", FUNK, "-o", str(tmp_path / "codes.txt")])
    assert r.exit_code == 1 and "codes are written as .npy" in r.output
    assert not list(tmp_path.iterdir())


def test_features_json():
    doc = stdout_json("features", FUNK, ROCK, "--json")
    assert [(e["file"], e["window"]) for e in doc] == [(FUNK, 1), (ROCK, 1)]
    for e in doc:
        assert set(e) == {"file", "window", "features"}
        assert list(e["features"]) == list(FEATURE_NAMES)
        assert all(0 <= v <= 1 for v in e["features"].values())
    assert doc[0]["features"]["hats.density"] == 1.0  # funk's hats play every sixteenth


def test_data_info_json_on_a_corpus_of_the_examples(tmp_path):
    env = {"EVODRUM_CACHE": str(tmp_path / "cache")}
    assert CliRunner().invoke(main, ["examples", "--copy", str(tmp_path / "ex")]).exit_code == 0
    assert CliRunner().invoke(main, ["data", "build", str(tmp_path / "ex")], env=env).exit_code == 0
    doc = stdout_json("data", "info", "ex", "--json", env=env)
    assert set(doc) == {"corpus", "path", "source", "grid", "windows", "splits", "styles",
                        "row_density", "hits_per_window", "cells_with_hit", "features"}
    assert doc["corpus"] == "ex" and doc["windows"] == 6 == sum(doc["splits"].values())
    assert list(doc["splits"]) == ["train", "validation", "test"]
    assert doc["grid"]["steps"] == 64 and sum(s["windows"] for s in doc["styles"]) == 6
    assert list(doc["row_density"]) == list(ROWS)
    grids = np.stack([p.grid() for p in examples.PATTERNS]) > 0
    assert doc["cells_with_hit"] == round(float(grids.mean()), 6)
    assert doc["hits_per_window"]["p50"] == float(np.median(grids.sum(axis=(1, 2))))
    assert list(doc["features"]) == list(FEATURE_NAMES)
    assert set(doc["features"]["all.density"]) == {"mean", "sd", "min", "q25", "median", "q75",
                                                   "max"}
    assert stdout_json("data", "info", "ex", "--json", "--no-features", env=env)["features"] is None


# --- every command that writes can say what it wrote --------------------------------------

WRITERS = {
    "sample": ["sample", "-n", "2", "--seed", "1"],
    "reconstruct": ["reconstruct", FUNK, "--refine", "0"],
    "interpolate": ["interpolate", FUNK, ROCK, "--steps", "3", "--refine", "0"],
    "vary": ["vary", FUNK, "-n", "2", "--refine", "0"],
    "steer": ["steer", FUNK, "-a", "hats.density=+1", "--refine", "0"],
}


def test_each_writing_command_reports_what_it_wrote_as_json(tmp_path):
    for name, args in WRITERS.items():
        out = tmp_path / name
        doc = stdout_json(*args, "--out", out, "--json")
        assert doc["command"] == name and doc["folder"] == str(out)
        on_disk = sorted(p.name for p in out.iterdir() if p.name != ".lock")
        assert sorted(f["path"].rpartition("/")[2] for f in doc["files"]) == on_disk, name
        for f in doc["files"]:
            if f["kind"] == "midi":
                assert f["hits"] > 0 and f["bpm"] > 0 and f["title"]


def test_quiet_prints_nothing_and_still_writes(tmp_path):
    r = CliRunner().invoke(main, ["vary", FUNK, "-n", "2", "--refine", "0", "--quiet",
                                  "--out", str(tmp_path / "v")])
    assert r.exit_code == 0 and r.output == ""
    assert len(list((tmp_path / "v").glob("variation_*.mid"))) == 2


def test_render_json_and_a_run_folder_rendered_beside_its_loops(tmp_path):
    run = tmp_path / "run"
    stdout_json("vary", FUNK, "-n", "2", "--refine", "0", "--out", run, "--json")
    doc = stdout_json("render", run, "--synth", "builtin", "--json")
    wavs = sorted(f["path"] for f in doc["files"])
    assert wavs == [str(run / "variation_01.wav"), str(run / "variation_02.wav")]
    assert all(f["seconds"] > 4 and f["sample_rate"] == 44100 for f in doc["files"])


def test_a_name_without_its_suffix_is_one_line_that_suggests_it(tmp_path):
    (tmp_path / "best_01.mid").write_bytes(open(FUNK, "rb").read())
    for command in ("render", "play", "show"):
        r = CliRunner().invoke(main, [command, str(tmp_path / "best_01"), "--no-audio"]
                               if command == "play" else [command, str(tmp_path / "best_01")])
        assert r.exit_code == 1, (command, r.output)
        assert r.output.strip() == (f"error: {tmp_path / 'best_01'}: no such file; did you "
                                    f"mean {tmp_path / 'best_01.mid'}?"), command
