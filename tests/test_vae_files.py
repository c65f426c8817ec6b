"""Model files and the representation API: safe loading, cards, decode/encode/sample, PCA."""
from __future__ import annotations

import json
import os
import pickle
import re
import struct
import zipfile

import numpy as np
import pytest
import torch

import vae
from evodrum.errors import EvodrumError
from evodrum.grid import DEFAULT_SPEC, PAPER_SPEC, quantize_velocity
from vae import calibrate, latent, metrics
from vae.files import DEFAULT_MODEL, MODEL_FORMAT, load_vae, save_model
from vae.model import DrumModel
from vae.network import Arch, init_seeded
from vae.pca import fit_pca, load_pca, save_pca


def _model(kind="twohead", spec=DEFAULT_SPEC, seed=0, **card) -> DrumModel:
    arch = Arch(kind, spec.shape[0] * spec.steps, hidden=32, zdim=6)
    return DrumModel(init_seeded(arch, seed), spec, {"name": f"tiny-{kind}", **card})


@pytest.fixture(scope="module")
def groove(groove_corpus):
    return {s: groove_corpus.split_grids(s) for s in ("train", "validation", "test")}


def test_save_load_round_trip_keeps_decoding_and_card(tmp_path):
    for kind in ("twohead", "paper"):
        model = _model(kind)
        model.hit_threshold = np.linspace(0.3, 0.7, 9)
        path = tmp_path / f"{kind}.pt"
        save_model(path, model)
        loaded = vae.load_model(path)
        z = model.sample_latent(50, rng=1)
        np.testing.assert_array_equal(loaded.decode(z), model.decode(z))
        np.testing.assert_allclose(loaded.hit_threshold, np.linspace(0.3, 0.7, 9), rtol=1e-6)
        assert loaded.card["kind"] == kind and loaded.card["arch"]["hidden"] == 32
        assert json.loads((tmp_path / f"{kind}.json").read_text())["format"] == MODEL_FORMAT
        assert vae.load_model(tmp_path / f"{kind}.pt").name == f"tiny-{kind}"


def test_corrupt_and_foreign_files_are_refused(tmp_path):
    save_model(tmp_path / "good.pt", _model())
    data = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.pt").write_text("not a model")
    torch.save({"weights": {}}, tmp_path / "foreign.pt")
    for name in ("cut.pt", "text.pt", "foreign.pt", "missing.pt"):
        with pytest.raises(EvodrumError, match=name):
            vae.load_model(tmp_path / name)


