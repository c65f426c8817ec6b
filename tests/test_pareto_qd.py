"""NSGA-II and MAP-Elites through the ask/tell interface, against random search at
the same budget, and the `target --algorithm nsga2` and `evodrum map` commands."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from cli_runner import run as run_cli

from evodrum import genotypes, midi
from evodrum.errors import EvodrumError
from evodrum.genotypes import files
from evodrum.search.config import SearchConfig
from evodrum.search.engine import run_search
from evodrum.search.objective import Objective
from evodrum.search.pareto import crowding, fronts, hypervolume_2d, non_dominated
from fitness import compute, parse_target

pytest.importorskip("ribs")   # the `qd` extra, in the `test` extra


@pytest.fixture(scope="module")
def reference():
    return files.load_reference()


@pytest.fixture(scope="module")
def vae():
    return genotypes.open_space("vae")


def test_non_dominated_and_hypervolume_on_known_points():
    pts = np.array([[0.1, 0.9], [0.5, 0.5], [0.6, 0.6], [0.9, 0.1], [0.5, 0.5]])
    assert non_dominated(pts).tolist() == [True, True, False, True, True]
    # staircase: 0.4*0.1 + 0.4*0.5 + 0.1*0.9 (reference (1, 1))
    assert hypervolume_2d(pts, (1.0, 1.0)) == pytest.approx(0.4 * 0.1 + 0.4 * 0.5 + 0.1 * 0.9)
    assert hypervolume_2d(np.array([[2.0, 0.1]]), (1.0, 1.0)) == 0.0


@pytest.mark.parametrize("m,ties", [(2, False), (2, True), (3, True)])
def test_non_dominated_sorting_and_crowding_are_deap_s(m, ties):
    """The O(N log N) sort gives DEAP's fronts (duplicates and ties included) and the
    crowding distances DEAP assigns, bit for bit."""
    from deap import tools

    from evodrum.search.individuals import individuals
    rng = np.random.default_rng(m + ties)
    values = rng.integers(0, 6, (400, m)).astype(float) if ties else rng.random((400, m))
    inds = individuals(np.zeros((400, 1)), values)
    for i, ind in enumerate(inds):
        ind.i = i
    expected = tools.sortNondominated(inds, len(inds))
    got = fronts(values)
    assert [sorted(ind.i for ind in f) for f in expected] == [sorted(f.tolist()) for f in got]
    for front in expected:
        tools.emo.assignCrowdingDist(front)
        rows = [ind.i for ind in front]
        np.testing.assert_array_equal(crowding(values[rows]),
                                      [ind.fitness.crowding_dist for ind in front])


def test_nsga2_front_is_non_dominated_and_beats_random_hypervolume(vae, reference):
    # a hard target (off the corpus): error and well-formedness pull apart
    target = parse_target("density=0.9,syncopation=0.8,symmetry=0.1")
    volumes = {"nsga2": [], "random": []}
    for seed in range(3):
        cfg = SearchConfig(algorithm="nsga2", population=40, generations=15, seed=seed)
        result = run_search(Objective(vae, target, reference), cfg)
        front = result.algorithm.front()
        assert len(front) >= 1 and non_dominated(front.values).all()
        everyone = result.algorithm.population.values
        for v in front.values:          # nothing in the final population dominates a member
            assert not ((everyone <= v).all(axis=1) & (everyone < v).any(axis=1)).any()
        volumes["nsga2"].append(hypervolume_2d(front.values, (1.0, 1.0)))
        # random search's best trade-offs among every loop it evaluates at the same budget
        volumes["random"].append(hypervolume_2d(random_all(vae, target, reference, cfg), (1.0, 1.0)))
    assert np.mean(volumes["nsga2"]) > np.mean(volumes["random"])


def random_all(space, target, reference, cfg):
    """Objective vectors of every loop random search evaluates at this budget."""
    rng = np.random.default_rng(cfg.seed)
    genes = space.clip(space.random(cfg.population * cfg.generations, rng))
    grids = space.decode(genes)
    return np.column_stack([target.distance(grids, space.spec), 1 - reference.score(grids)])


def test_map_elites_covers_more_cells_than_random_sampling(vae, reference):
    cfg = SearchConfig(algorithm="map-elites", population=50, generations=12, seed=0,
                       wellformed_weight=1.0, settings={"cells": 12})
    result = run_search(Objective(vae, None, reference, 1.0), cfg)
    algo = result.algorithm
    # random sampling with the same 600 evaluations, binned into the same cells
    rng = np.random.default_rng(0)
    grids = vae.decode(vae.clip(vae.random(600, rng)))
    feats = compute(grids, vae.spec)
    cells = np.stack([np.minimum(((feats[f] + 1e-6) * 12).astype(int), 11)
                      for f in ("all.density", "all.syncopation")], axis=1)
    random_coverage = len(np.unique(cells, axis=0)) / 144
    assert algo.coverage() > random_coverage
    elites = algo.elites()
    # each elite's features fall in its cell, and its fitness is 1 - well-formedness
    decoded = vae.decode(elites["genotypes"])
    f = compute(decoded, vae.spec)
    np.testing.assert_allclose(f["all.density"], elites["measures"][:, 0], atol=1e-6)
    # pyribs bins [k/12, (k+1)/12) with a 1e-6 tolerance at the lower edge
    assert (np.minimum(((elites["measures"] + 1e-6) * 12).astype(int), 11) == elites["cells"]).all()
    np.testing.assert_allclose(1 - reference.score(decoded), elites["fitness"], atol=1e-6)
    assert algo.qd_score() == pytest.approx(np.sum(1 - elites["fitness"]), rel=1e-5)


def test_map_elites_with_a_target_measures_qd_score_from_the_worst_fitness(vae, reference):
    # a target, the well-formedness weight and free latent genotypes held by the prior
    # penalty: fitness reaches past 1 + weight, and no elite may count below zero
    cfg = SearchConfig(algorithm="map-elites", population=24, generations=4, seed=1,
                       wellformed_weight=0.5, repair="penalty", settings={"sigma": 2.0})
    objective = Objective.for_config(vae, parse_target("density=0.9,symmetry=0.1"),
                                     reference, cfg)
    worst = 1.0 + 0.5 + cfg.prior_weight * (3.0 ** 2 - 1.0)   # latent bounds +-3
    assert objective.worst_fitness() == pytest.approx(worst)
    algo = run_search(objective, cfg).algorithm
    elites = algo.elites()
    assert len(elites["fitness"]) > 5
    assert (worst - elites["fitness"] >= 0).all()
    assert algo.qd_score() == pytest.approx(np.sum(worst - elites["fitness"]), rel=1e-5)
    assert algo.qd_score() > 0


@pytest.mark.parametrize("algorithm", ["nsga2", "map-elites"])
def test_pareto_and_qd_runs_resume_exactly(tmp_path, reference, algorithm):
    space = genotypes.open_space("pca")
    cfg = SearchConfig(algorithm=algorithm, space="pca", population=12, generations=7,
                       checkpoint_every=3, seed=2, wellformed_weight=0.1)
    target = parse_target("density=0.5,syncopation=0.2")
    straight = run_search(Objective(space, target, reference, 0.1), cfg,
                          checkpoint=tmp_path / "a.npz")

    def stop(gen, record):
        if gen == 5:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        run_search(Objective(space, target, reference, 0.1), cfg, checkpoint=tmp_path / "b.npz",
                   on_generation=stop)
    resumed = run_search(Objective(space, target, reference, 0.1), cfg,
                         checkpoint=tmp_path / "b.npz", resume=True)
    np.testing.assert_array_equal(resumed.best_genotypes, straight.best_genotypes)
    assert [dict(r) for r in resumed.logbook] == [dict(r) for r in straight.logbook]


def test_settings_are_checked():
    with pytest.raises(EvodrumError, match="divisible by 4"):
        SearchConfig(algorithm="nsga2", population=10)
    with pytest.raises(EvodrumError, match="unknown feature 'all.loudness'"):
        SearchConfig(algorithm="map-elites", settings={"features": ("all.density", "all.loudness")})
    with pytest.raises(EvodrumError, match="2 or 3 distinct features"):
        SearchConfig(algorithm="map-elites", settings={"features": ("all.density",)})


def test_target_nsga2_writes_the_front(tmp_path):
    out = tmp_path / "run"
    r = run_cli("target", "--algorithm", "nsga2", "-f", "density=0.9,syncopation=0.8",
                "-g", "6", "-p", "20", "--out", out)
    assert r.exit_code == 0, r.output
    assert "best trade-offs between the goals and sounding real" in r.output
    summary = json.loads((out / "summary.json").read_text())
    rows = list(csv.DictReader((out / "front.csv").open()))
    assert len(rows) == len(summary["front"]) >= 1
    # the front at full precision (front.csv rounds to 6 places, which can tie a distance)
    values = np.array([[f["distance"], 1 - f["wellformed"]] for f in summary["front"]])
    assert non_dominated(values).all()
    for r in rows:
        loop = midi.read_loop(out / r["file"])
        assert compute(loop)["all.density"][0] == pytest.approx(float(r["all.density"]))
    from evodrum import plotting
    assert (out / "front.png").exists() == plotting.available()


def test_target_nsga2_optimises_the_judge_it_is_given(tmp_path):
    from evodrum.search.target import load_job, prepare_target, run_target
    markov = files.load_judges()["markov"]
    out = tmp_path / "run"
    r = run_cli("target", "--algorithm", "nsga2", "-f", "density=0.9,syncopation=0.8",
                "--judge", "markov", "-g", "4", "-p", "16", "--out", out, "--verbose")
    assert r.exit_code == 0, r.output
    assert "sounding real (markov)" in r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["job"]["judge"] == "markov"
    assert summary["optimised_judges"] == ["markov"]
    assert summary["independent_judges"] == ["wellformed", "classifier"]
    marked = {x.split()[0] for x in r.output.splitlines() if x.startswith("  ")}
    assert "markov*" in marked and "wellformed" in marked and "wellformed*" not in marked
    rows = list(csv.DictReader((out / "front.csv").open()))
    loops = np.stack([midi.read_loop(out / row["file"]) for row in rows])
    score = markov.score(loops)           # the shipped judge, on the loops as written
    np.testing.assert_allclose([float(row["markov"]) for row in rows], score, atol=1e-6)
    values = np.column_stack([[float(row["distance"]) for row in rows], 1 - score])
    assert non_dominated(values).all()
    # the search's own second objective is 1 - the markov score of each front member
    job = load_job(out)
    result, _ = run_target(prepare_target(job), tmp_path / "again")
    front = result.algorithm.front()
    np.testing.assert_allclose(front.values[:, 1],
                               1 - markov.score(result.algorithm.space.decode(front.genotypes)),
                               atol=1e-6)
    refused = run_cli("target", "--resume", out, "--judge", "classifier")
    assert refused.exit_code == 1 and "drop --judge" in refused.output
    bad = run_cli("target", "-f", "density=0.5", "--judge", "groovy", "--out", tmp_path / "bad")
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert bad.output.strip() == ("error: unknown judge 'groovy': choose wellformed, markov, "
                                  "classifier")
    assert not (tmp_path / "bad").exists()


def test_target_job_files_without_a_judge_mean_wellformed():
    from evodrum.search.target import TargetJob
    job = TargetJob(parse_target("density=0.5"), SearchConfig())
    d = job.to_dict()
    assert d["judge"] == "wellformed"
    del d["judge"]
    assert TargetJob.from_dict(d).judge == "wellformed"


def test_map_command_makes_an_atlas(tmp_path):
    out = tmp_path / "atlas"
    r = run_cli("map", "--features", "hats.density,kick_snare.syncopation", "--space", "vae",
                "--cells", "8", "-g", "5", "-p", "40", "--out", out, "--verbose")
    assert r.exit_code == 0, r.output
    assert "cells hold a loop" in r.output and "QD-score" in r.output
    summary = json.loads((out / "summary.json").read_text())
    rows = list(csv.DictReader((out / "atlas.csv").open()))
    assert summary["elites"] == len(rows) == len(list((out / "elites").glob("*.mid"))) > 5
    assert summary["coverage"] == pytest.approx(len(rows) / 64)
    for r in rows[:5]:
        loop = midi.read_loop(out / r["file"])
        feats = compute(loop)
        assert feats["hats.density"][0] == pytest.approx(float(r["hats.density"]), abs=1e-4)
        x, y = (int(c) for c in r["cell"].split(","))
        assert min(int((feats["hats.density"][0] + 1e-6) * 8), 7) + 1 == x
        assert min(int((feats["kick_snare.syncopation"][0] + 1e-6) * 8), 7) + 1 == y
    again = run_cli("map", "--resume", out, "--cells", "4")
    assert again.exit_code == 1 and "drop --cells" in again.output
    resumed = run_cli("map", "--resume", out)
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((out / "summary.json").read_text())["elites"] == summary["elites"]


def test_map_resume_refuses_a_damaged_job_file_in_one_line(tmp_path):
    """A job.json that lost entries or holds the wrong kinds is an error naming it,
    never a traceback; the folder is left as it was."""
    out = tmp_path / "atlas"
    r = run_cli("map", "--cells", "4", "-g", "2", "-p", "8", "--out", out)
    assert r.exit_code == 0, r.output
    job = json.loads((out / "job.json").read_text())
    assert job["features"] == ["all.density", "all.syncopation"] and job["sigma"] == 0.3
    for damaged in ("{}", "[]", "not json", json.dumps({**job, "features": [1, 2]}),
                    json.dumps({**job, "sigma": "x"}), json.dumps({**job, "cells": 2.5}),
                    json.dumps({**job, "features": ["all.nothing", "all.density"]}),
                    json.dumps({**job, "model": 3}), json.dumps({**job, "drum_map": 3}),
                    json.dumps({**job, "drum_map": "a\x00b.toml"})):
        (out / "job.json").write_text(damaged)
        before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
        r = run_cli("map", "--resume", out)
        assert r.exit_code != 0 and "Traceback" not in r.output, (damaged, r.output)
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {out / 'job.json'}: "), \
            (damaged, r.output)
        assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
