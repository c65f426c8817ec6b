"""Fidelity and diversity of a set of loops against real drumming, read two-sided.

A judge's score of one loop is typicality: how much it resembles the corpus. A set of
loops can beat every real loop on typicality by collapsing onto one textbook beat, so
a set is read against a held-out sample of real loops the way generative models are:

  precision / recall   improved precision and recall (Kynkaanniemi et al. 2019): the
                       share of the set's loops inside the real loops' k-NN balls
                       (fidelity), and of real loops inside the set's (diversity)
  density / coverage   Naeem et al. (2020): how many real balls a loop falls in on
                       average (1 for real loops), and the share of real loops whose
                       ball holds at least one of the set's loops
  judges, two-sided    Kolmogorov-Smirnov distance between the set's and the real
                       loops' judge scores (0 = indistinguishable), and where the set's
                       median sits among real loops (50% for real loops; far above is
                       as unreal as far below)
  distinct, copies     distinct onset patterns; Jaccard distance to the nearest
                       training loop and the share of (near-)copies of training loops

Both neighbourhoods are computed in two spaces: onsets under Jaccard distance (what a
drummer plays) and standardised rhythm features (what the features measure: every
feature plus each row's hit density, z-scored on the training split).

The held-out reference is one window in four of every test and validation file, so no
two of its 4-bar windows overlap (consecutive windows share three bars).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from evodrum.errors import EvodrumError
from evodrum.grid import GridSpec, check_grids, onsets
from fitness.features import feature_matrix
from fitness.wellformed import OnsetIndex, unique_onsets

#: Splits the held-out reference is drawn from (neither trained any model nor judge).
HELDOUT_SPLITS = ("test", "validation")
#: One window in this many per file: at hop 1 bar and 4-bar windows, none overlap.
WINDOW_STRIDE = 4
#: Neighbours for improved precision/recall (Kynkaanniemi et al.) and density/coverage
#: (Naeem et al.): the values those papers recommend.
K_PRECISION = 3
K_COVERAGE = 5
#: Rows of the set compared against the whole reference per block (memory bound).
BLOCK = 1024
#: A loop nearer to a training loop than this share of real held-out loops are is a
#: near-copy (real loops: 5% by construction).
NEAR_COPY_QUANTILE = 0.05


# --- neighbourhoods ------------------------------------------------------------

def jaccard_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) Jaccard distances of onset sets, flattened (N, D) booleans;
    two empty loops are identical (distance 0), an empty and a non-empty one 1."""
    a, b = a.reshape(len(a), -1).astype(np.float32), b.reshape(len(b), -1).astype(np.float32)
    inter = a @ b.T
    union = a.sum(axis=1)[:, None] + b.sum(axis=1)[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, 1.0 - inter / np.maximum(union, 1.0), 0.0).astype(np.float32)


