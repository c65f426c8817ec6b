"""`evodrum compare` end to end: a tiny comparison (2 spaces, 2 algorithms, 2 tasks,
2 seeds, 300 evaluations) through the CLI, its report checked against the per-run
results, resume, stale runs, bad configs, and the same runs on a local Dask cluster."""
from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats as scipy_stats

from evodrum.cli import main
from evodrum.compare import plots, store, summary
from evodrum.compare.config import RunKey, load_config
from evodrum.compare.execute import read_meta, run_comparison
from evodrum.compare.report import write_report
from evodrum.genotypes import files as models
from fitness import compute

TINY = """
name = "tiny"
spaces = ["vae", "grid"]
algorithms = ["ga", "cmaes"]
budgets = [100, 300]
population = 20
seeds = 2
threshold = 0.05

[search]
sigma = 0.4

[[tasks]]
name = "groove"
goals = { density = 0.7, "kick_snare.syncopation" = 0.2 }

[[tasks]]
name = "sparse"
goals = { "all.density" = 0.4, "hats.density" = 0.2 }
weights = { "hats.density" = 2 }
"""


def compare(*args):
    return CliRunner().invoke(main, ["compare", *map(str, args)])


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny comparison run once through the CLI: (config, folder, CLI output)."""
    base = tmp_path_factory.mktemp("compare")
    path = base / "tiny.toml"
    path.write_text(TINY)
    folder = base / "tiny"
    result = compare(path, "--out", folder, "--workers", 2)
    assert result.exit_code == 0, result.output
    return load_config(path), folder, result.output


@pytest.fixture(scope="module")
def records(tiny):
    config, folder, _ = tiny
    return {key: json.loads(store.run_path(folder, key).read_text()) for key in config.runs()}


def test_every_run_leaves_a_consistent_result(tiny, records):
    config, _, output = tiny
    assert len(records) == 16 and "ran 16 runs in" in output
    reference = models.load_reference()
    for key, r in records.items():
        assert r["run"] == key._asdict()
        curve = r["curve"]
        assert curve["evaluations"][-1] == r["evaluations"] <= config.budget
        assert np.all(np.diff(curve["error"]) <= 0)            # best so far never rises
        assert r["error"] == pytest.approx(curve["error"][-1], abs=1e-6)
        # the stored best loop really scores what the record says
        grid = store.text_grid(r["best_grid"])[None]
        target = config.task(key.task).target
        assert target.distance(grid)[0] == pytest.approx(r["error"], abs=1e-5)
        assert reference.score(grid)[0] == pytest.approx(r["wellformed"], abs=1e-6)
        feats = compute(grid)
        assert all(feats[n][0] == pytest.approx(v, abs=1e-5) for n, v in r["features"].items())


def test_summary_table_matches_the_runs(tiny, records):
    config, folder, _ = tiny
    rows = read_csv(folder / "summary.csv")
    assert len(rows) == 8
    for row in rows:
        recs = [records[RunKey(row["task"], row["space"], row["algorithm"], s)] for s in range(2)]
        errors = [r["error"] for r in recs]
        wf = [r["wellformed"] for r in recs]
        assert float(row["error_median"]) == pytest.approx(np.median(errors), rel=1e-5, abs=1e-9)
        assert float(row["error_q75"]) == pytest.approx(np.percentile(errors, 75), rel=1e-5,
                                                        abs=1e-9)
        assert float(row["wellformed_mean"]) == pytest.approx(np.mean(wf), rel=1e-5, abs=1e-9)
        reached = [min(r["curve"]["error"]) <= config.threshold for r in recs]
        assert float(row["success_rate"]) == pytest.approx(np.mean(reached))
        firsts = [next(e for e, err in zip(r["curve"]["evaluations"], r["curve"]["error"])
                       if err <= config.threshold) for r, ok in zip(recs, reached) if ok]
        if firsts:
            assert float(row["evals_to_threshold_median"]) == pytest.approx(np.median(firsts))
        else:
            assert row["evals_to_threshold_median"] == ""
    runs = read_csv(folder / "runs.csv")
    assert len(runs) == 16
    for row in runs:
        r = records[RunKey(row["task"], row["space"], row["algorithm"], int(row["seed"]))]
        assert float(row["error"]) == pytest.approx(r["error"], rel=1e-5, abs=1e-9)


def test_tests_table_is_mann_whitney_with_holm(tiny, records):
    _, folder, _ = tiny
    rows = read_csv(folder / "tests.csv")
    metrics = {"error", "wellformed", "markov", "classifier"}
    assert {r["metric"] for r in rows} == metrics and len(rows) == 2 * 4 * 4
    for budget, metric in ((b, m) for b in (100, 300) for m in metrics):
        family = [r for r in rows if r["metric"] == metric and int(r["budget"]) == budget]
        raw = []
        for r in family:
            x = [summary.value(records[RunKey(r["task"], "vae", r["algorithm"], s)], metric,
                               budget) for s in range(2)]
            y = [summary.value(records[RunKey(r["task"], "grid", r["algorithm"], s)], metric,
                               budget) for s in range(2)]
            p = 1.0 if np.ptp(x + y) == 0 else scipy_stats.permutation_test(   # exact
                (x, y), lambda a, b: scipy_stats.mannwhitneyu(a, b).statistic,
                permutation_type="independent", n_resamples=np.inf,
                alternative="two-sided").pvalue
            assert float(r["p"]) == pytest.approx(p, rel=1e-5)
            raw.append(p)
        # Holm by hand for this family of 4 tests
        order = np.argsort(raw)
        expected = np.minimum(1, np.maximum.accumulate(np.array(raw)[order] * [4, 3, 2, 1]))
        got = np.array([float(family[i]["p_holm"]) for i in order])
        np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_runs_record_the_judges_and_the_smaller_budget(tiny, records):
    """Each run's best loop is scored by every judge; its 100-evaluation result is the same
    search stopped earlier (never better than the 300-evaluation one)."""
    config = tiny[0]
    from evodrum.compare.store import text_grid
    judges = models.load_judges(None)
    for key, r in list(records.items())[::3]:
        grid = text_grid(r["best_grid"])[None]
        for name, judge in judges.items():
            assert r["judges"][name] == pytest.approx(float(judge.score(grid)[0]))
        assert set(r["budgets"]) == {"100", "300"}
        assert r["budgets"]["300"]["error"] == r["error"]
        assert r["budgets"]["100"]["error"] >= r["error"]
        curve = dict(zip(r["curve"]["evaluations"], r["curve"]["error"]))
        early = r["budgets"]["100"]
        assert early["evaluations"] <= 100 + config.population   # + the initial population
        assert early["error"] == pytest.approx(curve[early["evaluations"]], abs=1e-6), key


def test_corpus_lookup_is_the_best_matching_training_loop(tiny):
    from evodrum.compare.baselines import corpus_lookup
    config, folder, _ = tiny
    lookup = corpus_lookup(config)
    reference = models.load_reference(None)
    train = reference.index.onsets.astype(np.float32) * 0.8
    rows = {r["task"]: r for r in read_csv(folder / "lookup.csv")}
    for task in config.tasks:
        best = float(task.target.distance(train, reference.spec).min())
        assert lookup[task.name]["error"] == pytest.approx(best)
        assert float(rows[task.name]["error"]) == pytest.approx(best, rel=1e-5)
        assert set(lookup[task.name]["judges"]) == {"markov", "classifier"}


def test_report_shows_the_numbers_and_figures(tiny):
    _, folder, output = tiny
    text = (folder / "report.md").read_text()
    for row in read_csv(folder / "summary.csv"):
        assert f"{float(row['error_median']):.4f} [{float(row['error_q25']):.4f}, " \
               f"{float(row['error_q75']):.4f}]" in text
    for section in ("## Results per task", "## Single-objective searches and baselines", "### 100 evaluations",
                    "### 300 evaluations", "corpus look-up", "## Statistics", "### groove",
                    "### sparse", "Mann-Whitney", "Holm", "A12", "## Time",
                    "Wilcoxon's signed-rank test over the tasks", "n = 2 pairs"):
        assert section in text
    # 2 seeds per task: no per-task test can reach alpha, so no win-count table
    assert "can reach p = 0.33 at best" in text and "win counts are left out" in text
    for task in ("groove", "sparse"):
        for name in (f"convergence-{task}.png", f"best-{task}.png"):
            if plots.available():
                assert (folder / name).read_bytes()[:4] == b"\x89PNG" and f"({name})" in text
            else:
                assert not (folder / name).exists() and "BD  |" in text
    assert "median error" in output and "report:" in output
    meta = read_meta(folder)
    assert meta["invocations"][0]["finished"] == 16 and meta["invocations"][0]["workers"] == 2


def test_report_without_matplotlib_uses_terminal_grids(tiny, records, tmp_path):
    config, folder, _ = tiny
    write_report(config, records, tmp_path, read_meta(folder), with_plots=False)
    text = (tmp_path / "report.md").read_text()
    assert ".png" not in text and text.count("```") == 2 * 8
    assert "BD  |" in text and not list(tmp_path.glob("*.png"))


def test_resume_reruns_only_missing_runs_and_reproduces_them(tiny, records, tmp_path):
    config, folder, _ = tiny
    copy = tmp_path / "tiny"
    shutil.copytree(folder, copy)
    config_file = tmp_path / "tiny.toml"
    config_file.write_text(TINY)
    missing = RunKey("sparse", "grid", "cmaes", 1)
    store.run_path(copy, missing).unlink()
    others = {k: store.run_path(copy, k).stat().st_mtime_ns for k in config.runs() if k != missing}
    result = compare(config_file, "--out", copy, "--workers", 1)
    assert result.exit_code == 0, result.output
    assert "15 runs already finished, skipped" in result.output
    assert "1 run to do" in result.output and "ran 1 run " in result.output
    assert all(store.run_path(copy, k).stat().st_mtime_ns == t for k, t in others.items())
    again = json.loads(store.run_path(copy, missing).read_text())
    before = records[missing]
    for field in ("error", "wellformed", "curve", "best_grid", "evaluations"):
        assert again[field] == before[field]          # a run is a pure function of its inputs


def test_runs_of_other_settings_are_refused(tiny, tmp_path):
    _, folder, _ = tiny
    copy = tmp_path / "tiny"
    shutil.copytree(folder, copy)
    changed = tmp_path / "tiny.toml"
    changed.write_text(TINY.replace("sigma = 0.4", "sigma = 0.5"))
    result = compare(changed, "--out", copy)
    assert result.exit_code == 1 and "Traceback" not in result.output
    error = result.output.splitlines()[-1]
    # sigma is a GA setting: only the 8 GA runs were made with other settings
    assert error.startswith(f"error: {copy}: 8 finished runs") and "other settings" in error
    assert (copy / "comparison.toml").read_text() == TINY     # the folder's own file is kept


BAD_CONFIGS = [
    ("spaces = [\"vae\", ", "not valid TOML"),
    (TINY.replace('spaces = ["vae", "grid"]', 'spaces = ["vae", "vea"]'), "spaces: unknown 'vea'"),
    (TINY.replace("budgets = [100, 300]", "budget = 10"),
     "budget (10) must be at least population (20)"),
    (TINY.replace("budgets = [100, 300]", "budgets = [10, 300]"),
     "budgets (10) must be at least population (20)"),
    (TINY.replace("budgets = [100, 300]", "budgets = [100, 300]\nbudget = 500"),
     "budget (500) must be the largest of budgets [100, 300]"),
    (TINY.replace("budgets = [100, 300]", "budgets = 300"), "budgets must be a non-empty list"),
    (TINY.replace("density = 0.7", "loudness = 0.7"), "task groove: unknown target feature"),
    (TINY.replace("sigma = 0.4", "sigma = \"big\""), "[search] sigma must be a number"),
    (TINY.replace("sigma = 0.4", "population = 50"), "[search] may not set 'population'"),
    (TINY.replace("seeds = 2", "seeds = 2\nbugdet = 5"), "unknown top-level key 'bugdet'"),
    (TINY.replace("sigma = 0.4", "mutation = \"flip\""), "mutation 'flip' is the grid space's"),
    ("name = \"x\"\n", "no tasks"),
]


@pytest.mark.parametrize("text,message", BAD_CONFIGS)
def test_bad_config_gives_one_clear_line(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = compare(path, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {path}: ") and result.output.count("\n") == 1
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_missing_config_file_is_one_line(tmp_path):
    result = compare(tmp_path / "nope.toml")
    assert result.exit_code == 1 and "cannot read comparison file" in result.output


def test_the_same_runs_on_a_local_dask_cluster(tiny, records, tmp_path):
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    from distributed import LocalCluster
    config, _, _ = tiny
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, worker_dashboard_address=None) as cluster:
        done = run_comparison(config, tmp_path, scheduler=cluster.scheduler_address)
    assert done.finished == 16 and done.backend.startswith("dask tcp://127.0.0.1:")
    for key, before in records.items():
        r = json.loads(store.run_path(tmp_path, key).read_text())
        assert (r["error"], r["curve"], r["best_grid"]) == \
            (before["error"], before["curve"], before["best_grid"])


def test_summary_json_is_one_document_on_stdout(tiny, records, tmp_path):
    config, folder, _ = tiny
    copy = tmp_path / "tiny"
    shutil.copytree(folder, copy)
    (tmp_path / "tiny.toml").write_text(TINY)
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "tiny.toml"), "--out", str(copy),
                                       "--report-only", "--no-plots", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"comparison", "folder", "report", "runs_reported", "runs_not_reported",
                        "threshold", "spaces", "archives", "cells"}
    assert doc["archives"] == []                    # no map-elites in this comparison
    assert doc["comparison"] == "tiny" and doc["runs_reported"] == len(records) == 16
    assert doc["runs_not_reported"] == 0 and doc["report"].endswith("report.md")
    assert [(r["budget"], r["algorithm"], r["space"]) for r in doc["spaces"]] == [
        (b, a, s) for b in (100, 300) for a in config.algorithms for s in config.spaces]
    assert {"space", "runs", "error_median", "success_rate", "wellformed_median",
            "markov_median", "classifier_median"} <= set(doc["spaces"][0])
    assert len(doc["cells"]) == len(config.tasks) * len(config.spaces) * len(config.algorithms)
    final = next(r for r in doc["spaces"] if (r["budget"], r["algorithm"], r["space"]) ==
                 (300, "ga", "vae"))
    vae_errors = [r["error"] for k, r in records.items() if (k.space, k.algorithm) == ("vae", "ga")]
    assert final["error_median"] == pytest.approx(float(np.median(vae_errors)))
    assert "comparison tiny" in result.stderr
