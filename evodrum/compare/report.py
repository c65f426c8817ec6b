"""The comparison report: report.md with tables, findings, tests and figures, plus CSV
tables (always) and PNG figures (with matplotlib; else terminal grids in the text)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from evodrum import atomic, display
from evodrum.compare import baselines, fidelity, plots, runner, stats, summary
from evodrum.compare.config import ATLAS_SEED_FACTOR, FIXED, TASKLESS, CompareConfig, RunKey
from evodrum.compare.store import text_grid
from evodrum.grid import GridSpec

REPORT_FILE = "report.md"
#: Tasks drawn as figures (the rest as terminal grids), to keep the report folder small.
FIGURE_TASKS = 6


def write_csv(path: Path, rows: list[dict]) -> Path:
    """Rows of dicts as CSV (floats to 6 significant digits, None as empty), atomically."""
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else f"{v:.6g}" if isinstance(v, float) else v
                             for k, v in row.items()})
    atomic.write_text(path, buf.getvalue())
    return path


def curve_rows(config: CompareConfig, records: dict[RunKey, dict]) -> list[dict]:
    rows = []
    for cell in summary.cells(config):
        q = summary.curve_quartiles(config, records, cell)
        for i, e in enumerate(q.get("evaluations", [])):
            rows.append({**dict(zip(("task", "space", "algorithm"), cell)), "evaluations": int(e),
                         **{k: float(q[k][i]) for k in ("median", "q25", "q75")}})
    return rows


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _num(v, digits: int = 3) -> str:
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{digits}f}"


def setup_section(config: CompareConfig, total: int, done: int, meta: dict,
                  lookup: dict[str, dict]) -> str:
    budgets = ", ".join(str(b) for b in config.all_budgets)
    lines = [f"# Comparison `{config.name}`", "",
             ("Does searching the VAE's latent space find drum loops that match the goals "
              "*and* sound like real drumming better than searching PCA space or the raw grid, "
              "for the same budget of evaluations?"), "",
             f"- spaces: {', '.join(config.spaces)}; algorithms: {', '.join(config.algorithms)}"
             + (" (`random` = samples of each space's prior: the baseline)"
                if "random" in config.algorithms else ""),
             (f"- budgets: {budgets} evaluations per run (population {config.population}; a "
              "smaller budget is a shorter run with the same seed, so it is the same search "
              "stopped earlier; the GA re-evaluates only changed individuals, so it uses "
              "slightly fewer)"),
             (f"- seeds: {config.seeds} independent runs per task, space and algorithm; "
              f"{done} of {total} runs finished"),
             f"- success: best target error <= {config.threshold:g}",
             (f"- judges of real drumming: *markov* and *classifier* (nsga2 and map-elites "
              f"optimise `{config.judge}`, which the other judges then check; ga and random "
              "optimise none) (see README, shift- and voice-tolerant, calibrated on the "
              "validation split: real loops score uniformly in [0, 1], median 0.5) and "
              "*well-formed* (Jaccard distance to the nearest training loop; 1 = as close as "
              "the median held-out loop)"),
             ("- corpus look-up: the training loop whose features match the task best (its "
              "error and judges' scores; the judges were trained on that split, so they read "
              "it in-sample)"),
             "- model files (SHA-256 prefixes): "
             + ", ".join(f"{k} `{v}`" for k, v in meta.get("model", {}).items())]
    for space in config.spaces:
        key = RunKey(config.tasks[0].name, space, (config.task_algorithms or config.algorithms)[0], 0)
        shown = {k: v for k, v in config.search_config(key).to_dict().items()
                 if k not in FIXED + ("checkpoint_every",)}
        lines.append(f"- search settings, {space}: "
                     + ", ".join(f"{k}={v}" for k, v in shown.items()))
    lines += ["", ("Tasks (goal feature values; error = weighted mean |feature - goal|, in "
                   "[0, 1]). *loop*: the judges' scores of the held-out loop a task copies; "
                   "*look-up*: the best-matching training loop's error and judges:"), ""]
    judges = summary.JUDGES
    lines.append(_table(["task", "goals", "loop " + " / ".join(judges),
                         "look-up error", "look-up " + " / ".join(judges), "source"], [
        [t.name, ", ".join(f"{k}={v:g}" for k, v in t.target.goals.items()),
         " / ".join(_num(t.loop.get(j), 2) for j in judges) if t.loop else "–",
         _num(lookup[t.name]["error"], 4),
         " / ".join(_num(lookup[t.name]["judges"].get(j), 2) for j in judges),
         t.source or "–"] for t in config.tasks]))
    return "\n".join(lines)


def _median(values) -> float | None:
    values = [v for v in values if v is not None and not np.isnan(v)]
    return float(np.median(values)) if values else None


def _pair(test: dict) -> str:
    """One test as a table cell: its effect size, Holm-adjusted p and a significant winner."""
    mark = f" **{test['winner']}**" if test["winner"] else ""
    if test["test"] == "wilcoxon":
        effect = (f"r {test['rank_biserial']:+.2f} ({test['a_wins']}/{test['n']} tasks "
                  f"better)")
    else:
        effect = f"A12 {test['a12']:.2f}"
    return f"{effect}, p {test['p_holm']:.2g}{mark}"


def headline_section(config: CompareConfig, records: dict[RunKey, dict]) -> str:
    """Per budget: each kind of search's headline measure per space, with tests between
    spaces paired by task (Wilcoxon) or over seeds (map-elites: Mann-Whitney), Holm."""
    rows = summary.headline(config, records)
    if not rows:
        return ""
    pairs = [f"{a} vs {b}" for a, b in config.pairs()]
    tasks = max((max(r["n"].values()) for r in rows if r["paired"]), default=0)
    atlas = config.seeds * ATLAS_SEED_FACTOR
    archive = any(a in TASKLESS for a in config.algorithms)
    out = ["## Headline: both axes at once", "",
           (f"*nsga2* searches "
            f"the Pareto front of target error against the `{config.judge}` judge; its "
            f"*hypervolume* is the area the front dominates up to error "
            f"{runner.HV_REFERENCE[0]:g} and score 0 (higher = better on both axes), read with "
            f"the optimised judge and, for the same loops, with the judges it did not "
            f"optimise. " + (f"*map-elites* fills an archive over all.density x all.syncopation "
            f"({config.search.get('cells', 16)} cells each, no target) with the loops the "
            f"`{config.judge}` judge likes most: *coverage* is the share of cells filled, "
            f"*QD-score* the sum of the elites' scores. " if archive else "") + "*ga* and *random* (each space's prior, "
            "the baseline) minimise the error alone. Whether their loops sound real is read "
            "two-sided over each space's set of loops in the fidelity section above (a "
            "judge's score of one loop is typicality: higher than real is not more real)."),
           "",
           (f"Every space runs the same {tasks} tasks, so the task searches (ga, random, "
            f"nsga2) are compared paired by task: a space's value for a task is the median "
            f"over its {config.seeds} seeds, the columns show the median over tasks, and the "
            f"test is Wilcoxon's signed-rank test over the tasks (two-sided; n = {tasks} "
            f"pairs, smallest attainable p {stats.smallest_p_wilcoxon(tasks):.2g}). Effect "
            f"size: *r*, the matched-pairs rank-biserial correlation (+1: the first space "
            f"does better in every task, -1: the second), and the tasks in which the first "
            f"space does better. " + (f"*map-elites* has no task: its {atlas} seeds per space are "
            f"independent runs, compared with Mann-Whitney U (smallest attainable p "
            f"{stats.smallest_p_mann_whitney(atlas, atlas):.2g}) and the Vargha-Delaney A12 "
            f"(P(a run of the first space does better)); the columns show the median over "
            f"seeds. " if archive else "") + f"p-values are Holm-corrected over every test in one budget's table "
            f"(alpha {summary.ALPHA}); a bold name is a significant winner.")]
    for budget in config.all_budgets:
        table = []
        for r in (r for r in rows if r["budget"] == budget):
            tests = {f"{t['space_a']} vs {t['space_b']}": t for t in r["tests"]}
            digits = 4 if r["measure"] == "error" else 3
            table.append([r["algorithm"], r["measure"] + (" (optimised)" if r["optimised"]
                                                          else ""),
                          *(_num(r["medians"].get(s), digits) for s in config.spaces),
                          *(_pair(tests[p]) if p in tests else "–" for p in pairs)])
        out += ["", f"### {budget} evaluations", "", _table(
            ["algorithm", "measure", *config.spaces, *pairs], table)]
    return "\n".join(out)


def answer_section(config: CompareConfig, records: dict[RunKey, dict], tests: list[dict],
                   lookup: dict[str, dict]) -> str:
    """Per budget, each space's error and judges pooled over tasks and seeds beside the
    baselines, then the per-task win counts where the seeds give them power."""
    judges = summary.JUDGES
    out = ["## Single-objective searches and baselines", "",
           ("Each row pools a space's runs over all tasks and seeds (medians). *error*: target "
            "error of the best loop; *success*: share of runs reaching the threshold; then the "
            "judges' median typicality of the same loops (one-sided: real loops' medians are "
            "about 0.5; the fidelity section reads them two-sided). The baselines: random search in each space "
            "(same budget) and the corpus look-up; the last row is the real held-out loops "
            "the corpus tasks copy.")]
    space_rows = summary.space_rows(config, records)
    real = [t.loop for t in config.tasks if t.loop]
    for budget in config.all_budgets:
        rows = [[r["algorithm"], f"**{r['space']}**", str(r["runs"]), _num(r["error_median"], 4),
                 f"{r['success_rate']:.0%}", *(_num(r[f"{j}_median"], 2) for j in judges),
                 _num(r["wellformed_median"], 2)]
                for r in space_rows if r["budget"] == budget]
        rows.append(["corpus look-up", "–", str(len(lookup)),
                     _num(_median([v["error"] for v in lookup.values()]), 4),
                     f"{np.mean([v['error'] <= config.threshold for v in lookup.values()]):.0%}",
                     *(_num(_median([v["judges"].get(j) for v in lookup.values()]), 2)
                       for j in judges),
                     _num(_median([v["wellformed"] for v in lookup.values()]), 2)])
        if real:
            rows.append(["real loops copied", "–", str(len(real)), "0", "–",
                         *(_num(_median([loop.get(j) for loop in real]), 2) for j in judges),
                         "–"])
        out += ["", f"### {budget} evaluations", "", _table(
            ["algorithm", "space", "runs", "median error", "success",
             *(f"median {j}" for j in judges), "median well-formed"], rows)]
    out += ["", per_task_wins(config, tests)]
    return "\n".join(out)


def tasks_section(config: CompareConfig, cell_rows: list[dict], lookup: dict[str, dict]) -> str:
    judges = summary.JUDGES
    early = config.all_budgets[:-1]
    out = ["## Results per task", "",
           (f"Medians over seeds at {config.budget} evaluations with the interquartile range "
            "[Q1, Q3]"
            + "".join(f", and the median error at {b}" for b in early)
            + ". *evals*: median evaluations to reach the threshold among successful runs; "
            "*nearest*: Jaccard distance of the best loop's onsets to the nearest training "
            "loop.")]
    for task in config.tasks:
        rows = [r for r in cell_rows if r["task"] == task.name]
        table = [[r["algorithm"], f"**{r['space']}**", str(r["runs"]),
                  *(_num(r[f"error_median_at_{b}"], 4) for b in early),
                  (f"{_num(r['error_median'], 4)} [{_num(r['error_q25'], 4)}, "
                   f"{_num(r['error_q75'], 4)}]"),
                  f"{r['success_rate']:.0%}", _num(r["evals_to_threshold_median"], 0),
                  *(_num(r[f"{j}_median"], 2) for j in judges),
                  (f"{_num(r['wellformed_median'], 2)} [{_num(r['wellformed_q25'], 2)}, "
                   f"{_num(r['wellformed_q75'], 2)}]"),
                  _num(r["nearest_distance_median"], 2), _num(r["wall_seconds_median"], 2)]
                 for r in sorted(rows, key=lambda r: (r["algorithm"], r["space"]))]
        look = lookup[task.name]
        table.append(["corpus look-up", "–", "1", *("–" for _ in early), _num(look["error"], 4),
                      "–", "–", *(_num(look["judges"].get(j), 2) for j in judges),
                      _num(look["wellformed"], 2), "0.00", "–"])
        if task.loop:
            table.append(["real loop copied", "–", "1", *("–" for _ in early), "0", "–", "–",
                          *(_num(task.loop.get(j), 2) for j in judges), "–", "–", "–"])
        out += ["", f"### {task.name}", "", _table(
            ["algorithm", "space", "runs", *(f"error at {b}" for b in early),
             "error median [IQR]", "success", "evals", *judges, "well-formed median [IQR]",
             "nearest", "wall s"], table)]
    return "\n".join(out)


def per_task_wins(config: CompareConfig, tests: list[dict]) -> str:
    """In how many tasks each space did significantly better (per-task Mann-Whitney over
    seeds, Holm per metric and budget), shown only where the seeds give the tests power."""
    floors = summary.holm_floors(tests)
    powered = {k for k, floor in floors.items() if floor < summary.ALPHA}
    best = min(floors, key=floors.get, default=None)
    floor = floors.get(best, 1.0)
    size = sum(1 for t in tests if (t["budget"], t["metric"]) == best)
    bound = (f"With {config.seeds} seeds per task, one task's Mann-Whitney test can reach "
             f"p = {stats.smallest_p_mann_whitney(config.seeds, config.seeds):.2g} at best "
             f"(2 / C({2 * config.seeds}, {config.seeds})); Holm over the {size} per-task "
             f"tests of a metric and budget raises the smallest reachable p to {floor:.2g}")
    if not powered:
        return (bound + f", above alpha {summary.ALPHA}: no per-task test can be "
                "significant, so the per-task win counts are left out (their tests are in "
                "tests.csv). The headline's paired tests over tasks carry the comparison.")
    rows = [[str(c["budget"]), c["metric"], c["algorithm"], f"{c['space_a']} vs {c['space_b']}",
             f"{c['space_a']} {c['a_wins']}, {c['space_b']} {c['b_wins']}, neither {c['ties']}"]
            for c in summary.win_counts(config, tests) if (c["budget"], c["metric"]) in powered]
    return "\n".join([bound + (f". In how many of the {len(config.tasks)} tasks each space "
                               f"did significantly better (alpha {summary.ALPHA}; "
                               "full table in tests.csv):"), "",
                      _table(["budget", "metric", "algorithm", "spaces",
                              "significantly better in"], rows)])


def stats_note(config: CompareConfig) -> str:
    return "## Statistics\n\n" + (
        "Headline: spaces are compared over the task suite, paired by task (every space "
        "runs the same tasks): Wilcoxon's signed-rank test on the per-task medians over "
        "seeds, with the matched-pairs rank-biserial correlation and the count of tasks "
        "each space does better in; map-elites, which has no task, over its independent "
        "seeds with Mann-Whitney U and A12. Holm's correction runs over every test of one "
        "budget's headline table. Per task (tests.csv): Mann-Whitney U (two-sided) between "
        "two spaces' seeds of the same task, algorithm and budget, for the error, "
        "well-formedness and each judge; the seeds of one task are independent, not "
        "paired (runs of different spaces share only the seed number, never random streams "
        "or initial populations), so the signed-rank test does not apply there. Their "
        "p-values are Holm-corrected over all tests of one metric at one budget; "
        "*a_better* is the Vargha-Delaney A12 effect size: the probability that a random "
        "run of space A does better (lower error, higher judge score) than one of space B "
        "(0.5 = no difference; magnitude after Vargha & Delaney 2000).")


def loops_section(config: CompareConfig, records: dict[RunKey, dict],
                  figures: dict[str, list[str]]) -> str:
    out = ["## Convergence and best loops", "",
           (f"The first {FIGURE_TASKS} tasks; every run's best loop is in runs/TASK/." if
            len(config.tasks) > FIGURE_TASKS else ""), ""]
    for task in config.tasks[:FIGURE_TASKS]:
        out.append(f"### {task.name}")
        if task.name in figures:
            out += [f"![{name}]({name})" for name in figures[task.name]]
            out.append("")
            continue
        for space in config.spaces:
            for algorithm in config.task_algorithms:
                best = summary.best_record(config, records, (task.name, space, algorithm))
                if best is not None:
                    title = (f"{space} / {algorithm}: error {best['error']:.4f}, well-formed "
                             f"{best['wellformed']:.2f} (seed {best['run']['seed']})")
                    out += ["```", display.render(text_grid(best["best_grid"]),
                                                  GridSpec.from_dict(best["spec"]), title,
                                                  ascii=True), "```"]
        out.append("")
    return "\n".join(out)


def _range(values, digits: int = 2) -> str:
    """A list of figures as its range, e.g. '0.40-0.46' ('–' for none)."""
    return f"{min(values):.{digits}f}-{max(values):.{digits}f}" if values else "–"


def fidelity_section(config: CompareConfig, records: dict[RunKey, dict], folder: Path,
                     with_plots: bool) -> str:
    """Fidelity and diversity of every search's best loops and every space's prior
    against held-out real drumming, judges read two-sided, with tests between spaces
    over seeds and the spread between trained replicates beside that between search
    seeds; writes fidelity.csv, fidelity-seeds.csv, fidelity-tests.csv and prior.csv
    (and the PCA figure). Needs the corpus the judges came from."""
    from evodrum import realism
    from evodrum.errors import EvodrumError
    try:
        reference = realism.reference(None, config.model)
    except EvodrumError as e:
        return (f"## Fidelity and diversity\n\nNot measured: {e} (the held-out real loops "
                "come from the corpus).")
    yardstick = lambda n, seed: realism.yardstick(None, n, seed)   # noqa: E731
    rows = fidelity.search_rows(config, records, reference, yardstick)
    seeds = fidelity.seed_rows(config, records, reference, yardstick)
    tests = fidelity.seed_tests(config, seeds)
    priors = fidelity.prior_rows(config, reference)
    write_csv(folder / "fidelity.csv", [{k: v for k, v in r.items() if not isinstance(v, list)}
                                        for r in rows])
    write_csv(folder / "fidelity-seeds.csv", seeds)
    write_csv(folder / "fidelity-tests.csv", tests)
    write_csv(folder / "prior.csv", [{k: v for k, v in p.items() if not isinstance(v, list)}
                                     for p in priors])
    judges = summary.JUDGES
    header = ["budget", "algorithm", "space", "loops", "precision", "recall", "coverage",
              "distinct", *(f"{j}: place / KS" for j in judges), "copies"]
    out = ["## Fidelity and diversity: do the loops sound real, and how much of real "
           "drumming do they cover?", "",
           (f"Against {reference.info['heldout_loops']:,} held-out real loops (one window in "
            f"four of every test and validation performance, none overlapping). *precision*: "
            "share of the loops inside a real loop's 3-NN ball (Kynkaanniemi et al. 2019); "
            "*recall*: share of real loops inside a set loop's 3-NN ball; *coverage*: share "
            "of real loops whose 5-NN ball holds a set loop (Naeem et al. 2020); all on onsets "
            "under Jaccard distance (fidelity.csv adds rhythm-feature space). *place*: share "
            "of real loops below the set's median judge score (real drumming: ~50%; above "
            "is not more real); *KS*: Kolmogorov-Smirnov distance of the set's judge scores "
            "from real loops' (0 = indistinguishable). *copies*: share of exact copies of "
            "training loops. Each search row pools the best loop of every task and seed. "
            "*real loops*: as many real training loops, read the same way: every figure "
            "depends on set size (smaller sets read higher recall and lower coverage)."),
           ""]
    for budget in config.all_budgets:
        table = [[str(r["budget"]), r["algorithm"], f"**{r['space']}**", str(r["loops"]),
                  _num(r["precision"], 2), _num(r["recall"], 2), _num(r["coverage"], 2),
                  str(r["distinct"]),
                  *(f"{r[f'{j}_place']:.0%} / {r[f'{j}_ks']:.2f}" for j in judges),
                  "–" if r["copies"] is None else f"{r['copies']:.0%}"]
                 for r in rows if r["budget"] == budget]
        out += [f"### {budget} evaluations", "", _table(header, table), ""]
    out += [fidelity_tests_section(config, seeds, tests), "",
            spread_section(config, rows), "", prior_section(config, priors)]
    if with_plots and plots.available() and "pca" in config.spaces:
        path = fidelity.pca_figure(config, folder / "pca-prior-continuous.png")
        out += ["", ("PCA's prior samples as the seed paper showed them (its continuous "
                     "output, before the hit threshold) beside the loops they decode to:"),
                "", f"![PCA prior samples]({path.name})"]
    return "\n".join(out)


def fidelity_tests_section(config: CompareConfig, seeds: list[dict], tests: list[dict]) -> str:
    """Per budget: each space's median per-seed precision, recall and coverage, real
    loops' at the same set size, and the Holm-corrected tests between spaces."""
    pairs = [f"{a} vs {b}" for a, b in config.pairs()]
    n = max((r["loops"] for r in seeds), default=0)
    if not n:
        return ("### Are the differences real? Tests over seeds\n\nNot measured: a seed's "
                "best loops (one per task) are read as one set, and recall needs more than "
                "3 loops: give at least 4 tasks.")
    floor = stats.smallest_p_mann_whitney(config.seeds, config.seeds)
    out = ["### Are the differences real? Tests over seeds", "",
           (f"A seed's best loops (one per task: {n} loops) read as one set; the "
            f"{config.seeds} seeds of a space are independent sets (seed s searched trained "
            f"replicate s % {max(1, len(config.replicates))}). Columns: the median over seeds "
            f"of each figure, and *real*: the median of {config.seeds} sets of {n} real "
            "training loops (the level of real drumming at this set size). Tests: "
            "Mann-Whitney U between two spaces' seeds (two-sided; smallest attainable p "
            f"{floor:.2g}), Holm-corrected over every test of one budget (alpha "
            f"{summary.ALPHA}); effect size: the Vargha-Delaney *A12*, the probability that a "
            "seed of the first space reads higher than one of the second (0.5 = no "
            "difference). A bold name reads significantly higher. Higher precision is more "
            "real only up to real loops' own level; higher recall and coverage are more of "
            "real drumming. Every test is in fidelity-tests.csv, every seed's figures in "
            "fidelity-seeds.csv.")]
    medians = fidelity.per_seed(seeds)
    for budget in config.all_budgets:
        table = []
        for algorithm in config.task_algorithms:
            for figure in fidelity.SET_FIGURES:
                found = {f"{t['space_a']} vs {t['space_b']}": t for t in tests
                         if (t["budget"], t["algorithm"], t["figure"]) == (budget, algorithm,
                                                                           figure)}
                real = medians.get((budget, "real loops", "corpus", figure), [])
                table.append([algorithm, figure, *(
                    _num(_median(medians.get((budget, algorithm, s, figure), [])), 2)
                    for s in config.spaces), _num(_median(real), 2),
                    *(_seed_test(found[p]) if p in found else "–" for p in pairs)])
        out += ["", f"#### {budget} evaluations", "",
                _table(["algorithm", "figure", *config.spaces, "real", *pairs], table)]
    return "\n".join(out)


