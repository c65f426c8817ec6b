"""Comparison v3: trained replicates, searches that start from the corpus, off-corpus
tasks with their reachability, and fidelity and diversity read against held-out real
drumming in the report."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from evodrum.cli import main
from evodrum.compare import runner, store
from evodrum.compare.config import RunKey, parse_config
from evodrum.errors import EvodrumError
from evodrum.grid import onsets

TASKS = [{"name": "dense", "goals": {"all.density": 0.8, "hats.density": 0.5}},
         {"name": "sparse", "goals": {"all.density": 0.4, "kick_snare.syncopation": 0.3}}]


def config(**extra):
    return parse_config({"name": "v3", "spaces": ["pca", "grid"], "algorithms": ["ga", "random"],
                         "budgets": [20, 40], "population": 10, "seeds": 2, "tasks": TASKS,
                         **extra})


@pytest.fixture(scope="module")
def pca_replicate(tmp_path_factory, groove_corpus):
    """A PCA fitted on a resample of the training performances (`train --kind pca --seed 1`)."""
    folder = tmp_path_factory.mktemp("models") / "pca-seed1"
    r = CliRunner().invoke(main, ["train", "--kind", "pca", "--seed", "1", "--out", str(folder)])
    assert r.exit_code == 0, r.output
    return folder


def test_replicates_and_starts_are_checked(tmp_path):
    with pytest.raises(EvodrumError, match="no pca model at"):
        config(replicates=[{}, {"pca": str(tmp_path / "missing")}])
    with pytest.raises(EvodrumError, match="not a learned space"):
        config(replicates=[{"grid": str(tmp_path)}, {}])
    with pytest.raises(EvodrumError, match="multiple of the number of replicates"):
        config(replicates=[{}, {}, {}])
    with pytest.raises(EvodrumError, match="start.grid must be prior or corpus"):
        config(start={"grid": "noise"})


def test_seed_s_searches_replicate_s_mod_n(pca_replicate):
    c = config(replicates=[{}, {"pca": str(pca_replicate)}])
    keys = [k for k in c.runs() if k.space == "pca"]
    assert {(k.seed, c.replicate(k)) for k in keys} == {(0, 0), (1, 1)}
    assert c.model_for("pca", 1) == str(pca_replicate) and c.model_for("pca", 0) is None
    prints = store.model_fingerprint(c)
    assert prints["pca#1"] != prints["pca"] and prints["grid#1"] == prints["grid"]
    card = json.loads((pca_replicate / "pca.json").read_text())
    assert card["resample"]["seed"] == 1 and card["resample"]["distinct_files"] < card["resample"]["files"]
    # a run of each replicate decodes with its own model
    a = runner.run_space(c, RunKey("dense", "pca", "ga", 0))
    b = runner.run_space(c, RunKey("dense", "pca", "ga", 1))
    z = np.zeros((1, a.dim))
    assert not np.array_equal(a.representation.components, b.representation.components)
    assert a.decode(z).shape == b.decode(z).shape


def test_a_corpus_start_is_distinct_training_loops(groove_corpus):
    c = config(start={"grid": "corpus"})
    ga, rnd = RunKey("dense", "grid", "ga", 0), RunKey("dense", "grid", "random", 0)
    assert c.start_for(ga) == "corpus" and c.start_for(rnd) == "prior"
    grid = runner.run_space(c, ga)
    start = runner.start_genotypes(c, ga, grid)
    assert runner.start_genotypes(c, rnd, grid) is None
    loops = onsets(grid.decode(start))
    train = runner.reference(None).index.onsets
    packed = {bytes(np.packbits(t)) for t in train}
    assert len(loops) == c.population and all(bytes(np.packbits(l)) in packed for l in loops)
    assert len({bytes(np.packbits(l)) for l in loops}) == c.population
    other = runner.start_genotypes(c, RunKey("dense", "grid", "ga", 1), grid)
    assert not np.array_equal(other, start)                     # each seed its own draw


def test_report_reads_fidelity_two_sided_and_reachability(tmp_path, groove_corpus, pca_replicate):
    text = f"""
name = "v3"
spaces = ["pca", "grid"]
algorithms = ["ga", "random"]
budgets = [100, 300]
population = 20
seeds = 4
replicates = [{{}}, {{ pca = "{pca_replicate}" }}]
start = {{ grid = "corpus" }}
[search]
sigma = 0.1
[search.grid]
mutation = "flip"
[[tasks]]
name = "dense"
goals = {{ "all.density" = 0.8, "hats.density" = 0.5 }}
[[tasks]]
name = "offcorpus-1"
source = "off-corpus: test"
goals = {{ "all.density" = 0.4, "kick_snare.syncopation" = 0.3 }}
"""
    path = tmp_path / "v3.toml"
    path.write_text(text)
    r = CliRunner().invoke(main, ["compare", str(path), "--out", str(tmp_path / "out"),
                                  "--workers", "2", "--no-plots"])
    assert r.exit_code == 0, r.output
    report = (tmp_path / "out" / "report.md").read_text()
    for section in ("## Fidelity and diversity", "## Reachability", "### Each space's prior",
                    "markov: place / KS", "| offcorpus-1 | off-corpus |", "real loops"):
        assert section in report, section
    with open(tmp_path / "out" / "fidelity.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    pooled = {(row["budget"], row["algorithm"], row["space"]): row for row in rows}
    assert pooled[("300", "ga", "pca")]["loops"] == "8"              # 2 tasks x 4 seeds
    random_grid = pooled[("300", "random", "grid")]
    assert float(random_grid["precision"]) == 0 and float(random_grid["markov_ks"]) > 0.9
    record = json.loads(store.run_path(tmp_path / "out", RunKey("dense", "pca", "ga", 1))
                        .read_text())
    assert record["replicate"] == 1 and record["budgets"]["100"]["best_grid"]
    with open(tmp_path / "out" / "prior.csv", newline="") as f:
        priors = list(csv.DictReader(f))
    assert [(p["space"], p["replicate"]) for p in priors] == [("pca", "0"), ("pca", "1"),
                                                             ("grid", "0")]
