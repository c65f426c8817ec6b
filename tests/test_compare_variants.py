"""Comparison variants (a space searched with other settings, e.g. the VAE drawing from
the standard normal instead of its learned prior), trained replicates grouped against
search seeds, and the tests of fidelity and diversity between spaces over seeds.

Synthetic (fast tier): config checks, pairs, seed groups, the tests' known answers.
Real (full tier): a small comparison on the corpus with the VAE's trained seeds as
replicates and the normal-prior variant, its report and tables."""
from __future__ import annotations

import csv
import json
from math import comb
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from evodrum.cli import main
from evodrum.compare import fidelity, summary
from evodrum.compare.config import RunKey, parse_config
from evodrum.errors import EvodrumError

TASKS = [{"name": f"t{i}", "goals": {"all.density": 0.3 + 0.1 * i}} for i in range(5)]
FEEL_SEEDS = Path(__file__).resolve().parents[1] / "runs" / "feel-model"


def config(**extra):
    data = {"name": "variants", "spaces": ["vae", "vae-normal", "pca", "grid"],
            "algorithms": ["ga", "random"], "budget": 100, "population": 10, "seeds": 9,
            "variants": {"vae-normal": {"space": "vae", "prior": "normal"}}, "tasks": TASKS}
    return parse_config({**data, **extra})


def test_a_variant_is_its_space_with_other_settings():
    c = config(start={"vae": "corpus"}, search={"sigma": 0.2})
    normal, learned = RunKey("t0", "vae-normal", "ga", 3), RunKey("t0", "vae", "ga", 3)
    assert c.base("vae-normal") == "vae" and c.base("pca") == "pca"
    assert c.search_config(normal).prior == "normal" and c.search_config(learned).prior == "learned"
    assert c.search_config(normal).space == "vae"
    assert c.search_config(normal).settings["sigma"] == c.search_config(learned).settings["sigma"] == 0.2
    assert c.start_for(normal) == c.start_for(learned) == "corpus"   # the space's start
    # a variant is tested against its own space only, the spaces against each other
    assert c.pairs() == [("vae", "pca"), ("vae", "grid"), ("pca", "grid"), ("vae", "vae-normal")]
    assert len(c.runs()) == 4 * 2 * 9 * len(TASKS)


@pytest.mark.parametrize("variants, message", [
    ({"vae": {"space": "vae", "prior": "normal"}}, "has the name of a space"),
    ({"vae-normal": {"space": "midi", "prior": "normal"}}, "space must be one of"),
    ({"vae-normal": {"space": [], "prior": "normal"}}, "space must be one of"),   # was a traceback
    ({"vae-normal": {"space": "vae"}}, "give the search settings it changes"),
    ({"vae-normal": {"space": "vae", "flavour": 1}}, "unknown setting in variant vae-normal"),
    ({"vae-normal": {"space": "vae", "prior": "uniform"}}, "prior"),
    ({"vae normal": {"space": "vae", "prior": "normal"}}, "variant name must be"),
    ({"vae-normal": {"space": "vae", "sigma": "big"}}, "sigma must be a number"),
    ("normal", "variants must be tables"),
])
def test_bad_variants_are_one_error_naming_the_problem(variants, message):
    with pytest.raises(EvodrumError, match=message):
        config(variants=variants)


def test_a_space_name_that_is_neither_space_nor_variant_is_refused():
    with pytest.raises(EvodrumError, match="spaces: unknown 'vae-wide'"):
        config(spaces=["vae", "vae-wide"])


def test_seed_groups_separate_trained_replicates_from_search_seeds():
    c = config(replicates=[{}, {}, {}])
    groups = fidelity.seed_groups(c)
    assert groups["replicates"] == [{0, 3, 6}, {1, 4, 7}, {2, 5, 8}]       # one model each
    assert groups["search_seeds"] == [{0, 1, 2}, {3, 4, 5}, {6, 7, 8}]     # every model each
    for g in groups["search_seeds"]:
        assert sorted(s % 3 for s in g) == [0, 1, 2]
    assert fidelity.seed_groups(config()) == {}                           # no replicates
    assert set(fidelity.seed_groups(config(seeds=3, replicates=[{}, {}, {}]))) == {"replicates"}


def seed_rows(figure_of):
    """Per-seed figure rows of the config above at budget 100, figure_of(space, seed)."""
    return [{"budget": 100, "algorithm": a, "space": s, "seed": seed, "loops": len(TASKS),
             **{k: figure_of(s, seed, k) for k in fidelity.SET_FIGURES}}
            for a in ("ga", "random") for s in ("vae", "vae-normal", "pca", "grid")
            for seed in range(9)]


def test_fidelity_tests_over_seeds_have_known_answers():
    c = config()
    level = {"vae": 0.5, "vae-normal": 0.3, "pca": 0.5, "grid": 0.0}
    # vae and pca: the same figures; vae-normal lower in every seed; grid lowest
    rows = seed_rows(lambda s, seed, k: level[s] + 0.001 * seed)
    tests = fidelity.seed_tests(c, rows)
    assert len(tests) == 2 * 3 * 4             # algorithms x figures x pairs
    by = {(t["algorithm"], t["figure"], t["space_a"], t["space_b"]): t for t in tests}
    same = by[("ga", "recall", "vae", "pca")]
    assert same["a12"] == 0.5 and same["p"] == 1.0 and same["higher"] == ""
    apart = by[("ga", "recall", "vae", "vae-normal")]
    floor = 2 / comb(18, 9)                    # exact Mann-Whitney: every seed higher
    assert apart["a12"] == 1.0 and apart["p"] == pytest.approx(floor)
    assert apart["magnitude"] == "large" and apart["higher"] == "vae"
    # Holm over the budget's whole family (24 tests), smallest p first
    assert apart["p_holm"] == pytest.approx(min(1.0, 24 * floor), rel=1e-6)
    assert all(t["p_holm"] >= t["p"] for t in tests)
    lower = by[("random", "coverage", "pca", "grid")]
    assert lower["a12"] == 1.0 and lower["higher"] == "pca"
    assert ("ga", "recall", "pca", "vae-normal") not in by           # not a pair we test


