"""The feel model's measurements (issue 19): `python -m benchmarks.feel [--model PATH]
[--old OLD.pt] [--seeds DIR ...] [--out runs/feel-model]`.

On the Groove corpus's test split (one window in four per file, so no two windows
share a bar), humanising quantised test loops played at one velocity:
- expected feel (scatter 0): timing MAE in ms at each file's tempo against zero offset,
  one constant shift and a per-position template fitted on the train split; velocity MAE;
- performed feel (scatter 1): per row, Wasserstein distance and spread ratio of the
  offsets and velocities played against the real ones, beside straight and templated;
held-out onset F1 (all test windows) at the encoder mean and refined 50 steps;
the three playability figures of 10,000 prior samples (learned and normal prior; takes,
as `evodrum sample` writes them, and tidy, the likeliest hits) beside
the corpus's non-overlapping train and test windows; decode speed against `--old`
(CPU time and wall, interleaved). `--seeds` adds one row per trained seed. Writes
`feel.json` and `report.md` to `--out` when given.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import numpy as np

SAMPLES = 10_000
BATCH = 10_000


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _windows(corpus, split: str) -> np.ndarray:
    """One window in four of every file of `split`: no two share a bar."""
    from fitness.realism import heldout_windows
    return heldout_windows(corpus, (split,))


def _test_windows(corpus):
    """Non-overlapping test windows: (grids, offsets, bpm)."""
    idx = _windows(corpus, "test")
    return corpus.grids[idx], corpus.offsets[idx], corpus.bpm[idx]


def feel_figures(model, corpus, template) -> dict:
    from vae import feelmetrics as fm
    grids, offsets, bpm = _test_windows(corpus)
    return {"expected": fm.expected_errors(model, grids, offsets, bpm, template, corpus.spec),
            "performed": fm.performed(model, grids, offsets, bpm, template, corpus.spec)}


def fidelity(model, corpus) -> dict:
    from vae import metrics, refine
    test = corpus.split_grids("test")
    mean = metrics.onset_scores(test, model.decode(model.encode(test)))
    enc = refine.encode(model, test, refine.DEFAULT_STEPS)
    refined = metrics.onset_scores(test, model.decode(enc.codes))
    return {"encoder_mean": mean, "refined_50": refined, "windows": len(test)}


def playability(model, corpus) -> dict:
    from vae import feelmetrics as fm
    out = {}
    for split in ("train", "test"):
        out[f"corpus {split}"] = fm.playability(corpus.grids[_windows(corpus, split)],
                                                corpus.spec)
    for prior in ("learned", "normal"):
        for how, loops in _samples(model, prior, SAMPLES).items():
            out[f"samples, {prior} prior, {how}"] = fm.playability(loops, corpus.spec)
    return out


def _samples(model, prior: str, n: int) -> dict:
    """`n` prior samples of `model` from `prior`, decoded tidy (the likeliest hits) and as
    takes (what `evodrum sample` writes), from the same codes."""
    z = model.sample_latent(n, rng=0, prior=prior)
    return {"takes": model.take(z, rng=1), "tidy": model.decode(z)}


def realism(model) -> dict:
    """Precision, recall, density and coverage (onsets, Jaccard; evodrum realism's reference)
    of 1,000 prior samples under each prior, takes and tidy."""
    from evodrum.realism import reference
    ref = reference()
    out = {}
    for prior in ("learned", "normal"):
        for how, loops in _samples(model, prior, 1000).items():
            figures = ref.measure(loops)
            out[f"{prior}, {how}"] = {"onsets": figures["onsets"],
                                      "features": figures["features"],
                                      "distinct": figures["distinct"]}
    return out


def decode_speed(model, old, repeats: int = 7) -> dict:
    """Decode CPU and wall time per batch of 10,000 and per single loop, new vs old model,
    interleaved so both see the same load."""
    z = np.random.default_rng(0).standard_normal((BATCH, model.zdim)).astype(np.float32)
    result = {}
    for name, m in (("new", model), ("old", old)):
        result[name] = {"batch_cpu_s": [], "batch_wall_s": [], "single_cpu_us": []}
    for _ in range(repeats):
        for name, m in (("new", model), ("old", old)):
            c, w = _cpu(), time.perf_counter()
            m.decode(z)
            result[name]["batch_cpu_s"].append(_cpu() - c)
            result[name]["batch_wall_s"].append(time.perf_counter() - w)
            c = _cpu()
            for i in range(500):
                m.decode(z[i])
            result[name]["single_cpu_us"].append((_cpu() - c) / 500 * 1e6)
    summary = {name: {k: statistics.median(v) for k, v in r.items()} for name, r in result.items()}
    summary["ratio_batch_cpu"] = summary["new"]["batch_cpu_s"] / summary["old"]["batch_cpu_s"]
    summary["ratio_single_cpu"] = summary["new"]["single_cpu_us"] / summary["old"]["single_cpu_us"]
    summary["load"] = list(__import__("os").getloadavg())
    return summary


def seed_rows(folders, corpus, template) -> list[dict]:
    """One row per trained seed: validation loss and F1, test F1 and expected timing MAE."""
    from vae.files import load_vae
    rows = []
    for folder in folders:
        model = load_vae(Path(folder) / "model.pt")
        val = model.card["metrics"]["validation"]
        figures = feel_figures(model, corpus, template)
        rows.append({"folder": str(folder), "seed": model.card["training"]["config"]["seed"],
                     "best_epoch": model.card["training"]["best_epoch"],
                     "val_loss": val["loss"], "val_f1": val["f1"],
                     "test_f1": model.card["metrics"].get("test", {}).get("f1"),
                     "timing_mae_ms": figures["expected"]["timing_mae_ms"]["model, expected feel"],
                     "velocity_mae": figures["expected"]["velocity_mae"]["model, expected feel"]})
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--old", default=None, help="the model to compare decode speed with")
    parser.add_argument("--seeds", nargs="*", default=[])
    parser.add_argument("--out", default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    import vae
    from evodrum.corpus import load_corpus
    from vae import feelmetrics as fm
    corpus = load_corpus()
    model = vae.load_model(args.model)
    train = corpus.split == "train"
    template = fm.Template.fit(corpus.grids[train], corpus.offsets[train], corpus.spec)
    result = {"model": str(args.model or "shipped"), **feel_figures(model, corpus, template),
              "fidelity": fidelity(model, corpus), "playability": playability(model, corpus),
              "realism": realism(model)}
    if args.old:
        result["decode_speed"] = decode_speed(model, vae.load_model(args.old))
    if args.seeds:
        result["seeds"] = seed_rows(args.seeds, corpus, template)
    print(json.dumps(result, indent=1))
    if args.out:
        write_report(Path(args.out), result)
    return result


def _f(v, digits=2):
    return "–" if v is None else f"{v:.{digits}f}"


def write_report(folder: Path, r: dict) -> None:
    """feel.json (every figure) and report.md (the tables) in `folder`."""
    from evodrum.atomic import write_json, write_text
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "feel.json", r)
    e = r["expected"]
    lines = ["## Expected feel: humanising quantised test loops (scatter 0)", "",
             f"{e['loops']} non-overlapping test windows, {e['hits']:,} hits, each played "
             "at one velocity (MIDI 100) on the grid, then given a feel.", "",
             "| method | timing MAE (ms, at each file's tempo) | velocity MAE (MIDI) |",
             "|---|---|---|"]
    vel = e["velocity_mae"]
    for name, ms in e["timing_mae_ms"].items():
        v = vel.get(name, vel.get("constant") if name == "constant shift" else None)
        lines.append(f"| {name} | {ms:.2f} | {_f(v) if name != 'zero offset' else '–'} |")
    lines += ["", "## Performed feel: per-row distributions against the real playing", "",
              "Wasserstein distance (timing in ms, velocity in MIDI units) of the hits as "
              "played against the drummers' own, hit-weighted over rows; rows whose spread "
              "(standard deviation) is within 20% of the real one.", "",
              "| method | timing W1 (ms) | rows with timing spread within 20% | velocity W1 | "
              "rows with velocity spread within 20% |", "|---|---|---|---|---|"]
    for name, m in r["performed"].items():
        s = m["summary"]
        lines.append(f"| {name} | {s['timing_w1_ms']:.2f} | {s['timing_spread_within_20pct']}"
                     f" of {s['rows']} | {s['velocity_w1']:.2f} | "
                     f"{s['velocity_spread_within_20pct']} of {s['rows']} |")
    rows = r["performed"]["model, performed feel"]["rows"]
    lines += ["", "Per row, performed feel (spread ratio = played sd / real sd):", "",
              "| row | hits | timing W1 (ms) | timing spread ratio | velocity W1 | "
              "velocity spread ratio |", "|---|---|---|---|---|---|"]
    for row, m in rows.items():
        lines.append(f"| {row} | {m['hits']:,} | {m['timing_w1_ms']:.2f} | "
                     f"{m['timing_spread_ratio']:.2f} | {m['velocity_w1']:.2f} | "
                     f"{m['velocity_spread_ratio']:.2f} |")
    f = r["fidelity"]
    lines += ["", f"## Held-out onset F1 (all {f['windows']:,} test windows)", "",
              "| code | precision | recall | F1 |", "|---|---|---|---|"]
    for name, key in (("encoder mean", "encoder_mean"), ("refined, 50 steps", "refined_50")):
        m = f[key]
        lines.append(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} |")
    lines += ["", "## Playability (share of loops)", "",
              "| set | > 24 snare hits | hat, ride and snare together on >= 4 steps | "
              "snare on 2 and 4 in >= 3 of 4 bars |", "|---|---|---|---|"]
    for name, m in r["playability"].items():
        lines.append(f"| {name} | {100 * m['snare_over_24']:.1f}% | "
                     f"{100 * m['hat_ride_snare_4']:.1f}% | {100 * m['backbeat_3_of_4']:.1f}% |")
    lines += ["", "## Prior samples against held-out real loops (evodrum realism, 1,000 samples)",
              "", "| samples | precision | recall | density | coverage | distinct |",
              "|---|---|---|---|---|---|"]
    for name, m in r["realism"].items():
        o = m["onsets"]
        lines.append(f"| {name} | {o['precision']:.2f} | {_f(o['recall'])} | "
                     f"{o['density']:.2f} | {o['coverage']:.2f} | {m['distinct']} |")
    if "decode_speed" in r:
        d = r["decode_speed"]
        lines += ["", "## Decode speed (one torch thread, interleaved, median of 7)", "",
                  "| model | batch of 10,000: CPU s | wall s | one loop: CPU us |",
                  "|---|---|---|---|"]
        for name in ("new", "old"):
            m = d[name]
            lines.append(f"| {name} | {m['batch_cpu_s']:.4f} | {m['batch_wall_s']:.4f} | "
                         f"{m['single_cpu_us']:.1f} |")
        lines.append(f"\nnew / old CPU time: batch {d['ratio_batch_cpu']:.2f}, single loop "
                     f"{d['ratio_single_cpu']:.2f} (load average "
                     f"{', '.join(f'{x:.1f}' for x in d['load'])}).")
    if "seeds" in r:
        lines += ["", "## Seeds", "", "| seed | best epoch | validation loss | validation F1 "
                  "(0.5) | test F1 | expected timing MAE (ms) | velocity MAE |",
                  "|---|---|---|---|---|---|---|"]
        for s in r["seeds"]:
            lines.append(f"| {s['seed']} | {s['best_epoch']} | {s['val_loss']:.2f} | "
                         f"{s['val_f1']:.3f} | {_f(s['test_f1'], 3)} | {s['timing_mae_ms']:.2f} "
                         f"| {s['velocity_mae']:.2f} |")
    write_text(folder / "measurements.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
