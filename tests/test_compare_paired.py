"""The comparison's headline statistics on small synthetic run tables with known
answers: spaces paired by task (Wilcoxon signed-rank on per-task medians over seeds,
Holm over the budget's table), and the per-task win counts shown only when the seeds
give their tests power."""
from __future__ import annotations

import numpy as np
import pytest

from evodrum.compare import report, summary
from evodrum.compare.config import RunKey, parse_config

SPACES = ("vae", "pca", "grid")


def synthetic(tasks: int, seeds: int, error, markov):
    """A ga-only comparison over `tasks` tasks whose runs score error(space, task, seed),
    markov(space, task, seed) and a classifier score the same in every space."""
    config = parse_config({
        "name": "synthetic", "spaces": list(SPACES), "algorithms": ["ga"], "budget": 100,
        "population": 10, "seeds": seeds,
        "tasks": [{"name": f"t{i}", "goals": {"all.density": 0.5}} for i in range(tasks)]})
    records = {}
    for t in range(tasks):
        for s in SPACES:
            for seed in range(seeds):
                outcome = {"error": error(s, t, seed), "wellformed": 1.0,
                           "judges": {"markov": markov(s, t, seed), "classifier": 0.5}}
                records[RunKey(f"t{t}", s, "ga", seed)] = {**outcome, "budgets": {"100": outcome}}
    return config, records


OFFSET = {"vae": 0.0, "pca": 0.005, "grid": 0.05}


def ordered(tasks=10, seeds=3):
    """vae better than pca better than grid in every task, on error and markov; one seed
    per cell is an outlier that medians over seeds ignore."""
    return synthetic(
        tasks, seeds,
        error=lambda s, t, seed: 0.01 * (t + 1) ** 1.5 + OFFSET[s] + (0.5 if seed == 0 else 0),
        markov=lambda s, t, seed: 0.9 - 10 * OFFSET[s] - 0.01 * t)


def test_a_space_better_on_every_task_reaches_the_exact_wilcoxon_floor():
    config, records = ordered()
    rows = {(r["measure"]): r for r in summary.headline(config, records)}
    # single loops' judge scores are typicality: the headline reads the error alone
    assert set(rows) == {"error"}
    row = rows["error"]
    assert row["paired"] and row["n"] == {s: 10 for s in SPACES}
    for test in row["tests"]:                 # the first space is better in all 10 tasks
        assert test["test"] == "wilcoxon" and test["n"] == 10
        assert test["p"] == pytest.approx(2.0 ** -9)          # exact: 2 / 2^10
        assert test["rank_biserial"] == 1.0 and test["a_wins"] == 10
        assert test["p_holm"] == pytest.approx(3 * 2.0 ** -9)   # Holm over the 3 tests
        assert test["winner"] == test["space_a"]
    # medians over tasks of the per-task medians over seeds (the outlier seed is ignored)
    expected = np.median([0.01 * (t + 1) ** 1.5 for t in range(10)])
    assert rows["error"]["medians"]["vae"] == pytest.approx(expected)


def test_pairing_is_by_task_not_by_pooled_runs():
    # vae is worse than pca by a hair in every task, while the tasks spread widely: a
    # pooled unpaired test sees nothing, the paired test sees every task agree
    config, records = synthetic(
        12, 2, error=lambda s, t, seed: 0.02 * t + (0.001 if s == "vae" else 0) + 0.0001 * seed,
        markov=lambda s, t, seed: 0.5)
    row = next(r for r in summary.headline(config, records) if r["measure"] == "error")
    test = next(t for t in row["tests"] if (t["space_a"], t["space_b"]) == ("vae", "pca"))
    assert test["b_wins"] == 12 and test["rank_biserial"] == -1.0
    assert test["p"] == pytest.approx(2.0 ** -11) and test["winner"] == "pca"


def test_ties_between_task_medians_are_dropped_from_the_test_and_counted():
    table = {"a": {f"t{i}": 0.1 for i in range(7)}, "b": {f"t{i}": 0.1 for i in range(7)}}
    for i in range(5):
        table["b"][f"t{i}"] = 0.2 + 0.01 * i           # a has the lower error in 5 tasks
    (test,) = summary.paired_tests(table, higher_better=False, pairs=[("a", "b")])
    assert (test["a_wins"], test["b_wins"], test["ties"], test["n"]) == (5, 0, 2, 7)
    assert test["p"] == pytest.approx(2.0 ** -4) and test["rank_biserial"] == 1.0
    (test,) = summary.paired_tests(table, higher_better=True, pairs=[("a", "b")])    # as scores
    assert (test["a_wins"], test["b_wins"]) == (0, 5) and test["rank_biserial"] == -1.0


def test_report_states_the_paired_tests_and_their_power():
    config, records = ordered()
    text = report.headline_section(config, records)
    assert "Wilcoxon's signed-rank test over the tasks" in text and "n = 10 pairs" in text
    assert "smallest attainable p 0.002" in text                     # 2^-9
    assert f"r +1.00 (10/10 tasks better), p {3 * 2.0 ** -9:.2g} **vae**" in text
    assert "Holm-corrected over every test in one budget's table" in text


def test_per_task_win_counts_only_when_seeds_give_them_power():
    config, records = ordered(tasks=2, seeds=2)
    tests = summary.pairwise_tests(config, records)
    text = report.per_task_wins(config, tests)
    assert "p = 0.33 at best" in text and "left out" in text and "|" not in text
    # 5 seeds: the best per-task p is 2 / C(10, 5) = 1/126; Holm over the 6 tests of a
    # metric (2 tasks x 3 pairs) gives 6/126 = 0.048 < 0.05, so complete separation wins
    config, records = synthetic(
        2, 5, error=lambda s, t, seed: 0.01 * seed + OFFSET[s] * 10,
        markov=lambda s, t, seed: 0.5)
    tests = summary.pairwise_tests(config, records)
    floors = summary.holm_floors(tests)
    assert floors[(100, "error")] == pytest.approx(6 / 126)
    text = report.per_task_wins(config, tests)
    assert "p = 0.0079 at best" in text and "left out" not in text
    assert "| 100 | error | ga | vae vs pca | vae 2, pca 0, neither 0 |" in text
    assert "| 100 | markov | ga | vae vs pca | vae 0, pca 0, neither 2 |" in text   # all equal
