"""Evaluating representations on held-out loops and their samples, as a markdown report.

One `measure` call gives one row of the comparison table: reconstruction of the
test split (onset precision/recall/F1, velocity error), latent use (KL, active
dimensions) and samples from the prior (hit density per row against the corpus,
ghost notes, share of soft hits).
"""
from __future__ import annotations

import numpy as np

from evodrum.kit import ROWS
from vae import metrics
from vae.representation import Representation, to_grids

#: Samples drawn from each representation's prior for the sample statistics.
SAMPLES = 2000
#: The test metrics a model's card records.
CARD_METRICS = ("precision", "recall", "f1", "f1_at_0.5", "velocity_error", "kl", "active_dims",
                "prior_gap", "sample_density", "corpus_density", "density_error", "soft_cells",
                "ghost_rate", "soft_share")


def measure(rep: Representation, test: np.ndarray, reference: np.ndarray,
            samples: int = SAMPLES, seed: int = 0, threshold: float | None = None) -> dict:
    """Metrics of `rep` on `test` grids; samples are compared with `reference` grids.

    `threshold` overrides the representation's own hit threshold (to show, e.g.,
    the paper model decoded as the paper did).
    """
    t = rep.hit_threshold if threshold is None else np.broadcast_to(
        np.float32(threshold), rep.hit_threshold.shape)
    z = rep.encode(test)
    presence, velocity = rep.decode_scores(z)
    recon = to_grids(presence, velocity, t)
    best_t, best_f1 = metrics.best_threshold(test, presence)
    row = {
        "name": rep.name, "threshold": [float(v) for v in t],
        **metrics.onset_scores(test, recon),
        "f1_at_0.5": float(metrics.f1_by_threshold(test, presence, np.array([0.5]))[0]),
        "best_threshold_on_test": best_t, "f1_at_best_threshold": best_f1,
        "velocity_error": metrics.velocity_error(test, recon),
    }
    if hasattr(rep, "posterior"):
        mu, logvar = rep.posterior(test)
        row["kl"] = float(metrics.gaussian_kl(mu, logvar).mean())
        row["active_dims"] = metrics.active_units(mu)
        row["prior_gap"] = metrics.prior_gap(mu, logvar)
    zs = rep.sample_latent(samples, rng=seed)
    s_presence, s_velocity = rep.decode_scores(zs)
    sampled = to_grids(s_presence, s_velocity, t)
    dev = metrics.density_deviation(sampled, reference)
    ref_density = metrics.row_density(reference)
    row.update({
        "sample_density": float((sampled > 0).mean()),
        "corpus_density": float((np.asarray(reference) > 0).mean()),
        "density_error": float(np.abs(dev * ref_density).sum() / ref_density.sum()),
        "row_density_deviation": {r: float(d) for r, d in zip(ROWS, dev)},
        "soft_cells": metrics.soft_cells(sampled),
        "corpus_soft_cells": metrics.soft_cells(reference),
        "ghost_rate": metrics.ghost_rate(sampled, reference),
        "soft_share": metrics.soft_share(sampled),
        "corpus_soft_share": metrics.soft_share(reference),
    })
    return row


def _thresholds(t) -> str:
    """One threshold, or the range of per-row thresholds."""
    t = np.atleast_1d(np.asarray(t, dtype=float))
    return f"{t[0]:.2f}" if np.ptp(t) < 1e-6 else f"{t.min():.2f}–{t.max():.2f} (per row)"


def _fmt(v, pct=False) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    if pct:
        return f"{100 * v:.1f}%"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


TABLE_COLUMNS = (
    ("model", "name", False), ("hit thr.", "threshold_text", False),
    ("precision", "precision", False), ("recall", "recall", False), ("F1", "f1", False),
    ("F1 @0.5", "f1_at_0.5", False), ("F1 best thr. (test)", "f1_at_best_threshold", False),
    ("vel. error", "velocity_error", False), ("KL (nats)", "kl", False),
    ("active dims", "active_dims", False), ("prior gap (nats)", "prior_gap", False),
    ("sample density / corpus", "density_ratio", False),
    ("row density error", "density_error", True), ("soft cells", "soft_cells", True),
    ("ghost notes", "ghost_rate", True), ("soft hits", "soft_share", True),
)