def _seed_test(test: dict) -> str:
    mark = f" **{test['higher']}**" if test["higher"] else ""
    return f"A12 {test['a12']:.2f}, p {test['p_holm']:.2g}{mark}"


def spread_section(config: CompareConfig, rows: list[dict]) -> str:
    """Per budget, algorithm and space: the range of each figure and of the median error
    over the groups of seeds that searched one trained replicate each, beside the range
    over groups of as many seeds that each mix every replicate (search seeds only)."""
    groups = fidelity.seed_groups(config)
    if "search_seeds" not in groups:
        return ("### Trained replicates against search seeds\n\nNot measured: it needs "
                "trained replicates and at least two seeds per replicate.")
    n, m = len(groups["replicates"]), len(groups["search_seeds"])
    figures = (*fidelity.SET_FIGURES, "error")
    out = ["### Trained replicates against search seeds", "",
           (f"How much the figures move when the trained model changes, beside how much they "
            f"move when only the search seeds do. *trained*: the range over {n} groups of "
            f"seeds, each of which searched one trained replicate (seeds s with s % {n} = r: "
            f"{config.seeds // n} seeds each); *search*: the range over {m} groups of "
            f"{n} seeds (s // {n} = g), each holding one seed of every replicate, so they "
            "differ by search seed only. "
            + ("Both kinds of group hold as many loops, so their ranges compare directly. "
               if n == m else "The two kinds of group differ in size: compare with care. ")
            + "A space without trained replicates (the grid) shows seed noise in both. "
            "*error*: the median target error of the group's runs; *real loops*: groups of as "
            "many real training loops.")]
    for budget in config.all_budgets:
        table = [[r["algorithm"], f"**{r['space']}**",
                  *(f"{_range(r.get(f'{k}_replicates'), d)} / "
                    f"{_range(r.get(f'{k}_search_seeds'), d)}" if r.get(f"{k}_replicates")
                    else "–" for k, d in zip(figures, (2, 2, 2, 4)))]
                 for r in rows if r["budget"] == budget]
        out += ["", f"#### {budget} evaluations", "",
                _table(["algorithm", "space", *(f"{k}: trained / search" for k in figures)],
                       table)]
    return "\n".join(out)


