"""Faithful encoding: latent codes that decode to *your* loop, not the encoder's guess.

The encoder's posterior mean is an amortised guess; decoding it changes about a
quarter of a loop's onsets. Refinement starts there and takes Adam steps on the
decoder's hit log-likelihood plus the prior term (the MAP code under N(0, I)),
all loops of a batch at once, with the gradient written by hand through the numpy
decoder (vae.hitloss: no torch, no autograd graph). Each loop keeps the code with
the best onset F1 seen on the way (the encoder mean included), so refinement never
makes a loop's reconstruction worse, and stops as soon as its onsets are exact;
the prior term keeps codes inside the prior's bulk.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vae import metrics
from vae.decoder import NumpyDecoding
from vae.hitloss import HitLoss
from vae.representation import Representation

#: Adam steps for user loops by default (benchmarks.refine: a few ms for one loop).
DEFAULT_STEPS = 50
#: Adam learning rate on the code (prior std 1): chosen on the Groove validation split.
LEARNING_RATE = 0.05
#: Weight of the prior term -log N(z; 0, I); 1 is the MAP code, lower drifts out of the bulk.
PRIOR_WEIGHT = 1.0
#: Loops refined together (bounds memory: a batch holds (batch, 9 * S) logits).
BATCH = 4096
#: Adam's moment decay rates and epsilon (torch's defaults).
BETAS, EPSILON = (0.9, 0.999), 1e-8
#: Added to an F1's numerator and denominator so that an empty loop decoded empty scores 1.
F1_EPSILON = 1e-6


@dataclass
class Encoding:
    """Codes of a batch of loops and how faithful and how typical each one is."""

    codes: np.ndarray          # (N, zdim), in the representation's own units
    f1: np.ndarray             # (N,) onset F1 of decode(codes) against the loop
    f1_mean: np.ndarray        # (N,) the same for the encoder's mean (before refinement)
    log_prior: np.ndarray      # (N,) log N(code; 0, diag(latent_std^2)), nats
    typicality: np.ndarray     # (N,) share of prior samples with a lower density (0..1)
    steps: int                 # refinement steps taken (0 = encoder mean)

    def describe(self, i: int = 0) -> str:
        """One line for a person: how faithful and how typical loop `i`'s code is."""
        gain = (f" (encoder mean {self.f1_mean[i]:.2f}, refined {self.steps} steps)"
                if self.steps else " (encoder mean)")
        return (f"onset F1 {self.f1[i]:.2f}{gain}; prior log-density {self.log_prior[i]:.1f} "
                f"nats, more typical than {100 * self.typicality[i]:.0f}% of prior samples")


def prior_stats(codes: np.ndarray, latent_std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log-density under the prior, share of prior samples less dense) per code."""
    u = np.asarray(codes, np.float64) / np.asarray(latent_std, np.float64)
    r2 = np.square(u).sum(axis=1)
    d = u.shape[1]
    log_p = -0.5 * r2 - 0.5 * d * np.log(2 * np.pi) - np.log(np.asarray(latent_std)).sum()
    from scipy.stats import chi2   # imported when needed: scipy.stats costs ~0.3 s
    return log_p, chi2.sf(r2, d)


def encode(rep: Representation, grids: np.ndarray, steps: int = DEFAULT_STEPS,
           lr: float = LEARNING_RATE, prior_weight: float = PRIOR_WEIGHT) -> Encoding:
    """Codes of `grids` (N, 9, S), refined by `steps` Adam steps (0: the encoder mean).

    Representations without a differentiable decoder (PCA, whose projection is
    already the least-squares code) return their own encoding with steps = 0.
    """
    if steps < 0:
        raise ValueError(f"refinement steps must be >= 0, not {steps}")
    grids = np.asarray(grids, np.float32)
    grids = grids[None] if grids.ndim == 2 else grids
    mean = rep.encode(grids)
    if steps == 0 or not isinstance(rep, NumpyDecoding):
        f1 = metrics.loop_f1(grids, rep.decode(mean))
        return _encoding(rep, mean, f1, f1, 0)
    hits = (rep.flat_grids(grids) > 0).astype(np.float32)
    refined = np.concatenate([_refine(rep.decoder, rep.hit_cut, hits[i:i + BATCH],
                                      mean[i:i + BATCH], steps, lr, prior_weight)
                              for i in range(0, len(grids), BATCH)])
    # Scored through the same decode every command uses, so "never worse" holds exactly.
    f1_mean = metrics.loop_f1(grids, rep.decode(mean))
    f1 = metrics.loop_f1(grids, rep.decode(refined))
    worse = f1 < f1_mean
    refined[worse], f1[worse] = mean[worse], f1_mean[worse]
    return _encoding(rep, refined, f1, f1_mean, steps)


def _encoding(rep, codes, f1, f1_mean, steps) -> Encoding:
    log_p, typical = prior_stats(codes, rep.latent_std)
    return Encoding(np.asarray(codes, np.float32), f1, f1_mean, log_p, typical, steps)


def _refine(decoder, cut, hits, start, steps, lr, prior_weight):
    """Refine one batch by Adam on the analytic gradient (vae.hitloss): the code of
    each loop with the best onset F1 on the way. A loop stops as soon as its onsets
    are exact; the others go on."""
    best = np.array(start, np.float32)
    best_f1 = np.empty(len(best), np.float32)
    loss = HitLoss(decoder, hits, prior_weight)
    # The loops still being refined: their rows in `best`, code, best code and F1 so
    # far, Adam's moments and their number of onsets (+ F1_EPSILON, see below).
    rows = np.arange(len(best))
    z, kept, kept_f1 = best.copy(), best.copy(), np.full(len(best), -1, np.float32)
    m, v = np.zeros_like(z), np.zeros_like(z)
    n_true = hits.sum(axis=1) + F1_EPSILON
    for step in range(steps + 1):
        if step == steps:
            logits, grad = loss.logits(z), None
        else:
            logits, grad = loss.logits_and_gradient(z)
        played = np.greater_equal(logits, cut, out=np.empty_like(logits), casting="unsafe")
        # 2 tp / (played + true), and exactly 1 when the onsets are exact (an empty loop
        # decoded empty included): the epsilon moves no F1 past another (they differ
        # by at least 1 / cells^2).
        f1 = 2 * np.einsum("ij,ij->i", played, loss.hits)
        f1 += F1_EPSILON
        f1 /= np.add.reduce(played, axis=1) + n_true
        better = f1 > kept_f1
        np.copyto(kept, z, where=better[:, None])
        np.maximum(kept_f1, f1, out=kept_f1)
        done = f1 == 1
        if grad is None or done.all():
            break
        if done.any():
            best[rows[done]], best_f1[rows[done]] = kept[done], kept_f1[done]
            going = ~done
            rows, z, kept, kept_f1, m, v, grad, n_true = (
                a[going] for a in (rows, z, kept, kept_f1, m, v, grad, n_true))
            loss.keep(going)
        # Adam, as torch.optim.Adam: bias-corrected first and second moments.
        m += (1 - BETAS[0]) * (grad - m)
        grad *= grad
        grad -= v
        grad *= 1 - BETAS[1]
        v += grad
        correction = math.sqrt(1 - BETAS[1] ** (step + 1))
        denom = np.sqrt(v)
        denom += EPSILON * correction
        np.divide(m, denom, out=denom)
        denom *= lr * correction / (1 - BETAS[0] ** (step + 1))
        z -= denom
    best[rows], best_f1[rows] = kept, kept_f1
    return best
