"""matplotlib set-up shared by every figure evodrum draws (the `plot` extra):
whether it is installed, a headless pyplot, and PNGs written atomically."""
from __future__ import annotations

from pathlib import Path

from evodrum import atomic

#: What to install when a figure is asked for without matplotlib.
INSTALL_HINT = "pip install 'evodrum[plot]'"


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def pyplot():
    """matplotlib's pyplot on the non-interactive Agg backend."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    return plt


def save_png(fig, path: Path) -> Path:
    """Write `fig` as a PNG atomically and close it."""
    try:
        with atomic.atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    finally:
        pyplot().close(fig)
    return path
