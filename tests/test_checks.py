"""Numbers and names at every boundary: the shared checks, the Python API constructors,
comparison files and the CLI all refuse non-finite and out-of-range values in one line."""
from __future__ import annotations

import math

import numpy as np
import pytest
from click.testing import CliRunner

from evodrum import checks
from evodrum.cli import main
from evodrum.compare.config import load_config
from evodrum.errors import EvodrumError
from evodrum.grid import GridSpec, parse_spec
from evodrum.search.config import SearchConfig
from fitness import Target, parse_target
from vae.train import TrainConfig


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "0.5", None, True])
def test_numbers_must_be_finite_reals(value):
    with pytest.raises(EvodrumError, match="sigma must be a (finite )?number"):
        checks.number(value, "sigma", 0, 10)


def test_bounds_and_their_messages():
    assert checks.number(0, "x", 0, 1) == 0.0
    with pytest.raises(EvodrumError, match=r"x must be within \(0, 1\], got 0.0"):
        checks.number(0, "x", 0, 1, low_open=True)
    with pytest.raises(EvodrumError, match="must be a whole number, got 2.5"):
        checks.integer(2.5, "elite", 0, 10)
    with pytest.raises(EvodrumError, match=r"seed must be within \[0, 2\^64 - 1\], got -1"):
        checks.seed(-1)
    assert checks.seed(2**64 - 1) == 2**64 - 1
    with pytest.raises(EvodrumError, match="2\\^64 - 1"):
        checks.seed(2**64)
    with pytest.raises(EvodrumError, match="0 or at least 1e-06, got 1e-320"):
        checks.weight(1e-320, "wellformed_weight")
    assert checks.weight(0, "w") == 0


@pytest.mark.parametrize("settings, message", [
    ({"sigma": math.nan}, "sigma must be a finite number"),
    ({"sigma": math.inf}, "sigma must be a finite number"),
    ({"wellformed_weight": math.nan}, "wellformed_weight must be a finite number"),
    ({"wellformed_weight": 1e-320}, "wellformed_weight must be 0 or at least"),
    ({"seed": -1}, "seed must be within"),
    ({"seed": 2**64}, "seed must be within"),
    ({"population": 10**6}, "population must be within [4, 100000]"),
    ({"tournsize": 10**9}, "tournsize must be within [1, 100]"),
    ({"elite": 2.0}, "elite must be a whole number"),
    ({"tournsize": 3.5}, "tournsize must be a whole number"),
    ({"generations": 10**12}, "generations must be within"),
    ({"indpb": math.nan}, "indpb must be a finite number"),
    ({"cxpb": 1.5}, "cxpb must be within [0, 1]"),
])
def test_search_config_refuses_bad_numbers(settings, message):
    with pytest.raises(EvodrumError, match=message.replace("[", r"\[").replace("]", r"\]")):
        SearchConfig.from_options(**settings)


@pytest.mark.parametrize("settings, message", [
    ({"lr": math.nan}, "lr must be a finite number"), ({"beta": math.nan}, "beta must be"),
    ({"lr": 0}, "lr must be within"), ({"free_bits": -1}, "free_bits must be within"),
    ({"zdim": 0}, "zdim must be within"), ({"seed": -1}, "seed must be within"),
    ({"epochs": 2.0}, "epochs must be a whole number"),
])
def test_train_config_refuses_bad_numbers(settings, message):
    with pytest.raises(EvodrumError, match=message):
        TrainConfig(**settings)


def test_target_weights_and_goals():
    with pytest.raises(EvodrumError, match="weight for all.density must be positive"):
        parse_target("density=0.4:1e-320")
    with pytest.raises(EvodrumError, match="target value for all.density must be a finite"):
        Target({"density": math.nan})
    with pytest.raises(EvodrumError, match="weight for all.density must be a finite"):
        Target({"density": 0.4}, {"density": math.inf})


@pytest.mark.parametrize("text", ["1000000x4x4", "4x1000x4", "64x16x48", "0x4x4"])
def test_grid_resolutions_are_bounded(text):
    with pytest.raises(ValueError, match="grid|steps"):
        parse_spec(text)
    with pytest.raises(ValueError):
        GridSpec.from_dict({"bars": 2.5, "beats_per_bar": 4, "steps_per_beat": math.nan})


# --- comparison files ----------------------------------------------------------------

BASE = ('name = "c"\nspaces = ["grid"]\nalgorithms = ["ga"]\nbudget = 40\npopulation = 4\n'
        'seeds = 1\n[search]\nsigma = 0.3\n[[tasks]]\nname = "t"\ngoals = { density = 0.4 }\n')


