"""Feature targets: parsing, errors that list what is allowed, distances, `like`."""
from __future__ import annotations

import numpy as np
import pytest

from evodrum.errors import EvodrumError
from evodrum.grid import DEFAULT_SPEC, PAPER_SPEC
from evodrum.kit import ROWS
from fitness.features import FEATURE_NAMES, compute
from fitness.target import Target, parse_target

BD, CH = ROWS.index("BD"), ROWS.index("CH")


def quarter_kick() -> np.ndarray:
    """Kick on every beat, nothing else: density 0.25, no syncopation, symmetric."""
    g = np.zeros(DEFAULT_SPEC.shape, np.float32)
    g[BD, ::4] = 0.9
    return g


def test_parse_defaults_to_level_all_and_weight_one():
    t = parse_target("density=0.4, syncopation=0.3")
    # a bare name means what a drummer means: syncopation (and wnbd) of kick and snare,
    # density (and symmetry) of the whole kit
    assert t.goals == {"all.density": 0.4, "kick_snare.syncopation": 0.3}
    assert t.weights == {"all.density": 1.0, "kick_snare.syncopation": 1.0}
    assert parse_target("wnbd=0.2,symmetry=0.5").goals == {"kick_snare.wnbd": 0.2,
                                                          "all.symmetry": 0.5}
    assert parse_target("all.syncopation=0.1").goals == {"all.syncopation": 0.1}  # as before


def test_parse_levels_and_weights():
    t = parse_target("hats.density=0.6:2,kick_snare.wnbd=0.1")
    assert t.goals == {"hats.density": 0.6, "kick_snare.wnbd": 0.1}
    assert t.weights == {"hats.density": 2.0, "kick_snare.wnbd": 1.0}
    assert parse_target(str(t)) == t
    assert Target.from_dict(t.to_dict()) == t


@pytest.mark.parametrize("text, message", [
    ("loudness=0.5", "unknown target feature 'loudness'"),
    ("toms.density=0.5", "LEVEL one of hats, kick_snare, all"),
    ("density=1.5", "within [0, 1]"),
    ("density=-0.1", "within [0, 1]"),
    ("density=high", "must be a number"),
    ("density=nan", "finite"),
    ("density", "NAME=VALUE"),
    ("density=0.3,all.density=0.4", "given twice"),
    ("density=0.3:0", "positive"),
    ("density=0.3:x", "must be a number"),
    ("", "empty target"),
])
def test_bad_targets_raise_clear_errors(text, message):
    with pytest.raises(EvodrumError) as e:
        parse_target(text)
    assert message in str(e.value)
    if "unknown" in message:
        assert "density, syncopation, symmetry, wnbd" in str(e.value)


def test_weights_dict_must_name_target_features():
    with pytest.raises(EvodrumError, match="does not name"):
        Target({"density": 0.3}, {"symmetry": 2})
    assert Target({"density": 0.3}, {"density": 2}).weights == {"all.density": 2.0}


def test_distance_is_weighted_mean_absolute_difference():
    g = quarter_kick()
    assert parse_target("density=0.25").distance(g)[0] == pytest.approx(0.0)
    assert parse_target("density=0.4").distance(g)[0] == pytest.approx(0.15)
    # (3 * |0.25 - 0.4| + 1 * |1 - 0.5|) / 4
    d = parse_target("density=0.4:3,kick_snare.symmetry=0.5").distance(g)[0]
    assert d == pytest.approx((3 * 0.15 + 0.5) / 4)


def test_distance_is_vectorised_over_a_batch():
    rng = np.random.default_rng(0)
    grids = (rng.random((64, 9, 64)) < rng.uniform(0.02, 0.4, (64, 1, 1))).astype(np.float32)
    t = parse_target("density=0.5,hats.syncopation=0.2:2")
    d = t.distance(grids)
    assert d.shape == (64,) and d.dtype == np.float32
    np.testing.assert_allclose(d, [t.distance(g)[0] for g in grids], rtol=1e-6)
    # the densest loops are closer to a dense target than the sparsest
    dens = compute(grids)["all.density"]
    dense = parse_target("density=1").distance(grids)
    assert dense[dens.argmax()] < dense[dens.argmin()]


def test_like_matches_an_example_loop(groove_corpus):
    grids = groove_corpus.split_grids("validation")[:500]
    t = Target.like(grids[7], groove_corpus.spec)
    assert t.names == FEATURE_NAMES
    d = t.distance(grids, groove_corpus.spec)
    assert d[7] == pytest.approx(0.0, abs=1e-6)
    assert d.min() >= 0 and d.max() <= 1
    assert np.median(d) > 0.02  # other real loops are not all alike
    only = Target.like(grids[7], groove_corpus.spec, names=("density", "hats.density"))
    assert only.names == ("all.density", "hats.density")


def test_targets_work_at_the_paper_resolution():
    g = np.zeros(PAPER_SPEC.shape, np.float32)
    g[CH, 1::2] = 0.7  # off-beat eighths
    t = parse_target("hats.density=0.5,hats.syncopation=1")
    assert t.distance(g, PAPER_SPEC)[0] < parse_target("hats.density=0.5,hats.syncopation=0").distance(
        g, PAPER_SPEC)[0]


def test_like_goals_overridden_by_explicit_ones_keep_their_weights():
    from fitness import Target
    rng = np.random.default_rng(0)
    loop = ((rng.random((9, 64)) < 0.2) * 0.8).astype(np.float32)
    base = Target.like(loop, names=("density", "syncopation", "hats.density"))
    merged = base.overridden_by(parse_target("density=0.9:3,kick_snare.density=0.2"))
    assert merged.goals["all.density"] == 0.9 and merged.weights["all.density"] == 3
    assert merged.goals["kick_snare.syncopation"] == base.goals["kick_snare.syncopation"]
    assert merged.weights["kick_snare.syncopation"] == 1 and "kick_snare.density" in merged.goals
    assert base.overridden_by(None) is base
