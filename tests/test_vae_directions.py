"""Latent directions on real loops: each feature's direction moves that feature the
measured way on held-out loops, styles raise a model-free style vote, and `evodrum
steer` writes steered loops without touching its input."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

import vae
from evodrum.cli import main
from evodrum.errors import EvodrumError
from vae import directions as D
from vae import disentangle, refine


@pytest.fixture(scope="module")
def model():
    import torch
    torch.set_num_threads(1)
    return vae.load_model()


def test_shipped_directions_cover_every_attribute_and_groove_style(model):
    found = D.for_model(model)
    assert found.names("attribute") == list(D.ATTRIBUTES)
    assert {"style:funk", "style:rock", "style:jazz", "style:latin"} <= set(found.names("style"))
    assert all(d.measured for d in found.items.values())


@pytest.mark.parametrize("name", ["all.syncopation", "hats.density", "kick_snare.syncopation",
                                  "SD.density", "RD.density", "all.wnbd"])
def test_direction_moves_its_feature_the_measured_way_on_other_heldout_loops(
        model, groove_corpus, name):
    """Re-measured on validation loops (the stored figures came from the test split)."""
    found = D.for_model(model)
    loops = groove_corpus.split_grids("validation")[::10]
    codes = refine.encode(model, loops, 10).codes
    d = found[name]
    means = [D.attribute_values(model.decode(codes + a * d.vector), model.spec)[name].mean()
             for a in disentangle.AMOUNTS]
    slope = np.polyfit(disentangle.AMOUNTS, means, 1)[0]
    assert np.all(np.diff(means) > 0), means
    assert 0.5 * d.measured["slope"] < slope < 2 * d.measured["slope"], (slope, d.measured)


def test_style_direction_raises_the_nearest_style_vote(model, groove_corpus):
    train = groove_corpus.split == "train"
    vote = disentangle.StyleVote(groove_corpus.grids[train], groove_corpus.labels["style"][train],
                                 size=3000)
    held = groove_corpus.split == "validation"
    styles = np.array([D.style_of(s) for s in groove_corpus.labels["style"][held]])
    loops = groove_corpus.grids[held][styles != "funk"][::8]
    codes = refine.encode(model, loops, 10).codes
    share = [vote.share(model.decode(D.steer(model, codes, {"funk": a})), "funk").mean()
             for a in (0, 1, 2)]
    assert share[0] < share[1] < share[2] and share[2] > share[0] + 0.1, share


def test_steer_api_names_and_sums(model):
    found = D.for_model(model)
    z = np.zeros(model.zdim, np.float32)
    moved = D.steer(model, z, {"syncopation": 1, "funk": -0.5})
    np.testing.assert_allclose(moved, found["kick_snare.syncopation"].vector
                               - 0.5 * found["style:funk"].vector, rtol=1e-6)
    assert D.steer(model, np.zeros((3, model.zdim)), {"hats.density": 2}).shape == (3, model.zdim)
    with pytest.raises(EvodrumError, match="no direction 'loudness'"):
        D.steer(model, z, {"loudness": 1})
    listing = found.listing()
    assert listing[0]["range"] == list(D.RANGE) and "slope" in listing[0]["measured"]


def test_damaged_directions_file_is_one_line_error(tmp_path):
    path = tmp_path / "model.directions.json"
    path.write_text(json.dumps({"format": D.FORMAT, "zdim": 20,
                                "directions": [{"name": "x", "kind": "attribute",
                                                "vector": [1, 2]}]}))
    with pytest.raises(EvodrumError, match="damaged directions file"):
        D.Directions.load(path)
    path.write_text("{not json")
    with pytest.raises(EvodrumError, match=str(path)):
        D.Directions.load(path)


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(zdim=float("inf")), "zdim must be a whole number"),
    (lambda d: d.update(info="x"), "info must be a JSON object"),
    (lambda d: d.update(info=None), None),                    # absent: read as no info
    (lambda d: d.update(directions={"x": 1}), "directions must be a list"),
])
def test_a_damaged_directions_field_is_one_line_naming_it(tmp_path, change, words):
    doc = {"format": D.FORMAT, "zdim": 2, "info": {},
           "directions": [{"name": "x", "kind": "attribute", "vector": [1, 2]}]}
    change(doc)
    path = tmp_path / "model.directions.json"
    path.write_text(json.dumps(doc, allow_nan=True))
    if words is None:
        assert D.Directions.load(path).info == {}
        return
    with pytest.raises(EvodrumError, match=f"{path}: damaged directions file \\({words}"):
        D.Directions.load(path)


def test_a_directions_file_that_is_a_pipe_is_refused_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "model.directions.json")       # read_text() waited for a writer
    with pytest.raises(EvodrumError, match="cannot read the directions file"):
        D.Directions.load(tmp_path / "model.directions.json")


def test_steer_cli_writes_files_shows_features_and_leaves_input(tmp_path, heldout_loop_file):
    path = heldout_loop_file
    before = path.read_bytes()
    runner = CliRunner()
    out = tmp_path / "steer"
    r = runner.invoke(main, ["steer", str(path), "--attribute", "hats.density=+1.5",
                             "--style", "funk=0.5", "-n", "3", "--out", str(out), "--ascii"])
    assert r.exit_code == 0, r.output
    assert path.read_bytes() == before
    grids = np.load(out / "steered.npz")["grids"]
    assert len(grids) == 3 and len(list(out.glob("steered_*.mid"))) == 3
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("* hi-hat density"))
    yours, encoded, *steered = (float(v) for v in line.split()[3:])
    assert steered[-1] > encoded and len(steered) == 3
    r = runner.invoke(main, ["steer", str(path), "-a", "hats.density=1", "--out", str(out)])
    assert r.exit_code == 0 and (tmp_path / "steer-2" / "steered.npz").is_file()
    assert len(np.load(out / "steered.npz")["grids"]) == 3    # the first run's, untouched
    r = runner.invoke(main, ["steer", str(path), "-a", "hats.density"])
    assert r.exit_code != 0 and "NAME=AMOUNT" in r.output
    r = runner.invoke(main, ["steer", "--list"])
    assert r.exit_code == 0 and "hats.density" in r.stdout and "funk" in r.stdout


def test_every_slider_move_changes_the_loop_the_asked_way_or_says_it_cannot(model):
    """The four-on-the-floor house loop, where a quarter of straight moves changed nothing:
    every move of every direction by -2, -1, +1, +2 changes the hits and moves its
    feature the asked way (unless at its bound), or says the loop cannot move."""
    from evodrum import examples, midi
    grid = midi.read_loop(examples.path("house"), model.spec)
    code = refine.encode(model, grid[None], refine.DEFAULT_STEPS).codes[0]
    start = model.decode(code[None])
    before = D.attribute_values(start, model.spec)
    found, searched, straight_failed = D.for_model(model), 0, 0
    for name in found.names():
        for amount in (-2, -1, 1, 2):
            straight = model.decode(found.apply(code, {name: amount})[None])
            straight_failed += not ((straight > 0) != (start > 0)).any()
            moved = D.move(model, code, {name: amount})
            searched += moved.searched
            if not moved.works:
                assert "does not move" in moved.note
                continue
            assert ((moved.grid > 0) != (start[0] > 0)).any(), name
            if name in before:
                after = D.attribute_values(moved.grid[None], model.spec)[name][0]
                assert np.sign(amount) * (after - before[name][0]) >= -D.MOVED, name
    assert straight_failed >= 10 and searched >= straight_failed   # the case of the issue


def test_bare_syncopation_syncopates_the_kick_and_snare_of_a_house_loop(tmp_path):
    """`steer --attribute syncopation=+1` on four-on-the-floor: the bare name is kick &
    snare syncopation, and the steered loop has more of it than the loop as encoded."""
    from evodrum import examples
    result = CliRunner().invoke(main, ["steer", str(examples.path("house")), "-a",
                                       "syncopation=+1", "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines()
               if line.startswith("* kick & snare syncopation"))
    mine, encoded, steered = map(float, row.split()[5:8])
    assert steered > encoded
