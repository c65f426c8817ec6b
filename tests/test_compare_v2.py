"""Comparison v2 on a small config: Pareto (nsga2) runs optimise the judge and are read
by the others, map-elites runs are taskless archives, and the headline tests them."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats as scipy_stats

from evodrum.cli import main
from evodrum.compare import runner, store, summary
from evodrum.compare.config import ATLAS, ATLAS_SEED_FACTOR, load_config
from evodrum.search.pareto import hypervolume_2d
from fitness.judges import Judge

SMALL = """
name = "small"
spaces = ["vae", "grid"]
algorithms = ["ga", "random", "nsga2", "map-elites"]
budgets = [100, 200]
population = 20
seeds = 2
judge = "markov"

[search]
cells = 8

[[tasks]]
name = "groove"
goals = { density = 0.5, "kick_snare.syncopation" = 0.2 }
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    base = tmp_path_factory.mktemp("compare-v2")
    (base / "small.toml").write_text(SMALL)
    result = CliRunner().invoke(main, ["compare", str(base / "small.toml"), "--out",
                                       str(base / "out"), "--workers", "2", "--no-plots"])
    assert result.exit_code == 0, result.output
    config = load_config(base / "small.toml")
    records = {k: json.loads(store.run_path(base / "out", k).read_text()) for k in config.runs()}
    # the console names both budgets and shows the archives beside the task searches
    assert "20 evaluations per run" not in result.output
    assert "200 evaluations per run (read at 100 and 200)" in result.output
    assert sum("map-elites" in line and "coverage" in line
               for line in result.output.splitlines()) == 2 * 2      # budgets x spaces
    return config, base / "out", records


def test_runs_per_kind_of_algorithm(small):
    _, _, records = small
    atlas = [k for k in records if k.task == ATLAS]
    assert {k.algorithm for k in atlas} == {"map-elites"}
    assert len(atlas) == 2 * 2 * ATLAS_SEED_FACTOR
    assert len(records) - len(atlas) == 3 * 2 * 2     # ga, random, nsga2 x spaces x seeds


def test_pareto_runs_optimise_the_judge_and_are_read_by_the_others(small):
    config, _, records = small
    key = next(k for k in records if k.algorithm == "nsga2")
    objective = runner.objective_for(config, key, config.search_config(key))
    assert isinstance(objective.wellformedness, Judge) and objective.wellformedness.name == "markov"
    ga = next(k for k in records if k.algorithm == "ga")
    assert not isinstance(runner.objective_for(config, ga, config.search_config(ga)).wellformedness,
                          Judge)
    for k, r in records.items():
        if k.algorithm != "nsga2":
            continue
        for budget in ("100", "200"):
            front = r["budgets"][budget]["front"]
            points = np.array(front["points"])            # error, markov, classifier
            assert front["size"] == len(points) >= 1
            for col, name in ((1, "markov"), (2, "classifier")):
                hv = hypervolume_2d(np.column_stack([points[:, 0], 1 - points[:, col]]),
                                    runner.HV_REFERENCE)
                assert front["hypervolume"][name] == pytest.approx(hv, abs=1e-3)


def test_archive_runs_report_coverage_and_qd_score(small):
    _, _, records = small
    for k, r in records.items():
        if k.algorithm == "map-elites":
            archive = r["budgets"]["200"]["archive"]
            assert 0 < archive["coverage"] <= 1 and archive["elites"] == round(
                archive["coverage"] * 64)
            assert 0 <= archive["qd_score"]["markov"] <= archive["elites"]
            assert r["budgets"]["100"]["archive"]["coverage"] <= archive["coverage"]


def test_headline_tests_every_measure_at_every_budget(small):
    config, folder, records = small
    rows = summary.headline(config, records)
    measures = {(r["algorithm"], r["measure"]) for r in rows if r["budget"] == 200}
    assert ("nsga2", "hypervolume: markov") in measures
    assert ("nsga2", "hypervolume: classifier") in measures
    assert ("map-elites", "coverage") in measures and ("ga", "error") in measures
    for r in rows:
        assert set(r["medians"]) == {"vae", "grid"}
        samples = summary.run_samples(config, records, r["algorithm"], r["budget"],
                                      {n: m for n, m, _ in summary.PARETO + summary.ARCHIVE
                                       + summary.SINGLE}[r["measure"].split(":")[0]],
                                      r["measure"].split(": ")[-1] if ":" in r["measure"]
                                      else config.judge)
        assert r["medians"]["vae"] == pytest.approx(np.median(samples["vae"]))
        # one task: the task searches have no pairs to test; map-elites tests its seeds
        assert r["paired"] == (r["algorithm"] != "map-elites")
        assert len(r["tests"]) == (0 if r["paired"] else 1)
        for t in r["tests"]:
            assert t["test"] == "mann-whitney" and t["n"] == 2 * ATLAS_SEED_FACTOR
            x, y = (samples[s] for s in ("vae", "grid"))
            u = scipy_stats.mannwhitneyu(x, y).statistic
            p = 1.0 if np.ptp(np.concatenate([x, y])) == 0 else scipy_stats.permutation_test(
                (x, y), lambda a, b: scipy_stats.mannwhitneyu(a, b).statistic,  # exact p
                permutation_type="independent", n_resamples=np.inf,
                alternative="two-sided").pvalue
            assert (t["statistic"], t["p"]) == pytest.approx((u, p))
        assert r["optimised"] == (r["measure"].endswith("markov")
                                  and r["algorithm"] in ("nsga2", "map-elites"))
    text = (folder / "report.md").read_text()
    assert "## Headline: both axes at once" in text and "hypervolume: classifier" in text
    assert "corpus look-up" in text


def test_quick_config_is_the_default_design_made_small():
    from pathlib import Path
    runs = Path(__file__).resolve().parents[1] / "runs"
    default, quick = load_config(runs / "compare-default.toml"), load_config(
        runs / "compare-quick.toml")
    assert default.algorithms == quick.algorithms == ("ga", "random", "nsga2")
    assert default.all_budgets == (500, 2000) and default.judge == "markov"
    for c in (default, quick):                 # the same replicates, starts and operators
        assert (c.replicates, c.start, c.search, c.search_by_space) == (
            default.replicates, default.start, default.search, default.search_by_space)
    assert {t.name: t.target for t in quick.tasks}.items() <= \
        {t.name: t.target for t in default.tasks}.items()
    assert {t.source.startswith("off-corpus") for t in quick.tasks} == {True, False}
    work = lambda c: len(c.runs()) * sum(c.all_budgets)    # evaluations, roughly
    assert work(quick) < work(default) / 20