def test_fidelity_tests_see_noise_as_noise():
    rng = np.random.default_rng(0)
    rows = seed_rows(lambda s, seed, k: float(rng.uniform(0.2, 0.6)))
    tests = fidelity.seed_tests(config(), rows)
    assert not any(t["higher"] for t in tests)
    assert all(0 <= t["a12"] <= 1 and t["p_holm"] <= 1 for t in tests)


def test_headline_tests_a_variant_only_against_its_space():
    c = config(algorithms=["ga"])
    records = {}
    for t in range(len(TASKS)):
        for s, offset in (("vae", 0.0), ("vae-normal", 0.01), ("pca", 0.02), ("grid", 0.03)):
            for seed in range(9):
                outcome = {"error": 0.01 * t + offset, "wellformed": 1.0,
                           "judges": {"markov": 0.5, "classifier": 0.5}}
                records[RunKey(f"t{t}", s, "ga", seed)] = {**outcome, "budgets": {"100": outcome}}
    (row,) = summary.headline(c, records)
    pairs = [(t["space_a"], t["space_b"]) for t in row["tests"]]
    assert pairs == c.pairs()
    variant = row["tests"][-1]
    assert variant["a_wins"] == len(TASKS) and variant["rank_biserial"] == 1.0


# --- the real thing: a small comparison on the corpus --------------------------------

def test_a_comparison_with_trained_vae_seeds_and_the_normal_prior_variant(tmp_path, groove_corpus):
    seeds = [FEEL_SEEDS / f"seed{r}" for r in range(2)]
    tasks = "".join(f"""
[[tasks]]
name = "t{i}"
goals = {{ "all.density" = {0.3 + 0.1 * i:.1f}, "hats.density" = 0.4 }}
""" for i in range(4))
    text = f"""
name = "variants"
spaces = ["vae", "vae-normal", "grid"]
algorithms = ["ga", "random"]
budgets = [20, 40]
population = 10
seeds = 4
replicates = [{{ vae = "{seeds[0]}" }}, {{ vae = "{seeds[1]}" }}]
[variants.vae-normal]
space = "vae"
prior = "normal"
{tasks}"""
    path = tmp_path / "variants.toml"
    path.write_text(text)
    before = path.read_bytes()
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["compare", str(path), "--out", str(out), "--workers", "1",
                                  "--no-plots"])
    assert r.exit_code == 0, r.output
    assert path.read_bytes() == before
    assert "vae-normal" in r.output
    meta = json.loads((out / "comparison.json").read_text())
    assert meta["model"]["vae"] != meta["model"]["vae#1"]       # two trained models
    assert meta["model"]["vae-normal"] == meta["model"]["vae"]  # the same decoder
    run = lambda space, seed: json.loads(
        (out / "runs" / "t0" / f"{space}-random-s{seed:03d}.json").read_text())
    assert [run("vae", s)["replicate"] for s in range(4)] == [0, 1, 0, 1]
    # the same seed and model, another prior: other random samples
    assert run("vae", 0)["best_grid"] != run("vae-normal", 0)["best_grid"]

    report = (out / "report.md").read_text()
    for section in ("### Are the differences real? Tests over seeds",
                    "### Trained replicates against search seeds",
                    "| vae vs grid | vae vs vae-normal |", "**vae-normal**"):
        assert section in report, section
    assert "grid vs vae-normal" not in report
    tests_table = report[report.index("Tests over seeds"):report.index("### Trained replicates")]
    real = [line.split(" | ")[5] for line in tests_table.splitlines() if line.startswith("| ga |")]
    assert len(real) == 2 * 3 and all(float(v) >= 0 for v in real)  # real loops' level, per budget
    with open(out / "fidelity-tests.csv", newline="") as f:
        tests = list(csv.DictReader(f))
    assert {(t["space_a"], t["space_b"]) for t in tests} == {("vae", "grid"), ("vae", "vae-normal")}
    assert len(tests) == 2 * 2 * 3 * 2         # budgets x algorithms x figures x pairs
    for t in tests:
        assert 0 <= float(t["a12"]) <= 1 and float(t["p"]) <= float(t["p_holm"]) <= 1
        assert t["n_a"] == t["n_b"] == "4"
    with open(out / "fidelity-seeds.csv", newline="") as f:
        per_seed = list(csv.DictReader(f))
    assert {r["loops"] for r in per_seed} == {"4"}          # one loop per task
    assert {r["space"] for r in per_seed} == {"vae", "vae-normal", "grid", "corpus"}
    with open(out / "prior.csv", newline="") as f:
        priors = list(csv.DictReader(f))
    assert [(p["space"], p["replicate"]) for p in priors] == [
        ("vae", "0"), ("vae", "1"), ("vae-normal", "0"), ("vae-normal", "1"), ("grid", "0")]
    learned, normal = priors[0], priors[2]
    assert learned["model"] == normal["model"] == str(seeds[0])
    assert learned["precision"] != normal["precision"]       # another prior, other samples
