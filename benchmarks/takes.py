"""How a take's two settings (vae.playing: temperature, bar share) were chosen (issue 19):
`python -m benchmarks.takes [MODEL ...] [--out FILE.md]`.

For each setting on a grid, the takes of 10,000 learned-prior codes of every model given
(default: the three trained seeds in runs/feel-model) are read on the issue's three
playability figures against the training corpus, windows chosen both ways the reports
use (one in four per file; every window), and 1,000 of them against held-out real loops
(precision, evodrum realism's onsets reference). The shipped setting is the most precise
one whose every figure stays within 10% of the corpus for every model and both window
choices (`worst`: the largest relative miss of those 6 x models figures).
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.timing import cpu_seconds

SAMPLES = 10_000
REALISM = 1_000
TEMPERATURES = (0.8, 0.85, 0.9, 1.0)
BAR_SHARES = (0.0, 0.5, 0.6, 0.7, 0.85)
SEEDS = [f"runs/feel-model/seed{i}/model.pt" for i in range(3)]
KEYS = ("snare_over_24", "hat_ride_snare_4", "backbeat_3_of_4")


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", default=SEEDS)
    parser.add_argument("--out", default=None, help="write the table (markdown) here")
    args = parser.parse_args(argv)
    import vae
    from evodrum.corpus import load_corpus
    from evodrum.realism import reference
    from fitness.realism import heldout_windows
    from vae.feelmetrics import playability
    from vae.playing import TAKE_BAR_SHARE, TAKE_TEMPERATURE

    start_cpu, start_wall = cpu_seconds(), time.perf_counter()
    corpus = load_corpus()
    references = [playability(corpus.grids[heldout_windows(corpus, ("train",))], corpus.spec),
                  playability(corpus.split_grids("train"), corpus.spec)]
    realism = reference()
    models = [vae.load_model(path) for path in args.models]
    codes = [model.mixture.sample(SAMPLES, 1.0, 1) for model in models]
    rows = []
    for share in BAR_SHARES:
        for temperature in TEMPERATURES:
            misses, precision = [], []
            for model, z in zip(models, codes):
                takes = (model.take(z, rng=2, temperature=temperature, bar_share=share) > 0
                         ).astype(np.float32)
                figures = playability(takes, corpus.spec)
                misses.append([figures[k] / ref[k] - 1 for ref in references for k in KEYS])
                precision.append(realism.measure(takes[:REALISM])["onsets"]["precision"])
            row = {"bar_share": share, "temperature": temperature,
                   "worst": float(np.abs(misses).max()), "precision": float(np.mean(precision)),
                   "misses": misses,
                   "shipped": (share, temperature) == (TAKE_BAR_SHARE, TAKE_TEMPERATURE)}
            rows.append(row)
            print(_line(row), flush=True)
    cpu, wall = cpu_seconds() - start_cpu, time.perf_counter() - start_wall
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    text = _table(rows, args.models, cpu, wall, load)
    print(text)
    if args.out:
        from evodrum.atomic import write_text
        write_text(Path(args.out), text)
    return rows


def _misses(row) -> str:
    return "; ".join("/".join(f"{100 * m:+.0f}" for m in model) for model in row["misses"])


def _line(row) -> str:
    return (f"bar share {row['bar_share']}, T {row['temperature']}: worst "
            f"{100 * row['worst']:.1f}%, precision {row['precision']:.3f}; {_misses(row)}")


def _table(rows, models, cpu, wall, load) -> str:
    lines = [f"Takes of {SAMPLES:,} learned-prior codes per model ({', '.join(models)}): "
             "relative miss on the three playability figures (> 24 snares / hat + ride + "
             "snare / backbeat) against the training corpus, one window in four per file "
             "then every window, per model; worst: the largest of them; precision: mean over "
             f"the models of {REALISM:,} takes against held-out real loops.", "",
             "| bar share | temperature | worst miss | precision | misses per model |",
             "|---|---|---|---|---|"]
    for row in rows:
        mark = " (shipped)" if row["shipped"] else ""
        lines.append(f"| {row['bar_share']}{mark} | {row['temperature']} | "
                     f"{100 * row['worst']:.1f}% | {row['precision']:.3f} | {_misses(row)} |")
    lines += ["", f"{cpu:.0f} s CPU, {wall:.0f} s wall (load average {load})."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
