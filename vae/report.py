"""The `evodrum evaluate` report: representations compared on a corpus's test split."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from evodrum.atomic import write_json, write_text
from vae.evaluate import SAMPLES, measure, refinement_rows, refinement_table, report
from vae.representation import Representation

#: The paper decodes its single sigmoid directly: an output of 0.05 (MIDI velocity 6) plays.
PAPER_DECODING_THRESHOLD = 0.05


def evaluation_rows(models: list[Representation], test, reference, samples: int = SAMPLES,
                    seed: int = 0, labels: list[str] | None = None) -> list[dict]:
    """One table row per model; paper models get a second row decoded as in the paper."""
    rows = []
    for model, label in zip(models, labels or [m.name for m in models]):
        rows.append(dict(measure(model, test, reference, samples, seed), name=label))
        if getattr(model, "kind", None) == "paper":
            row = measure(model, test, reference, samples, seed, PAPER_DECODING_THRESHOLD)
            rows.append(dict(row, name=f"{label} as decoded in the paper"))
    return rows


def evaluation_report(folder: str | Path, models: list[Representation], corpus,
                      samples: int = SAMPLES, seed: int = 0, notes: str = "",
                      labels: list[str] | None = None) -> Path:
    """Measure `models` on the corpus's test split; write report.md (with `notes`, a
    markdown commentary, at the end) and metrics.json. `labels` name the table rows
    [default: the models' card names]."""
    folder = Path(folder)
    labels = labels or [m.name for m in models]
    test, reference = corpus.split_grids("test"), corpus.split_grids("train")
    rows = evaluation_rows(models, test, reference, samples, seed, labels)
    described = "\n".join(
        f"- **{label}**: {m.card.get('kind')}, z = {m.zdim}"
        + (f", trained {m.card['training']['epochs_done']} epochs (best "
           f"{m.card['training']['best_epoch']}), settings "
           f"`{json.dumps(m.card['training']['config'])}`" if "training" in m.card else "")
        for m, label in zip(models, labels))
    summary = (f"Corpus `{corpus.path}` (manifest {corpus.manifest_hash}): {len(test)} test "
               f"windows; sample statistics against its {len(reference)} training windows. "
               f"Written {time.strftime('%Y-%m-%d %H:%M')}.\n\nModels:\n{described}")
    path = folder / "report.md"
    text = report(rows, "Evaluation on the held-out test split", summary)
    write_text(path, text + (f"\n## Notes\n\n{notes.strip()}\n" if notes.strip() else ""))
    write_json(folder / "metrics.json", rows)
    return path


REFINEMENT_NOTES = """\
Codes of the test loops from the encoder's posterior mean, and refined by Adam
steps (learning rate {lr}) on the decoder's hit log-likelihood plus the prior
term (vae.refine; `--refine STEPS` on encode, reconstruct, vary, interpolate,
steer, and the seed loops of target and interactive). Each loop keeps the code
with the best onset F1 on the way, so no loop gets worse. Onset F1 is over all
cells of the split at the model's own hit thresholds. *Prior log-density* is
log N(z; 0, I) in nats (a prior sample's mean is {typical:.1f}); *typicality* the
share of prior samples with a lower density (0.5 = as typical as the median
prior sample); the last two columns measure the prior's bulk. Timing on one
torch thread, whole split in one batch; the machine was shared, so times are
indicative."""


def refinement_report(folder: str | Path, model: Representation, corpus) -> Path:
    """Test-split reconstruction with and without refinement: writes refinement.md/.json."""
    from vae import refine
    folder = Path(folder)
    test = corpus.split_grids("test")
    rows = refinement_rows(model, test)
    typical = -0.5 * model.zdim * (1 + np.log(2 * np.pi))
    text = "\n".join([
        f"# Faithful encoding: {model.name} on {len(test)} test windows", "",
        f"Corpus `{corpus.path}` (manifest {corpus.manifest_hash}). "
        f"Written {time.strftime('%Y-%m-%d %H:%M')}.", "",
        refinement_table(rows), "",
        REFINEMENT_NOTES.format(lr=refine.LEARNING_RATE, typical=typical), ""])
    path = folder / "refinement.md"
    write_text(path, text)
    write_json(folder / "refinement.json", rows)
    return path
