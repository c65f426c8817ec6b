"""Pictures for reports: step-sequencer grids and simple curves, drawn with matplotlib.

matplotlib is the optional `plot` extra; `available()` says whether it is
installed, and reports fall back to terminal grids when it is not.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from evodrum.atomic import atomic_path
from evodrum.grid import GridSpec
from evodrum.kit import ROWS


def available() -> bool:
    """True when matplotlib can be imported."""
    return importlib.util.find_spec("matplotlib") is not None


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=110, bbox_inches="tight")


def _draw_grid(ax, grid: np.ndarray, spec: GridSpec, title: str | None) -> None:
    """One grid as a step sequencer: darker cells are louder hits, lines mark beats and bars."""
    ax.imshow(grid, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    top, bottom = -0.5, len(ROWS) - 0.5
    beats = np.arange(0, spec.steps + 1, spec.steps_per_beat) - 0.5
    ax.vlines(beats, top, bottom, colors="0.8", lw=0.5)
    ax.vlines(np.arange(0, spec.steps + 1, spec.steps_per_bar) - 0.5, top, bottom,
              colors="tab:blue", lw=1.0)
    ax.hlines(np.arange(len(ROWS) + 1) - 0.5, -0.5, spec.steps - 0.5, colors="0.85", lw=0.4)
    ax.set_yticks(range(len(ROWS)), ROWS, fontsize=7)
    ax.set_xticks([b * spec.steps_per_bar for b in range(spec.bars)],
                  [str(b + 1) for b in range(spec.bars)], fontsize=7)
    if title:
        ax.set_title(title, fontsize=8)


def grids_figure(path: str | Path, grids: np.ndarray, spec: GridSpec,
                 titles: list[str] | None = None, columns: int = 1,
                 suptitle: str | None = None) -> Path:
    """Save grids (N, 9, S) as a figure of step-sequencer panels; returns the path."""
    plt = _pyplot()
    grids = np.asarray(grids)
    rows = int(np.ceil(len(grids) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(6.0 * columns, 1.6 * rows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i < len(grids):
            _draw_grid(ax, grids[i], spec, titles[i] if titles else None)
        else:
            ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    _save(fig, Path(path))
    plt.close(fig)
    return Path(path)


def curves_figure(path: str | Path, x: list, series: dict[str, list[float]], xlabel: str,
                  ylabel: str, title: str, logx: bool = False) -> Path:
    """Save line plots of several named series against `x`."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.0, 3.2))
    for name, ys in series.items():
        ax.plot(x, ys, marker="o", label=name)
    if logx:
        ax.set_xscale("log", base=2)
        ax.set_xticks(x, [str(v) for v in x])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, Path(path))
    plt.close(fig)
    return Path(path)


def codes_figure(path: str | Path, codes: dict[str, np.ndarray], title: str) -> Path:
    """Save latent codes (loops x dimensions) as heat maps side by side, one per label."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(codes), figsize=(3.2 * len(codes), 3.6), squeeze=False)
    for ax, (name, z) in zip(axes[0], codes.items()):
        lim = float(np.abs(z).max()) or 1.0
        im = ax.imshow(z, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto",
                       interpolation="nearest")
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("latent dimension", fontsize=7)
        ax.set_ylabel("loop", fontsize=7)
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, Path(path))
    plt.close(fig)
    return Path(path)