def prior_section(config: CompareConfig, priors: list[dict]) -> str:
    """Each space's prior per trained model, with the range over independent draws."""
    def cell(p, k):
        return f"{_num(p[k], 2)} ({_range(p.get(f'{k}_draws'))})"
    judges = summary.JUDGES
    return "\n".join([
        f"### Each space's prior ({fidelity.PRIOR_SAMPLES:,} samples per trained model)", "",
        (f"Each figure of the first draw, with its range over {fidelity.PRIOR_DRAWS} "
         "independent draws of as many samples in brackets (sampling noise): the spread "
         "between a space's trained replicates reads against it. A variant samples its own "
         "prior."), "",
        _table(["space", "replicate", "model", "precision", "recall", "coverage", "distinct",
                *(f"{j}: place / KS" for j in judges)],
               [[f"**{p['space']}**", str(p["replicate"]), f"`{p['model']}`",
                 *(cell(p, k) for k in fidelity.SET_FIGURES), str(p["distinct"]),
                 *(f"{p[f'{j}_place']:.0%} / {p[f'{j}_ks']:.2f}" for j in judges)]
                for p in priors])])


def reachability_section(config: CompareConfig, records: dict[RunKey, dict],
                         lookup: dict[str, dict]) -> str:
    """Per task: the corpus look-up's error and the best error any run of each space
    reached at the largest budget, and whether the goal was reached at all."""
    rows = []
    for task in config.tasks:
        best = {s: min((r["error"] for k, r in records.items()
                        if k.task == task.name and k.space == s), default=None)
                for s in config.spaces}
        found = [v for v in best.values() if v is not None]
        reached = bool(found) and min(found) <= config.threshold
        rows.append([task.name, "off-corpus" if task.source.startswith("off-corpus")
                     else "held-out" if "test split" in task.source else "hand-written",
                     _num(lookup[task.name]["error"], 4),
                     *(_num(best[s], 4) for s in config.spaces), "yes" if reached else "**no**"])
    return "\n".join(["## Reachability", "",
                      (f"Per task: the best training loop's error (the corpus look-up), the "
                       f"best error any run of each space reached at {config.budget} "
                       f"evaluations, and whether any reached the threshold "
                       f"{config.threshold:g}. Off-corpus goals were drawn so that no "
                       "training loop comes within 0.04."), "",
                      _table(["task", "kind", "look-up", *(f"best {s}" for s in config.spaces),
                              "reached"], rows)])


