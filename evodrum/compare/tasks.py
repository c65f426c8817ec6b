"""Tasks from a corpus, stored in the comparison file (the corpus may be absent on a
user's machine) with where they came from, so they can be regenerated and checked:

  held-out    all features of held-out corpus loops: reachable by real drumming by
              construction (copying the right loop solves them)
  off-corpus  goals on a few features that no training loop meets (its best error is
              above a margin): whether any space reaches them is the finding

    evodrum compare --make-tasks 20 [--corpus NAME]                # held-out
    evodrum compare --make-tasks 8 --off-corpus [--corpus NAME]    # off-corpus
"""
from __future__ import annotations

import re

import numpy as np

from evodrum.compare.config import Task
from fitness import FEATURE_NAMES, Target

#: Windows with fewer hits than this share of cells are skipped (near-silent loops).
MIN_HIT_SHARE = 0.05
#: Styles with fewer test windows than this are left out of the stratified draw.
MIN_STYLE_WINDOWS = 20


def window_source(corpus, index: int) -> str:
    """The note stored with a corpus task: which corpus and test-split window it copies."""
    return (f"corpus {corpus.manifest_hash} test split, window {index} "
            f"(file {corpus.labels['file'][index]}, style {corpus.labels['style'][index]})")


def window_task(corpus, index: int, name: str, judges: dict | None = None) -> Task:
    """A task whose goals are all features of corpus window `index` (rounded to 4 places),
    with every judge's score of that window (how real the loop it copies reads)."""
    target = Target.like(corpus.grids[index], corpus.spec, names=FEATURE_NAMES)
    goals = {n: round(v, 4) for n, v in target.goals.items()}
    loop = {n: round(float(j.score(corpus.grids[index:index + 1])[0]), 4)
            for n, j in (judges or {}).items()}
    return Task(name, Target(goals), window_source(corpus, index), loop)


def top_style(style: str) -> str:
    """'latin/samba' -> 'latin'."""
    return str(style).split("/")[0]


def corpus_tasks(corpus, n: int, seed: int = 0, prefix: str = "heldout",
                 judges: dict | None = None) -> list[Task]:
    """`n` tasks from distinct test-split windows, stratified by style: one window of each
    top-level style with at least MIN_STYLE_WINDOWS test windows (largest styles first),
    then a second of each, and so on; drawn with `seed`."""
    test = np.flatnonzero(corpus.split == "test")
    test = test[(corpus.grids[test] > 0).mean(axis=(1, 2)) >= MIN_HIT_SHARE]
    styles = np.array([top_style(s) for s in corpus.labels["style"][test]])
    names, counts = np.unique(styles, return_counts=True)
    kept = names[counts >= MIN_STYLE_WINDOWS][np.argsort(-counts[counts >= MIN_STYLE_WINDOWS],
                                                         kind="stable")]
    rng = np.random.default_rng(seed)
    pools = {style: rng.permutation(test[styles == style]).tolist() for style in kept}
    picked = []
    while len(picked) < n and any(pools.values()):
        for style in kept:
            if pools[style] and len(picked) < n:
                picked.append((style, pools[style].pop(0)))
    return [window_task(corpus, i, f"{prefix}-{style}-{i}", judges) for style, i in picked]


#: Features an off-corpus goal names, its values' range (these percentiles of the
#: training loops'), and how far the best training loop must stay from it.
OFF_CORPUS_FEATURES = 6
OFF_CORPUS_RANGE = (5, 95)
OFF_CORPUS_MARGIN = 0.04


def off_corpus_tasks(corpus, n: int, seed: int = 0, prefix: str = "offcorpus",
                     margin: float = OFF_CORPUS_MARGIN) -> list[Task]:
    """`n` goals on OFF_CORPUS_FEATURES random features, each value drawn uniformly in
    the training loops' 5-95% range, kept when no training loop comes within `margin`
    target error (so copying the corpus cannot solve them; some may be unreachable by
    any loop: the comparison reports which were reached)."""
    from fitness import feature_matrix
    x = feature_matrix(corpus.split_grids("train"), corpus.spec)
    low, high = np.percentile(x, OFF_CORPUS_RANGE, axis=0)
    rng = np.random.default_rng(seed)
    tasks = []
    for _ in range(1000 * n):
        if len(tasks) == n:
            break
        chosen = np.sort(rng.choice(len(FEATURE_NAMES), OFF_CORPUS_FEATURES, replace=False))
        goal = np.round(rng.uniform(low[chosen], high[chosen]), 4)
        nearest = float(np.abs(x[:, chosen] - goal).mean(axis=1).min())
        if nearest > margin:
            goals = {FEATURE_NAMES[i]: float(v) for i, v in zip(chosen, goal)}
            tasks.append(Task(f"{prefix}-{len(tasks) + 1}", Target(goals),
                              f"off-corpus: corpus {corpus.manifest_hash}, seed {seed}; best "
                              f"training loop's error {nearest:.4f} (margin {margin:g})"))
    return tasks


def tasks_toml(tasks: list[Task]) -> str:
    """[[tasks]] tables for a comparison file."""
    blocks = []
    for t in tasks:
        goals = ", ".join(f'"{k}" = {v:g}' for k, v in t.target.goals.items())
        lines = ["[[tasks]]", f'name = "{t.name}"', f'source = "{t.source}"',
                 f"goals = {{ {goals} }}"]
        weights = {k: w for k, w in t.target.weights.items() if w != 1}
        if weights:
            lines.append("weights = { " + ", ".join(f'"{k}" = {w:g}' for k, w in weights.items())
                         + " }")
        if t.loop:
            lines.append("loop = { " + ", ".join(f"{k} = {v:g}" for k, v in t.loop.items()) + " }")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def window_index(task: Task) -> int | None:
    """The corpus window a task's note cites, or None for a hand-written task."""
    m = re.search(r"test split, window (\d+)", task.source)
    return int(m.group(1)) if m else None
