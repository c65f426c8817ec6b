"""The comparison's statistics helpers against hand-computed values and scipy."""
from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np
import pytest
from scipy import stats as scipy_stats

from evodrum.compare import stats


def test_a12_by_hand():
    # x > y in 2 of 9 pairs (3 > 2, 3 > 2), ties in 2 (2 = 2, 2 = 2): (2 + 2 / 2) / 9
    assert stats.a12([1, 2, 3], [2, 2, 4]) == pytest.approx(1 / 3)
    assert stats.a12([5, 6], [1, 2]) == 1.0
    assert stats.a12([1, 2], [5, 6]) == 0.0
    assert stats.a12([3, 3], [3, 3]) == 0.5


def test_a12_is_mann_whitney_u_over_mn_and_complementary():
    rng = np.random.default_rng(0)
    for m, n in [(30, 30), (7, 12)]:
        x = np.round(rng.normal(0, 1, m), 1)        # rounding makes ties
        y = np.round(rng.normal(0.3, 1, n), 1)
        u = scipy_stats.mannwhitneyu(x, y, alternative="two-sided").statistic
        assert stats.a12(x, y) == pytest.approx(u / (m * n))
        assert stats.a12(x, y) + stats.a12(y, x) == pytest.approx(1.0)


def test_holm_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 scaled by 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04 -> running max
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(stats.holm([0.5, 0.9]), [1.0, 1.0])     # capped at 1
    np.testing.assert_allclose(stats.holm([0.02]), [0.02])              # one test: unchanged


def test_holm_never_below_raw_and_keeps_order():
    p = np.random.default_rng(1).random(20) ** 3
    adjusted = stats.holm(p)
    assert np.all(adjusted >= p)
    order = np.argsort(p)
    assert np.all(np.diff(adjusted[order]) >= 0)


def test_mann_whitney_matches_scipy_and_handles_constant_samples():
    x, y = [0.1, 0.2, 0.25, 0.3], [0.4, 0.5, 0.45, 0.35, 0.6]
    u, p = stats.mann_whitney(x, y)
    ref = scipy_stats.mannwhitneyu(x, y, alternative="two-sided")
    assert (u, p) == pytest.approx((ref.statistic, ref.pvalue))
    assert stats.mann_whitney([0, 0, 0], [0, 0]) == (3.0, 1.0)   # all runs reached error 0


def test_mann_whitney_is_exact_for_small_samples_without_ties():
    x, y = np.arange(9) + 0.5, np.arange(9) - 20.0        # every x above every y
    assert stats.mann_whitney(x, y) == (81.0, pytest.approx(2 / comb(18, 9)))
    assert stats.mann_whitney(x, y)[1] == pytest.approx(stats.smallest_p_mann_whitney(9, 9))
    rng = np.random.default_rng(3)
    for m, n in ((3, 3), (5, 8), (12, 9), (20, 20)):      # scipy's exact null distribution
        x, y = rng.random(m), rng.random(n) + 0.2
        ref = scipy_stats.mannwhitneyu(x, y, alternative="two-sided", method="exact")
        assert stats.mann_whitney(x, y) == pytest.approx((ref.statistic, ref.pvalue))


def brute_force_p(x, y) -> float:
    """Two-sided exact p by listing every split of the pooled values: twice the smaller
    tail of U1 over all C(m + n, m) splits."""
    both, m = np.concatenate([x, y]).astype(float), len(x)
    wins = (both[:, None] > both[None, :]) + 0.5 * (both[:, None] == both[None, :])
    splits = np.zeros((comb(len(both), m), len(both)))
    for row, chosen in enumerate(combinations(range(len(both)), m)):
        splits[row, list(chosen)] = 1.0
    null = np.einsum("ki,ij,kj->k", splits, wins, 1.0 - splits)     # U1 of every split
    observed = null[0]                                             # x is the first split
    return min(1.0, 2 * min(np.mean(null <= observed + 1e-9), np.mean(null >= observed - 1e-9)))


