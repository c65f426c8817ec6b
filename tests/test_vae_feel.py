"""The model's feel (timing head, scatter tables) and learned prior, on the real corpus.

Fast tier: the mixture prior and the scatter tables as arrays (fit, sample, store,
refuse damage). Corpus tier: a real training of a few epochs whose timing head beats
zero offset on held-out loops, whose files keep prior and tables, and whose feel API
keeps the hits and plays them as the real drummers' spread says.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from evodrum.errors import EvodrumError
from evodrum.loop import Loop
from vae import feel, feelmetrics, prior
from vae.files import load_vae
from vae.train import TrainConfig, Trainer, finish


# --- fast tier: arrays -------------------------------------------------------

def _clusters(n=4000, seed=0):
    """Codes from three well separated blobs in 5-d, with small posterior variances."""
    rng = np.random.default_rng(seed)
    centres = np.array([[4, 0, 0, 0, 0], [-4, 0, 0, 0, 0], [0, 4, 0, 0, 0]], float)
    which = rng.integers(0, 3, n)
    mu = centres[which] + 0.3 * rng.standard_normal((n, 5))
    return mu, np.full_like(mu, np.log(0.01))


def test_mixture_prior_samples_where_the_codes_are_not_the_holes():
    mu, logvar = _clusters()
    learned = prior.fit(mu, logvar, components=3)
    z = learned.sample(3000, rng=1)
    assert z.shape == (3000, 5) and z.dtype == np.float32
    nearest = np.min(np.linalg.norm(z[:, None] - mu[None, ::10], axis=2), axis=1)
    assert np.median(nearest) < 0.6    # samples land among the codes
    assert (np.linalg.norm(z, axis=1) > 2).mean() > 0.95   # never the empty centre
    assert learned.log_density(np.zeros((1, 5)))[0] < learned.log_density(mu[:1])[0] - 20
    # temperature 0: the component means; the same seed, the same draws
    assert np.allclose(learned.sample(5, 0.0, rng=2),
                       learned.means[np.random.default_rng(2).choice(3, 5, p=learned.weights)])
    assert np.array_equal(learned.sample(7, rng=3), learned.sample(7, rng=3))


def test_mixture_prior_round_trips_its_arrays_and_refuses_damaged_ones():
    mu, logvar = _clusters(1200)
    learned = prior.fit(mu, logvar, components=3)
    again = prior.MixturePrior.from_arrays(learned.to_arrays())
    assert np.array_equal(again.sample(10, rng=0), learned.sample(10, rng=0))
    arrays = learned.to_arrays()
    for key, bad in (("weights", arrays["weights"] * 2), ("means", arrays["means"][:, :3]),
                     ("chol", -arrays["chol"]), ("means", arrays["means"] * np.nan)):
        with pytest.raises(ValueError):
            prior.MixturePrior.from_arrays(dict(arrays, **{key: bad}))


def _tables(n=600, seed=0):
    """Tables from made-up loops whose residuals are known: offsets N(0, 0.1) on rows 0-4,
    N(0, 0.2) on rows 5-8; velocity residuals uniform +-0.1."""
    rng = np.random.default_rng(seed)
    hits = rng.random((n, 9, 64)) < 0.2
    scale = np.where(np.arange(9) < 5, 0.1, 0.2)[None, :, None]
    real_o = np.where(hits, np.clip(scale * rng.standard_normal(hits.shape), -0.5, 0.49), 0)
    real_v = np.where(hits, 0.6 + rng.uniform(-0.1, 0.1, hits.shape), 0)
    expected = np.zeros(hits.shape), np.where(hits, 0.6, 0)
    bpm = rng.uniform(70, 160, n)
    return hits, feel.fit_tables(hits, real_v, real_o, expected[1], expected[0], bpm), real_o


def test_scatter_tables_draw_the_real_spread_per_row():
    hits, tables, real_o = _tables()
    assert tables.offset.shape == (9, len(feel.TEMPO_EDGES) + 1, len(feel.LEVELS))
    velocity, offset = feel.perform(hits, np.where(hits, 0.6, 0), np.zeros(hits.shape), 100.0,
                                    tables, 1.0, rng=4)
    assert np.array_equal(velocity > 0, hits)
    assert np.all(offset[~hits] == 0) and offset.min() >= -0.5 and offset.max() < 0.5
    for row in (0, 7):
        played, real = offset[:, row][hits[:, row]], real_o[:, row][hits[:, row]]
        assert played.std() == pytest.approx(real.std(), rel=0.1)
    assert np.abs(velocity[hits] - 0.6).max() <= 0.1 + 1e-6
    # scatter 0: the expected feel exactly; scatter 0.5: half the spread
    v0, o0 = feel.perform(hits, np.where(hits, 0.6, 0), np.zeros(hits.shape), 100.0, tables, 0)
    assert np.all(o0 == 0) and np.allclose(v0[hits], 0.6)
    _, half = feel.perform(hits, np.where(hits, 0.6, 0), np.zeros(hits.shape), 100.0, tables,
                           0.5, rng=4)
    assert half[:, 7][hits[:, 7]].std() == pytest.approx(0.5 * offset[:, 7][hits[:, 7]].std(),
                                                         rel=0.05)


def test_scatter_tables_round_trip_and_refuse_unordered_quantiles():
    _, tables, _ = _tables(200)
    again = feel.FeelTables.from_arrays(tables.to_arrays())
    assert np.array_equal(again.offset, tables.offset)
    bad = tables.to_arrays()
    bad["offset"] = bad["offset"][..., ::-1].copy()
    with pytest.raises(ValueError):
        feel.FeelTables.from_arrays(bad)
    assert list(feel.tempo_band([60, 85, 100, 200])) == [0, 1, 1, 4]


# --- corpus tier: a real training --------------------------------------------

@pytest.fixture(scope="module")
def trained(groove_corpus, tmp_path_factory):
    """A feel model trained for 3 epochs on 3,000 real training windows."""
    c = groove_corpus
    train = np.flatnonzero(c.split == "train")
    idx = np.sort(np.random.default_rng(0).choice(train, 3000, replace=False))
    val = np.flatnonzero(c.split == "validation")[:400]
    folder = tmp_path_factory.mktemp("feel-train")
    config = TrainConfig(epochs=3, batch_size=64, threads=1)
    trainer = Trainer(folder, c.grids[idx], c.grids[val], c.spec, config, {"name": "groove"},
                      train_offsets=c.offsets[idx], validation_offsets=c.offsets[val])
    result = trainer.run()
    model = finish(result, c.grids[val], c.grids[idx], reference_offsets=c.offsets[idx],
                   reference_bpm=c.bpm[idx])
    return model, folder


@pytest.fixture(scope="module")
def heldout(groove_corpus):
    c = groove_corpus
    test = np.flatnonzero(c.split == "test")[::4]
    return c.grids[test], c.offsets[test], c.bpm[test]


def test_timing_head_beats_zero_offset_on_held_out_loops(trained, heldout, groove_corpus):
    model, _ = trained
    grids, offsets, bpm = heldout
    c = groove_corpus
    template = feelmetrics.Template.fit(c.grids[c.split == "train"],
                                        c.offsets[c.split == "train"], c.spec)
    errors = feelmetrics.expected_errors(model, grids, offsets, bpm, template, c.spec)
    timing = errors["timing_mae_ms"]
    assert timing["model, expected feel"] < timing["zero offset"] - 1.0, timing
    assert errors["velocity_mae"]["model, expected feel"] < errors["velocity_mae"]["constant"]


def test_model_file_keeps_prior_and_tables_and_samples_from_the_prior(trained, tmp_path):
    model, folder = trained
    loaded = load_vae(folder / "model.pt")
    assert loaded.prior == "learned" and loaded.has_feel
    assert loaded.card["prior"]["components"] == loaded.mixture.components
    assert np.array_equal(loaded.sample_latent(5, rng=1), model.mixture.sample(5, rng=1))
    assert loaded.use_prior("normal") == "normal"
    assert np.array_equal(loaded.sample_latent(5, rng=1),
                          np.random.default_rng(1).standard_normal((5, model.zdim),
                                                                   dtype=np.float32))
    # the stored arrays are plain tensors: the file loads with weights_only
    payload = torch.load(folder / "model.pt", weights_only=True)
    assert set(payload["prior"]) == {"weights", "means", "chol"}
    payload["feel"]["offset"] = payload["feel"]["offset"].flip(-1)
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(EvodrumError, match="damaged feel"):
        load_vae(tmp_path / "bad.pt")


def test_feel_keeps_the_hits_and_plays_them_like_drummers(trained, heldout):
    model, _ = trained
    grids, offsets, bpm = heldout
    pattern = feelmetrics.pattern(grids)
    played = model.feel(Loop.straight(pattern, model.spec), bpm=bpm, scatter=1.0, rng=0)
    assert isinstance(played, Loop)
    assert np.array_equal(played.velocities > 0, grids > 0)
    hits = grids > 0
    # performed feel: the spread of real offsets, not the stiff expected one
    expected = model.feel(pattern, bpm=bpm, scatter=0)
    real_sd = offsets[hits].std()
    assert expected.offsets[hits].std() < 0.7 * real_sd
    assert played.offsets[hits].std() == pytest.approx(real_sd, rel=0.25)
    # repeatable with a seed; one loop in, one loop out
    again = model.feel(pattern, bpm=bpm, scatter=1.0, rng=0)
    assert np.array_equal(again.offsets, played.offsets)
    one = model.feel(pattern[0], bpm=120.0, scatter=0)
    assert one.velocities.shape == pattern[0].shape


def test_decoded_loops_with_feel_have_the_decoders_hits(trained):
    model, _ = trained
    z = model.sample_latent(50, rng=2)
    loops = model.decode_loops(z, bpm=100.0, rng=3)
    assert np.array_equal(loops.velocities > 0, model.decode(z) > 0)
    assert np.abs(loops.offsets[loops.velocities > 0]).mean() > 0.02


def _tiny_model_with_prior():
    from evodrum.grid import DEFAULT_SPEC
    from vae.model import DrumModel
    from vae.network import Arch, init_seeded
    arch = Arch("twohead", 576, hidden=32, zdim=5, offset_rank=8, encoder_input="both")
    mu, logvar = _clusters(1200)
    return DrumModel(init_seeded(arch, 0), DEFAULT_SPEC, {"name": "tiny"},
                     prior.fit(mu, logvar, components=3))


def test_searches_and_sessions_draw_from_the_learned_prior_unless_told_normal():
    from evodrum.genotypes import LatentSpace, fingerprint
    from evodrum.interactive.session import Settings
    from evodrum.search.config import SearchConfig
    model = _tiny_model_with_prior()
    space = LatentSpace("vae", model)
    fresh = space.random(2000, np.random.default_rng(0))
    assert (np.linalg.norm(fresh, axis=1) > 2).mean() > 0.95      # the mixture's blobs
    normal = space.with_prior("normal").random(2000, np.random.default_rng(0))
    assert abs(np.linalg.norm(normal, axis=1).mean() - np.sqrt(5 - 0.5)) < 0.2
    assert space.prior is None and model.prior == "learned"    # with_prior is a copy
    # the fingerprint names the decoder, whatever the prior
    assert fingerprint(space) == fingerprint(space.with_prior("normal"))
    assert SearchConfig().prior == "learned"
    with pytest.raises(EvodrumError, match="prior"):
        SearchConfig(prior="uniform")
    with pytest.raises(EvodrumError, match="prior"):
        Settings(prior="uniform")
    assert model.use_prior("normal") == "normal"
