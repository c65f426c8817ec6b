"""Search over genotype spaces: encode/decode, operators in bounds, seeding, resume, targets."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from cli_runner import run as run_cli

from evodrum import genotypes
from evodrum.errors import EvodrumError
from evodrum.genotypes import GridSpace, files
from evodrum.search.config import SearchConfig
from evodrum.search.engine import run_search
from evodrum.search.objective import Objective
from fitness import parse_target


@pytest.fixture(scope="module")
def reference():
    return files.load_reference()


@pytest.fixture(scope="module")
def spaces():
    return {name: genotypes.open_space(name) for name in ("vae", "pca", "grid")}


def onset_f1(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0, b > 0
    tp = (a & b).sum()
    return 2 * tp / (a.sum() + b.sum())


def test_spaces_decode_batches_of_the_right_shape(spaces):
    rng = np.random.default_rng(0)
    for space in spaces.values():
        g = space.random(16, rng)
        assert g.shape == (16, space.dim)
        grids = space.decode(g)
        assert grids.shape == (16, 9, 64) and grids.dtype == np.float32
        assert grids.min() >= 0 and grids.max() <= 1
    assert spaces["vae"].dim == spaces["pca"].dim == 20 and spaces["grid"].dim == 576


def test_encode_then_decode_recovers_real_loops(spaces, groove_corpus):
    loops = groove_corpus.split_grids("test")[::40]
    grid = spaces["grid"]
    np.testing.assert_allclose(grid.decode(grid.encode(loops)), loops, atol=1 / 127)
    f1 = {n: onset_f1(spaces[n].decode(spaces[n].encode(loops)), loops) for n in ("vae", "pca")}
    assert f1["vae"] > 0.7 and f1["pca"] > 0.6
    assert f1["vae"] > f1["pca"]


def test_pca_space_is_scaled_to_a_standard_normal_prior(spaces, groove_corpus):
    z = spaces["pca"].encode(groove_corpus.split_grids("train")[::5])
    assert np.allclose(z.std(axis=0), 1.0, atol=0.1)
    assert np.allclose(z.mean(axis=0), 0.0, atol=0.1)


def test_grid_prior_is_as_dense_as_real_drumming():
    grids = GridSpace().decode(GridSpace().random(200, np.random.default_rng(1)))
    assert 0.11 < (grids > 0).mean() < 0.15


@pytest.mark.parametrize("space_name,algorithm", [("vae", "ga"), ("pca", "cmaes"),
                                                  ("grid", "ga"), ("grid", "cmaes")])
def test_operators_keep_genotypes_in_bounds(spaces, reference, space_name, algorithm):
    space = spaces[space_name]
    obj = Objective(space, parse_target("density=0.9"), reference)
    seen = []
    cfg = SearchConfig.from_options(shared=True, space=space_name, algorithm=algorithm,
                                    population=20, generations=5, sigma=2.0)
    from evodrum.search.engine import Run
    run = Run(obj, cfg)
    run.algorithm.start(np.random.default_rng(0))
    for _ in range(5):
        run.step(None)
        seen.append(run.algorithm.population.genotypes)
    seen = np.concatenate(seen)
    assert seen.min() >= space.low and seen.max() <= space.high


@pytest.mark.parametrize("indpb", [0.0, 0.2, 1.0])
def test_the_gas_gaussian_mutation_draws_what_deaps_does(indpb):
    """mut_gaussian replaces DEAP's mutGaussian for speed: the same genes from the same
    seed, bit for bit, and the same state of `random` afterwards."""
    import random

    from deap import tools

    from evodrum.search.algorithms.variation import mut_gaussian
    genes = [[random.Random(i).uniform(-3, 3) for _ in range(20)] for i in range(300)]
    ours, deaps = [list(g) for g in genes], [list(g) for g in genes]
    random.seed(7)
    for g in deaps:
        tools.mutGaussian(g, mu=0.0, sigma=0.4, indpb=indpb)
    after = random.random()
    random.seed(7)
    for g in ours:
        assert mut_gaussian(g, sigma=0.4, indpb=indpb) == (g,)
    assert ours == deaps and random.random() == after
    assert (ours != genes) == (indpb > 0)


def test_the_gas_tournament_picks_what_deaps_does():
    """sel_tournament replaces DEAP's selTournament for speed: the same winners from the
    same seed (ties go to the first drawn, a NaN fitness as DEAP's comparison has it) and
    the same state of `random` afterwards."""
    import random

    from deap import tools

    from evodrum.search.algorithms.ga import sel_tournament
    from evodrum.search.individuals import individuals
    rng = np.random.default_rng(3)
    values = rng.integers(0, 12, (101, 1)).astype(float)      # many ties
    values[[5, 50]] = np.nan
    pop = individuals(rng.normal(size=(101, 4)), values)
    for tournsize in (1, 2, 3, 7):
        random.seed(tournsize)
        deaps = tools.selTournament(pop, 99, tournsize)
        after = random.random()
        random.seed(tournsize)
        ours = sel_tournament(pop, 99, tournsize)
        assert [id(i) for i in ours] == [id(i) for i in deaps] and random.random() == after
    assert len({id(i) for i in ours}) > 20


def test_penalty_repair_lets_latents_roam_but_costs_fitness(spaces, reference):
    space = spaces["vae"]
    far = np.full((1, 20), 4.0)
    obj = Objective(space, parse_target("density=0.5"), reference, prior_weight=0.05)
    free = Objective(space, parse_target("density=0.5"), reference)
    assert obj.evaluate(far)[1].fitness[0] == pytest.approx(free.evaluate(far)[1].fitness[0] + 0.05 * 15)
    assert obj.evaluate(np.zeros((1, 20)))[1].fitness[0] == free.evaluate(np.zeros((1, 20)))[1].fitness[0]


def _run(space, reference, **kw):
    target = parse_target("density=0.5,syncopation=0.2")
    cfg = SearchConfig(space=space.name, population=30, generations=kw.pop("generations", 8), **kw)
    return run_search(Objective(space, target, reference), cfg)


@pytest.mark.parametrize("algorithm", ["ga", "cmaes"])
def test_same_seed_same_result_and_search_improves(spaces, reference, algorithm):
    a = _run(spaces["vae"], reference, seed=5, algorithm=algorithm)
    b = _run(spaces["vae"], reference, seed=5, algorithm=algorithm)
    c = _run(spaces["vae"], reference, seed=6, algorithm=algorithm)
    np.testing.assert_array_equal(a.best_genotypes, b.best_genotypes)
    assert a.logbook.select("best") == b.logbook.select("best")
    assert not np.array_equal(a.best_genotypes, c.best_genotypes)
    curve = a.logbook.select("best_so_far")
    assert curve[-1] <= curve[0] and all(x >= y for x, y in zip(curve, curve[1:]))
    assert a.evaluations == a.logbook.select("evals")[-1]


def test_vae_search_reaches_a_held_out_loops_features(spaces, reference, groove_corpus):
    from fitness import Target
    loop = groove_corpus.split_grids("test")[123]
    target = Target.like(loop, names=("density", "syncopation", "symmetry"))
    cfg = SearchConfig(space="vae", population=60, generations=40, seed=1)
    result = run_search(Objective(spaces["vae"], target, reference), cfg)
    assert result.best_distance[0] < 0.03
    assert result.best_distance[0] == pytest.approx(target.distance(result.best_grids[:1])[0])


def test_seed_loops_start_the_search(spaces, reference, groove_corpus):
    loop = groove_corpus.split_grids("test")[7]
    space = spaces["vae"]
    seeds = space.encode(loop[None])
    obj = Objective(space, parse_target("density=0.5"), reference)
    from evodrum.search.engine import Run
    run = Run(obj, SearchConfig(population=20))
    run.algorithm.start(np.random.default_rng(0), seeds)
    run.step(None)
    first = run.algorithm.population.genotypes
    np.testing.assert_allclose(first[0], np.clip(seeds[0], -3, 3), atol=1e-6)
    assert np.linalg.norm(first[1:10] - seeds, axis=1).max() < 3.0  # variations near it
    assert obj.evaluations == 20


INTERRUPT = """
import sys
import numpy as np
from evodrum import genotypes
from evodrum.genotypes import files
from evodrum.search.config import SearchConfig
from evodrum.search.engine import run_search
from evodrum.search.objective import Objective
from fitness import parse_target
space = genotypes.open_space(sys.argv[1])
obj = Objective(space, parse_target("density=0.5,syncopation=0.2"), files.load_reference(), 0.1)
cfg = SearchConfig(space=sys.argv[1], algorithm=sys.argv[2], population=20, generations=9,
                   checkpoint_every=3, seed=11, wellformed_weight=0.1)
stop = int(sys.argv[4])
def interrupt(gen, record):
    if gen == stop:
        raise KeyboardInterrupt
try:
    r = run_search(obj, cfg, checkpoint=__import__("pathlib").Path(sys.argv[3]),
                   resume=stop == 0, on_generation=interrupt)
    np.save(sys.argv[3] + ".best.npy", r.best_genotypes)
    print(r.evaluations, len(r.logbook))
except KeyboardInterrupt:
    print("interrupted")
"""


@pytest.mark.slow      # three evodrum processes (resumed in-process: test_registry)
@pytest.mark.parametrize("space_name,algorithm", [("vae", "ga"), ("grid", "cmaes")])
def test_resume_in_a_new_process_continues_exactly(tmp_path, space_name, algorithm):
    script = tmp_path / "run.py"
    script.write_text(INTERRUPT)

    def run(ckpt, stop):
        out = subprocess.run([sys.executable, str(script), space_name, algorithm, str(ckpt),
                              str(stop)], capture_output=True, text=True, check=True)
        return out.stdout.strip()

    straight = run(tmp_path / "straight.npz", -1)
    assert run(tmp_path / "cut.npz", 5) == "interrupted"  # last checkpoint: generation 3
    assert run(tmp_path / "cut.npz", 0) == straight
    np.testing.assert_array_equal(np.load(f"{tmp_path}/cut.npz.best.npy"),
                                  np.load(f"{tmp_path}/straight.npz.best.npy"))


def test_resume_with_other_settings_is_refused(tmp_path, spaces, reference):
    space = spaces["grid"]
    obj = Objective(space, parse_target("density=0.5"), reference)
    ckpt = tmp_path / "c.npz"
    run_search(obj, SearchConfig(space="grid", population=10, generations=2), checkpoint=ckpt)
    with pytest.raises(EvodrumError, match="population"):
        run_search(obj, SearchConfig(space="grid", population=12, generations=2),
                   checkpoint=ckpt, resume=True)
    ckpt.write_bytes(b"garbage")
    with pytest.raises(EvodrumError, match="cannot read"):
        run_search(obj, SearchConfig(space="grid", population=10, generations=2),
                   checkpoint=ckpt, resume=True)


def test_patience_stops_at_the_features_resolution_and_resumes_there(tmp_path, spaces,
                                                                     reference):
    """Features take only certain values (density k/64, ...), so a best loop at the
    target's floor cannot be beaten: the run stops there, with the result of the
    full run, and a resumed run stops at the same place."""
    target = parse_target("density=0.7,syncopation=0.1,hats.density=0.4")
    assert target.floor() == pytest.approx((0.2 / 64 + 0 + 0.4 / 64) / 3)
    objective = Objective(spaces["vae"], target, reference, wellformed_weight=0.1)
    full = run_search(objective, SearchConfig(wellformed_weight=0.1))
    config = SearchConfig(wellformed_weight=0.1, patience=50)
    early = run_search(objective, config, checkpoint=tmp_path / "c.npz")
    assert full.stopped == "generations" and early.stopped == "resolution"
    assert early.generations < 100 and early.evaluations < full.evaluations
    assert early.best_fitness[0] == full.best_fitness[0] <= target.floor() + 1e-6
    assert list(early.logbook) == list(full.logbook)[:len(early.logbook)]
    again = run_search(objective, config, checkpoint=tmp_path / "c.npz", resume=True)
    assert again.generations == early.generations and again.stopped == "resolution"
    np.testing.assert_array_equal(again.best_genotypes, early.best_genotypes)


def test_patience_stops_a_search_that_stopped_improving(spaces, reference):
    # no loop is both empty and syncopated: the floor (0) is out of reach
    objective = Objective(spaces["vae"], parse_target("density=0,syncopation=1"), reference)
    result = run_search(objective, SearchConfig(algorithm="random", population=10,
                                                generations=500, patience=5))
    best = result.logbook.select("best")
    assert result.stopped == "patience" and len(best) < 501
    assert min(best[-5:]) >= min(best[:-5])          # no better one in the last 5


def test_a_population_too_big_for_memory_is_refused_before_it_runs(spaces):
    """cmaes in the grid space at population 100,000 reached 4.6 GB: each algorithm
    estimates its peak from measured bytes per gene and per loop cell."""
    from evodrum.search.engine import check_memory, make_algorithm
    algorithm = make_algorithm(spaces["grid"], SearchConfig(space="grid", algorithm="cmaes",
                                                            population=100_000))
    assert 4e9 < algorithm.memory_needed() < 6e9
    with pytest.raises(EvodrumError, match=r"population of 100,000 would need about 4\.\d GB "
                                           r"with cmaes in the grid space.*--population 31,41\d or fewer"):
        check_memory(algorithm, limit=2**30 + 2**29)
    check_memory(algorithm, limit=2**33)


def test_patience_0_is_how_runs_were_saved_before_it_existed():
    """Older job files and checkpoints (and a comparison's run hashes) have no
    patience: they read as 0, which runs every generation, and 0 is left out."""
    old = SearchConfig().to_dict()
    assert "patience" not in old and SearchConfig.from_dict(old).patience == 0
    assert SearchConfig.from_dict({**old, "patience": 7}).to_dict()["patience"] == 7


# --- the command --------------------------------------------------------------

def test_target_command_writes_a_run_folder(tmp_path):
    out = tmp_path / "run"
    # --patience 0: every generation runs (from the learned prior this goal reaches the
    # features' resolution by generation 3, and the logbook below counts all 5)
    r = run_cli("target", "--features", "density=0.5,hats.syncopation=0.2", "-g", "5", "-p", "20",
                "--patience", "0", "--out", out, "--top", "2", "--ascii")
    assert r.exit_code == 0, r.output
    assert "off the goals" in r.output and "BD  |" in r.output
    assert "whole-kit density" in r.output and "hi-hat syncopation" in r.output
    assert max(len(line) for line in r.output.splitlines() if str(out) not in line) <= 80
    assert f"hear the closest: evodrum play {out / 'best_01.mid'}" in r.output
    assert "markov" not in r.output                    # the judges are behind --verbose
    verbose = run_cli("target", "--features", "density=0.5", "-g", "2", "-p", "8", "--verbose",
                      "--out", tmp_path / "v")
    assert verbose.exit_code == 0 and "markov" in verbose.output and "gen\tevals" in verbose.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["evaluations"] > 20 and len(summary["best"]) == 2
    assert (out / "best_01.mid").exists() and (out / "logbook.csv").read_text().count("\n") == 7
    best = summary["best"][0]
    from evodrum import midi
    from fitness import compute
    feats = compute(midi.read_loop(out / "best_01.mid"))
    assert feats["all.density"][0] == pytest.approx(best["features"]["all.density"])


def test_target_resume_finishes_an_interrupted_run(tmp_path):
    out = tmp_path / "run"
    args = ["target", "-f", "density=0.4", "-g", "6", "-p", "10", "--space", "pca"]
    assert run_cli(*args, "--out", out).exit_code == 0
    done = json.loads((out / "summary.json").read_text())
    (out / "summary.json").unlink()
    r = run_cli("target", "--resume", out)
    assert r.exit_code == 0, r.output
    assert json.loads((out / "summary.json").read_text())["best"] == done["best"]
    r = run_cli("target", "--resume", out, "--generations", "50")
    assert r.exit_code == 1 and "drop --generations" in r.output


@pytest.mark.parametrize("args,message", [
    (["-f", "loudness=0.5"], "unknown target feature 'loudness'"),
    (["-f", "density=1.5"], "within [0, 1]"),
    (["-f", "density"], "NAME=VALUE"),
    ([], "give --features"),
    (["--like", "missing.mid"], "missing.mid"),
    (["-f", "density=0.3", "--mutation", "flip"], "grid space's native operator"),
    (["-f", "density=0.3", "--model", "missing.pt"], "missing.pt: no such model file"),
    (["-f", "density=0.3", "--seed-loops", "missing.mid"], "missing.mid"),
])
def test_bad_targets_are_one_clear_line(tmp_path, args, message):
    r = run_cli("target", *args, "--out", tmp_path / "x")
    assert r.exit_code != 0
    assert message in r.output and "Traceback" not in r.output
    assert not (tmp_path / "x").exists()  # no empty run folder left behind


def test_target_returns_loops_a_listener_tells_apart(tmp_path):
    """A converged run's hall of fame holds near-copies; the best loops written are at
    least MIN_DIFFERENT_CELLS onset cells apart."""
    from click.testing import CliRunner

    from evodrum import midi
    from evodrum.cli import main
    from evodrum.grid import DEFAULT_SPEC
    from evodrum.search.distinct import MIN_DIFFERENT_CELLS
    out = tmp_path / "t"
    result = CliRunner().invoke(main, ["target", "-f", "density=0.3,hats.density=0.5", "-g",
                                       "25", "-p", "16", "--top", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    grids = [midi.read_loop(p, DEFAULT_SPEC) > 0 for p in sorted(out.glob("best_*.mid"))]
    assert len(grids) == 4
    for i, a in enumerate(grids):
        for b in grids[i + 1:]:
            assert (a != b).sum() >= MIN_DIFFERENT_CELLS