def test_mann_whitney_is_exact_with_ties():
    # separated samples with a tie inside one: the smallest attainable p, which the
    # report prints (the normal approximation said 0.072 at 3 vs 3, 0.0284 at 4 vs 4)
    assert stats.mann_whitney([1, 2, 3], [4, 5, 5]) == (0.0, pytest.approx(0.1))
    assert stats.mann_whitney([0, 0, 1, 2], [3, 4, 4, 5])[1] == \
        pytest.approx(2 / 70) == stats.smallest_p_mann_whitney(4, 4)
    # a tie across the samples: {1, 2} with either 3 is the only split as low (2 of 20)
    assert stats.mann_whitney([1, 2, 3], [3, 4, 5]) == (0.5, pytest.approx(0.2))
    rng = np.random.default_rng(7)
    for m, n in ((3, 3), (4, 4), (5, 3), (6, 7), (8, 7)):  # per-seed coverage: many ties
        for _ in range(3):
            x, y = rng.integers(0, 4, m) / 4, rng.integers(1, 5, n) / 4
            if np.ptp(np.concatenate([x, y])) == 0:
                continue
            assert stats.mann_whitney(x, y)[1] == pytest.approx(brute_force_p(x, y))
    x, y = [0.0, 0.0, 0.1, 0.2, 0.2, 0.2], [0.1, 0.2, 0.3, 0.3, 0.4]
    ref = scipy_stats.permutation_test(
        (x, y), lambda a, b: scipy_stats.mannwhitneyu(a, b).statistic,
        permutation_type="independent", n_resamples=np.inf, alternative="two-sided")
    assert stats.mann_whitney(x, y)[1] == pytest.approx(ref.pvalue)


def test_mann_whitney_uses_the_normal_approximation_for_large_samples():
    rng = np.random.default_rng(5)
    x, y = rng.integers(0, 5, 30), rng.integers(1, 6, 25)
    ref = scipy_stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")
    assert stats.mann_whitney(x, y) == pytest.approx((ref.statistic, ref.pvalue))


def test_describe_and_magnitude():
    d = stats.describe([4, 1, 3, 2])
    assert d == {"n": 4, "mean": 2.5, "median": 2.5, "q25": 1.75, "q75": 3.25, "iqr": 1.5}
    assert [stats.magnitude(a) for a in (0.5, 0.45, 0.6, 0.3, 0.95)] == \
        ["negligible", "negligible", "small", "medium", "large"]


def test_wilcoxon_matches_scipy_and_reaches_its_exact_floor():
    better = np.arange(1, 23) * 0.01                 # A ahead in all 22 pairs, untied
    w, p = stats.wilcoxon(better + 1, np.ones(22))
    assert w == 0 and p == pytest.approx(2.0 ** -21) == stats.smallest_p_wilcoxon(22)
    x, y = [0.3, 0.1, 0.5, 0.2, 0.7, 0.4], [0.1, 0.2, 0.2, 0.2, 0.1, 0.35]
    ref = scipy_stats.wilcoxon(np.subtract(x, y))   # the equal pair is dropped: n = 5
    assert stats.wilcoxon(x, y) == pytest.approx((ref.statistic, ref.pvalue))
    # |d| ranks 1..5, the one negative difference (-0.1) has rank 2, so W = 2; exactly:
    # P(W <= 2) = 3 / 32 (negative-rank sets {}, {1}, {2}), two-sided 6 / 32
    assert ref.statistic == 2 and ref.pvalue == pytest.approx(6 / 32)
    assert stats.wilcoxon([1, 2, 3], [1, 2, 3]) == (0.0, 1.0)
    assert np.isnan(stats.wilcoxon([1, np.nan], [0, 0])[1])          # as scipy: no p


def brute_force_signed_rank_p(d) -> float:
    """Two-sided exact p by listing every sign flip of the nonzero differences: twice
    the smaller tail of the positive rank sum over all 2^n flips."""
    d = np.asarray(d, dtype=float)
    d = d[d != 0]
    ranks = scipy_stats.rankdata(np.abs(d))
    flips = np.arange(2 ** len(d))
    plus = sum(((flips >> k) & 1) * rank for k, rank in enumerate(ranks))
    observed = ranks[d > 0].sum()
    return min(1.0, 2 * min(np.mean(plus <= observed), np.mean(plus >= observed)))


