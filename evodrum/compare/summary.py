"""From per-run records to the numbers a report shows: one row per run, one per
(task, space, algorithm) cell, pairwise tests between spaces, convergence quartiles."""
from __future__ import annotations

import numpy as np

from evodrum.compare import stats
from evodrum.compare.config import TASKLESS, CompareConfig, RunKey

#: Family-wise significance level after Holm's correction.
ALPHA = 0.05
#: Measures compared between spaces, and whether lower is better: the target error,
#: the well-formedness score, and the independent judges of real drumming.
METRICS = {"error": True, "wellformed": False, "markov": False, "classifier": False}
JUDGES = ("markov", "classifier")


def value(record: dict, metric: str, budget: int | None = None) -> float:
    """A run's `metric` at `budget` evaluations (its own budget when None or absent)."""
    source = record.get("budgets", {}).get(str(budget), record) if budget else record
    return float(source["judges"].get(metric, np.nan) if metric in JUDGES else source[metric])


def evals_to_threshold(record: dict, threshold: float) -> int | None:
    """Evaluations after which the best error so far was first <= threshold, or None."""
    errors = np.asarray(record["curve"]["error"])
    hit = np.flatnonzero(errors <= threshold)
    return int(record["curve"]["evaluations"][hit[0]]) if len(hit) else None


def cells(config: CompareConfig):
    """(task, space, algorithm) in report order."""
    return [(t.name, s, a) for t in config.tasks for s in config.spaces for a in
            config.task_algorithms]


def cell_records(config: CompareConfig, records: dict[RunKey, dict], cell) -> list[dict]:
    return [records[k] for k in (RunKey(*cell, seed) for seed in range(config.seeds))
            if k in records]


def run_rows(config: CompareConfig, records: dict[RunKey, dict]) -> list[dict]:
    """One flat row per finished run (the runs.csv table)."""
    rows = []
    for key in config.runs():
        if key in records:
            r = records[key]
            at_budgets = {f"{m}_at_{b}": value(r, m, b) for b in config.all_budgets[:-1]
                          for m in METRICS}
            rows.append({**key._asdict(), "error": r["error"],
                         "evals_to_threshold": evals_to_threshold(r, config.threshold),
                         "evaluations": r["evaluations"], "wellformed": r["wellformed"],
                         **{j: value(r, j) for j in JUDGES}, **at_budgets,
                         "typicality": r["typicality"], "nearest_distance": r["nearest_distance"],
                         "wall_seconds": r["wall_seconds"], "cpu_seconds": r["cpu_seconds"]})
    return rows


def cell_rows(config: CompareConfig, records: dict[RunKey, dict]) -> list[dict]:
    """Per (task, space, algorithm): error, success, evaluations to threshold,
    well-formedness and time over seeds (the summary.csv table)."""
    rows = []
    for cell in cells(config):
        recs = cell_records(config, records, cell)
        if not recs:
            continue
        reach = [evals_to_threshold(r, config.threshold) for r in recs]
        hits = [e for e in reach if e is not None]
        row = dict(zip(("task", "space", "algorithm"), cell), runs=len(recs))
        for name in METRICS:
            d = stats.describe([value(r, name) for r in recs])
            row.update({f"{name}_{k}": d[k] for k in ("mean", "median", "q25", "q75", "iqr")})
        for budget in config.all_budgets[:-1]:
            row.update({f"{m}_median_at_{budget}": float(np.median([value(r, m, budget)
                                                                    for r in recs]))
                        for m in METRICS})
        row.update(success_rate=len(hits) / len(recs),
                   evals_to_threshold_median=float(np.median(hits)) if hits else None,
                   typicality_median=float(np.median([r["typicality"] for r in recs])),
                   nearest_distance_median=float(np.median([r["nearest_distance"] for r in recs])),
                   evaluations_mean=float(np.mean([r["evaluations"] for r in recs])),
                   wall_seconds_median=float(np.median([r["wall_seconds"] for r in recs])),
                   wall_seconds_mean=float(np.mean([r["wall_seconds"] for r in recs])))
        rows.append(row)
    return rows


