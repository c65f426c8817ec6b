"""The comparison report: report.md with tables, findings, tests and figures, plus CSV
tables (always) and PNG figures (with matplotlib; else terminal grids in the text)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from evodrum import atomic, display
from evodrum.compare import plots, summary
from evodrum.compare.config import FIXED, CompareConfig, RunKey
from evodrum.compare.store import text_grid
from evodrum.grid import GridSpec

REPORT_FILE = "report.md"


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


def _p(v: float) -> str:
    return f"{v:.2g}" if v >= 1e-4 else "<1e-4"


def setup_section(config: CompareConfig, total: int, done: int, meta: dict) -> str:
    lines = [f"# Comparison `{config.name}`", "",
             ("Does searching the VAE's latent space find better drum loops than searching PCA "
              "space or the raw grid, for the same budget of evaluations?"), "",
             f"- spaces: {', '.join(config.spaces)}; algorithms: {', '.join(config.algorithms)}",
             (f"- budget: {config.budget} evaluations per run (population {config.population} x "
              f"{config.generations} generations; the GA re-evaluates only changed individuals, "
              "so it uses slightly fewer)"),
             (f"- seeds: {config.seeds} independent runs per task, space and algorithm; "
              f"{done} of {total} runs finished"),
             f"- success: best target error <= {config.threshold:g}",
             "- model files (SHA-256 prefixes): "
             + ", ".join(f"{k} `{v}`" for k, v in meta.get("model", {}).items())]
    for space in config.spaces:
        key = RunKey(config.tasks[0].name, space, config.algorithms[0], 0)
        shown = {k: v for k, v in config.search_config(key).to_dict().items()
                 if k not in FIXED + ("checkpoint_every",)}
        lines.append(f"- search settings, {space}: "
                     + ", ".join(f"{k}={v}" for k, v in shown.items()))
    lines += ["", ("Tasks (goal feature values; error = weighted mean |feature - goal|, "
                   "in [0, 1]):"), ""]
    lines.append(_table(["task", "goals", "source"], [
        [t.name, ", ".join(f"{k}={v:g}" for k, v in t.target.goals.items()), t.source or "–"]
        for t in config.tasks]))
    return "\n".join(lines)


def headline_section(config: CompareConfig, cell_rows: list[dict]) -> str:
    out = ["## Results per task", "",
           ("Medians over seeds with the interquartile range [Q1, Q3]. *error*: target error of "
            "the best loop; *success*: share of runs reaching the threshold; *evals*: median "
            "evaluations to reach it among successful runs; *well-formed*: score of the best "
            "loop against real drumming (1 = as typical as the median held-out corpus loop, "
            "0 = unlike any); *nearest*: Jaccard distance of its onsets to the nearest "
            "training loop.")]
    for task in config.tasks:
        rows = [r for r in cell_rows if r["task"] == task.name]
        out += ["", f"### {task.name}", "", _table(
            ["algorithm", "space", "runs", "error median [IQR]", "error mean", "success",
             "evals", "well-formed median [IQR]", "nearest", "wall s"],
            [[r["algorithm"], f"**{r['space']}**", str(r["runs"]),
              (f"{_num(r['error_median'], 4)} [{_num(r['error_q25'], 4)}, "
               f"{_num(r['error_q75'], 4)}]"),
              _num(r["error_mean"], 4), f"{r['success_rate']:.0%}",
              _num(r["evals_to_threshold_median"], 0),
              (f"{_num(r['wellformed_median'], 2)} [{_num(r['wellformed_q25'], 2)}, "
               f"{_num(r['wellformed_q75'], 2)}]"),
              _num(r["nearest_distance_median"], 2), _num(r["wall_seconds_median"], 2)]
             for r in sorted(rows, key=lambda r: (r["algorithm"], r["space"]))])]
    return "\n".join(out)


def findings_section(config: CompareConfig, records: dict[RunKey, dict],
                     tests: list[dict]) -> str:
    """Overall medians per space, and how often each space won its pairwise tests."""
    out = ["## Findings", "",
           ("Each space's runs pooled over all tasks, algorithms and seeds (error and "
            "well-formedness side by side: a space that matches features but makes loops "
            "unlike real drumming shows it here):"), ""]
    rows = [[f"**{r['space']}**", str(r["runs"]), _num(r["error_median"], 4),
             f"{r['success_rate']:.0%}", _num(r["wellformed_median"], 2),
             _num(r["wellformed_mean"], 2)] for r in summary.space_rows(config, records)]
    out.append(_table(["space", "runs", "median error", "success", "median well-formed",
                       "mean well-formed"], rows))
    out += ["", (f"Pairwise tests (Mann-Whitney U, Holm-corrected over each metric's "
                 f"{len(tests) // max(1, len(summary.METRICS))} tests, alpha {summary.ALPHA}): "
                 "for each algorithm, in how many tasks each space did significantly better:"), ""]
    rows = []
    for metric in summary.METRICS:
        for algorithm in config.algorithms:
            pairs = {}
            for t in (t for t in tests if t["metric"] == metric and t["algorithm"] == algorithm):
                counts = pairs.setdefault((t["space_a"], t["space_b"]), [0, 0, 0])
                counts[0 if t["winner"] == t["space_a"] else 1 if t["winner"] else 2] += 1
            for (a, b), (wa, wb, ties) in pairs.items():
                rows.append([metric, algorithm, f"{a} vs {b}", (f"{a} {wa}, {b} {wb}, "
                              f"no significant difference {ties}")])
    out.append(_table(["metric", "algorithm", "spaces", "significantly better in"], rows))
    return "\n".join(out)


def tests_section(tests: list[dict]) -> str:
    out = ["## Statistics", "",
           ("Mann-Whitney U (two-sided) between two spaces' runs of the same task and "
            "algorithm. The samples are independent, not paired: runs of different spaces "
            "share only the seed number, never random streams or initial populations, so "
            "Wilcoxon's signed-rank test does not apply. p-values are Holm-corrected over all "
            "tests of a metric. *P(A better)* is the Vargha-Delaney A12 effect size: the "
            "probability that a random run of space A has lower error (or higher "
            "well-formedness) than one of space B (0.5 = no difference; magnitude after "
            "Vargha & Delaney 2000).")]
    for metric in summary.METRICS:
        rows = [[t["task"], t["algorithm"], f"{t['space_a']} vs {t['space_b']}",
                 f"{_num(t['median_a'], 4)} / {_num(t['median_b'], 4)}", f"{t['u']:.0f}",
                 _p(t["p"]), _p(t["p_holm"]), f"{t['a_better']:.2f} ({t['magnitude']})",
                 f"**{t['winner']}**" if t["winner"] else "–"]
                for t in tests if t["metric"] == metric]
        out += ["", f"### {metric}", "", _table(
            ["task", "algorithm", "A vs B", "medians A / B", "U", "p", "p Holm",
             "P(A better)", "significant"], rows)]
    return "\n".join(out)


def loops_section(config: CompareConfig, records: dict[RunKey, dict],
                  figures: dict[str, list[str]]) -> str:
    out = ["## Convergence and best loops", ""]
    for task in config.tasks:
        out.append(f"### {task.name}")
        if task.name in figures:
            out += [f"![{name}]({name})" for name in figures[task.name]]
            out.append("")
            continue
        for space in config.spaces:
            for algorithm in config.algorithms:
                best = summary.best_record(config, records, (task.name, space, algorithm))
                if best is not None:
                    title = (f"{space} / {algorithm}: error {best['error']:.4f}, well-formed "
                             f"{best['wellformed']:.2f} (seed {best['run']['seed']})")
                    out += ["```", display.render(text_grid(best["best_grid"]),
                                                  GridSpec.from_dict(best["spec"]), title,
                                                  ascii=True), "```"]
        out.append("")
    return "\n".join(out)


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
    figures: dict[str, list[str]] = {}
    if with_plots and plots.available() and records:
        for task in config.tasks:
            paths = [plots.convergence(config, records, task.name,
                                       folder / f"convergence-{task.name}.png"),
                     plots.best_loops(config, records, task.name, folder / f"best-{task.name}.png")]
            figures[task.name] = [p.name for p in paths]
    sections = [setup_section(config, len(config.runs()), len(records), meta),
                headline_section(config, cell_rows), findings_section(config, records, tests),
                tests_section(tests), loops_section(config, records, figures),
                timing_section(records, meta),
                ("Tables: runs.csv (one row per run), summary.csv (per task, space and "
                 "algorithm), tests.csv (pairwise tests), curves.csv (convergence quartiles); "
                 "per-run results with curves and best loops in runs/.")]
    path = folder / REPORT_FILE
    atomic.write_text(path, "\n\n".join(sections) + "\n")
    return path
