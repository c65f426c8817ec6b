"""Faithful encoding: latent codes that decode to *your* loop, not the encoder's guess.

The encoder's posterior mean is an amortised guess; decoding it changes about a
quarter of a loop's onsets. Refinement takes Adam steps on the decoder's hit loss
plus the prior term (the MAP code under N(0, I)), all loops of a batch at once,
with the gradient written by hand through the numpy decoder (vae.hitloss: no
torch). The loss is centred on the decoder's own hit thresholds and sharpened
there, with hits weighing more than misses (`Loss`): measured on the Groove
validation split, that raises onset F1 more than more steps or a weaker prior.

Each loop is refined from several starts at once: the encoder mean, the code of
its bare pattern (onsets only) and the learned prior's component means whose loops
are nearest to it. It keeps the code with the best onset F1 seen on the way from
any start (the encoder mean included), so refinement never makes a loop's
reconstruction worse, and stops as soon as its onsets are exact (the other loops
go on); the prior term keeps codes inside the prior's bulk.

The gradient follows a smooth stand-in for onset F1, which cannot see a single cell
flip. Refinement therefore ends with a search on the exact F1 (`_search`): each
round tries a few short random moves from every loop's code and takes the best if
it plays the loop more faithfully. On the Groove validation split that lifts onset
F1 from 0.844 to 0.861 (test 0.837 to 0.854) for 5-8 ms more per loop; codes stay
as typical.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vae import metrics
from vae.decoder import NumpyDecoding
from vae.hitloss import HitLoss
from vae.representation import Representation

#: Adam steps for user loops by default (benchmarks.refine: 20 ms for one loop, search included).
DEFAULT_STEPS = 50
#: Adam learning rate on the code (prior std 1): chosen on the Groove validation split.
LEARNING_RATE = 0.2
#: Weight of the prior term -log N(z; 0, I); 1 is the MAP code, lower drifts out of the bulk.
PRIOR_WEIGHT = 1.0
#: Codes each loop is refined from: the encoder mean, its pattern's code, then learned-prior
#: component means (a model without them has fewer).
STARTS = 10
#: Loops refined together (bounds memory: a batch holds (batch x starts, 9 * S) logits).
BATCH = 512
#: The final search on the exact onset F1: rounds, moves tried per round and their
#: lengths (prior std 1), cycled; chosen on the Groove validation split.
SEARCH_ROUNDS = 30
SEARCH_MOVES = 32
SEARCH_LENGTHS = (0.1, 0.2, 0.4, 0.8)
#: Loops searched together: as many decoded rows per round as Adam's batch holds.
SEARCH_BATCH = BATCH * STARTS // SEARCH_MOVES
#: Seed of the search's move directions: the same for every loop (each loop's code
#: depends on that loop alone, never on the others refined with it).
SEARCH_SEED = 0
#: Adam's moment decay rates and epsilon (torch's defaults).
BETAS, EPSILON = (0.9, 0.999), 1e-8
#: Added to an F1's numerator and denominator so that an empty loop decoded empty scores 1.
F1_EPSILON = 1e-6


@dataclass(frozen=True)
class Loss:
    """The shape of refinement's loss (vae.hitloss): centred on the decoder's own hit
    thresholds or not, its temperature there, and a hit cell's weight against a silent
    one. The default was chosen on the Groove validation split (onset F1)."""

    temperature: float = 0.5
    hit_weight: float = 1.5
    at_thresholds: bool = True


#: The likelihood the model was trained on (refinement's loss before issue #23).
LIKELIHOOD = Loss(1.0, 1.0, False)


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
           lr: float = LEARNING_RATE, prior_weight: float = PRIOR_WEIGHT,
           starts: int = STARTS, loss: Loss | None = None,
           search: int = SEARCH_ROUNDS) -> Encoding:
    """Codes of `grids` (N, 9, S), refined by `steps` Adam steps (0: the encoder mean)
    from up to `starts` codes each (see `_starts`), on `loss` (None: `Loss()`, the
    default; `LIKELIHOOD`: the likelihood the model was trained on), then `search`
    rounds of the search on the exact onset F1 (0: none).

    Representations without a differentiable decoder (PCA, whose projection is
    already the least-squares code) return their own encoding with steps = 0, as does
    steps = 0 (no search either).
    """
    if steps < 0 or search < 0:
        raise ValueError(f"refinement steps and search rounds must be >= 0, not {steps} "
                         f"and {search}")
    grids = np.asarray(grids, np.float32)
    grids = grids[None] if grids.ndim == 2 else grids
    mean = rep.encode(grids)
    f1_mean = metrics.loop_f1(grids, rep.decode(mean))
    if steps == 0 or not isinstance(rep, NumpyDecoding):
        return _encoding(rep, mean, f1_mean, f1_mean, 0)
    loss = loss or Loss()
    cut = rep.hit_cut if loss.at_thresholds else 0.0
    hits = (rep.flat_grids(grids) > 0).astype(np.float32)
    codes = _starts(rep, grids, hits, mean, starts)
    refined = np.concatenate([
        _refine(HitLoss(rep.decoder, np.tile(hits[i:i + BATCH], (len(codes), 1)),
                        prior_weight, loss.hit_weight, 1.0, cut, loss.temperature),
                rep.hit_cut, codes[:, i:i + BATCH], steps, lr)
        for i in range(0, len(grids), BATCH)])
    if search:
        refined = np.concatenate([
            _search(rep, hits[i:i + SEARCH_BATCH], refined[i:i + SEARCH_BATCH], search)
            for i in range(0, len(grids), SEARCH_BATCH)])
    # Scored through the same decode every command uses, so "never worse" holds exactly.
    f1 = metrics.loop_f1(grids, rep.decode(refined))
    worse = f1 < f1_mean
    refined[worse], f1[worse] = mean[worse], f1_mean[worse]
    return _encoding(rep, refined, f1, f1_mean, steps)


def _starts(rep, grids, hits, mean, count) -> np.ndarray:
    """Up to `count` codes each loop starts from, (starts, N, zdim): the encoder mean,
    the code of the loop's bare pattern (onsets only), then the learned prior's
    component means whose decoded loops have the best onset F1 against it."""
    starts = [mean]
    if count > 1 and hasattr(rep, "posterior_of_pattern"):
        starts.append(rep.posterior_of_pattern(grids))
    mixture = getattr(rep, "mixture", None)
    prior_starts = min(count - len(starts), 0 if mixture is None else mixture.components)
    if prior_starts > 0:
        played = rep.decode_hits(mixture.means).reshape(mixture.components, -1)
        f1 = 2 * (hits @ played.T) / (hits.sum(axis=1)[:, None] + played.sum(axis=1) + F1_EPSILON)
        nearest = np.argsort(-f1, axis=1, kind="stable")[:, :prior_starts]
        starts += list(mixture.means[nearest.T])
    return np.stack(starts).astype(np.float32)


def _search(rep: NumpyDecoding, hits: np.ndarray, codes: np.ndarray, rounds: int
            ) -> np.ndarray:
    """`rounds` rounds of a random pattern search on each loop's exact onset F1: every
    round draws `SEARCH_MOVES` moves of `SEARCH_LENGTHS` in random directions, tries
    each from every loop's code and moves a loop to its best if that plays it strictly
    better (compared as fractions of whole counts: no rounding moves a loop). Exact
    loops have nothing to gain and are left alone."""
    rng = np.random.default_rng(SEARCH_SEED)
    lengths = np.resize(np.asarray(SEARCH_LENGTHS, np.float32), SEARCH_MOVES)
    codes = np.array(codes, np.float32)
    zdim = codes.shape[1]
    n_true = hits.sum(axis=1)
    tp2, total = _counts(rep.decode_hits(codes).reshape(len(codes), -1), hits, n_true)
    for _ in range(rounds):
        moves = rng.standard_normal((SEARCH_MOVES, zdim), dtype=np.float32)
        moves *= (lengths / np.linalg.norm(moves, axis=1))[:, None]
        going = np.flatnonzero(tp2 != total)
        if not len(going):
            break
        tried = codes[going][None] + moves[:, None]              # (moves, loops, zdim)
        played = rep.decode_hits(tried.reshape(-1, zdim)).reshape(SEARCH_MOVES, len(going), -1)
        tried_tp2, tried_total = _counts(played, hits[going], n_true[going])
        pick = _f1(tried_tp2, tried_total).argmax(axis=0)         # the first best move
        loops = np.arange(len(going))
        new_tp2, new_total = tried_tp2[pick, loops], tried_total[pick, loops]
        better = (new_tp2 == new_total) | (                       # exact, or a larger F1
            np.float64(new_tp2) * total[going] > np.float64(tp2[going]) * new_total)
        moved = going[better]
        codes[moved] = tried[pick[better], loops[better]]
        tp2[moved], total[moved] = new_tp2[better], new_total[better]
    return codes


def _counts(played: np.ndarray, hits: np.ndarray, n_true: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """(2 tp, played + true) of each row of `played` (0/1, cells last) against `hits`:
    onset F1 is their ratio, and the onsets are exact where they are equal (whole
    counts, which float32 holds exactly)."""
    tp2 = 2 * np.einsum("...c,...c->...", played, hits)
    return tp2, np.add.reduce(played, axis=-1) + n_true


def _f1(tp2: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Onset F1 from `_counts`; the epsilon scores an empty loop decoded empty 1 and
    moves no F1 past another (they differ by at least 1 / cells^2)."""
    f1 = tp2 + F1_EPSILON
    f1 /= total + F1_EPSILON
    return f1


