"""The `evodrum evaluate` report: representations compared on a corpus's test split."""
from __future__ import annotations

import json
import time
from pathlib import Path

from evodrum.atomic import write_json, write_text
from vae.evaluate import SAMPLES, measure, report
from vae.representation import Representation

#: The paper decodes its single sigmoid directly: an output of 0.05 (MIDI velocity 6) plays.
PAPER_DECODING_THRESHOLD = 0.05


def evaluation_rows(models: list[Representation], test, reference, samples: int = SAMPLES,
                    seed: int = 0) -> list[dict]:
    """One table row per model; paper models get a second row decoded as in the paper."""
    rows = []
    for model in models:
        rows.append(measure(model, test, reference, samples, seed))
        if getattr(model, "kind", None) == "paper":
            row = measure(model, test, reference, samples, seed, PAPER_DECODING_THRESHOLD)
            rows.append(dict(row, name=f"{model.name} as decoded in the paper"))
    return rows


def evaluation_report(folder: str | Path, models: list[Representation], corpus,
                      samples: int = SAMPLES, seed: int = 0) -> Path:
    """Measure `models` on the corpus's test split; write report.md and metrics.json."""
    folder = Path(folder)
    test, reference = corpus.split_grids("test"), corpus.split_grids("train")
    rows = evaluation_rows(models, test, reference, samples, seed)
    described = "\n".join(
        f"- **{m.name}**: {m.card.get('kind')}, z = {m.zdim}"
        + (f", trained {m.card['training']['epochs_done']} epochs (best "
           f"{m.card['training']['best_epoch']}), settings "
           f"`{json.dumps(m.card['training']['config'])}`" if "training" in m.card else "")
        for m in models)
    notes = (f"Corpus `{corpus.path}` (manifest {corpus.manifest_hash}): {len(test)} test "
             f"windows; sample statistics against its {len(reference)} training windows. "
             f"Written {time.strftime('%Y-%m-%d %H:%M')}.\n\nModels:\n{described}")
    path = folder / "report.md"
    write_text(path, report(rows, "Evaluation on the held-out test split", notes))
    write_json(folder / "metrics.json", rows)
    return path