def table(rows: list[dict]) -> str:
    """The comparison table in markdown."""
    lines = ["| " + " | ".join(c[0] for c in TABLE_COLUMNS) + " |",
             "|" + "---|" * len(TABLE_COLUMNS)]
    for row in rows:
        row = dict(row, density_ratio=row["sample_density"] / max(row["corpus_density"], 1e-9),
                   threshold_text=_thresholds(row["threshold"]))
        lines.append("| " + " | ".join(_fmt(row.get(key), pct) for _, key, pct in TABLE_COLUMNS)
                     + " |")
    return "\n".join(lines)


def density_table(rows: list[dict]) -> str:
    """Per-row relative density deviation of samples vs the corpus, in markdown."""
    lines = ["| model | " + " | ".join(ROWS) + " |", "|" + "---|" * (len(ROWS) + 1)]
    for row in rows:
        dev = row["row_density_deviation"]
        lines.append(f"| {row['name']} | " + " | ".join(f"{100 * dev[r]:+.0f}%" for r in ROWS)
                     + " |")
    return "\n".join(lines)


GLOSSARY = """\
- **F1** (precision, recall): onsets of the test loops re-decoded from their posterior
  mean (VAE) or projection (PCA), at the model's own hit thresholds (best F1 on the
  validation split for PCA and the paper model; per row for the two-head model, so
  that prior samples have the corpus's hit density per instrument). *F1 @0.5* thresholds
  at 0.5; *F1 best thr. (test)* is the best F1 over thresholds, chosen on the test split
  itself (an optimistic upper bound, as in the issue's figures).
- **vel. error**: mean absolute velocity difference (0..1 scale) on correctly found hits.
- **KL**: mean KL(q(z|x) || N(0, I)) on the test split, in nats; **active dims**: latent
  dimensions whose posterior mean has variance > 0.01 over the test split; **prior gap**:
  KL from a Gaussian fitted to the test loops' aggregate posterior to N(0, I), i.e. how
  far the prior a search samples from is from where real loops encode (0 = no holes).
- Sample columns use {samples} loops from each prior (N(0, I), or N(0, diag(variance))
  for PCA): **sample density / corpus** is the overall hit density ratio; **row density
  error** is sum over rows of |sample - corpus| density divided by the corpus density;
  **soft cells** are cells played at a velocity between 0.05 and 0.5 (corpus:
  {corpus_cells:.1%}); **ghost notes** are soft cells beyond the corpus's share, the
  paper model's flaw (its unsure cells play softly); **soft hits** is the share of
  played hits softer than 0.5 (corpus: {corpus_soft:.1%}), i.e. whether real dynamics
  survive.
"""


def report(rows: list[dict], title: str, notes: str = "") -> str:
    """The markdown evaluation report."""
    ref = rows[0] if rows else {"corpus_soft_share": 0.0, "corpus_soft_cells": 0.0}
    parts = [f"# {title}", "", notes.strip(), "", table(rows), "",
             GLOSSARY.format(samples=SAMPLES, corpus_soft=ref["corpus_soft_share"],
                             corpus_cells=ref["corpus_soft_cells"]), "",
             "## Sample hit density per row vs the corpus", "", density_table(rows), ""]
    return "\n".join(p for p in parts if p is not None)


