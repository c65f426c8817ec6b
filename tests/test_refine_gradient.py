"""Refinement without torch, on tiny synthetic decoders (fast tier): the hand-written
gradient is the derivative of the loss (as shipped: cut at the thresholds, sharpened),
loops the decoder can play are found, a loop whose onsets are exact stops there while
the others go on, and no loop gets worse."""
from __future__ import annotations

import numpy as np
import pytest

from evodrum.grid import GridSpec
from vae import metrics, refine
from vae.decoder import Decoder, Layer, NumpyDecoding
from vae.hitloss import HitLoss

SPEC = GridSpec(bars=1)          # 9 rows x 16 steps = 144 cells
ZDIM, HIDDEN = 4, 24


def tiny_decoder(seed: int, trunk: str = "relu", head: str = "none",
                 dtype=np.float32) -> Decoder:
    rng = np.random.default_rng(seed)
    cells = SPEC.shape[0] * SPEC.steps

    def layer(n_in, n_out, activation, scale):
        return Layer((scale * rng.standard_normal((n_in, n_out))).astype(dtype),
                     (0.3 * rng.standard_normal(n_out)).astype(dtype), activation)
    return Decoder([layer(ZDIM, HIDDEN, trunk, 1.0)], {"hits": [layer(HIDDEN, cells, head, 0.8)]})


class Tiny(NumpyDecoding):
    """A decoder-only representation whose 'encoder' returns fixed first guesses."""

    def __init__(self, decoder: Decoder, guesses: np.ndarray):
        self.decoder, self.guesses = decoder, np.asarray(guesses, np.float32)
        self.spec, self.zdim, self.card = SPEC, ZDIM, {"name": "tiny"}
        self.latent_std = np.ones(ZDIM, np.float32)
        self.hit_threshold = 0.5

    def encode(self, grids):
        return self.guesses[:len(grids)].copy()


def loss_of(decoder: Decoder, z, hits, prior_weight, hit_weight, miss_weight, cut,
            temperature) -> np.ndarray:
    """The refinement loss per loop, written from its definition (float64)."""
    x = (decoder.head("hits", decoder.hidden(z)) - cut) / temperature
    log_s, log_not_s = -np.logaddexp(0, -x), -np.logaddexp(0, x)
    bce = -(hit_weight * hits * log_s + miss_weight * (1 - hits) * log_not_s)
    return bce.sum(axis=1) + prior_weight * 0.5 * (z * z).sum(axis=1)


def row_thresholds(seed: int) -> np.ndarray:
    """Per-row hit thresholds as logits, one per cell, as NumpyDecoding.hit_cut has them
    (float32 values, so HitLoss's float32 copy is exact)."""
    t = np.random.default_rng(seed).uniform(0.15, 0.7, SPEC.shape[0])
    return np.repeat(np.log(t / (1 - t)), SPEC.steps).astype(np.float32).astype(np.float64)


SHIPPED = refine.Loss()
#: (prior weight, hit weight, miss weight, cut at the thresholds, temperature)
LOSSES = {
    "likelihood": (1.0, 1.0, 1.0, False, 1.0),
    "shipped": (refine.PRIOR_WEIGHT, SHIPPED.hit_weight, 1.0, SHIPPED.at_thresholds,
                SHIPPED.temperature),
    "other": (0.3, 2.0, 0.5, True, 0.25),
}


@pytest.mark.parametrize("trunk, head", [("relu", "none"), ("tanh", "sigmoid"),
                                         ("sigmoid", "tanh"), ("none", "none")])