def tied_pairs(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n pairs on a coarse scale: tied |differences| and equal pairs (zeros) both occur."""
    return rng.integers(0, 5, n) / 4, rng.integers(0, 5, n) / 4


def test_wilcoxon_agrees_with_scipy_where_scipy_is_exact():
    rng = np.random.default_rng(11)
    for n in list(range(1, 51)) + [80, 100]:        # untied: scipy's exact distribution
        x, y = rng.random(n), rng.random(n) + rng.normal(0, 0.2)
        ref = scipy_stats.wilcoxon(x, y, method="exact")
        assert stats.wilcoxon(x, y) == (ref.statistic, pytest.approx(ref.pvalue, rel=1e-12))
    seen_ties = seen_zeros = 0
    for n in (3, 5, 7, 8, 9):                         # ties and zeros: scipy's permutation test
        for _ in range(2):
            x, y = tied_pairs(rng, n)
            d = x - y
            if not np.any(d):
                continue
            seen_zeros += int(np.any(d == 0))
            seen_ties += len(np.unique(np.abs(d[d != 0]))) < np.count_nonzero(d)
            ref = scipy_stats.wilcoxon(x, y)
            assert stats.wilcoxon(x, y) == (ref.statistic, pytest.approx(ref.pvalue, rel=1e-12))
    assert seen_ties >= 5 and seen_zeros >= 5


def test_wilcoxon_is_exact_with_ties_beyond_scipys_permutation_test():
    rng = np.random.default_rng(12)
    for n in range(14, 19):          # scipy approximates here; every sign flip is listed
        x, y = tied_pairs(rng, n)
        x[0], y[0] = 0.5, 0.5                                # at least one equal pair
        w, p = stats.wilcoxon(x, y)
        assert p == pytest.approx(brute_force_signed_rank_p(x - y), rel=1e-12)
        assert w == scipy_stats.wilcoxon(x, y).statistic
    # 16 tasks, one better in 14 of them, 12 by the same margin: exactly the floor 2 / 2^14;
    # the normal approximation (used here before) said 0.00038, three times too high
    x, y = np.r_[np.full(12, 0.25), 0.5, 0.5, 0.0, 0.0], np.zeros(16)
    assert stats.wilcoxon(x, y) == (0.0, pytest.approx(stats.smallest_p_wilcoxon(14)))
    assert scipy_stats.wilcoxon(x, y).pvalue > 3 * stats.smallest_p_wilcoxon(14)


def test_wilcoxon_floor_holds_with_ties_and_zeros():
    # every difference of one sign reaches 2 / 2^n whatever the ties; nothing goes below
    for n in (5, 13, 30):
        x = np.r_[np.full(n - 2, 0.5), 1.0, 1.0, 0.0]               # a zero pair is dropped
        floor = stats.smallest_p_wilcoxon(n)
        assert stats.wilcoxon(x, np.zeros(n + 1)) == (0.0, pytest.approx(floor))
    rng = np.random.default_rng(13)
    for n in (6, 15, 40):
        x, y = tied_pairs(rng, n)
        assert stats.wilcoxon(x, y)[1] >= stats.smallest_p_wilcoxon(np.count_nonzero(x - y))


def test_wilcoxon_uses_the_normal_approximation_beyond_the_exact_size():
    rng = np.random.default_rng(14)
    x, y = tied_pairs(rng, stats.EXACT_WILCOXON + 40)
    assert np.count_nonzero(x - y) > stats.EXACT_WILCOXON
    ref = scipy_stats.wilcoxon(x, y, method="asymptotic")
    assert stats.wilcoxon(x, y) == pytest.approx((ref.statistic, ref.pvalue))


def test_rank_biserial_by_hand():
    # |d| = 0.2, 0.1, 0.3, 0 (dropped), 0.6: ranks 2, 1, 3, 4; R+ = 2 + 3 + 4, R- = 1
    assert stats.rank_biserial([0.3, 0.1, 0.5, 0.2, 0.7], [0.1, 0.2, 0.2, 0.2, 0.1]) == \
        pytest.approx((9 - 1) / 10)
    assert stats.rank_biserial([2, 3, 4], [1, 1, 1]) == 1.0
    assert stats.rank_biserial([1, 1, 1], [2, 3, 4]) == -1.0
    assert stats.rank_biserial([1, 2], [1, 2]) == 0.0


def test_smallest_attainable_p():
    assert stats.smallest_p_mann_whitney(2, 2) == pytest.approx(1 / 3)       # 2 / C(4, 2)
    assert stats.smallest_p_mann_whitney(5, 5) == pytest.approx(2 / 252)
    for n in (2, 5):      # scipy's exact test with complete separation reaches exactly it
        ref = scipy_stats.mannwhitneyu(np.arange(n), np.arange(n) + 10, method="exact")
        assert ref.pvalue == pytest.approx(stats.smallest_p_mann_whitney(n, n))
    assert stats.smallest_p_wilcoxon(1) == 1.0 and stats.smallest_p_wilcoxon(6) == 1 / 32