def space_rows(config: CompareConfig, records: dict[RunKey, dict]) -> list[dict]:
    """Per space, algorithm and budget, its runs pooled over tasks and seeds: error,
    well-formedness and the independent judges side by side."""
    rows = []
    for budget in config.all_budgets:
        for algorithm in config.task_algorithms:
            for space in config.spaces:
                recs = [r for k, r in records.items()
                        if k.space == space and k.algorithm == algorithm]
                if not recs:
                    continue
                errors = np.array([value(r, "error", budget) for r in recs])
                row = {"budget": budget, "algorithm": algorithm, "space": space,
                       "runs": len(recs), "error_median": float(np.median(errors)),
                       "success_rate": float(np.mean(errors <= config.threshold))}
                for m in list(METRICS)[1:]:
                    row[f"{m}_median"] = float(np.median([value(r, m, budget) for r in recs]))
                    row[f"{m}_mean"] = float(np.mean([value(r, m, budget) for r in recs]))
                rows.append(row)
    return rows


def archive_rows(config: CompareConfig, records: dict[RunKey, dict]) -> list[dict]:
    """Per space and budget, the map-elites archives pooled over seeds: median coverage
    and QD-score (under the comparison's judge), for the console and --json."""
    rows = []
    for budget in config.all_budgets:
        for algorithm in (a for a in config.algorithms if a in TASKLESS):
            for space in config.spaces:
                measures = {name: run_samples(config, records, algorithm, budget, fn,
                                              config.judge).get(space)
                            for name, fn, _ in ARCHIVE}
                if measures["coverage"]:
                    rows.append({"budget": budget, "algorithm": algorithm, "space": space,
                                 "runs": len(measures["coverage"]),
                                 "coverage_median": float(np.median(measures["coverage"])),
                                 "qd_score_median": float(np.median(measures["QD-score"]))})
    return rows


def pairwise_tests(config: CompareConfig, records: dict[RunKey, dict]) -> list[dict]:
    """Mann-Whitney U between every two spaces, per budget, task, algorithm and metric,
    with Holm's correction over all tests of a (metric, budget) and A12 as
    P(space A does better)."""
    rows = []
    for budget in config.all_budgets:
        for metric, lower_better in METRICS.items():
            family = []
            for task in config.tasks:
                for algorithm in config.task_algorithms:
                    for a, b in config.pairs():
                        x, y = ([value(r, metric, budget) for r in
                                 cell_records(config, records, (task.name, s, algorithm))]
                                for s in (a, b))
                        if len(x) < 2 or len(y) < 2:
                            continue
                        better = stats.a12(y, x) if lower_better else stats.a12(x, y)
                        family.append({"budget": budget, "metric": metric, "task": task.name,
                                       "algorithm": algorithm, "space_a": a, "space_b": b,
                                       **two_sample_test(x, y, "a_better", better)})
            rows.extend(with_holm(family, "a_better", "winner"))
    return rows


def two_sample_test(x, y, effect_key: str, effect: float) -> dict:
    """The columns of one test of space A's values `x` against B's `y`: medians, sizes,
    Mann-Whitney U and p, and the effect size (an A12) under `effect_key`."""
    u, p = stats.mann_whitney(x, y)
    return {"median_a": float(np.median(x)), "median_b": float(np.median(y)), "n_a": len(x),
            "n_b": len(y), "u": u, "p": p, effect_key: effect,
            "magnitude": stats.magnitude(effect)}


def with_holm(family: list[dict], effect_key: str, verdict_key: str) -> list[dict]:
    """`family`'s tests (from `two_sample_test`) with Holm's p over all of them and, under
    `verdict_key`, the space its effect favours where that p is below ALPHA ('' if none)."""
    for row, adjusted in zip(family, stats.holm([r["p"] for r in family])):
        row["p_holm"] = float(adjusted)
        row[verdict_key] = (row["space_a"] if row[effect_key] > 0.5 else row["space_b"]) \
            if adjusted < ALPHA else ""
    return family


def curve_quartiles(config: CompareConfig, records: dict[RunKey, dict], cell) -> dict:
    """Best error so far at every `population` evaluations: median and quartiles over seeds
    (a run's value at e evaluations is its best error after at most e evaluations)."""
    grid = np.arange(config.population, config.budget + 1, config.population)
    values = []
    for r in cell_records(config, records, cell):
        e, err = np.asarray(r["curve"]["evaluations"]), np.asarray(r["curve"]["error"], float)
        i = np.searchsorted(e, grid, side="right") - 1
        values.append(np.where(i >= 0, err[np.maximum(i, 0)], np.nan))
    if not values:
        return {}
    q25, median, q75 = np.nanpercentile(np.array(values), [25, 50, 75], axis=0)
    return {"evaluations": grid, "median": median, "q25": q25, "q75": q75}


