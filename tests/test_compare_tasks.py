"""The shipped comparison file, and tasks copied from held-out loops of the real corpus."""
from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from evodrum.cli import main
from evodrum.compare.config import load_config, parse_config
from evodrum.compare.tasks import corpus_tasks, tasks_toml, window_index, window_task
from fitness import compute

DEFAULT = Path(__file__).resolve().parents[1] / "runs" / "compare-default.toml"


def test_default_comparison_file():
    config = load_config(DEFAULT)
    assert config.spaces == ("vae", "vae-normal", "pca", "grid")
    assert config.algorithms == ("ga", "random", "nsga2")
    assert config.all_budgets == (500, 2000) and config.judge == "markov"
    assert config.generations * config.population == config.budget
    assert len(config.runs()) == 4 * 3 * config.seeds * len(config.tasks)
    for key in config.runs()[::97]:
        assert config.search_config(key).wellformed_weight == 0   # measured, not optimised
    # three trained replicates of PCA (resamples) and of the VAE (training seeds), each a
    # model of its own; 3 seeds per replicate, so seed groups can also mix them
    assert len(config.replicates) == 3 and config.seeds == 9
    assert len({config.model_for("pca", r) for r in range(3)}) == 3
    assert [config.model_for("vae", r) for r in range(3)] == [
        f"runs/feel-model/seed{r}" for r in range(3)]
    # the learned prior's variant: the same VAE models, fresh genotypes from N(0, I),
    # tested against the VAE only
    normal = [k for k in config.runs() if k.space == "vae-normal"]
    assert {config.search_config(k).prior for k in normal} == {"normal"}
    assert {config.search_config(k).prior for k in config.runs() if k.space == "vae"} == {"learned"}
    assert config.model_for("vae-normal", 2) == config.model_for("vae", 2)
    assert ("vae", "vae-normal") in config.pairs() and ("pca", "vae-normal") not in config.pairs()
    # the grid's GA and NSGA-II start from the corpus and flip bits; random samples its prior
    grid = [k for k in config.runs() if k.space == "grid"]
    assert {config.start_for(k) for k in grid if k.algorithm != "random"} == {"corpus"}
    assert {config.start_for(k) for k in grid if k.algorithm == "random"} == {"prior"}
    assert config.search_config(grid[0]).settings["mutation"] == "flip"
    held_out = [t for t in config.tasks if window_index(t) is not None]
    assert len(held_out) == 12 and all(set(t.loop) == {"markov", "classifier"} for t in held_out)
    off = [t for t in config.tasks if t.source.startswith("off-corpus")]
    assert len(off) == 8 and len(held_out) + len(off) == len(config.tasks)


def test_off_corpus_tasks_are_met_by_no_training_loop(groove_corpus):
    """Every off-corpus goal in the default file is what --make-tasks --off-corpus draws,
    and no training loop comes within its margin (the corpus look-up cannot solve it)."""
    from evodrum.compare.tasks import OFF_CORPUS_MARGIN, off_corpus_tasks
    from fitness import FEATURE_NAMES
    stored = [t for t in load_config(DEFAULT).tasks if t.source.startswith("off-corpus")]
    again = off_corpus_tasks(groove_corpus, len(stored), seed=0)
    assert [(t.name, t.target) for t in again] == [(t.name, t.target) for t in stored]
    train = groove_corpus.split_grids("train")
    for task in stored:
        assert len(task.target.goals) == 6 and set(task.target.goals) <= set(FEATURE_NAMES)
        assert task.target.distance(train, groove_corpus.spec).min() > OFF_CORPUS_MARGIN


def test_held_out_tasks_are_stratified_by_style(groove_corpus):
    from evodrum.compare.tasks import MIN_STYLE_WINDOWS, top_style
    from fitness.judges import load_judges
    from vae.files import DEFAULT_DIR
    judges = load_judges(DEFAULT_DIR)
    tasks = corpus_tasks(groove_corpus, 20, seed=0, judges=judges)
    test = groove_corpus.split == "test"
    styles, counts = np.unique([top_style(s) for s in groove_corpus.labels["style"][test]],
                               return_counts=True)
    big = set(styles[counts >= MIN_STYLE_WINDOWS])
    drawn = [top_style(groove_corpus.labels["style"][window_index(t)]) for t in tasks]
    assert set(drawn) == big                                   # every big style, no other
    per_style = [drawn.count(s) for s in big]
    assert max(per_style) - min(per_style) <= 1
    for t in tasks[:3]:
        i = window_index(t)
        for name, judge in judges.items():
            assert t.loop[name] == pytest.approx(float(judge.score(groove_corpus.grids[i:i + 1])[0]),
                                                 abs=1e-4)


def test_corpus_tasks_copy_held_out_windows(groove_corpus):
    tasks = corpus_tasks(groove_corpus, 3, seed=1)
    assert len(tasks) == 3
    styles = {str(groove_corpus.labels["style"][window_index(t)]).split("/")[0] for t in tasks}
    assert len(styles) == 3
    for task in tasks:
        i = window_index(task)
        assert groove_corpus.split[i] == "test" and groove_corpus.manifest_hash in task.source
        loop = groove_corpus.grids[i][None]
        features = compute(loop, groove_corpus.spec)
        assert len(task.target.goals) == 12
        assert all(abs(features[n][0] - g) <= 5.01e-5 for n, g in task.target.goals.items())
        assert task.target.distance(loop, groove_corpus.spec)[0] < 1e-4   # reachable
    parsed = parse_config(tomllib.loads(tasks_toml(tasks)))
    assert [(t.name, t.target, t.source) for t in parsed.tasks] == \
        [(t.name, t.target, t.source) for t in tasks]


def test_default_file_holds_the_windows_it_cites(groove_corpus):
    """The corpus hash depends on file content only, so any copy of Groove is the one cited."""
    cited = [t for t in load_config(DEFAULT).tasks if window_index(t) is not None]
    assert all(groove_corpus.manifest_hash in t.source for t in cited), cited[0].source
    for task in cited:  # each cited window still gives exactly the stored goals
        again = window_task(groove_corpus, window_index(task), task.name)
        assert (again.target, again.source) == (task.target, task.source)


def test_make_tasks_prints_tables_for_a_comparison_file(groove_corpus):
    result = CliRunner().invoke(main, ["compare", "--make-tasks", "2", "--corpus",
                                       str(groove_corpus.path), "--task-seed", "5"])
    assert result.exit_code == 0, result.output
    tasks = parse_config(tomllib.loads(result.output)).tasks
    assert len(tasks) == 2
    for task in tasks:
        features = compute(groove_corpus.grids[window_index(task)][None], groove_corpus.spec)
        assert all(abs(features[n][0] - g) <= 5.01e-5 for n, g in task.target.goals.items())
