"""Choosing a representation's hit thresholds (where a presence score becomes a hit).

- "f1": one threshold, the best onset F1 when re-decoding held-out loops (the
  fair setting for the paper model and PCA, whose single output is not a probability).
- "density": one threshold per row such that loops sampled from the prior have
  each instrument's hit density of the training corpus. At 0.5 a decoder unsure
  where an open hi-hat or a tom goes never plays one, so samples come out sparse
  and lose rare instruments; matching the corpus density keeps them.
- "half": 0.5 for every row.
"""
from __future__ import annotations

import numpy as np

from vae import metrics
from vae.representation import Representation

METHODS = ("density", "f1", "half")
#: Prior samples used to match densities (more samples, steadier quantiles).
DENSITY_SAMPLES = 20000


def f1_threshold(rep: Representation, validation: np.ndarray) -> float:
    """The single threshold with the best onset F1 on re-decoded `validation` loops."""
    presence, _ = rep.decode_scores(rep.encode(validation))
    return metrics.best_threshold(validation, presence)[0]


def density_thresholds(rep: Representation, reference: np.ndarray,
                       samples: int = DENSITY_SAMPLES, seed: int = 0) -> np.ndarray:
    """Per-row thresholds (9,) giving prior samples the row hit densities of `reference`."""
    presence, _ = rep.decode_scores(rep.sample_latent(samples, rng=seed))
    return thresholds_for_density(presence, reference)


def thresholds_for_density(presence: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per-row thresholds (9,) at which the presence scores (N, 9, S) of some samples
    give them the row hit densities of `reference`."""
    target = metrics.row_density(reference)
    per_row = presence.transpose(1, 0, 2).reshape(len(target), -1)
    quantiles = [np.quantile(p, 1.0 - d) if d > 0 else 1.0 for p, d in zip(per_row, target)]
    return np.clip(np.asarray(quantiles, dtype=np.float32), 1e-4, 1.0)


def calibrate(rep: Representation, method: str, validation: np.ndarray,
              reference: np.ndarray) -> Representation:
    """Set `rep.hit_threshold` by `method` (see module doc); records it in the card."""
    if method == "density":
        rep.hit_threshold = density_thresholds(rep, reference)
    elif method == "f1":
        rep.hit_threshold = f1_threshold(rep, validation)
    elif method == "half":
        rep.hit_threshold = 0.5
    else:
        raise ValueError(f"unknown threshold method {method!r}: use one of {', '.join(METHODS)}")
    rep.card = dict(rep.card, threshold_method=method, hit_threshold=rep.hit_threshold.tolist())
    return rep
