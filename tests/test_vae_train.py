"""VAE training on the real groove corpus: loss falls, beats PCA, seeds and resume are exact."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from evodrum.errors import EvodrumError
from vae import metrics
from vae.calibrate import calibrate
from vae.files import load_vae
from vae.pca import fit_pca
from vae.train import TrainConfig, Trainer, finish, saved_config


@pytest.fixture(scope="module")
def splits(groove_corpus):
    c = groove_corpus
    out = {s: c.split_grids(s) for s in ("train", "validation", "test")}
    offsets = {f"{s}_offsets": c.offsets[c.split_mask(s)] for s in ("train", "validation")}
    return dict(out, **offsets, spec=c.spec)


def _small(splits, n=1500):
    """A fixed subset of training windows from many files with their timing, for quick
    trainings: (grids, offsets)."""
    idx = np.sort(np.random.default_rng(0).choice(len(splits["train"]), n, replace=False))
    return splits["train"][idx], splits["train_offsets"][idx]


def _trainer(folder, splits, config, train=None, resume=False):
    grids, offsets = ((splits["train"], splits["train_offsets"]) if train is None else train)
    return Trainer(folder, grids, splits["validation"][:300], splits["spec"], config,
                   {"name": "groove", "manifest_hash": "test"}, resume=resume,
                   train_offsets=offsets, validation_offsets=splits["validation_offsets"][:300])


def test_loss_falls_and_run_folder_is_complete(tmp_path, splits):
    config = TrainConfig(hidden=64, epochs=4, batch_size=64, threads=1)
    result = _trainer(tmp_path, splits, config, _small(splits)).run()
    losses = [row["loss"] for row in result.history]
    val = [row["val_loss"] for row in result.history]
    assert losses[-1] < 0.8 * losses[0] and val[-1] < val[0]
    assert {"hit", "velocity", "kl", "val_f1"} <= set(result.history[0])
    csv = (tmp_path / "history.csv").read_text().splitlines()
    assert csv[0].startswith("epoch,") and len(csv) == 5
    model = load_vae(tmp_path / "model.pt")
    assert model.card["training"]["best_epoch"] == result.best_epoch
    assert model.card["corpus"]["manifest_hash"] == "test"
    assert (tmp_path / "model.json").is_file()


def test_twohead_reconstructs_better_than_pca(tmp_path, splits):
    """Four epochs on the full train split already beat PCA-20 on unseen loops."""
    test = splits["test"]
    result = _trainer(tmp_path, splits, TrainConfig(epochs=4, batch_size=32, threads=1)).run()
    model = finish(result, splits["validation"], splits["train"], test, threshold="f1")
    pca = fit_pca(splits["train"], splits["validation"], model.spec)
    vae_f1 = metrics.onset_scores(test, model.decode(model.encode(test)))["f1"]
    pca_f1 = metrics.onset_scores(test, pca.decode(pca.encode(test)))["f1"]
    assert vae_f1 > pca_f1 + 0.01, (vae_f1, pca_f1)
    assert model.card["metrics"]["test"]["f1"] == pytest.approx(vae_f1)
    # per-row density thresholds: prior samples get the corpus's hit density per row
    calibrate(model, "density", splits["validation"], splits["train"])
    samples = model.sample(4000, rng=1)
    assert np.abs(metrics.density_deviation(samples, splits["train"])[:3]).max() < 0.1
    assert abs((samples > 0).mean() / (splits["train"] > 0).mean() - 1) < 0.1
    assert metrics.ghost_rate(samples, splits["train"]) == 0.0
    assert metrics.soft_share(samples) > 0.1  # hits keep real dynamics


def _weights(folder):
    payload = torch.load(folder / "checkpoint.pt", weights_only=True)
    return payload["weights"], payload["optimizer"]


def test_same_seed_same_run_and_resume_after_interrupt_is_exact(tmp_path, splits):
    train = _small(splits, 1000)
    config = TrainConfig(hidden=48, epochs=3, batch_size=128, seed=7, threads=1)
    _trainer(tmp_path / "a", splits, config, train).run()
    _trainer(tmp_path / "b", splits, config, train).run()

    def interrupt(row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _trainer(tmp_path / "c", splits, config, train).run(interrupt)
    assert saved_config(tmp_path / "c").epochs_done == 2
    _trainer(tmp_path / "c", splits, config, train, resume=True).run()

    (wa, oa), (wb, _), (wc, oc) = (_weights(tmp_path / d) for d in "abc")
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name
        assert torch.equal(wa[name], wc[name]), name
    for key, state in oa["state"].items():
        for k, v in state.items():
            assert torch.equal(v, oc["state"][key][k])
    other_config = TrainConfig(hidden=48, epochs=1, seed=8, threads=1)
    other = _trainer(tmp_path / "d", splits, other_config, train)
    other.run()
    assert not torch.equal(_weights(tmp_path / "d")[0]["enc_hidden.weight"],
                           wa["enc_hidden.weight"])


def test_resume_refuses_changed_settings_and_fresh_run_refuses_used_folder(tmp_path, splits):
    train = _small(splits, 300)
    config = TrainConfig(hidden=16, epochs=1)
    _trainer(tmp_path, splits, config, train).run()
    with pytest.raises(EvodrumError, match="--resume"):
        _trainer(tmp_path, splits, config, train)
    with pytest.raises(EvodrumError, match="zdim"):
        _trainer(tmp_path, splits, TrainConfig(hidden=16, zdim=8, epochs=2), train, resume=True)


@pytest.mark.parametrize("change,words", [
    (lambda p: p.update(best_loss=float("nan")), "progress.best_loss must be a finite number"),
    (lambda p: p.update(best_epoch=10**9), "progress.best_epoch must be within"),
    (lambda p: p.update(history=[{"loss": "low"}]), "progress.history[0].loss must be a number"),
    (lambda p: p.update(seconds=-1), "progress.seconds must be at least 0"),
])
def test_a_damaged_training_checkpoint_is_one_line_naming_the_field(tmp_path, splits, change,
                                                                   words):
    import json
    train = _small(splits, 300)
    _trainer(tmp_path, splits, TrainConfig(hidden=16, epochs=1), train).run()
    config = TrainConfig(hidden=16, epochs=2)    # resumed for one more epoch
    path = tmp_path / "checkpoint.pt"
    payload = torch.load(path, weights_only=True)
    progress = json.loads(payload["progress"])
    change(progress)
    payload["progress"] = json.dumps(progress)
    torch.save(payload, path)
    with pytest.raises(EvodrumError, match="damaged checkpoint") as refused:
        _trainer(tmp_path, splits, config, train, resume=True)
    assert words in str(refused.value), str(refused.value)
