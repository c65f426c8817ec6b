"""The genotype-space and algorithm registries, the ask/tell engine and its checkpoints
(plain JSON + arrays: a pickle is refused, never run). Fast tier: no corpus needed."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from evodrum import genotypes
from evodrum.cli import main
from evodrum.errors import EvodrumError
from evodrum.genotypes import files
from evodrum.grid import PAPER_SPEC
from evodrum.search import algorithms, checkpoint
from evodrum.search.config import SearchConfig
from evodrum.search.engine import run_search
from evodrum.search.objective import Objective
from fitness import WellFormedness, parse_target
from fitness.wellformed import OnsetIndex

TARGET = "density=0.5,syncopation=0.2"


@pytest.fixture(scope="module")
def reference():
    return files.load_reference()


def objective(space, reference, weight=0.1):
    return Objective(space, parse_target(TARGET), reference, weight)


def test_every_registered_space_opens_decodes_and_fingerprints():
    rng = np.random.default_rng(0)
    for name, entry in genotypes.SPACES.items():
        space = genotypes.open_space(name)
        assert isinstance(space, entry.kind) and space.name == name
        grids = space.decode(space.random(5, rng))
        assert grids.shape == (5, *space.spec.shape)
        assert genotypes.fingerprint(space) == genotypes.fingerprint(genotypes.open_space(name))
        assert genotypes.fingerprint(space).startswith(f"{name}:")
    with pytest.raises(EvodrumError, match="unknown space 'nope': use one of vae, pca, grid"):
        genotypes.open_space("nope")


def test_fingerprint_changes_with_what_a_space_decodes():
    vae = genotypes.open_space("vae")
    before = genotypes.fingerprint(vae)
    vae.representation.hit_threshold = 0.9          # the same file, decoding other loops
    assert genotypes.fingerprint(vae) != before
    assert genotypes.fingerprint(genotypes.GridSpace(PAPER_SPEC)) != \
        genotypes.fingerprint(genotypes.GridSpace())


def paper_reference(folder):
    """A small well-formedness reference at the paper's resolution, beside a model path."""
    rng = np.random.default_rng(1)
    train = rng.random((50, *PAPER_SPEC.shape)) < 0.15
    index = OnsetIndex(train)
    held = index.nearest(rng.random((20, *PAPER_SPEC.shape)) < 0.15)[0]
    WellFormedness(index, held, PAPER_SPEC, {"corpus_hash": "synthetic"}).save(
        folder / files.WELLFORMED_FILE)
    return folder / "model.pt"


def test_grid_space_takes_the_resolution_of_the_run_s_reference(tmp_path):
    """The paper-resolution bug: `target --space grid` with a paper-resolution model
    folder used the default grid and refused; now the grid adopts the reference's."""
    model = paper_reference(tmp_path)
    assert genotypes.resolution(str(model)) == PAPER_SPEC
    assert genotypes.open_space("grid", str(model)).spec == PAPER_SPEC
    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["target", "-f", "density=0.3", "--space", "grid", "--model",
                                  str(model), "-g", "2", "-p", "8", "--out", str(out)])
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["best"] and (out / "best_01.mid").exists()
    with pytest.raises(EvodrumError, match="give --corpus NAME built at"):
        genotypes.open_space("vae", None, PAPER_SPEC)   # the shipped VAE decodes the default


def test_algorithm_settings_belong_to_their_algorithm():
    ga = SearchConfig.from_options(algorithm="ga", sigma=0.5, elite=3)
    assert ga.operators.sigma == 0.5 and ga.settings["elite"] == 3
    assert SearchConfig.from_dict(ga.to_dict()) == ga
    with pytest.raises(EvodrumError, match="sigma is not a setting of algorithm cmaes"):
        SearchConfig.from_options(algorithm="cmaes", sigma=0.5)
    assert SearchConfig.from_options(shared=True, algorithm="cmaes", sigma=0.5).settings == {}
    with pytest.raises(EvodrumError, match="unknown search setting 'sigmaa'"):
        SearchConfig.from_options(sigmaa=0.5)
    with pytest.raises(EvodrumError, match="unknown algorithm 'nope'"):
        SearchConfig(algorithm="nope")
    with pytest.raises(EvodrumError, match="grid space's native operator"):
        SearchConfig.from_options(space="vae", mutation="flip")


def test_random_search_is_one_entry_and_uses_the_same_budget(reference):
    assert "random" in algorithms.names()
    space = genotypes.open_space("vae")
    cfg = SearchConfig(algorithm="random", population=20, generations=6, seed=4)
    a = run_search(objective(space, reference), cfg)
    b = run_search(objective(space, reference), cfg)
    assert a.evaluations == 120 and a.logbook.select("evals") == [20 * g for g in range(1, 7)]
    np.testing.assert_array_equal(a.best_genotypes, b.best_genotypes)
    curve = a.logbook.select("best_so_far")
    assert all(x >= y for x, y in zip(curve, curve[1:]))
    # a baseline, not a strawman: over seeds, the GA does not beat it by much at 120 evaluations
    # (one seed is luck: a single prior sample can land near the target)
    def best(algorithm, seed):
        cfg = SearchConfig(algorithm=algorithm, population=20, generations=6, seed=seed)
        return run_search(objective(space, reference), cfg).best_fitness[0]
    ga = np.median([best("ga", s) for s in range(5)])
    assert ga <= np.median([best("random", s) for s in range(5)]) * 1.5


