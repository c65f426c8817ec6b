"""The decoders session 6 of issue 19 compared (benchmarks.decoders): their likelihoods
and decodings mean what the report says they mean."""
import importlib
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
STEPS, BARS = 8, 2


@pytest.fixture
def d(monkeypatch):
    """benchmarks.decoders (benchmarks run from the checkout, not the installed package)."""
    monkeypatch.syspath_prepend(str(REPO))
    return importlib.import_module("benchmarks.decoders")


def _codes(d, n=16, seed=0):
    return torch.randn(n, d.ZDIM, generator=torch.Generator().manual_seed(seed))


def test_one_bar_shape_is_the_factorised_decoder(d):
    torch.manual_seed(0)
    factorised, mixture = d.Factorised(STEPS, BARS), d.BarMixture(STEPS, BARS, 1)
    mixture.trunk.load_state_dict(factorised.trunk.state_dict())
    mixture.hits.load_state_dict(factorised.hits.state_dict())
    z = _codes(d)
    hits = (torch.rand(len(z), d.ROWS, STEPS, generator=torch.Generator().manual_seed(1)) < 0.3
            ).float()
    torch.testing.assert_close(mixture.nll(z, hits), factorised.nll(z, hits))
    cut = torch.full((d.ROWS,), 0.4)
    assert torch.equal(mixture.decode(z, cut)[0], factorised.decode(z, cut)[0])


def test_a_bar_takes_the_shape_its_weights_choose(d):
    torch.manual_seed(0)
    mixture = d.BarMixture(STEPS, BARS, 2)
    with torch.no_grad():   # shape 0 plays every cell, shape 1 none; bar 0 picks 1, bar 1 picks 0
        mixture.hits.weight.zero_()
        mixture.hits.bias.copy_(torch.cat([torch.full((d.ROWS * STEPS,), 9.0),
                                           torch.full((d.ROWS * STEPS,), -9.0)]))
        mixture.weights.weight.zero_()
        mixture.weights.bias.copy_(torch.tensor([-1.0, 1.0, 1.0, -1.0]))
    hits, _ = mixture.decode(_codes(d), torch.full((d.ROWS,), 0.5))
    half = STEPS // BARS
    assert not hits[:, :, :half].any() and hits[:, :, half:].all()


def test_the_autoregressive_decoder_sees_only_the_hits_before_each_step(d):
    torch.manual_seed(0)
    decoder = d.Autoregressive(STEPS, BARS, state=32, position=4)
    z = _codes(d)
    greedy, probabilities = decoder.decode(z, torch.full((d.ROWS,), 0.5))
    assert greedy.any() and not greedy.all()
    # Teacher-forced on its own greedy hits it gives the same probabilities: step t's
    # logits read hits up to t - 1, never the cell they predict.
    forced, _ = decoder._run(z, lambda t, _: greedy[:, :, t])
    torch.testing.assert_close(torch.sigmoid(forced), probabilities)
    changed = greedy.clone()
    changed[:, :, -1] = ~changed[:, :, -1]
    refed, _ = decoder._run(z, lambda t, _: changed[:, :, t])
    torch.testing.assert_close(refed, forced)   # the last step's hits feed nothing


def test_drawing_at_a_low_temperature_is_deciding_at_one_half(d):
    torch.manual_seed(0)
    for decoder in (d.Factorised(STEPS, BARS),
                    d.Autoregressive(STEPS, BARS, state=32, position=4)):
        z = _codes(d)
        drawn = decoder.draw(z, 1e-9, torch.Generator().manual_seed(2))
        assert torch.equal(drawn, decoder.decode(z, torch.full((d.ROWS,), 0.5))[0])
