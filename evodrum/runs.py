"""Run folders: every command that produces results writes them under runs/."""
from __future__ import annotations

import os
import time
from pathlib import Path


def runs_root() -> Path:
    """$EVODRUM_RUNS, else ./runs in the current folder."""
    return Path(os.environ.get("EVODRUM_RUNS") or "runs")


def new_run_dir(kind: str, out: str | os.PathLike | None = None) -> Path:
    """Create and return `out`, or a fresh runs/<kind>-<date>-<time> folder."""
    if out is not None:
        path = Path(out)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = runs_root() / f"{kind}-{stamp}"
        n = 1
        while path.exists():
            n += 1
            path = runs_root() / f"{kind}-{stamp}-{n}"
    path.mkdir(parents=True, exist_ok=True)
    return path
