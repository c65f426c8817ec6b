"""A training checkpoint someone hands you (`train --resume`): the optimiser's state is
checked against the network before a step is taken, and the run's own settings are used,
never the file's (fast tier: a tiny network on random loops, no corpus)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from evodrum.errors import EvodrumError
from evodrum.grid import DEFAULT_SPEC
from vae.train import TrainConfig, Trainer

CONFIG = dict(offset_rank=0, hidden=8, zdim=3, batch_size=32, threads=1, seed=2)


def _trainer(folder, epochs, resume=False):
    rng = np.random.default_rng(0)
    grids = ((rng.random((48, 9, 64)) < 0.15) * rng.random((48, 9, 64))).astype(np.float32)
    return Trainer(folder, grids, grids[:16], DEFAULT_SPEC, TrainConfig(epochs=epochs, **CONFIG),
                   {"name": "random", "manifest_hash": "h"}, resume=resume)


@pytest.fixture(scope="module")
def one_epoch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train") / "run"
    _trainer(folder, 1).run()
    return folder


def _weights(folder):
    return torch.load(folder / "checkpoint.pt", weights_only=True)["weights"]


def test_a_resumed_run_ends_as_an_uninterrupted_one(one_epoch, tmp_path):
    _trainer(tmp_path / "straight", 2).run()
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    (resumed / "checkpoint.pt").write_bytes((one_epoch / "checkpoint.pt").read_bytes())
    _trainer(resumed, 2, resume=True).run()
    for name, value in _weights(tmp_path / "straight").items():
        assert torch.equal(value, _weights(resumed)[name]), name


def _group(**changes):
    return lambda o: o["param_groups"][0].update(changes)


def _moment(name, value):
    return lambda o: o["state"][0].update({name: value(o["state"][0][name])})


@pytest.mark.parametrize("change, words", [
    (_moment("exp_avg", lambda m: torch.full_like(m, float("nan"))),
     "state[0].exp_avg must hold finite"),
    (_moment("exp_avg", lambda m: torch.zeros(3)),
     "state[0].exp_avg must be floating-point numbers of shape"),
    (_moment("exp_avg_sq", lambda m: -torch.ones_like(m)), "exp_avg_sq must hold finite numbers, "
     "none below 0"),
    (_moment("step", lambda s: torch.tensor(-5.0)), "state[0].step must be a count"),
    (_moment("step", lambda s: "x"), "state[0].step must be a count"),
    (lambda o: o["state"][0].update(max_exp_avg_sq=o["state"][0]["exp_avg"]),
     "state[0] must hold Adam's step"),
    (_group(params=[0]), "params must number the network's"),
    (lambda o: o["param_groups"].append(dict(o["param_groups"][0])), "one parameter group"),
    (lambda o: o.clear(), "one parameter group"),
])
def test_a_damaged_optimiser_state_is_one_line_naming_the_entry(one_epoch, tmp_path, change,
                                                                words):
    folder = tmp_path / "run"
    folder.mkdir()
    payload = torch.load(one_epoch / "checkpoint.pt", weights_only=True)
    change(payload["optimizer"])
    torch.save(payload, folder / "checkpoint.pt")
    before = (folder / "checkpoint.pt").read_bytes()
    with pytest.raises(EvodrumError, match="damaged checkpoint") as refused:
        _trainer(folder, 2, resume=True)
    assert f"optimizer.{words}" in str(refused.value) or words in str(refused.value), \
        str(refused.value)
    assert "\n" not in str(refused.value)
    assert (folder / "checkpoint.pt").read_bytes() == before


def test_the_optimiser_settings_in_a_checkpoint_are_never_used(one_epoch, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    payload = torch.load(one_epoch / "checkpoint.pt", weights_only=True)
    payload["optimizer"]["param_groups"][0].update(lr=float("nan"), betas=(2.0, -1.0),
                                                   eps="x", amsgrad=True)
    torch.save(payload, folder / "checkpoint.pt")
    result = _trainer(folder, 2, resume=True).run()     # was a traceback, or NaN weights
    assert np.isfinite(result.history[-1]["loss"])
    group = torch.load(folder / "checkpoint.pt", weights_only=True)["optimizer"]["param_groups"][0]
    assert (group["lr"], group["eps"], group["amsgrad"]) == (TrainConfig().lr, 1e-8, False)
