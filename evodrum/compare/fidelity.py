"""Fidelity and diversity of what a comparison's searches found, read against held-out
real drumming (fitness.realism): per budget, algorithm and space, the best loops of
every task and seed as one set; per trained replicate, the same (the spread between
trained models); and each space's prior samples. Judges are read two-sided here."""
from __future__ import annotations

import numpy as np

from evodrum.compare.config import CompareConfig, RunKey
from evodrum.compare.store import text_grid

#: Prior samples read per space and replicate.
PRIOR_SAMPLES = 1000
#: Figures shown per set (onsets), and the two-sided judge figures.
SET_FIGURES = ("precision", "recall", "coverage")


def best_loops(config: CompareConfig, records: dict[RunKey, dict], algorithm: str,
               space: str, budget: int, replicate: int | None = None) -> np.ndarray:
    """The best loop of every run of (algorithm, space) at `budget`, optionally of one
    replicate (runs recorded before loops were kept per budget: at their own budget only)."""
    grids = []
    for key, r in sorted(records.items()):
        if (key.algorithm, key.space) != (algorithm, space) or \
                (replicate is not None and r.get("replicate", 0) != replicate):
            continue
        rows = r["budgets"].get(str(budget), {}).get("best_grid")
        if rows is None and budget == config.budget:
            rows = r["best_grid"]
        if rows:
            grids.append(text_grid(rows))
    return np.array(grids, np.float32).reshape(-1, *config_shape(records))


def config_shape(records: dict[RunKey, dict]) -> tuple[int, int]:
    """(rows, steps) of the comparison's loops."""
    from evodrum.grid import GridSpec
    return GridSpec.from_dict(next(iter(records.values()))["spec"]).shape


def summarise(measured: dict) -> dict:
    """The figures a report row shows from `RealismReference.measure`."""
    row = {k: measured["onsets"][k] for k in SET_FIGURES}
    row.update({f"features_{k}": measured["features"][k] for k in SET_FIGURES})
    row["loops"], row["distinct"] = measured["loops"], measured["distinct"]
    for name, j in measured["judges"].items():
        row[f"{name}_ks"], row[f"{name}_place"] = j["ks"], j["median_among_real"]
    row["copies"] = measured["memorisation"]["copies"]
    row["nearest"] = measured["memorisation"]["nearest_median"]
    return row


def search_rows(config: CompareConfig, records: dict[RunKey, dict], reference,
                yardstick) -> list[dict]:
    """Per budget, task algorithm and space: realism of its best loops pooled over tasks
    and seeds; with replicates, also the figures of each group of seeds (seed s % n: one
    trained replicate each; the grid's seeds grouped the same way), and real training
    loops read the same way, pooled and in as many groups (`yardstick(n, seed)` -> grids)."""
    rows = []
    groups = max(1, len(config.replicates))
    for budget in config.all_budgets:
        sizes = []
        for algorithm in config.task_algorithms:
            for space in config.spaces:
                grids = best_loops(config, records, algorithm, space, budget)
                if len(grids) <= 5:
                    continue
                row = {"budget": budget, "algorithm": algorithm, "space": space,
                       **summarise(reference.measure(grids))}
                if groups > 1:
                    per = [summarise(reference.measure(g)) for g in
                           (best_loops(config, records, algorithm, space, budget, r)
                            for r in range(groups)) if len(g) > 5]
                    for k in SET_FIGURES:
                        row[f"{k}_replicates"] = [round(p[k], 3) for p in per]
                rows.append(row)
                sizes.append(len(grids))
        if sizes:               # training loops: their copies of training loops mean nothing
            n = max(sizes)
            real = {"budget": budget, "algorithm": "real loops", "space": "corpus",
                    **summarise(reference.measure(yardstick(n, 0))), "copies": None}
            if groups > 1:
                per = [summarise(reference.measure(yardstick(n // groups, g + 1)))
                       for g in range(groups)]
                for k in SET_FIGURES:
                    real[f"{k}_replicates"] = [round(p[k], 3) for p in per]
            rows.append(real)
    return rows


def prior_rows(config: CompareConfig, reference, seed: int = 0) -> list[dict]:
    """Per space and replicate: realism of PRIOR_SAMPLES loops from the space's prior."""
    from evodrum.compare.runner import space
    rows = []
    for name in config.spaces:
        models = [config.model_for(name, r) for r in range(max(1, len(config.replicates)))]
        for r, model in enumerate(models):
            if (_grid_space(name) and r) or model in models[:r]:
                continue                      # one row per distinct trained model
            genotypes = space(name, model)
            grids = genotypes.decode(genotypes.random(PRIOR_SAMPLES, np.random.default_rng(seed)))
            rows.append({"space": name, "replicate": r, "model": model or "shipped",
                         **summarise(reference.measure(grids))})
    return rows


def _grid_space(name: str) -> bool:
    from evodrum import genotypes
    return genotypes.entry(name).kind.cell_genes


def pca_figure(config: CompareConfig, path, samples: int = 4, seed: int = 0):
    """The paper's Fig. 3 read honestly: PCA prior samples as its continuous output
    (before the hit threshold) above the loops they decode to."""
    from evodrum.compare.runner import space
    from vae.plot import grids_figure
    pca = space("pca", config.model_for("pca", 0)).representation
    z = pca.sample_latent(samples, rng=seed)
    raw = np.clip(pca.decode_scores(z)[0], 0.0, 1.0)
    loops = pca.decode(z)
    titles = [t for i in range(samples) for t in (
        f"PCA sample {i + 1}: continuous output (clipped to [0, 1])",
        f"PCA sample {i + 1}: hits above {pca.hit_threshold[0]:.2f}")]
    pairs = np.stack([raw, loops], axis=1).reshape(-1, *pca.spec.shape)
    return grids_figure(path, pairs, pca.spec, titles,
                        columns=2, suptitle="PCA-20 prior samples before and after the hit "
                                            "threshold (cf. McDermott 2018, Fig. 3)")