def euclidean_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) Euclidean distances of feature vectors (N, D)."""
    sq = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0)).astype(np.float32)


DISTANCES = {"onsets": jaccard_distances, "features": euclidean_distances}


def knn_radii(x: np.ndarray, k: int, distance) -> np.ndarray:
    """Distance of each row of `x` to its k-th nearest other row (N,): the radius of
    its k-NN ball; 0 for a set of k rows or fewer (no ball)."""
    if len(x) <= k:
        return np.zeros(len(x), np.float32)
    out = np.empty(len(x), np.float32)
    for start in range(0, len(x), BLOCK):
        d = distance(x[start:start + BLOCK], x)
        out[start:start + BLOCK] = np.partition(d, k, axis=1)[:, k]   # index 0 is itself
    return out


def fidelity_diversity(real: np.ndarray, fake: np.ndarray, distance,
                       k_precision: int = K_PRECISION, k_coverage: int = K_COVERAGE,
                       real_radii: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """Improved precision and recall (k = k_precision) and density and coverage
    (k = k_coverage) of `fake` against `real`, both (N, D) under `distance`. Recall
    needs the set's own k-NN balls: None for a set of k_precision loops or fewer.
    `real_radii`: the real loops' two k-NN radii, when already known (a reference
    measuring many sets computes them once)."""
    real_pr, real_dc = real_radii if real_radii is not None else (
        knn_radii(real, k_precision, distance), knn_radii(real, k_coverage, distance))
    fake_pr = knn_radii(fake, k_precision, distance)
    in_real = np.zeros(len(fake), bool)             # precision: fake in some real ball
    balls = np.zeros(len(fake), np.int64)           # density: real balls per fake
    real_hit = np.zeros(len(real), bool)            # recall: real in some fake ball
    covered = np.zeros(len(real), bool)             # coverage: real ball holding a fake
    for start in range(0, len(fake), BLOCK):
        d = distance(fake[start:start + BLOCK], real)              # (block, real)
        in_real[start:start + BLOCK] = (d <= real_pr[None, :]).any(axis=1)
        inside = d <= real_dc[None, :]
        balls[start:start + BLOCK] = inside.sum(axis=1)
        covered |= inside.any(axis=0)
        real_hit |= (d <= fake_pr[start:start + BLOCK, None]).any(axis=0)
    recall = float(real_hit.mean()) if len(fake) > k_precision else None
    return {"precision": float(in_real.mean()), "recall": recall,
            "density": float(balls.sum() / (k_coverage * len(fake))),
            "coverage": float(covered.mean())}


# --- the reference ---------------------------------------------------------------

def heldout_windows(corpus, splits=HELDOUT_SPLITS, stride: int = WINDOW_STRIDE) -> np.ndarray:
    """Indices of one window in `stride` of every file of `splits` (its 1st, 5th, ...),
    so no two overlap. Windows of a file are consecutive in a corpus."""
    files = corpus.labels["file"]
    pick = np.isin(corpus.split, splits)
    start = np.r_[True, files[1:] != files[:-1]]
    position = np.arange(len(files)) - np.maximum.accumulate(np.where(start, np.arange(len(files)), 0))
    return np.flatnonzero(pick & (position % stride == 0))


@dataclass
class RealismReference:
    """What a set of loops is read against: held-out real loops (onsets, standardised
    features, judge scores, nearest-training distances) and the training loops'
    distinct onsets (for memorisation)."""

    spec: GridSpec
    heldout: np.ndarray            # (R, 9, S) booleans
    feature_mean: np.ndarray
    feature_scale: np.ndarray
    train: OnsetIndex
    judges: dict                   # name -> fitness.judges.Judge
    info: dict

    def __post_init__(self):
        self.heldout_features = self.features(self.heldout)
        self.heldout_scores = {n: np.sort(j.score(self.heldout.astype(np.float32)))
                               for n, j in self.judges.items()}
        self.heldout_nearest = np.sort(self.train.nearest(self.heldout)[0])
        real = {"onsets": self.heldout, "features": self.heldout_features}
        self.heldout_radii = {name: (knn_radii(real[name], K_PRECISION, d),
                                     knn_radii(real[name], K_COVERAGE, d))
                              for name, d in DISTANCES.items()}

    @classmethod
    def from_corpus(cls, corpus, judges: dict) -> RealismReference:
        """The reference of a corpus (one window in four of its test and validation files;
        features standardised on its training split), read by `judges`."""
        held = heldout_windows(corpus)
        train = corpus.split_grids("train")
        if len(held) <= K_COVERAGE or len(train) == 0:
            raise EvodrumError(f"corpus {corpus.path or corpus.manifest_hash}: realism needs "
                               f"more than {K_COVERAGE} held-out windows and a training split")
        x = raw_features(train, corpus.spec)
        info = {"corpus_hash": corpus.manifest_hash, "heldout_splits": list(HELDOUT_SPLITS),
                "window_stride": WINDOW_STRIDE, "heldout_loops": len(held),
                "heldout_files": int(len(np.unique(corpus.labels["file"][held]))),
                "train_loops": len(train)}
        return cls(corpus.spec, onsets(corpus.grids[held]), x.mean(axis=0),
                   x.std(axis=0) + 1e-6, OnsetIndex(unique_onsets(onsets(train))), judges, info)

    def features(self, grids: np.ndarray) -> np.ndarray:
        """Standardised rhythm features and row densities of grids, (N, 21)."""
        return ((raw_features(grids, self.spec) - self.feature_mean) / self.feature_scale
                ).astype(np.float32)

    def measure(self, grids: np.ndarray) -> dict:
        """Every realism figure of a set of loops (N, 9, S) (see the module note)."""
        grids = check_grids(grids, self.spec)
        if len(grids) == 0:
            raise EvodrumError("realism of an empty set of loops: give at least one loop")
        on = onsets(grids)
        fake = {"onsets": on, "features": self.features(grids)}
        real = {"onsets": self.heldout, "features": self.heldout_features}
        spaces = {name: fidelity_diversity(real[name], fake[name], DISTANCES[name],
                                           real_radii=self.heldout_radii[name])
                  for name in DISTANCES}
        return {"loops": len(grids), "distinct": distinct_patterns(on),
                **spaces, "judges": self.judge_figures(grids),
                "memorisation": self.memorisation(on)}

    def judge_figures(self, grids: np.ndarray) -> dict:
        """Per judge: the set's median score, the share of real loops below it, the KS
        distance of the set's scores from the real loops' (two-sided: 0 = like real)."""
        out = {}
        for name, judge in self.judges.items():
            scores, real = judge.score(grids), self.heldout_scores[name]
            median = float(np.median(scores))
            out[name] = {"median": median,
                         "median_among_real": float(np.searchsorted(real, median) / len(real)),
                         "ks": float(stats.ks_2samp(scores, real).statistic),
                         "real_quartiles": [float(q) for q in np.percentile(real, [25, 50, 75])]}
        return out

    def memorisation(self, on: np.ndarray) -> dict:
        """Nearest-training-loop Jaccard distance of the set against the real held-out
        loops', and the share of exact and near copies of training loops."""
        dist = self.train.nearest(on)[0]
        near = float(np.quantile(self.heldout_nearest, NEAR_COPY_QUANTILE))
        return {"nearest_median": float(np.median(dist)),
                "real_nearest_median": float(np.median(self.heldout_nearest)),
                "copies": float((dist == 0).mean()),
                "near_copies": float((dist <= near).mean()), "near_copy_distance": near}

def raw_features(grids: np.ndarray, spec: GridSpec) -> np.ndarray:
    """Every rhythm feature and each row's hit density, (N, 21) float32 (unscaled)."""
    return np.concatenate([feature_matrix(grids, spec),
                           onsets(grids).mean(axis=-1, dtype=np.float32)], axis=1)


def training_windows(corpus, n: int, seed: int = 0) -> np.ndarray:
    """`n` training windows picked as the reference's (one in four per file): real loops
    to read beside a set, a yardstick of the same size (figures depend on set size)."""
    idx = heldout_windows(corpus, splits=("train",))
    rng = np.random.default_rng(seed)
    return corpus.grids[np.sort(rng.choice(idx, min(n, len(idx)), replace=False))]


def distinct_patterns(on: np.ndarray) -> int:
    """How many distinct onset patterns (N, 9, S) booleans hold."""
    return int(len(np.unique(np.packbits(on.reshape(len(on), -1), axis=1), axis=0)))
