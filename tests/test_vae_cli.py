"""The model commands as a user runs them: train/resume, sample, reconstruct, interpolate,
encode, vary, evaluate, and one-line errors for bad models."""
from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
from cli_runner import run
from midi_files import basic_beat, drum_file

from evodrum import midi
from evodrum.grid import quantize_velocity
from vae import metrics
from vae.files import save_model
from vae.model import DrumModel
from vae.network import Arch, init_seeded
from vae.pca import fit_pca, save_pca


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One torch thread: steady timings when other jobs share the two cores."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trained(groove_corpus, tmp_path_factory):
    """A small model trained through the CLI on the real corpus (2 epochs, then resumed to 3)."""
    out = tmp_path_factory.mktemp("train") / "run"
    args = ("train", "--corpus", groove_corpus.path, "--hidden", "64", "--batch-size", "256",
            "--threads", "1", "--out", out)
    r = run(*args, "--epochs", "2")
    assert r.exit_code == 0, r.output
    r = run("train", "--out", out, "--resume", "--epochs", "3")
    assert r.exit_code == 0, r.output
    assert "resuming after epoch 2" in r.output and "test split: precision" in r.output
    return out


def test_train_resume_writes_curve_and_model(trained):
    rows = list(csv.DictReader(open(trained / "history.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    # train builds and measures the latent directions and names them in the card
    card = json.loads((trained / "model.json").read_text())
    assert card["directions"]["file"] == "model.directions.json"
    assert card["name"] == "twohead-z20-h64 (run)"    # never the shipped model's name
    r = run("steer", "--list", "--model", trained)
    assert r.exit_code == 0 and "kick_snare.syncopation" in r.output and "funk" in r.output
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    r = run("train", "--out", trained, "--resume", "--zdim", "8")
    assert r.exit_code == 1 and "keeps the run's settings" in r.output and "zdim=20" in r.output


def test_refit_gives_an_existing_model_the_learned_prior_and_thresholds(tmp_path, trained,
                                                                       groove_corpus):
    from vae.files import load_vae
    old = load_vae(trained / "model.pt")          # as a model trained before the prior existed
    old.mixture, old.prior, old.hit_threshold = None, "normal", 0.5
    old.card = {k: v for k, v in old.card.items() if k not in ("prior", "threshold_method")}
    save_model(tmp_path / "old" / "model.pt", old)
    before = (tmp_path / "old" / "model.pt").read_bytes()
    r = run("train", "--refit", tmp_path / "old" / "model.pt", "--corpus", groove_corpus.path,
            "--out", tmp_path / "refit")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "old" / "model.pt").read_bytes() == before      # left as it was
    new = load_vae(tmp_path / "refit" / "model.pt")
    assert new.mixture is not None and new.prior == "learned"
    assert new.card["threshold_method"] == "density" and not np.allclose(new.hit_threshold, 0.5)
    assert new.card["refit"]["from"] == str(tmp_path / "old" / "model.pt")
    assert new.card["name"] == "twohead-z20-h64 (refit)" and "test" in new.card["metrics"]
    assert (tmp_path / "refit" / "model.directions.json").exists()
    # the refitted thresholds give prior samples the corpus's hit density, as training does
    density = (new.sample(2000, rng=0) > 0).mean()
    assert abs(density / (groove_corpus.grids[groove_corpus.split == "train"] > 0).mean() - 1) < 0.1
    r = run("sample", "-n", "2", "--model", tmp_path / "refit", "--out", tmp_path / "s")
    assert r.exit_code == 0, r.output
    r = run("train", "--refit", tmp_path / "old" / "model.pt", "--resume", "--out", tmp_path / "x")
    assert r.exit_code == 1 and "cannot --resume" in r.output
    r = run("train", "--refit", tmp_path / "old" / "model.pt", "--epochs", "3", "--beta", "0.9",
            "--out", tmp_path / "y")
    assert r.exit_code == 1 and "takes no --beta, --epochs" in r.output
    assert not (tmp_path / "y").exists()


def test_sample_writes_midi_that_reads_back(tmp_path, trained):
    r = run("sample", "-n", "3", "--seed", "4", "--model", trained, "--out", tmp_path, "--ascii")
    assert r.exit_code == 0, r.output
    assert r.output.count("BD  |") == 3 and "wrote 3 MIDI files" in r.output
    grids = np.load(tmp_path / "samples.npz")["grids"]
    for i, g in enumerate(grids):
        back = midi.read_loop(tmp_path / f"sample_{i + 1:02d}.mid")
        np.testing.assert_array_equal(back, quantize_velocity(g))
    again = tmp_path / "again"
    run("sample", "-n", "3", "--seed", "4", "--model", trained, "--out", again)
    np.testing.assert_array_equal(np.load(again / "samples.npz")["grids"], grids)


def test_reconstruct_encode_vary_interpolate(tmp_path, trained):
    a = drum_file(tmp_path / "a.mid", basic_beat(4), length_beats=16)
    b = drum_file(tmp_path / "b.mid", [(x / 2, 42, 80) for x in range(32)] +
                  [(x, 36, 110) for x in range(16)], length_beats=16)
    r = run("reconstruct", a, "--model", trained, "--out", tmp_path / "rec")
    assert r.exit_code == 0 and re.search(r"kept \d+ of your \d+ hits, added \d+", r.output)
    assert "onset precision" not in r.output        # a research figure: --verbose, --json
    r = run("reconstruct", a, "--model", trained, "--out", tmp_path / "rec2", "--verbose")
    assert r.exit_code == 0 and "onset precision" in r.output, r.output
    rec = np.load(tmp_path / "rec" / "reconstruction.npz")["grids"]
    assert metrics.onset_scores(rec[0], rec[1])["f1"] > 0.5  # a plain rock beat survives

    r = run("encode", a, "--model", trained)
    assert r.exit_code == 0
    code = np.array(r.stdout.split(), dtype=float)
    assert code.shape == (20,)

    r = run("vary", a, "-n", "4", "--amount", "0.3", "--seed", "1", "--model", trained,
            "--out", tmp_path / "vary")
    assert r.exit_code == 0, r.output
    assert len(list((tmp_path / "vary").glob("variation_*.mid"))) == 4

    r = run("interpolate", a, b, "--steps", "5", "--model", trained, "--out", tmp_path / "int")
    assert r.exit_code == 0, r.output
    path = np.load(tmp_path / "int" / "interpolation.npz")["grids"]
    assert len(path) == 5  # one series, along the curved path (slerp)
    assert len(list((tmp_path / "int").glob("interpolation_*.mid"))) == 5


def test_evaluate_compares_models_on_the_test_split(tmp_path, trained, groove_corpus):
    pca = fit_pca(groove_corpus.split_grids("train"), groove_corpus.split_grids("validation"),
                  groove_corpus.spec)
    save_pca(tmp_path / "pca.npz", pca)
    paper = DrumModel(init_seeded(Arch("paper", hidden=16), 0), groove_corpus.spec,
                      {"name": "untrained-paper"})
    save_model(tmp_path / "paper.pt", paper)
    notes = tmp_path / "notes.md"
    notes.write_text("Our commentary on the run.\n")
    inputs = [tmp_path / "pca.npz", tmp_path / "paper.pt", notes]
    before = [p.read_bytes() for p in inputs]
    r = run("evaluate", "--corpus", groove_corpus.path, "--model", tmp_path / "pca.npz",
            "--model", trained, "--model", tmp_path / "paper.pt", "--samples", "200",
            "--notes", notes, "--out", tmp_path / "eval")
    assert r.exit_code == 0, r.output
    assert [p.read_bytes() for p in inputs] == before          # read, never changed
    report = (tmp_path / "eval" / "report.md").read_text()
    assert "Our commentary on the run." in report
    table = [line for line in report.splitlines() if line.startswith("| ")]
    names = [line.split("|")[1].strip() for line in table[1:]]
    assert names[:4] == ["pca-20", "twohead-z20-h64 (run)", "untrained-paper",
                         "untrained-paper as decoded in the paper"], names
    assert (tmp_path / "eval" / "metrics.json").is_file()


def test_bad_model_files_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x80\x04garbage")
    text = tmp_path / "notes.pt"
    text.write_text("root:x:0:0:root:/root:/bin/bash\n")  # torch.load raises IndexError on this
    loop = drum_file(tmp_path / "a.mid", basic_beat(1), length_beats=4)
    for args in (["sample", "--model", bad], ["sample", "--model", text],
                 ["encode", loop, "--model", tmp_path / "none.pt"],
                 ["reconstruct", tmp_path / "missing.mid", "--model", bad],
                 ["train", "--resume"]):
        r = run(*args)
        assert r.exit_code == 1, (args, r.output)
        assert r.output.startswith("error: ") and r.output.count("\n") == 1, r.output


def test_paper_report_runs_every_experiment_and_reuses_trainings(tmp_path, groove_corpus):
    """On a subset of the corpus (every 8th window) for speed; the CLI only adds options."""
    from dataclasses import replace

    from vae import plot
    from vae.paper import paper_report
    subset = replace(groove_corpus, grids=groove_corpus.grids[::8],
                     split=groove_corpus.split[::8])
    out = tmp_path / "report"
    messages = []
    paper_report(out, subset, epochs=2, threads=1, progress=messages.append)
    text = (out / "report.md").read_text()
    for fig in range(2, 8):
        assert f"## Fig. {fig}" in text
    assert "**Each training runs 2 epochs**" in text
    sweep = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ")]
    assert [v for v in sweep if v.isdigit()] == ["2", "5", "10", "20", "40", "100", "200", "400",
                                                  "800"]
    midi_dirs = {p.parent.name for p in out.glob("midi/*/*.mid")}
    assert {"fig2-epoch1", "fig3-pca", "fig6-reconstruction", "fig7-interpolation"} <= midi_dirs
    assert len(list(out.glob("models/*/model.pt"))) == 9
    if plot.available():
        assert (out / "fig4-z.png").stat().st_size > 1000
    messages.clear()
    paper_report(out, subset, epochs=2, threads=1, progress=messages.append)
    assert sum("reusing the finished training" in m for m in messages) == 9
