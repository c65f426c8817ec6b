"""PNG figures of a comparison (needs the `plot` extra, matplotlib): convergence curves
per task, and pictures of the best loop per space and algorithm."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from evodrum import genotypes, plotting
from evodrum.compare import summary
from evodrum.compare.config import CompareConfig, RunKey
from evodrum.compare.store import text_grid
from evodrum.grid import GridSpec
from evodrum.kit import ROWS

#: Errors are drawn on a log axis; exact zeros are shown at this floor.
ERROR_FLOOR = 1e-4


available = plotting.available


def convergence(config: CompareConfig, records: dict[RunKey, dict], task: str, path: Path) -> Path:
    """Best error so far vs evaluations: median line and interquartile band per space,
    one panel per algorithm, the success threshold dashed."""
    plt = plotting.pyplot()
    fig, axes = plt.subplots(1, len(config.task_algorithms), figsize=(5.2 * len(config.task_algorithms), 3.8),
                             sharey=True, squeeze=False)
    for ax, algorithm in zip(axes[0], config.task_algorithms):
        for space in config.spaces:
            q = summary.curve_quartiles(config, records, (task, space, algorithm))
            if not q:
                continue
            floor = lambda v: np.maximum(v, ERROR_FLOOR)
            colour = genotypes.entry(config.base(space)).colour    # a variant: its space's, dotted
            ax.plot(q["evaluations"], floor(q["median"]), color=colour, label=space,
                    drawstyle="steps-post", linestyle=":" if space in config.variants else "-")
            ax.fill_between(q["evaluations"], floor(q["q25"]), floor(q["q75"]), step="post",
                            color=colour, alpha=0.2, linewidth=0)
        ax.axhline(config.threshold, color="grey", linestyle="--", linewidth=1,
                   label=f"threshold {config.threshold:g}")
        ax.set_yscale("log")
        ax.set_title(f"{task}: {algorithm}")
        ax.set_xlabel("evaluations")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("best target error so far (median, IQR)")
    axes[0][-1].legend(loc="upper right", fontsize=8)
    return plotting.save_png(fig, path)


def best_loops(config: CompareConfig, records: dict[RunKey, dict], task: str, path: Path) -> Path:
    """The lowest-error loop of every (space, algorithm) for one task, as velocity images."""
    plt = plotting.pyplot()
    n_rows, n_cols = len(config.spaces), len(config.task_algorithms)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(6.4 * n_cols, 1.9 * n_rows), squeeze=False)
    for i, space in enumerate(config.spaces):
        for j, algorithm in enumerate(config.task_algorithms):
            ax = axes[i][j]
            best = summary.best_record(config, records, (task, space, algorithm))
            if best is None:
                ax.axis("off")
                continue
            grid = text_grid(best["best_grid"])
            shade = np.where(grid > 0, 0.3 + 0.7 * grid, 0.0)   # the softest hit still shows
            ax.imshow(shade, aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
            ax.set_yticks(range(len(ROWS)), ROWS, fontsize=6)
            spec = GridSpec.from_dict(best["spec"])
            ax.set_xticks(np.arange(0, spec.steps, spec.steps_per_bar) - 0.5, [])
            ax.grid(axis="x", color="tab:red", alpha=0.5)
            ax.set_title(f"{space} / {algorithm}: error {best['error']:.4f}, "
                         f"well-formed {best['wellformed']:.2f} (seed {best['run']['seed']})",
                         fontsize=8)
    fig.suptitle(f"{task}: best loop per space and algorithm "
                 "(darker = louder; bars marked in red)", fontsize=9)
    return plotting.save_png(fig, path)
