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
Codes of held-out loops from the encoder's posterior mean, and refined by Adam
steps on the decoder's hit loss plus the prior term (vae.refine; `--refine
STEPS` on encode, reconstruct, vary, interpolate, steer, and the seed loops of
target and interactive; default {steps} steps from {starts} starts, then
{search} rounds of search on the exact onset F1). Each loop keeps the code with
the best onset F1 on the way from any start, so no loop gets worse. *Search on the
exact F1*: each round tries {moves} short random moves from every loop's code and
takes the best if it plays the loop more faithfully (the gradient's smooth loss
cannot see one cell flip). *Starts*: the encoder mean, the code of the loop's bare
pattern, then the learned prior's component means whose loops are nearest to it.
*Likelihood loss*: the hit head's cross-entropy, as in training; *loss at the thresholds*: centred on
the decoder's own hit thresholds, sharpened by temperature T, hits weighted (see
vae/hitloss.py). Settings were chosen on the validation split; the test split
reports them. Onset F1 is over all cells of a split at the model's own hit
thresholds; the columns after the F1s are the last split's. *Prior log-density*
is log N(z; 0, I) in nats (a prior sample's mean is {typical:.1f}); *typicality*
the share of prior samples with a lower density (0.5 = as typical as the median
prior sample); the last two columns before the time measure the prior's bulk.
Time: CPU of the whole process per loop of the last split, in one call (numpy's
BLAS may use a second thread); the machine was shared."""


def refinement_report(folder: str | Path, model: Representation, corpus) -> Path:
    """Validation- and test-split reconstruction with and without refinement, for
    several settings: writes refinement.md/.json."""
    from vae import refine
    folder = Path(folder)
    splits = {name: corpus.split_grids(name) for name in ("validation", "test")}
    rows = refinement_rows(model, splits)
    typical = -0.5 * model.zdim * (1 + np.log(2 * np.pi))
    text = "\n".join([
        f"# Faithful encoding: {model.name} on "
        + " and ".join(f"{len(g):,} {n} windows" for n, g in splits.items()), "",
        f"Corpus `{corpus.path}` (manifest {corpus.manifest_hash}). "
        f"Written {time.strftime('%Y-%m-%d %H:%M')}.", "",
        refinement_table(rows, list(splits)), "",
        REFINEMENT_NOTES.format(steps=refine.DEFAULT_STEPS, starts=refine.STARTS,
                                search=refine.SEARCH_ROUNDS, moves=refine.SEARCH_MOVES,
                                typical=typical), ""])
    path = folder / "refinement.md"
    write_text(path, text)
    write_json(folder / "refinement.json", rows)
    return path


DIRECTIONS_NOTES = """\
Each held-out loop is encoded (refined, as `evodrum steer` does), moved by
-2, -1, 0, +1, +2 along a direction and decoded. *Slope* is the least-squares
change of the direction's own attribute per +1 (attribute units, then corpus
standard deviations); *monotonic* says whether the mean rises at every step;
*loops never falling* is the share of loops whose own value never drops from
-2 to +2 (integer hit counts make small steps flat). *Off-target* is the
absolute slope of the other 11 features of `fitness` in corpus sds (leaving out
densities that contain the direction's rows), mean and largest. A direction
*works* when it is monotonic with a slope of at least {works} sds per +1, and
is *selective* when it also moves its own attribute more than any other.
Style directions are judged by a vote that knows nothing of the model: the
share of the loop's {k} nearest training loops (Jaccard distance on onsets)
that are of the style, for held-out loops of *other* styles, at 0, +1, +2; it
*works* when the vote rises at both steps and by at least {gain:.0%} at +2. `disentanglement.csv` holds every
direction's slope on every attribute (corpus sds per +1)."""


def directions_report(folder: str | Path, model: Representation, directions,
                      matrix) -> Path:
    """The disentanglement report of a model's directions: report.md + disentanglement.csv."""
    from vae import disentangle
    folder = Path(folder)
    works = [n for n in directions.names() if directions[n].measured.get("works")]
    fails = [n for n in directions.names() if not directions[n].measured.get("works")]
    text = "\n".join([
        f"# Latent directions of {model.name}: do the sliders do what they say?", "",
        f"{len(directions.items)} directions built from {directions.info.get('windows')} "
        f"training windows of corpus `{directions.info.get('corpus')}` (manifest "
        f"{directions.info.get('manifest_hash')}), measured on "
        f"{directions.info.get('measured_on', 'no held-out loops')}. Written "
        f"{time.strftime('%Y-%m-%d %H:%M')}.", "",
        f"**Working** ({len(works)}): {', '.join(works) or 'none'}.", "",
        f"**Not working** ({len(fails)}): {', '.join(fails) or 'none'}.", "",
        f"**Working but not selective** (they move another feature more than their own): "
        f"{', '.join(n for n in directions.names('attribute') if directions[n].measured.get('works') and not directions[n].measured.get('selective')) or 'none'}.", "",
        "## Attributes", "", disentangle.table(directions), "",
        "## Styles", "", disentangle.style_table(directions), "",
        "## How it is measured", "",
        DIRECTIONS_NOTES.format(works=disentangle.WORKS_SLOPE_SD, k=disentangle.NEIGHBOURS,
                                gain=disentangle.WORKS_VOTE_GAIN), ""])
    path = folder / "report.md"
    write_text(path, text)
    write_text(folder / "disentanglement.csv", disentangle.matrix_csv(directions, matrix))
    return path