def best_record(config: CompareConfig, records: dict[RunKey, dict], cell) -> dict | None:
    """The cell's run with the lowest error (ties: the better-formed loop)."""
    recs = cell_records(config, records, cell)
    return min(recs, key=lambda r: (r["error"], -r["wellformed"])) if recs else None


def holm_floors(tests: list[dict]) -> dict[tuple, float]:
    """Per (budget, metric) family of per-task tests, the smallest Holm-adjusted p any of
    them can reach: the family size times the smallest exact Mann-Whitney p of its
    sample sizes. At or above ALPHA, no per-task test can be significant."""
    families: dict[tuple, list[dict]] = {}
    for t in tests:
        families.setdefault((t["budget"], t["metric"]), []).append(t)
    return {k: min(1.0, len(f) * min(stats.smallest_p_mann_whitney(t["n_a"], t["n_b"])
                                     for t in f)) for k, f in families.items()}


def win_counts(config: CompareConfig, tests: list[dict]) -> list[dict]:
    """Per budget, metric, algorithm and pair of spaces: in how many tasks each space
    did significantly better, and in how many neither did."""
    counts: dict[tuple, list[int]] = {}
    for t in tests:
        key = (t["budget"], t["metric"], t["algorithm"], t["space_a"], t["space_b"])
        c = counts.setdefault(key, [0, 0, 0])
        c[0 if t["winner"] == t["space_a"] else 1 if t["winner"] else 2] += 1
    return [{"budget": k[0], "metric": k[1], "algorithm": k[2], "space_a": k[3],
             "space_b": k[4], "a_wins": c[0], "b_wins": c[1], "ties": c[2]}
            for k, c in counts.items()]


# --- the headline: spaces compared over the task suite ----------------------------

def at(record: dict, budget: int) -> dict:
    """A run's outcome at `budget` evaluations (error, judges, front or archive)."""
    return record["budgets"][str(budget)]


#: Headline measures per kind of algorithm: (name, value of an outcome, higher is better).
PARETO = (("hypervolume", lambda o, judge: o["front"]["hypervolume"][judge], True),)
ARCHIVE = (("coverage", lambda o, judge: o["archive"]["coverage"], True),
           ("QD-score", lambda o, judge: o["archive"]["qd_score"][judge], True))
#: (The judges' scores of single best loops are typicality, read one-sided; the report
#: reads them two-sided over each space's set of loops in its fidelity section.)
SINGLE = (("error", lambda o, judge: o["error"], False),)


def run_samples(config: CompareConfig, records: dict[RunKey, dict], algorithm: str,
                budget: int, measure, judge: str) -> dict[str, list[float]]:
    """Per space, `measure` of every run's outcome at `budget`: one value per (task, seed),
    or per seed for the taskless archive runs."""
    out = {}
    for space in config.spaces:
        values = [measure(at(r, budget), judge) for k, r in sorted(records.items())
                  if (k.space, k.algorithm) == (space, algorithm)]
        if values:
            out[space] = values
    return out


def task_medians(config: CompareConfig, records: dict[RunKey, dict], algorithm: str,
                 budget: int, measure, judge: str) -> dict[str, dict[str, float]]:
    """Per space and task, the median over seeds of `measure` at `budget`: the unit the
    paired headline compares (every space runs the same tasks)."""
    out: dict[str, dict[str, list[float]]] = {}
    for k, r in records.items():
        if k.algorithm == algorithm:
            out.setdefault(k.space, {}).setdefault(k.task, []).append(
                measure(at(r, budget), judge))
    return {s: {t.name: float(np.median(out[s][t.name])) for t in config.tasks
                if t.name in out[s]} for s in config.spaces if s in out}