def _encoding(rep, codes, f1, f1_mean, steps) -> Encoding:
    log_p, typical = prior_stats(codes, rep.latent_std)
    return Encoding(np.asarray(codes, np.float32), f1, f1_mean, log_p, typical, steps)


def _refine(loss: HitLoss, cut: np.ndarray, starts: np.ndarray, steps: int,
            lr: float) -> np.ndarray:
    """Refine one batch from `starts` (starts, N, zdim) by Adam on `loss` (its rows: the
    loops repeated once per start): each loop's code with the best onset F1 on the way
    from any start. A loop stops as soon as its onsets are exact; the others go on."""
    n_starts, n = starts.shape[:2]
    best = np.array(starts[0])
    best_f1 = np.full(n, -1, np.float32)
    # The rows still being refined: their loop, code, best code and F1 so far, Adam's
    # moments and their loop's number of onsets.
    loop = np.tile(np.arange(n), n_starts)
    z = starts.reshape(n_starts * n, -1).copy()
    kept, kept_f1 = z.copy(), np.full(len(z), -1, np.float32)
    m, v = np.zeros_like(z), np.zeros_like(z)
    n_true = loss.hits.sum(axis=1)

    def retire(rows):
        """Take the best codes of these rows into `best` (the first start wins ties)."""
        order = rows[np.lexsort((rows, -kept_f1[rows]))]
        top = order[np.unique(loop[order], return_index=True)[1]]
        top = top[kept_f1[top] > best_f1[loop[top]]]
        best[loop[top]], best_f1[loop[top]] = kept[top], kept_f1[top]

    for step in range(steps + 1):
        if step == steps:
            logits, grad = loss.logits(z), None
        else:
            logits, grad = loss.logits_and_gradient(z)
        played = np.greater_equal(logits, cut, out=np.empty_like(logits), casting="unsafe")
        # Exact where no cell differs, counted (the F1 itself rounds to 1.0000001 for some).
        tp2, total = _counts(played, loss.hits, n_true)
        exact = tp2 == total
        f1 = _f1(tp2, total)
        better = f1 > kept_f1
        np.copyto(kept, z, where=better[:, None])
        np.maximum(kept_f1, f1, out=kept_f1)
        if grad is None:
            break
        if exact.any():                    # every start of an exact loop stops
            going = ~np.isin(loop, loop[exact])
            retire(np.flatnonzero(~going))
            if not going.any():
                return best
            loop, z, kept, kept_f1, m, v, grad, n_true = (
                a[going] for a in (loop, z, kept, kept_f1, m, v, grad, n_true))
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
    retire(np.arange(len(z)))
    return best