@pytest.mark.parametrize("algorithm", ["ga", "cmaes", "random"])
def test_resumed_run_is_identical_to_an_uninterrupted_one(tmp_path, reference, algorithm):
    space = genotypes.open_space("pca")
    cfg = SearchConfig(algorithm=algorithm, space="pca", population=12, generations=7,
                       checkpoint_every=3, seed=2, wellformed_weight=0.1)
    straight = run_search(objective(space, reference), cfg, checkpoint=tmp_path / "a.npz")

    def stop_at_5(gen, record):
        if gen == 5:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        run_search(objective(space, reference), cfg, checkpoint=tmp_path / "b.npz",
                   on_generation=stop_at_5)
    resumed = run_search(objective(space, reference), cfg, checkpoint=tmp_path / "b.npz",
                         resume=True)
    np.testing.assert_array_equal(resumed.best_genotypes, straight.best_genotypes)
    assert [dict(r) for r in resumed.logbook] == [dict(r) for r in straight.logbook]
    assert resumed.evaluations == straight.evaluations


def test_resume_refuses_a_space_that_decodes_differently(tmp_path, reference):
    space = genotypes.open_space("vae")
    cfg = SearchConfig(population=8, generations=2)
    run_search(objective(space, reference), cfg, checkpoint=tmp_path / "c.npz")
    space.representation.hit_threshold = 0.9
    with pytest.raises(EvodrumError, match="made with another vae model"):
        run_search(objective(space, reference), cfg, checkpoint=tmp_path / "c.npz", resume=True)


class Exploit:
    """Unpickling this would create a file: the proof a loader ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_crafted_pickle_checkpoint_is_refused_and_never_executed(tmp_path, reference):
    marker = tmp_path / "pwned"
    ckpt = tmp_path / "checkpoint.npz"
    ckpt.write_bytes(pickle.dumps({"format": "evodrum-search-checkpoint-2", "x": Exploit(marker)}))
    cfg = SearchConfig(space="grid", population=8, generations=2)
    space = genotypes.open_space("grid")
    with pytest.raises(EvodrumError, match="cannot read search checkpoint"):
        run_search(objective(space, reference), cfg, checkpoint=ckpt, resume=True)
    # an .npz holding a pickled object array is refused the same way
    with open(ckpt, "wb") as f:
        np.savez(f, meta=np.array(json.dumps({"names": {"x": "a0"}, "state": {}})),
                 a0=np.array([Exploit(marker)], dtype=object))
    with pytest.raises(EvodrumError, match="cannot read search checkpoint"):
        checkpoint.load(ckpt)
    assert not marker.exists()


def test_a_run_folder_with_an_old_pickle_checkpoint_is_refused(tmp_path):
    out = tmp_path / "run"
    args = ["target", "-f", "density=0.4", "-g", "3", "-p", "8", "--space", "grid"]
    assert CliRunner().invoke(main, [*args, "--out", str(out)]).exit_code == 0
    (out / "checkpoint.npz").rename(out / "checkpoint.pkl")
    before = (out / "checkpoint.pkl").read_bytes()
    r = CliRunner().invoke(main, ["target", "--resume", str(out)])
    assert r.exit_code == 1 and "never loaded" in r.output and "Traceback" not in r.output
    assert (out / "checkpoint.pkl").read_bytes() == before


def test_target_prints_logbook_lines_when_not_a_terminal_and_json_on_request(tmp_path):
    out = tmp_path / "run"
    plain = CliRunner().invoke(main, ["target", "-f", "density=0.4", "-g", "20", "-p", "8",
                                      "--space", "pca", "--patience", "0", "--out",
                                      str(tmp_path / "plain")])
    assert "generation 20 of 20: " in plain.output and "\t" not in plain.output
    r = CliRunner().invoke(main, ["target", "-f", "density=0.4", "-g", "20", "-p", "8",
                                  "--space", "pca", "--patience", "0", "--out", str(out),
                                  "--verbose"])
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.output.splitlines() if ln.count("\t") == 6]
    assert lines[0].split("\t") == ["gen", "evals", "best", "mean", "std", "best_distance",
                                    "best_so_far"]
    assert [int(ln.split("\t")[0]) for ln in lines[1:]] == list(range(0, 21, 2))  # 0: initial
    logbook = (out / "logbook.csv").read_text().splitlines()
    last = dict(zip(logbook[0].split(","), logbook[-1].split(",")))
    assert float(lines[-1].split("\t")[-1]) == pytest.approx(float(last["best_so_far"]), abs=1e-4)

    out2 = tmp_path / "json"
    r = CliRunner().invoke(main, ["target", "-f", "density=0.4", "-g", "4", "-p", "8",
                                  "--space", "pca", "--json", "--verbose", "--out", str(out2)])
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)                      # stdout is the document alone
    assert doc == json.loads((out2 / "summary.json").read_text())
    assert doc["evaluations"] > 8 and doc["best"][0]["file"] == "best_01.mid"
    assert "run folder" in r.stderr and "gen\tevals" in r.stderr


def test_map_elites_without_pyribs_names_the_extra_to_install(monkeypatch, tmp_path):
    import sys
    for name in [m for m in sys.modules if m == "ribs" or m.startswith("ribs.")] + ["ribs"]:
        monkeypatch.setitem(sys.modules, name, None)        # as if pyribs were absent
    monkeypatch.delitem(sys.modules, "evodrum.search.algorithms.map_elites", raising=False)
    with pytest.raises(EvodrumError, match=r"needs ribs: pip install 'evodrum\[qd\]'"):
        SearchConfig(algorithm="map-elites")
    r = CliRunner().invoke(main, ["map", "--out", str(tmp_path / "atlas")])
    assert r.exit_code == 1 and "evodrum[qd]" in r.output and "Traceback" not in r.output
    assert "qd =\n    ribs" in (Path(__file__).parents[1] / "setup.cfg").read_text()
