"""Exact bit-packed Jaccard nearest neighbour: the numpy and numba paths give the
distances, indices and ties of the plain 0/1 matrix product, on synthetic onsets."""
from __future__ import annotations

import numpy as np
import pytest

from fitness import jaccard
from fitness.wellformed import OnsetIndex, pack_onsets


def matrix_product_nearest(queries: np.ndarray, train: np.ndarray):
    """The reference: |a AND b| by a float32 product of 0/1 matrices, first max wins."""
    q = queries.reshape(len(queries), -1).astype(np.float32)
    t = train.reshape(len(train), -1).astype(np.float32)
    inter = q @ t.T
    union = q.sum(axis=1, keepdims=True) + t.sum(axis=1) - inter
    sim = inter / np.maximum(union, 1.0)
    best = sim.argmax(axis=1)
    return 1.0 - sim[np.arange(len(q)), best], best


@pytest.fixture(scope="module")
def onsets():
    rng = np.random.default_rng(3)
    train = rng.random((700, 9, 64)) < 0.13
    train[5] = train[9]                      # a tie: the first of equals must win
    queries = rng.random((120, 9, 64)) < 0.13
    queries[0] = False                       # empty: distance 1 from everything
    queries[1:4] = train[[9, 5, 300]]        # exact matches
    queries[4] = train[42] | (rng.random((9, 64)) < 0.02)
    return queries, train


@pytest.mark.parametrize("method", ["numpy", "compiled"])
def test_same_distances_indices_and_ties_as_the_matrix_product(onsets, method):
    queries, train = onsets
    if method == "compiled":
        pytest.importorskip("numba")
    fn = jaccard.nearest_numpy if method == "numpy" else jaccard.nearest_compiled
    dist, idx = fn(pack_onsets(queries), pack_onsets(train))
    ref_dist, ref_idx = matrix_product_nearest(queries, train)
    np.testing.assert_array_equal(dist, ref_dist)
    np.testing.assert_array_equal(idx, ref_idx)
    assert dist.dtype == np.float32 and dist[0] == 1.0
    assert idx[1] == 5 and idx[2] == 5 and dist[1] == 0.0 and idx[3] == 300


def test_numpy_popcount_fallback_without_bitwise_count(onsets, monkeypatch):
    queries, train = onsets
    expected = jaccard.nearest_numpy(pack_onsets(queries), pack_onsets(train))
    monkeypatch.delattr(np, "bitwise_count")          # numpy < 2: the lookup table
    got = jaccard.nearest_numpy(pack_onsets(queries), pack_onsets(train))
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_without_numba_the_index_falls_back_to_numpy(onsets, monkeypatch):
    queries, train = onsets
    monkeypatch.setattr(jaccard, "_KERNELS", None)
    monkeypatch.setattr(jaccard, "_TRIED", True)       # as if numba were not installed
    with pytest.raises(ValueError, match="numba"):
        jaccard.nearest_compiled(pack_onsets(queries), pack_onsets(train))
    index = OnsetIndex(train)
    assert not index._index.compiled
    dist, idx = index.nearest(queries)
    np.testing.assert_array_equal(idx, matrix_product_nearest(queries, train)[1])
    np.testing.assert_array_equal(index.within(queries, 0.5), dist)   # exact without numba


@pytest.mark.parametrize("cap", [0.0, 0.6, 0.75, 1.0])
def test_within_a_cap_is_exact_beyond_it_whatever_the_scan_order(onsets, cap):
    """Early-stopping scans: every distance beyond the cap is the exact nearest one,
    every other one is within the cap and no nearer than the exact one; the scan
    order changes neither, nor `nearest`'s indices and ties."""
    pytest.importorskip("numba")
    queries, train = onsets
    exact, idx = OnsetIndex(train).nearest(queries)
    for order in (None, np.random.default_rng(1).permutation(len(train))):
        index = OnsetIndex(train, order)
        got = index.within(queries, cap)
        far = exact > cap
        np.testing.assert_array_equal(got[far], exact[far])
        assert np.all(got[~far] <= cap) and np.all(got >= exact)
        np.testing.assert_array_equal(index.nearest(queries)[1], idx)


def test_real_loops_give_the_matrix_product_s_answer():
    """On the shipped reference's 16,012 real training loops, with real-like queries
    (its own loops, lightly changed), where the compiled search prunes most rows."""
    pytest.importorskip("numba")
    from evodrum.genotypes import files
    train = files.load_reference().index.onsets
    rng = np.random.default_rng(0)
    queries = train[rng.choice(len(train), 60)] ^ (rng.random((60, 9, 64)) < 0.03)
    dist, idx = jaccard.nearest_compiled(pack_onsets(queries), pack_onsets(train))
    ref_dist, ref_idx = matrix_product_nearest(queries, train)
    np.testing.assert_array_equal(dist, ref_dist)
    np.testing.assert_array_equal(idx, ref_idx)


def test_packing_pads_odd_sizes_to_whole_words():
    on = np.zeros((2, 3, 5), bool)
    on[1, 2, 4] = True
    packed = pack_onsets(on)
    assert packed.shape == (2, 1) and packed.dtype == np.uint64
    assert packed[0, 0] == 0 and bin(int(packed[1, 0])).count("1") == 1