def refinement_settings() -> list[dict]:
    """Settings the faithful-encoding table compares (vae.refine.encode keywords): the
    encoder mean, refinement before issue #23, then one change at a time towards the
    default (Adam alone, as issue #23 left it), the most starts there are, then the
    search on the exact F1 after one start, and after the default's starts with
    fewer, as many and more rounds."""
    from vae.refine import LIKELIHOOD, Loss
    adam_only = [{"steps": 50, "lr": 0.05, "starts": 1, "loss": LIKELIHOOD},
                 {"steps": 200, "lr": 0.05, "starts": 1, "loss": LIKELIHOOD},
                 {"steps": 50, "lr": 0.2, "starts": 1, "loss": LIKELIHOOD},
                 {"steps": 50, "lr": 0.2, "starts": 1, "loss": Loss(hit_weight=1.0)},
                 {"steps": 20, "starts": 1}, {"steps": 50, "starts": 1},
                 {"steps": 50, "starts": 1, "prior_weight": 0.5},
                 {"steps": 50, "starts": 2}, {"steps": 50, "starts": 4}, {"steps": 50},
                 {"steps": 100}, {"steps": 100, "starts": 34}]
    return [{"steps": 0}, *({**s, "search": 0} for s in adam_only),
            {"steps": 50, "starts": 1}, {"steps": 50, "search": 10}, {"steps": 50},
            {"steps": 50, "search": 100}]


def describe_setting(setting: dict) -> str:
    """A refinement setting in words, defaults left out."""
    from vae import refine
    if setting["steps"] == 0:
        return "encoder mean"
    loss = setting.get("loss") or refine.Loss()
    parts = [f"{setting['steps']} steps",
             f"{setting.get('starts', refine.STARTS)} start" + "s" * (
                 setting.get("starts", refine.STARTS) != 1),
             "likelihood loss" if loss == refine.LIKELIHOOD else
             f"loss at the thresholds, T {loss.temperature:g}, hit weight {loss.hit_weight:g}",
             f"lr {setting.get('lr', refine.LEARNING_RATE):g}"]
    if setting.get("prior_weight", refine.PRIOR_WEIGHT) != refine.PRIOR_WEIGHT:
        parts.append(f"prior weight {setting['prior_weight']:g}")
    search = setting.get("search", refine.SEARCH_ROUNDS)
    if search:
        parts.append(f"then {search} rounds of search on the exact F1")
    return ", ".join(parts)


def refinement_rows(rep: Representation, splits: dict[str, np.ndarray],
                    settings: list[dict] | None = None) -> list[dict]:
    """Onset F1 of each split's loops from encoder means and refined codes (vae.refine),
    one row per setting; the other figures are the last split's."""
    import time

    from vae import refine
    rows = []
    for setting in settings or refinement_settings():
        row = {"setting": describe_setting(setting)}
        for name, grids in splits.items():
            start = time.process_time()
            enc = refine.encode(rep, grids, **setting)
            seconds = time.process_time() - start
            row[name] = metrics.onset_scores(grids, rep.decode(enc.codes))
        row.update({"loop_f1": float(enc.f1.mean()),
                    "improved": float((enc.f1 > enc.f1_mean).mean()),
                    "exact": float((enc.f1 == 1).mean()),
                    "log_prior": float(enc.log_prior.mean()),
                    "typicality": float(np.median(enc.typicality)),
                    "outside_bulk": float((np.abs(enc.codes) >= 3.5).any(axis=1).mean()),
                    "ms_per_loop": 1000 * seconds / len(grids)})
        rows.append(row)
    return rows


def refinement_table(rows: list[dict], splits: list[str]) -> str:
    """The faithful-encoding table in markdown: onset F1 per split, then the last
    split's precision, recall and other figures."""
    last = splits[-1]
    head = ("| code | " + " | ".join(f"{s} onset F1" for s in splits)
            + f" | {last} precision | {last} recall | mean loop F1 | loops improved | loops "
            "exact | prior log-density | median typicality | any z_i beyond ±3.5 "
            "| ms / loop (CPU) |")
    lines = [head, "|" + "---|" * (len(splits) + 10)]
    for r in rows:
        lines.append(f"| {r['setting']} | " + " | ".join(f"{r[s]['f1']:.3f}" for s in splits)
                     + f" | {r[last]['precision']:.3f} | {r[last]['recall']:.3f} | "
                     f"{r['loop_f1']:.3f} | {100 * r['improved']:.0f}% | "
                     f"{100 * r['exact']:.1f}% | {r['log_prior']:.1f} | {r['typicality']:.2f} | "
                     f"{100 * r['outside_bulk']:.1f}% | {r['ms_per_loop']:.2f} |")
    return "\n".join(lines)