@pytest.mark.parametrize("change, message", [
    (("budget = 40", "budget = 1000000000000"), "budget must be within [1, 100000000]"),
    (("budget = 40", "budget = 1e12"), "budget must be a whole number, got 1000000000000.0"),
    (("population = 4", "population = 1000000"), "population must be within [4, 100000]"),
    (("seeds = 1", "seeds = 1000000000"), "seeds must be within [1, 1000]"),
    (("sigma = 0.3", "tournsize = 1000000000"), "tournsize must be within [1, 4]"),
    (("sigma = 0.3", "tournsize = 2.0"), "tournsize must be a whole number, got 2.0"),
    (("sigma = 0.3", "elite = 1.5"), "elite must be a whole number, got 1.5"),
    (("sigma = 0.3", "sigma = nan"), "sigma must be a finite number, got nan"),
    (("sigma = 0.3", "sigma = inf"), "sigma must be a finite number, got inf"),
    (("sigma = 0.3", "wellformed_weight = 1e-320"), "wellformed_weight must be 0 or at least"),
    (("density = 0.4", "density = nan"), "target value for all.density must be a finite"),
    (("seeds = 1", "seeds = 1\nthreshold = nan"), "threshold must be a finite number"),
    (('name = "c"', 'name = "../../x"'), "name must be letters"),
])
def test_comparison_files_refuse_bad_numbers_naming_the_key(tmp_path, change, message):
    path = tmp_path / "c.toml"
    path.write_text(BASE.replace(*change))
    with pytest.raises(EvodrumError) as e:
        load_config(path)
    assert str(e.value).startswith(f"{path}: ") and message in str(e.value), str(e.value)


@pytest.mark.parametrize("nested", ["goals = " + "{ a = " * 5000 + "1" + " }" * 5000,
                                    "goals = " + "[" * 100_000 + "]" * 100_000])
def test_deeply_nested_toml_names_the_key(tmp_path, nested):
    path = tmp_path / "deep.toml"
    path.write_text(BASE.replace("goals = { density = 0.4 }", nested))
    with pytest.raises(EvodrumError, match="key 'goals' is nested too deeply"):
        load_config(path)


# --- the CLI -------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["sample", "--temperature", "nan"], "finite number"),
    (["sample", "--temperature", "inf"], "finite number"),
    (["sample", "-n", "10000000000"], "1<=x<=100000"),
    (["sample", "--seed", "-1"], "2^64 - 1"),
    (["sample", "--seed", str(2**64)], "2^64 - 1"),
    (["sample", "--bpm", "nan"], "finite number"),
    (["vary", "x.mid", "--amount", "nan"], "finite number"),
    (["interpolate", "a.mid", "b.mid", "--steps", "100000"], "2<=x<=256"),
    (["target", "-f", "density=0.3", "--sigma", "nan"], "finite number"),
    (["target", "-f", "density=0.3", "--sigma", "inf"], "finite number"),
    (["target", "-f", "density=0.3", "--wellformed", "nan"], "finite number"),
    (["target", "-f", "density=0.3", "--seed", "-1"], "2^64 - 1"),
    (["train", "--lr", "nan"], "finite number"),
    (["train", "--beta", "nan"], "finite number"),
    (["data", "build", ".", "--grid", "1000000x4x4"], "grid bars must be a whole number"),
    (["compare", "--make-tasks", "1", "--task-seed", "-5"], "2^64 - 1"),
])
def test_cli_refuses_bad_numbers_before_doing_anything(tmp_path, args, message):
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output, r.output
    assert not list(tmp_path.iterdir())


def test_a_tiny_target_weight_is_one_line():
    r = CliRunner().invoke(main, ["target", "-f", "density=0.3:1e-320"])
    assert r.exit_code == 1 and r.output.startswith("error: weight for all.density must be")


def test_many_samples_go_to_one_grid_file_with_a_summary(tmp_path):
    out = tmp_path / "many"
    r = CliRunner().invoke(main, ["sample", "-n", "2000", "--seed", "3", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["samples.npz"]
    assert "2,000 loops" in r.output and "different hit patterns" in r.output
    assert len(r.output.splitlines()) < 10          # a summary, not 2,000 grids
    from evodrum.gridfile import load_grids
    from evodrum.grid import DEFAULT_SPEC
    grids, _ = load_grids(out / "samples.npz", DEFAULT_SPEC)
    assert grids.shape == (2000, 9, 64) and (grids > 0).sum(axis=(1, 2)).min() > 0
    # the one-file path and the file-per-loop path draw the same loops from the same seed
    few_args = ["sample", "-n", "12", "--seed", "3", "--out"]
    small = CliRunner().invoke(main, [*few_args, str(tmp_path / "few")])
    batch = CliRunner().invoke(main, [*few_args, str(tmp_path / "one"), "--no-midi-files"])
    assert small.exit_code == 0 and batch.exit_code == 0, small.output + batch.output
    few, _ = load_grids(tmp_path / "few" / "samples.npz", DEFAULT_SPEC)
    one, _ = load_grids(tmp_path / "one" / "samples.npz", DEFAULT_SPEC)
    np.testing.assert_array_equal(few > 0, one > 0)
    np.testing.assert_allclose(few, one, atol=1e-6)          # (batched decoding: float noise)
