"""Statistics for comparing spaces: summaries, Mann-Whitney U with the Vargha-Delaney
A12 effect size (independent runs), Wilcoxon's signed-rank test with the matched-pairs
rank-biserial correlation (paired by task), and Holm's multiple-comparison correction.

Two runs of different spaces on one task share only their seed number, not random
streams or initial populations, so the seeds of one task are independent samples
(Mann-Whitney). Every space runs the same tasks, so per-task results pair across
spaces (Wilcoxon signed-rank).
"""
from __future__ import annotations

from math import comb

import numpy as np
from scipy import stats

#: Vargha & Delaney (2000): |A12 - 0.5| below these bounds is negligible, small, medium.
MAGNITUDES = ((0.06, "negligible"), (0.14, "small"), (0.21, "medium"))


def describe(values) -> dict[str, float]:
    """n, mean, median, quartiles and interquartile range of a sample."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0:
        return {"n": 0, "mean": np.nan, "median": np.nan, "q25": np.nan, "q75": np.nan,
                "iqr": np.nan}
    q25, median, q75 = np.percentile(v, [25, 50, 75])
    return {"n": len(v), "mean": float(v.mean()), "median": float(median), "q25": float(q25),
            "q75": float(q75), "iqr": float(q75 - q25)}


def a12(x, y) -> float:
    """Vargha-Delaney A12: P(X > Y) + P(X = Y) / 2 for a random draw from each sample.

    0.5 means no difference; it equals Mann-Whitney's U1 / (m n).
    """
    x = np.asarray(x, dtype=np.float64)[:, None]
    y = np.asarray(y, dtype=np.float64)[None, :]
    return float(((x > y).sum() + 0.5 * (x == y).sum()) / (x.size * y.size))


def magnitude(a: float) -> str:
    """Vargha-Delaney's verbal magnitude of an A12 value."""
    d = abs(a - 0.5)
    return next((name for bound, name in MAGNITUDES if d < bound), "large")


#: Up to this many values per sample, Mann-Whitney's p is exact, ties or not (scipy's own
#: exact method stops at 8 and refuses ties: its normal approximation then overstates p
#: tenfold at 9 vs 9, and with a tie understates it, 0.072 at 3 vs 3 where 0.1 is exact).
EXACT_MANN_WHITNEY = 20


def mann_whitney(x, y) -> tuple[float, float]:
    """(U1, two-sided p) of the Mann-Whitney U test: p exact for small samples (every way
    of splitting the pooled values into groups of these sizes, tied values keeping their
    midranks), else the normal approximation with its tie correction; p = 1 when both
    samples are one repeated value (no evidence of a difference)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    both = np.concatenate([x, y])
    if np.ptp(both) == 0:
        return len(x) * len(y) / 2, 1.0
    test = stats.mannwhitneyu(x, y, method="asymptotic")     # U1 is the same by any method
    if max(len(x), len(y)) > EXACT_MANN_WHITNEY:
        return float(test.statistic), float(test.pvalue)
    return float(test.statistic), _exact_p(both, len(x))


def _exact_p(both: np.ndarray, m: int) -> float:
    """Exact two-sided permutation p of the first m pooled values' rank sum, conditional on
    the ties: twice the smaller tail of its distribution over all C(N, m) equally likely
    splits, counted by dynamic programming over doubled midranks (integers)."""
    ranks = _doubled_ranks(both)
    total = int(ranks.sum())
    ways = np.zeros((m + 1, total + 1))      # ways[k, s]: k-subsets with doubled rank sum s
    ways[0, 0] = 1.0
    for r in ranks:
        ways[1:, r:] += ways[:-1, :total + 1 - r].copy()
    return _two_sided_p(ways[m] / comb(len(both), m), int(ranks[:m].sum()))


def _doubled_ranks(values: np.ndarray) -> np.ndarray:
    """Twice the midranks of `values`: whole numbers, so exact tests can count rank sums."""
    return np.rint(2 * stats.rankdata(values)).astype(np.int64)


def _two_sided_p(dist: np.ndarray, observed: int) -> float:
    """Twice the smaller tail of a rank-sum distribution at `observed`, at most 1."""
    return float(min(1.0, 2 * min(dist[:observed + 1].sum(), dist[observed:].sum())))


def smallest_p_mann_whitney(m: int, n: int) -> float:
    """The smallest two-sided p an exact Mann-Whitney test of m against n values can
    reach (every value of one sample above every value of the other, no ties):
    2 / C(m + n, m). Ties only raise it."""
    return min(1.0, 2 / comb(m + n, m))


#: Up to this many nonzero differences, the signed-rank p is exact, ties and zeros or not
#: (about 1 ms at 100). scipy's own is exact only without either: with them it runs a
#: permutation test up to 13 pairs (a second of CPU at 13) and beyond approximates.
EXACT_WILCOXON = 100


def wilcoxon(x, y) -> tuple[float, float]:
    """(W, two-sided p) of Wilcoxon's signed-rank test on the pairs (x[i], y[i]).

    Equal pairs are dropped (Wilcoxon's convention); W is the smaller of the positive
    and negative differences' rank sums (scipy's statistic). p is exact up to
    EXACT_WILCOXON pairs (every sign flip of the differences, tied |differences|
    keeping their midranks), else the normal approximation with its tie correction;
    p = 1 when every pair is equal (no evidence)."""
    d = np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    d = d[d != 0]
    if len(d) == 0:
        return 0.0, 1.0
    if np.isnan(d).any():
        return np.nan, np.nan
    if len(d) > EXACT_WILCOXON:
        result = stats.wilcoxon(d, method="asymptotic")
        return float(result.statistic), float(result.pvalue)
    ranks = _doubled_ranks(np.abs(d))
    plus, total = int(ranks[d > 0].sum()), int(ranks.sum())
    return min(plus, total - plus) / 2, _exact_signed_rank_p(ranks, total, plus)


def _exact_signed_rank_p(ranks: np.ndarray, total: int, plus: int) -> float:
    """Exact two-sided p of the doubled positive rank sum `plus` (of `total`), conditional
    on the ties: twice the smaller tail of its distribution over all 2^n equally likely
    sign flips, by dynamic programming over the doubled midranks (integers)."""
    dist = np.zeros(total + 1)               # dist[s]: P(doubled positive rank sum = s)
    dist[0], reach = 1.0, 0
    for r in ranks:
        reach += r
        dist[r:reach + 1] = 0.5 * (dist[r:reach + 1] + dist[:reach + 1 - r])
        dist[:r] *= 0.5
    return _two_sided_p(dist, plus)


def smallest_p_wilcoxon(n: int) -> float:
    """The smallest two-sided p an exact signed-rank test of n untied pairs can reach
    (every difference of one sign): 2 / 2^n."""
    return min(1.0, 2.0 ** (1 - n))


def rank_biserial(x, y) -> float:
    """Matched-pairs rank-biserial correlation (Kerby 2014) of the pairs (x[i], y[i]):
    (R+ - R-) / (R+ + R-) over the ranks of the nonzero |x - y|. +1: x is larger in
    every pair; 0: no difference; -1: y is larger in every pair."""
    d = np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    d = d[d != 0]
    if len(d) == 0:
        return 0.0
    ranks = stats.rankdata(np.abs(d))
    return float((ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum())


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control), in input order.

    The k-th smallest p is multiplied by (m - k + 1); adjusted values are made
    monotone with a running maximum and capped at 1.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (m - np.arange(m))
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return adjusted
