"""Tasks whose targets are the features of held-out corpus loops: reachable by real
drumming by construction. Their values are stored in the comparison file (the corpus
may be absent on a user's machine), with the window they came from, so they can be
regenerated and checked from a built corpus.

    evodrum compare --make-tasks 2 [--corpus NAME]   # prints [[tasks]] tables
"""
from __future__ import annotations

import re

import numpy as np

from evodrum.compare.config import Task
from fitness import FEATURE_NAMES, Target

#: Windows with fewer hits than this share of cells are skipped (near-silent loops).
MIN_HIT_SHARE = 0.05


def window_source(corpus, index: int) -> str:
    """The note stored with a corpus task: which corpus and test-split window it copies."""
    return (f"corpus {corpus.manifest_hash} test split, window {index} "
            f"(file {corpus.labels['file'][index]}, style {corpus.labels['style'][index]})")


def window_task(corpus, index: int, name: str) -> Task:
    """A task whose goals are all features of corpus window `index` (rounded to 4 places)."""
    target = Target.like(corpus.grids[index], corpus.spec, names=FEATURE_NAMES)
    goals = {n: round(v, 4) for n, v in target.goals.items()}
    return Task(name, Target(goals), window_source(corpus, index))


def corpus_tasks(corpus, n: int, seed: int = 0, prefix: str = "heldout") -> list[Task]:
    """`n` tasks from distinct test-split windows of distinct styles, drawn with `seed`."""
    test = np.flatnonzero(corpus.split == "test")
    order = np.random.default_rng(seed).permutation(test)
    hits = (corpus.grids[order] > 0).mean(axis=(1, 2))
    picked, styles = [], set()
    for index, share in zip(order.tolist(), hits):
        style = str(corpus.labels["style"][index]).split("/")[0]
        if share >= MIN_HIT_SHARE and style not in styles:
            picked.append(index)
            styles.add(style)
        if len(picked) == n:
            break
    return [window_task(corpus, i, f"{prefix}-{i}") for i in picked]


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
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def window_index(task: Task) -> int | None:
    """The corpus window a task's note cites, or None for a hand-written task."""
    m = re.search(r"test split, window (\d+)", task.source)
    return int(m.group(1)) if m else None