@pytest.mark.parametrize("setting", LOSSES)
def test_the_gradient_is_the_derivative_of_the_loss(trunk, head, setting):
    """Against central differences of the loss written out, for the loss refinement
    ships (cut at per-row thresholds, sharpened), the trained likelihood and another."""
    prior, hit, miss, at_thresholds, temperature = LOSSES[setting]
    assert SHIPPED.at_thresholds and SHIPPED.temperature != 1     # the shipped loss is cut
    decoder = tiny_decoder(1, trunk, head, np.float64)
    rng = np.random.default_rng(2)
    z = rng.standard_normal((5, ZDIM))
    hits = (rng.random((5, SPEC.shape[0] * SPEC.steps)) < 0.2).astype(np.float64)
    cut = row_thresholds(3) if at_thresholds else 0.0
    weights = (prior, hit, miss)
    loss = HitLoss(decoder, hits, *weights, cut, temperature)
    loss.hits, loss.a, loss.b, loss.k, loss.k_cut = (
        np.asarray(a, np.float64) for a in (loss.hits, loss.a, loss.b, loss.k, loss.k_cut))
    logits, grad = loss.logits_and_gradient(z.copy())
    np.testing.assert_allclose(logits, decoder.head("hits", decoder.hidden(z)))
    h = 1e-6
    numeric = np.stack([(loss_of(decoder, z + h * e, hits, *weights, cut, temperature)
                         - loss_of(decoder, z - h * e, hits, *weights, cut, temperature))
                        / (2 * h) for e in np.eye(ZDIM)], axis=1)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


def test_an_activation_without_a_derivative_is_refused():
    decoder = tiny_decoder(1)
    decoder.trunk[0].activation = "softplus"
    with pytest.raises(ValueError, match="softplus"):
        HitLoss(decoder, np.zeros((1, 144), np.float32))


def playable_loops(decoder, n, seed):
    """Loops the decoder plays exactly (decoded from codes), and first guesses some way off."""
    rng = np.random.default_rng(seed)
    truth = rng.standard_normal((n, ZDIM)).astype(np.float32)
    model = Tiny(decoder, truth + rng.normal(0, 0.5, truth.shape).astype(np.float32))
    return model, model.decode(truth), truth


def test_refinement_finds_codes_for_loops_the_decoder_can_play():
    model, grids, _ = playable_loops(tiny_decoder(3), 40, 4)
    start = refine.encode(model, grids, steps=0)
    np.testing.assert_array_equal(start.codes, model.guesses)
    enc = refine.encode(model, grids, steps=200, lr=0.05, prior_weight=0)
    np.testing.assert_allclose(enc.f1, metrics.loop_f1(grids, model.decode(enc.codes)))
    assert (enc.f1 >= enc.f1_mean).all()
    assert enc.f1_mean.mean() < 0.9 and (enc.f1_mean < 1).mean() > 0.8
    assert enc.f1.mean() > 0.97 and (enc.f1 == 1).mean() > 0.3, enc.f1


def test_a_loop_stops_once_exact_and_the_others_go_on():
    decoder = tiny_decoder(5)
    model, grids, truth = playable_loops(decoder, 12, 6)
    model.guesses[:4] = truth[:4]                      # these start exact
    enc = refine.encode(model, grids, steps=60)
    np.testing.assert_array_equal(enc.codes[:4], truth[:4])
    assert (enc.f1[:4] == 1).all() and (enc.f1_mean[:4] == 1).all()
    moved = np.abs(enc.codes[4:] - model.guesses[4:]).max(axis=1) > 1e-3
    assert moved.all()
    # Every loop is refined on its own: alone or in a batch, the same code comes out.
    for i in (4, 9):
        alone = refine.encode(Tiny(decoder, model.guesses[i:i + 1]), grids[i:i + 1], steps=60)
        np.testing.assert_allclose(alone.codes[0], enc.codes[i], atol=1e-4)
        assert alone.f1[0] == enc.f1[i]


def test_an_empty_loop_is_exact_when_decoded_empty():
    decoder = tiny_decoder(7)
    decoder.heads["hits"][0].bias[:] = -50               # plays nothing anywhere
    model = Tiny(decoder, np.zeros((2, ZDIM)))
    grids = np.zeros((2, *SPEC.shape), np.float32)
    grids[1, 0, 0] = 1                                    # one loop with a single kick
    enc = refine.encode(model, grids, steps=5)
    assert enc.f1[0] == 1 and enc.f1[1] == 0
    np.testing.assert_array_equal(enc.codes[0], 0)