class _Payload:
    """Unpickling this runs code: it would create the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_with_code_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    for name, payload in (("plain.pt", _Payload(marker)),
                          ("inside.pt", {"format": MODEL_FORMAT, "card": "{}",
                                         "weights": _Payload(marker)})):
        path = tmp_path / name
        if name == "plain.pt":
            path.write_bytes(pickle.dumps(payload, protocol=2))
        else:
            torch.save(payload, path)
        with pytest.raises(EvodrumError, match="refused|not a readable"):
            vae.load_model(path)
    assert not marker.exists()


def test_wrong_cards_are_refused(tmp_path):
    model = _model()
    save_model(tmp_path / "m.pt", model)
    payload = torch.load(tmp_path / "m.pt", weights_only=True)

    def rewrite(name, **changes):
        card = json.loads(payload["card"])
        for key, value in changes.items():
            card[key] = value
        torch.save(dict(payload, card=json.dumps(card)), tmp_path / name)
        return tmp_path / name

    with pytest.raises(EvodrumError, match="drum kit"):
        load_vae(rewrite("kit.pt", kit="another-kit"))
    with pytest.raises(EvodrumError, match="do not match"):
        load_vae(rewrite("arch.pt", arch=dict(model.arch.to_dict(), hidden=64)))
    with pytest.raises(EvodrumError, match="does not fit|do not match"):
        load_vae(rewrite("spec.pt", spec=PAPER_SPEC.to_dict() | {"bars": 2}))
    torch.save(dict(payload, card="{not json"), tmp_path / "json.pt")
    with pytest.raises(EvodrumError, match="damaged model card"):
        load_vae(tmp_path / "json.pt")


def _rewritten(tmp_path, name, change):
    """A tiny model saved, its torch payload changed by `change(payload)`, saved as `name`."""
    save_model(tmp_path / "m.pt", _model())
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    change(payload)
    torch.save(payload, tmp_path / name)
    return tmp_path / name


def _set_weight(key, value):
    def change(payload):
        payload["weights"][key] = value(payload["weights"][key])
    return change


def _set_card(**changes):
    def change(payload):
        payload["card"] = json.dumps(dict(json.loads(payload["card"]), **changes))
    return change


@pytest.mark.parametrize("change, words", [
    (_set_weight("dec_hidden.weight", lambda w: w.index_fill(1, torch.tensor([0]), float("nan"))),
     "'dec_hidden.weight' holds NaN or infinity"),
    (_set_weight("enc_hidden.bias", lambda w: w.index_fill(0, torch.tensor([0]), float("inf"))),
     "'enc_hidden.bias' holds NaN or infinity"),
    (_set_weight("enc_hidden.bias", lambda w: w.long()), "holds torch.int64, not floating"),
    (_set_weight("enc_hidden.bias", lambda w: "text"), "do not match the card"),
    (lambda p: p["weights"].update(extra=torch.zeros(2)), "do not match the card"),
    (_set_card(arch=dict(Arch("twohead", 576, 32, 6).to_dict(), hidden=10**12)),
     "hidden 1000000000000"),
    (_set_card(hit_threshold=[float("nan")] * 9), "hit_threshold must be"),
    (_set_card(hit_threshold="x"), "hit_threshold must be"),
    (_set_card(hit_threshold=[0.5] * 4), "hit_threshold must be"),
])
def test_damaged_weights_and_cards_are_one_line_naming_the_problem(tmp_path, change, words):
    path = _rewritten(tmp_path, "bad.pt", change)
    before = path.read_bytes()
    with pytest.raises(EvodrumError, match=f"bad.pt: .*{re.escape(words)}"):
        load_vae(path)
    assert path.read_bytes() == before


def test_a_flipped_byte_in_the_weights_is_caught_by_the_archive_checksum(tmp_path):
    save_model(tmp_path / "m.pt", _model())
    data = bytearray((tmp_path / "m.pt").read_bytes())
    with zipfile.ZipFile(tmp_path / "m.pt") as archive:
        info = next(i for i in archive.infolist() if "/data/" in i.filename
                    and i.file_size > 64)
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    data[info.header_offset + 30 + name_length + extra_length + 32] ^= 0x40
    (tmp_path / "flipped.pt").write_bytes(bytes(data))
    with pytest.raises(EvodrumError, match="flipped.pt: damaged model file .*checksum"):
        load_vae(tmp_path / "flipped.pt")


def test_a_model_file_over_the_size_limit_is_refused_before_torch_reads_it(tmp_path,
                                                                           monkeypatch):
    save_model(tmp_path / "m.pt", _model())
    size = (tmp_path / "m.pt").stat().st_size
    monkeypatch.setenv("EVODRUM_MAX_MODEL_BYTES", str(size - 1))
    with pytest.raises(EvodrumError,
                       match="m.pt: the model file's size .* EVODRUM_MAX_MODEL_BYTES"):
        vae.load_model(tmp_path / "m.pt")
    monkeypatch.setenv("EVODRUM_MAX_MODEL_BYTES", str(size))
    assert vae.load_model(tmp_path / "m.pt").zdim == 6


@pytest.mark.parametrize("change, words", [
    (lambda a: a["components"].__setitem__((0, 0), np.nan), "'components' must hold finite"),
    (lambda a: a["variance"].__setitem__(0, np.inf), "'variance' must hold finite"),
    (lambda a: a["variance"].__setitem__(0, -1.0), "'variance' must hold at least one number, "
     "each above 0"),
    (lambda a: a.update(mean=a["mean"].astype(np.int8)), "'mean' must hold finite floating"),
    (lambda a: a.update(components=a["components"][:0], variance=a["variance"][:0]),
     "at least one number"),
])
def test_damaged_pca_arrays_are_refused(tmp_path, change, words):
    rng = np.random.default_rng(0)
    grids = (rng.random((40, 9, 64)) < 0.2).astype(np.float32)
    save_pca(tmp_path / "p.npz", fit_pca(grids, grids, DEFAULT_SPEC, zdim=3))
    arrays = {k: v.copy() for k, v in np.load(tmp_path / "p.npz", allow_pickle=False).items()}
    change(arrays)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(EvodrumError, match=f"bad.npz: .*{re.escape(words)}"):
        load_pca(tmp_path / "bad.npz")


def test_decode_api_batches_single_loops_and_thresholds():
    model = _model()
    z = model.sample_latent(300, rng=0)
    grids = model.decode(z)
    assert grids.shape == (300, 9, 64) and grids.dtype == np.float32
    assert grids.min() >= 0 and grids.max() <= 1
    assert grids[grids > 0].min() >= 1 / 127  # every hit survives MIDI quantisation
    # the numpy path (tiny batches) and the torch path (large ones) agree
    singles = np.concatenate([model.decode(zi) for zi in z[:40]])
    np.testing.assert_array_equal(singles > 0, grids[:40] > 0)
    np.testing.assert_allclose(singles, grids[:40], atol=1e-6)
    presence, velocity = model.decode_scores(z)
    np.testing.assert_array_equal(grids > 0, presence >= 0.5)
    model.hit_threshold = [0.5, 0.5, 0.2, 0.5, 0.5, 0.5, 0.5, 0.5, 0.99]
    lower = model.decode(z)
    assert (lower[:, 2] > 0).sum() > (grids[:, 2] > 0).sum()
    assert (lower[:, 8] > 0).sum() <= (grids[:, 8] > 0).sum()
    np.testing.assert_array_equal(lower[:, 0], grids[:, 0])
    assert model.encode(grids).shape == (300, 6) and model.encode(grids[0]).shape == (1, 6)
    np.testing.assert_array_equal(model.sample(5, rng=3), model.sample(5, rng=3))
    assert not np.array_equal(model.sample(5, temperature=2.0, rng=3), model.sample(5, rng=3))
    with pytest.raises(ValueError, match="latent"):
        model.decode(np.zeros((2, 7)))


def test_pca_fit_save_load_and_interface(tmp_path, groove):
    pca = fit_pca(groove["train"], groove["validation"], DEFAULT_SPEC)
    assert pca.zdim == 20 and 0 < pca.hit_threshold[0] < 1
    assert np.all(np.diff(pca.latent_std) <= 0)  # components by explained variance
    z = pca.encode(groove["train"])
    np.testing.assert_allclose(z.std(axis=0, ddof=1), pca.latent_std, rtol=1e-3)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-3)
    save_pca(tmp_path / "pca.npz", pca)
    loaded = vae.load_model(tmp_path / "pca.npz")
    np.testing.assert_array_equal(loaded.decode(z[:20]), pca.decode(z[:20]))
    np.testing.assert_array_equal(loaded.hit_threshold, pca.hit_threshold)
    assert loaded.sample(3, rng=0).shape == (3, 9, 64)
    # the best-F1 threshold beats 0.5 on the data it was chosen on
    presence, _ = pca.decode_scores(pca.encode(groove["validation"]))
    f1 = metrics.f1_by_threshold(groove["validation"], presence, np.array([0.5]))[0]
    assert metrics.onset_scores(groove["validation"], pca.decode(pca.encode(
        groove["validation"])))["f1"] > f1
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(EvodrumError, match="bad.npz"):
        load_pca(tmp_path / "bad.npz")
    np.savez(tmp_path / "obj.npz", mean=np.zeros(3, dtype=object))
    with pytest.raises(EvodrumError, match="obj.npz"):
        load_pca(tmp_path / "obj.npz")


def test_density_calibration_matches_corpus_rows(groove):
    model = _model()
    calibrate.calibrate(model, "density", groove["validation"], groove["train"])
    samples = model.sample(4000, rng=5, tidy=True)     # the thresholds set the likeliest hits
    dev = metrics.density_deviation(samples, groove["train"])
    assert np.abs(dev[:5]).max() < 0.1, dev  # the common rows: BD SD CH OH RD
    assert model.card["threshold_method"] == "density"


def test_prior_gap_is_zero_when_encodings_fill_the_prior():
    rng = np.random.default_rng(0)
    mu = rng.standard_normal((20000, 5)) * 0.6
    fits = np.full((20000, 5), np.log(0.64))  # var(mu) + posterior variance = 1
    assert metrics.prior_gap(mu, fits) < 0.01
    assert metrics.prior_gap(mu * 3 + 1, fits) > 5


def test_interpolation_and_variation_paths():
    a, b = np.full(20, -1.0, np.float32), np.linspace(-2, 2, 20).astype(np.float32)
    for path in (latent.lerp(a, b, 5), latent.slerp(a, b, 5)):
        np.testing.assert_allclose(path[0], a, atol=1e-5)
        np.testing.assert_allclose(path[-1], b, atol=1e-5)
    norms = np.linalg.norm(latent.slerp(a, b, 5), axis=1)
    np.testing.assert_allclose(norms, np.linspace(norms[0], norms[-1], 5), rtol=1e-5)
    near = latent.vary(a, 200, 0.3, np.ones(20), rng=0)
    assert 0.25 < (near - a).std() < 0.35
    sweep = latent.axis_sweep(20, 0, -3, 3, 7)
    assert sweep[0, 0] == -3 and sweep[-1, 0] == 3 and not sweep[:, 1:].any()


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model in vae/default yet")
def test_shipped_models_load_without_a_corpus_and_credit_the_data():
    model = vae.load_model()
    assert model.zdim == 20 and model.spec == DEFAULT_SPEC and model.kind == "twohead"
    card = model.card
    assert "Groove MIDI Dataset" in card["credits"] and "CC BY 4.0" in card["credits"]
    test = card["metrics"]["test"]
    assert test["f1"] > 0.7 and test["ghost_rate"] == 0.0
    grids = model.sample(500, rng=0)
    assert 0.10 < (grids > 0).mean() < 0.16  # the corpus has about 13% hits
    midi_levels = quantize_velocity(grids)
    assert ((midi_levels > 0) == (grids > 0)).all()
    pca = vae.load_default_pca()
    assert pca.zdim == 20 and pca.latent_std.shape == (20,)
    assert os.path.getsize(DEFAULT_MODEL) < 4_000_000


def test_encoder_input_choice_is_kept_by_the_file_and_changes_what_the_encoder_sees(tmp_path):
    spec = DEFAULT_SPEC
    grids = np.zeros((2, *spec.shape), np.float32)
    grids[:, 0, ::4] = [[0.3], [0.9]]           # same onsets, different velocities
    for choice in ("velocity", "onsets", "both"):
        arch = Arch("twohead", spec.shape[0] * spec.steps, hidden=32, zdim=6,
                    encoder_input=choice)
        model = DrumModel(init_seeded(arch, 0), spec, {"name": choice})
        save_model(tmp_path / f"{choice}.pt", model)
        loaded = vae.load_model(tmp_path / f"{choice}.pt")
        assert loaded.arch.encoder_input == choice
        z = loaded.encode(grids)
        np.testing.assert_array_equal(z, model.encode(grids))
        assert np.allclose(z[0], z[1]) == (choice == "onsets")
    with pytest.raises(ValueError, match="encoder input"):
        Arch(encoder_input="midi")
