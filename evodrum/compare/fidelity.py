"""Fidelity and diversity of what a comparison's searches found, read against held-out
real drumming (fitness.realism): per budget, algorithm and space, the best loops of
every task and seed as one set; the same per group of seeds that searched one trained
replicate, and per group that mixes the replicates (the spread between trained models
beside the spread between search seeds); each seed's loops as a set of its own, the
unit of the tests between spaces; and each space's prior samples. Judges are read
two-sided here."""
from __future__ import annotations

import numpy as np

from evodrum.compare import stats
from evodrum.compare.config import CompareConfig, RunKey
from evodrum.compare.summary import two_sample_test, with_holm
from evodrum.compare.store import text_grid

#: Prior samples read per space and replicate, and how many independent draws of them
#: (the spread between draws is the sampling noise the replicates' spread is read against).
PRIOR_SAMPLES = 1000
PRIOR_DRAWS = 3
#: Figures shown per set (onsets), and the two-sided judge figures.
SET_FIGURES = ("precision", "recall", "coverage")


def seed_groups(config: CompareConfig) -> dict[str, list[set[int]]]:
    """Seeds per group, grouped by the trained replicate they searched ("replicates":
    seed % n) and by search seed ("search_seeds": seed // n, each group one seed of
    every replicate); none without trained replicates. With seeds = n x n for n
    replicates both groupings' sets are the same size, so their spreads compare directly."""
    n = len(config.replicates)
    if n < 2:
        return {}
    seeds = range(config.seeds)
    groups = {"replicates": [{s for s in seeds if s % n == r} for r in range(n)]}
    if config.seeds // n >= 2:
        groups["search_seeds"] = [{s for s in seeds if s // n == g}
                                  for g in range(config.seeds // n)]
    return groups


def best_loops(config: CompareConfig, records: dict[RunKey, dict], algorithm: str,
               space: str, budget: int, seeds: set[int] | None = None) -> np.ndarray:
    """The best loop of every run of (algorithm, space) at `budget`, optionally of some
    seeds only (runs recorded before loops were kept per budget: at their own budget only)."""
    grids = []
    for key, r in sorted(records.items()):
        if (key.algorithm, key.space) != (algorithm, space) or \
                (seeds is not None and key.seed not in seeds):
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
    and seeds; with replicates, also each figure and the median error per group of seeds
    of each grouping (`seed_groups`), and real training loops read the same way, pooled
    and in groups of the same size (`yardstick(n, seed)` -> grids)."""
    rows = []
    groupings = seed_groups(config)
    for budget in config.all_budgets:
        sizes = []
        for algorithm in config.task_algorithms:
            for space in config.spaces:
                grids = best_loops(config, records, algorithm, space, budget)
                if len(grids) <= 5:
                    continue
                row = {"budget": budget, "algorithm": algorithm, "space": space,
                       **summarise(reference.measure(grids))}
                for grouping, groups in groupings.items():
                    per = [summarise(reference.measure(g)) for g in
                           (best_loops(config, records, algorithm, space, budget, seeds)
                            for seeds in groups) if len(g) > 5]
                    for k in SET_FIGURES:
                        row[f"{k}_{grouping}"] = [round(p[k], 3) for p in per]
                    row[f"error_{grouping}"] = [round(float(np.median(
                        [rec["budgets"][str(budget)]["error"] for key, rec in records.items()
                         if (key.algorithm, key.space) == (algorithm, space)
                         and key.seed in seeds])), 5) for seeds in groups]
                rows.append(row)
                sizes.append(len(grids))
        if sizes:               # training loops: their copies of training loops mean nothing
            n = max(sizes)
            real = {"budget": budget, "algorithm": "real loops", "space": "corpus",
                    **summarise(reference.measure(yardstick(n, 0))), "copies": None}
            for grouping, groups in groupings.items():
                per = [summarise(reference.measure(yardstick(n // len(groups), g + 1)))
                       for g in range(len(groups))]
                for k in SET_FIGURES:
                    real[f"{k}_{grouping}"] = [round(p[k], 3) for p in per]
            rows.append(real)
    return rows


def seed_rows(config: CompareConfig, records: dict[RunKey, dict], reference,
              yardstick) -> list[dict]:
    """Per budget, task algorithm, space and seed: the realism figures of that seed's
    best loops (one per task) as a set; and as many sets of as many real training loops
    (`yardstick(n, seed)`), the figures' level for real drumming at that set size."""
    rows = []
    for budget in config.all_budgets:
        for algorithm in config.task_algorithms:
            for space in config.spaces:
                for seed in range(config.seeds):
                    grids = best_loops(config, records, algorithm, space, budget, {seed})
                    if len(grids) > 3:          # recall needs more loops than its k
                        rows.append({"budget": budget, "algorithm": algorithm, "space": space,
                                     "seed": seed, **_figures(reference.measure(grids))})
        n = max((r["loops"] for r in rows if r["budget"] == budget), default=0)
        rows += [{"budget": budget, "algorithm": "real loops", "space": "corpus", "seed": seed,
                  **_figures(reference.measure(yardstick(n, 100 + seed)))}
                 for seed in range(config.seeds) if n > 3]
    return rows


def _figures(measured: dict) -> dict:
    return {"loops": measured["loops"], **{k: measured["onsets"][k] for k in SET_FIGURES}}


def per_seed(seeds: list[dict]) -> dict[tuple, list[float]]:
    """The seeds' figures grouped by (budget, algorithm, space, figure), one value a seed."""
    values: dict[tuple, list[float]] = {}
    for r in seeds:
        for k in SET_FIGURES:
            values.setdefault((r["budget"], r["algorithm"], r["space"], k), []).append(r[k])
    return values


def seed_tests(config: CompareConfig, seeds: list[dict]) -> list[dict]:
    """Per budget, algorithm, figure and pair of spaces (`config.pairs()`): Mann-Whitney U
    between the two spaces' per-seed figures (independent runs) with the Vargha-Delaney
    A12 (P(a seed of space A reads higher)); Holm over every test of one budget, as the
    headline's tests of target error and hypervolume are."""
    values = per_seed(seeds)
    out = []
    for budget in config.all_budgets:
        family = []
        for algorithm in config.task_algorithms:
            for figure in SET_FIGURES:
                for a, b in config.pairs():
                    x = values.get((budget, algorithm, a, figure), [])
                    y = values.get((budget, algorithm, b, figure), [])
                    if len(x) < 2 or len(y) < 2:
                        continue
                    family.append({"budget": budget, "algorithm": algorithm, "figure": figure,
                                   "space_a": a, "space_b": b,
                                   **two_sample_test(x, y, "a12", stats.a12(x, y))})
        out += with_holm(family, "a12", "higher")
    return out


def prior_rows(config: CompareConfig, reference) -> list[dict]:
    """Per space (a variant with its own prior) and trained replicate: realism of
    PRIOR_SAMPLES loops from the space's prior, the first draw's figures and each
    figure over PRIOR_DRAWS independent draws."""
    from evodrum.compare.runner import space
    rows = []
    for name in config.spaces:
        prior = config.search_config(RunKey(config.tasks[0].name, name, "random", 0)).prior
        models = [config.model_for(name, r) for r in range(max(1, len(config.replicates)))]
        for r, model in enumerate(models):
            if (_grid_space(config.base(name)) and r) or model in models[:r]:
                continue                      # one row per distinct trained model
            genotypes = space(config.base(name), model).with_prior(prior)
            draws = [summarise(reference.measure(genotypes.decode(genotypes.random(
                PRIOR_SAMPLES, np.random.default_rng(seed))))) for seed in range(PRIOR_DRAWS)]
            rows.append({"space": name, "replicate": r, "model": model or "shipped",
                         **draws[0], **{f"{k}_draws": [round(d[k], 3) for d in draws]
                                        for k in SET_FIGURES}})
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