def test_each_loop_keeps_its_best_start():
    """Starts beside the encoder mean: the pattern's code and the learned prior's means
    whose loops are nearest. A loop that one of them plays exactly ends there."""
    from vae.prior import MixturePrior
    decoder = tiny_decoder(8)
    model, grids, truth = playable_loops(decoder, 6, 9)
    far = model.guesses + 3.0
    model.guesses = far
    means = np.concatenate([truth[:3], np.random.default_rng(1).normal(0, 1, (5, ZDIM))])
    model.mixture = MixturePrior(np.full(8, 1 / 8), means.astype(np.float32),
                                 np.tile(np.eye(ZDIM, dtype=np.float32), (8, 1, 1)))
    model.posterior_of_pattern = lambda grids: far[:len(grids)] - 6.0
    alone = refine.encode(model, grids, steps=30, starts=1, search=0)
    enc = refine.encode(model, grids, steps=30, starts=4, search=0)
    np.testing.assert_array_equal(enc.codes[:3], truth[:3])
    assert (enc.f1[:3] == 1).all() and (alone.f1[:3] < 1).all()
    assert (enc.f1 >= alone.f1).all()
    # one start is the encoder mean alone; extra starts a model lacks are left out
    del model.mixture, model.posterior_of_pattern
    np.testing.assert_array_equal(refine.encode(model, grids, steps=30, starts=10,
                                                search=0).codes, alone.codes)


def test_the_search_on_exact_f1_flips_cells_the_gradient_leaves(monkeypatch):
    """The final search only ever moves a loop to a code that plays it better, leaves
    exact loops alone, and gives a loop the same code alone or in a batch of any size."""
    decoder = tiny_decoder(12)
    model, grids, truth = playable_loops(decoder, 40, 13)
    model.guesses[:3] = truth[:3]                      # exact from the start
    before = refine.encode(model, grids, steps=3, starts=1, search=0)
    after = refine.encode(model, grids, steps=3, starts=1)
    np.testing.assert_allclose(after.f1, metrics.loop_f1(grids, model.decode(after.codes)))
    assert (after.f1 >= before.f1).all()
    assert after.f1.mean() > before.f1.mean() + 0.02, (before.f1.mean(), after.f1.mean())
    np.testing.assert_array_equal(after.codes[:3], truth[:3])
    moved = np.abs(after.codes - before.codes).max(axis=1) > 0
    assert (after.f1[moved] > before.f1[moved]).all() and moved.sum() > 10
    for i in (5, 17):
        alone = refine.encode(Tiny(decoder, model.guesses[i:i + 1]), grids[i:i + 1], steps=3,
                              starts=1)
        np.testing.assert_allclose(alone.codes[0], after.codes[i], atol=1e-4)
        assert alone.f1[0] == after.f1[i]
    monkeypatch.setattr(refine, "SEARCH_BATCH", 7)       # the loops searched in 6 batches
    split = refine.encode(model, grids, steps=3, starts=1)
    np.testing.assert_allclose(split.codes, after.codes, atol=1e-4)
    np.testing.assert_array_equal(split.f1, after.f1)


class CountedLoss(HitLoss):
    """A HitLoss that counts the Adam steps taken (one gradient each)."""
    steps = 0

    def logits_and_gradient(self, z):
        self.steps += 1
        return super().logits_and_gradient(z)


@pytest.mark.parametrize("at_thresholds", [False, True])
def test_an_exact_loop_of_any_onset_count_stops_at_once(at_thresholds):
    """Loops of 1 to 40 onsets, each decoded exactly from its start, stop at step 0 (an
    F1 of 8 to 15 onsets rounds to 1.0000001 in float32: exactness is counted)."""
    cells = SPEC.shape[0] * SPEC.steps
    rng = np.random.default_rng(11)
    hits = np.zeros((40, cells), np.float32)
    for k in range(1, 41):
        hits[k - 1, rng.choice(cells, k, replace=False)] = 1
    cut = row_thresholds(4).astype(np.float32) if at_thresholds else np.zeros(cells, np.float32)
    eye = np.eye(cells, dtype=np.float32)        # the code is the logits
    decoder = Decoder([Layer(eye, np.zeros(cells, np.float32), "none")],
                      {"hits": [Layer(eye, np.zeros(cells, np.float32), "none")]})
    starts = (cut + np.where(hits > 0, 2.0, -2.0)).astype(np.float32)[None]
    loss = CountedLoss(decoder, hits, cut=cut, temperature=0.5)
    best = refine._refine(loss, cut, starts, steps=50, lr=0.2)
    assert loss.steps == 1
    np.testing.assert_array_equal(best, starts[0])
