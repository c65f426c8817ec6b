"""Figures of a search (the `plot` extra): a Pareto front, and an atlas heat map."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from evodrum import plotting


def front(values: np.ndarray, front_values: np.ndarray, path: Path, title: str,
          judge: str = "well-formedness") -> Path:
    """The final population (grey) and its Pareto front (numbered), target error
    against the optimised judge's score."""
    plt = plotting.pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    ax.scatter(values[:, 0], 1 - values[:, 1], s=10, color="0.7", label="final population")
    order = np.argsort(front_values[:, 0])
    ax.plot(front_values[order, 0], 1 - front_values[order, 1], "o-", color="tab:blue",
            drawstyle="steps-post", label="Pareto front")
    for i, (x, y) in enumerate(front_values[:, :2], 1):
        ax.annotate(str(i), (x, 1 - y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel("target error (lower is better)")
    ax.set_ylabel(f"{judge} (higher is better)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return plotting.save_png(fig, path)


def atlas(quality: np.ndarray, features: tuple[str, ...], path: Path, title: str) -> Path:
    """Each cell's elite quality (well-formedness) as a heat map over the first two
    features; a third feature is shown by its best cell (max over it). Empty cells white."""
    plt = plotting.pyplot()
    q = quality if quality.ndim == 2 else np.nanmax(
        np.where(np.isnan(quality), -np.inf, quality), axis=2)
    q = np.where(np.isinf(q), np.nan, q)
    fig, ax = plt.subplots(figsize=(5.6, 4.6))
    image = ax.imshow(q.T, origin="lower", extent=(0, 1, 0, 1), aspect="auto", cmap="viridis",
                      vmin=0, vmax=1, interpolation="nearest")
    fig.colorbar(image, ax=ax, label="well-formedness of the cell's elite")
    ax.set_xlabel(features[0])
    ax.set_ylabel(features[1])
    ax.set_title(title + ("" if quality.ndim == 2 else f" (best over {features[2]})"),
                 fontsize=9)
    return plotting.save_png(fig, path)
