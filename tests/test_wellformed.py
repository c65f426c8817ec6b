"""Well-formedness against the real groove corpus: nearest-neighbour correctness,
separation of real held-out loops from random and shuffled ones, set statistics,
and the saved reference."""
from __future__ import annotations

import numpy as np
import pytest

from evodrum.errors import EvodrumError
from evodrum.grid import onsets
from fitness.wellformed import WellFormedness


@pytest.fixture(scope="module")
def reference(groove_corpus) -> WellFormedness:
    return WellFormedness.from_corpus(groove_corpus)


@pytest.fixture(scope="module")
def loop_sets(groove_corpus):
    """500 real validation loops, random grids of the corpus's per-row hit density,
    and the validation loops with their steps (columns) shuffled."""
    rng = np.random.default_rng(0)
    val = groove_corpus.split_grids("validation")
    real = val[rng.choice(len(val), 500, replace=False)]
    row_density = onsets(groove_corpus.split_grids("train")).mean(axis=(0, 2))
    random = ((rng.random(real.shape) < row_density[None, :, None]) * 0.7).astype(np.float32)
    perm = np.argsort(rng.random((len(real), real.shape[2])), axis=1)
    shuffled = np.take_along_axis(real, perm[:, None, :], axis=2)
    return {"real": real, "random": random, "shuffled": shuffled}


def jaccard_slow(a: np.ndarray, train: np.ndarray) -> np.ndarray:
    inter = (a & train).sum(axis=(1, 2))
    union = (a | train).sum(axis=(1, 2))
    return 1 - inter / union


def test_corpus_without_held_out_loops_is_refused(groove_corpus):
    from evodrum.corpus import Corpus
    n = 50
    only_train = Corpus(groove_corpus.grids[:n], groove_corpus.spec, np.full(n, "train"),
                        {k: v[:n] for k, v in groove_corpus.labels.items()}, groove_corpus.manifest)
    with pytest.raises(EvodrumError, match="needs loops in both the train and test splits"):
        WellFormedness.from_corpus(only_train)


def test_nearest_matches_direct_jaccard(reference, loop_sets):
    train = reference.index.onsets
    queries = np.concatenate([loop_sets["real"][:8], loop_sets["random"][:4]])
    dist, idx = reference.nearest(queries)
    for q, d, i in zip(onsets(queries), dist, idx):
        direct = jaccard_slow(q, train)
        assert d == pytest.approx(direct.min(), abs=1e-6)
        assert direct[i] == pytest.approx(direct.min(), abs=1e-6)


def test_reference_uses_distinct_train_and_test_loops(reference, groove_corpus):
    info = reference.info
    assert info["corpus_hash"] == groove_corpus.manifest_hash
    assert info["train_loops"] == int((groove_corpus.split == "train").sum())
    assert 0 < info["distinct_train_loops"] <= info["train_loops"]
    assert len(reference.index) == info["distinct_train_loops"]
    assert len(reference.heldout) == info["heldout_loops"]
    assert np.all(np.diff(reference.heldout) >= 0)
    # test loops are other performances: most are far from any exact training match
    assert np.mean(reference.heldout == 0) < 0.05
    # a training loop finds itself
    train = groove_corpus.split_grids("train")[:20]
    dist, idx = reference.nearest(train)
    assert np.all(dist == 0)
    assert np.array_equal(reference.index.onsets[idx], onsets(train))


def test_real_held_out_loops_read_as_typical(reference, loop_sets):
    """Validation loops (not the test split the yardstick came from) are uniform on it."""
    typ = reference.typicality(loop_sets["real"])
    assert 0.4 < typ.mean() < 0.6
    score = reference.score(loop_sets["real"])
    assert score.min() >= 0 and score.max() <= 1
    assert 0.6 < score.mean() < 0.9


def test_random_and_shuffled_loops_score_low(reference, loop_sets):
    real = reference.score(loop_sets["real"]).mean()
    random = reference.score(loop_sets["random"]).mean()
    shuffled = reference.score(loop_sets["shuffled"]).mean()
    assert random < 0.15 and random < real - 0.5
    assert shuffled < real - 0.3
    # per loop: a real loop is nearer real drumming than its own shuffle most of the time
    d_real, _ = reference.nearest(loop_sets["real"])
    d_shuf, _ = reference.nearest(loop_sets["shuffled"])
    assert np.mean(d_real < d_shuf) > 0.8