def timing_section(records: dict[RunKey, dict], meta: dict) -> str:
    wall = sum(r["wall_seconds"] for r in records.values())
    cpu = sum(r["cpu_seconds"] for r in records.values())
    rows = [[i["started"], i["backend"], str(i["workers"] or "–"), str(i["runs"]),
             str(i["skipped"]), str(i["finished"]), f"{i['seconds']:.0f}"]
            for i in meta.get("invocations", [])]
    return "\n".join([
        "## Time", "",
        (f"Search time summed over runs: {wall:.0f} s wall, {cpu:.0f} s CPU "
         f"({cpu / max(1, len(records)):.2f} s CPU per run). Invocations on this folder:"), "",
        _table(["started", "backend", "workers", "to run", "skipped", "finished", "seconds"],
               rows)])


def write_report(config: CompareConfig, records: dict[RunKey, dict], folder: Path,
                 meta: dict, with_plots: bool = True) -> Path:
    """Write report.md, runs.csv, summary.csv, tests.csv, curves.csv (and PNGs) to `folder`."""
    folder = Path(folder)
    cell_rows = summary.cell_rows(config, records)
    tests = summary.pairwise_tests(config, records)
    write_csv(folder / "runs.csv", summary.run_rows(config, records))
    write_csv(folder / "summary.csv", cell_rows)
    write_csv(folder / "tests.csv", tests)
    write_csv(folder / "curves.csv", curve_rows(config, records))
    lookup = baselines.corpus_lookup(config)
    write_csv(folder / "lookup.csv", [
        {"task": t, "error": v["error"], "wellformed": v["wellformed"], **v["judges"]}
        for t, v in lookup.items()])
    figures: dict[str, list[str]] = {}
    if with_plots and plots.available() and records:
        for task in config.tasks[:FIGURE_TASKS]:
            paths = [plots.convergence(config, records, task.name,
                                       folder / f"convergence-{task.name}.png"),
                     plots.best_loops(config, records, task.name, folder / f"best-{task.name}.png")]
            figures[task.name] = [p.name for p in paths]
    sections = [setup_section(config, len(config.runs()), len(records), meta, lookup),
                fidelity_section(config, records, folder, with_plots),
                headline_section(config, records),
                reachability_section(config, records, lookup),
                answer_section(config, records, tests, lookup),
                tasks_section(config, cell_rows, lookup),
                stats_note(config), loops_section(config, records, figures),
                timing_section(records, meta),
                ("Tables: runs.csv (one row per run), summary.csv (per task, space and "
                 "algorithm), tests.csv (pairwise tests), curves.csv (convergence quartiles), "
                 "lookup.csv (the corpus look-up per task), fidelity.csv and prior.csv (realism "
                 "of the best loops and of each prior), fidelity-seeds.csv and "
                 "fidelity-tests.csv (each seed's figures and the tests between spaces); "
                 "per-run results with curves and best loops in runs/.")]
    path = folder / REPORT_FILE
    atomic.write_text(path, "\n\n".join(sections) + "\n")
    return path