def paired_tests(table: dict[str, dict[str, float]], higher_better: bool,
                 pairs: list[tuple[str, str]]) -> list[dict]:
    """Wilcoxon signed-rank between the two spaces of each pair over the tasks both ran,
    with the matched-pairs rank-biserial correlation (positive: space A better) and the
    tasks in which each did better; p_holm is filled in by `holm_over`."""
    rows = []
    for a, b in ((a, b) for a, b in pairs if a in table and b in table):
        tasks = [t for t in table[a] if t in table[b]]
        if len(tasks) < 2:
            continue
        x, y = (np.array([table[s][t] for t in tasks]) for s in (a, b))
        w, p = stats.wilcoxon(x, y)
        ahead = (x - y) if higher_better else (y - x)
        r = stats.rank_biserial(ahead, np.zeros_like(ahead))
        rows.append({"test": "wilcoxon", "space_a": a, "space_b": b,
                     "median_a": float(np.median(x)), "median_b": float(np.median(y)),
                     "n": len(tasks), "statistic": w, "p": p, "rank_biserial": r,
                     "a_wins": int((ahead > 0).sum()), "b_wins": int((ahead < 0).sum()),
                     "ties": int((ahead == 0).sum()), "a_ahead": r > 0})
    return rows


def sample_tests(samples: dict[str, list[float]], higher_better: bool,
                 pairs: list[tuple[str, str]]) -> list[dict]:
    """Mann-Whitney U and A12 (P(space A better)) between the two spaces of each pair's
    independent samples; p_holm is filled in by `holm_over`."""
    rows = []
    for a, b in ((a, b) for a, b in pairs if a in samples and b in samples):
        x, y = samples[a], samples[b]
        if len(x) < 2 or len(y) < 2:
            continue
        u, p = stats.mann_whitney(x, y)
        better = stats.a12(x, y) if higher_better else stats.a12(y, x)
        rows.append({"test": "mann-whitney", "space_a": a, "space_b": b,
                     "median_a": float(np.median(x)), "median_b": float(np.median(y)),
                     "n": len(x), "n_b": len(y), "statistic": u, "p": p, "a12": better,
                     "magnitude": stats.magnitude(better), "a_ahead": better > 0.5})
    return rows


def holm_over(rows: list[dict]) -> list[dict]:
    """Holm-adjust the p of `rows` as one family; name the winner where significant."""
    for row, adjusted in zip(rows, stats.holm([r["p"] for r in rows])):
        row["p_holm"] = float(adjusted)
        row["winner"] = (row["space_a"] if row["a_ahead"] else row["space_b"]) \
            if adjusted < ALPHA else ""
    return rows


def headline(config: CompareConfig, records: dict[RunKey, dict]) -> list[dict]:
    """Per budget, algorithm and measure: each space's median and tests between spaces,
    Holm-corrected over every test of one budget. Task searches are compared paired by
    task (per-task medians over seeds, Wilcoxon signed-rank); the taskless map-elites
    runs as independent samples over seeds (Mann-Whitney U, A12)."""
    kinds = []
    for algorithm in config.algorithms:
        if algorithm in TASKLESS:
            kinds.append((algorithm, ARCHIVE))
        elif config.uses_judge(algorithm):
            kinds.append((algorithm, PARETO))
        else:
            kinds.append((algorithm, SINGLE))
    judges = (config.judge, *(j for j in JUDGES if j != config.judge))
    out = []
    for budget in config.all_budgets:
        family = []
        for algorithm, measures in kinds:
            for name, measure, higher in measures:
                plain = name in ("error", "coverage")
                for j in (config.judge,) if plain else judges:
                    if algorithm in TASKLESS:
                        samples = run_samples(config, records, algorithm, budget, measure, j)
                        tests = sample_tests(samples, higher, config.pairs())
                    else:
                        table = task_medians(config, records, algorithm, budget, measure, j)
                        samples = {s: list(v.values()) for s, v in table.items()}
                        tests = paired_tests(table, higher, config.pairs())
                    if not samples:
                        continue
                    family += tests
                    out.append({"budget": budget, "algorithm": algorithm,
                                "measure": name if plain else f"{name}: {j}",
                                "optimised": not plain and j == config.judge
                                and config.uses_judge(algorithm),
                                "higher_better": higher, "paired": algorithm not in TASKLESS,
                                "medians": {s: float(np.median(v)) for s, v in samples.items()},
                                "n": {s: len(v) for s, v in samples.items()},
                                "tests": tests})
        holm_over(family)
    return out