def test_empty_loop_is_unlike_anything(reference):
    empty = np.zeros((1, 9, 64), np.float32)
    dist, _ = reference.nearest(empty)
    assert dist[0] == 1.0 and reference.score(empty)[0] == 0.0


def test_grids_of_another_resolution_are_refused(reference):
    with pytest.raises(ValueError, match="shape"):
        reference.score(np.zeros((2, 9, 32), np.float32))


def test_set_comparison_separates_real_from_random(reference, loop_sets):
    real = reference.compare_set(loop_sets["real"][:200])
    random = reference.compare_set(loop_sets["random"][:200])
    names = [k for k in real if k != "rows"]
    assert "row_density" in names and "all.syncopation" in names
    real_oa = np.mean([real[k]["oa"] for k in names])
    random_oa = np.mean([random[k]["oa"] for k in names])
    assert real_oa > 0.85 and real_oa > random_oa + 0.1
    assert np.mean([real[k]["kl"] for k in names]) < np.mean([random[k]["kl"] for k in names])
    # random grids all share one row density: their variety is lost
    assert random["row_density"]["intra_oa"] < 0.5 < real["row_density"]["intra_oa"]
    assert set(real["rows"]) == {"BD", "SD", "CH", "OH", "RD", "CR", "LT", "MT", "HT"}
    assert real["rows"]["CH"]["corpus"] > real["rows"]["HT"]["corpus"]


def test_a_single_loop_set_has_no_intra_set_distribution(reference, loop_sets):
    one = reference.compare_set(loop_sets["real"][:1])
    assert one["all.density"]["intra_oa"] is None and 0 <= one["all.density"]["oa"] <= 1


def test_save_and_load_round_trip(reference, loop_sets, tmp_path):
    path = reference.save(tmp_path / "wellformed.npz")
    assert path.stat().st_size < 2_000_000
    # no temp file left; the scan order beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wellformed.npz", "wellformed.order.npy"]
    loaded = WellFormedness.load(path)
    assert loaded.spec == reference.spec and loaded.info == reference.info
    np.testing.assert_array_equal(loaded.heldout, reference.heldout)
    np.testing.assert_array_equal(loaded.score(loop_sets["real"]), reference.score(loop_sets["real"]))
    np.testing.assert_array_equal(loaded.index.order, reference.index.order)


def test_scores_stop_early_yet_equal_the_exact_nearest_scores(reference, loop_sets):
    """`score` stops a scan at the first training loop near enough to score 1: the
    scores are those of the exact nearest distances, in any scan order."""
    reordered = reference.reordered(loop_sets["random"])
    assert not np.array_equal(reordered.index.order, reference.index.order)
    for grids in loop_sets.values():
        exact = np.minimum(1.0, 2.0 * reference.typicality(grids)).astype(np.float32)
        np.testing.assert_array_equal(reference.score(grids), exact)
        np.testing.assert_array_equal(reordered.score(grids), exact)
        np.testing.assert_array_equal(reordered.nearest(grids)[1], reference.nearest(grids)[1])


def test_a_damaged_scan_order_is_refused(reference, tmp_path):
    path = reference.save(tmp_path / "wellformed.npz")
    order = tmp_path / "wellformed.order.npy"
    np.save(order, np.zeros(len(reference.index), np.int32))    # not a permutation
    with pytest.raises(EvodrumError, match="wellformed.order.npy: damaged scan order"):
        WellFormedness.load(path)
    order.unlink()                           # without one: the rows in their own order
    np.testing.assert_array_equal(WellFormedness.load(path).index.order,
                                  np.arange(len(reference.index)))


def test_load_rejects_other_files_naming_them(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not an npz")
    with pytest.raises(EvodrumError, match="junk.npz: not a well-formedness reference"):
        WellFormedness.load(junk)
    other = tmp_path / "other.npz"
    np.savez(other, meta=np.array('{"format": "something-else", "kit": "k"}'),
             train=np.zeros((1, 72), np.uint8), heldout=np.zeros(1))
    with pytest.raises(EvodrumError, match="other.npz: .*rebuild"):
        WellFormedness.load(other)
