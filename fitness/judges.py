"""Judges of "sounds like real drumming" that no search optimises by default: each a
small model trained on the corpus's training loops, read as typicality against
held-out real loops.

Two kinds, so one's blind spot is the other's catch:
  markov      likelihood gain under a per-row Markov model of patterns (fitness.markov)
  classifier  real vs corrupted loops on shift- and voice-invariant features
              (fitness.classifier)
A judge's score is the share of held-out real loops (the validation split, which
neither model saw) whose raw score is no higher: uniform in [0, 1] over real loops,
near 0 for loops unlike any. Rebuilt from a corpus with `build_judges` (seeded, so
the same corpus gives the same files); stored as .npz (`allow_pickle=False`) plus a
JSON card beside the model.
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evodrum import atomic, npyfile
from evodrum.errors import EvodrumError
from evodrum.grid import GridSpec, check_grids, onsets
from evodrum.kit import KIT_VERSION
from fitness import perturb
from fitness.classifier import Classifier
from fitness.markov import MarkovModel

FORMAT = "evodrum-judge-1"
MODELS = {model.kind: model for model in (MarkovModel, Classifier)}
#: The judges in the order reports list them.
NAMES = tuple(MODELS)
#: Real loops a judge is calibrated on: a split no judge (and no searched map) trained on.
CALIBRATION_SPLIT = "validation"
#: Training loops corrupted into the classifier's negatives (each by every noisier
#: corruption), and how many of them are also made over-regular (each by every such
#: corruption). A third: with as many, regular real styles read as corrupted (pop's
#: mean classifier score fell to 0.15); with a third, pop reads 0.20 and the
#: over-regular probes 0.14-0.22.
NEGATIVE_SOURCES = 6000
OVER_REGULAR_SOURCES = 2000


def judge_file(folder: str | Path, name: str) -> Path:
    """Where judge `name` lives in a model folder: judge-<name>.npz."""
    return Path(folder) / f"judge-{name}.npz"


@dataclass
class Judge:
    """One fitted model with the sorted raw scores of its held-out real loops."""

    name: str
    model: MarkovModel | Classifier
    heldout: np.ndarray
    spec: GridSpec
    info: dict

    def __post_init__(self):
        self.heldout = np.sort(np.asarray(self.heldout, dtype=np.float32))

    def raw(self, grids: np.ndarray) -> np.ndarray:
        """The model's own score of a grid or batch (scale depends on the judge)."""
        return self.model.raw(onsets(check_grids(grids, self.spec))).astype(np.float32)

    def score(self, grids: np.ndarray) -> np.ndarray:
        """Typicality in [0, 1]: the share of held-out real loops scoring no higher.
        Real loops score uniformly; 1 = at least as real as every held-out loop."""
        place = np.searchsorted(self.heldout, self.raw(grids), side="right")
        return (place / len(self.heldout)).astype(np.float32)

    @property
    def real_quartiles(self) -> list[float]:
        """Quartiles of the typicality of real loops no judge saw (the test split, recorded
        when built; the validation split's 0.25 / 0.5 / 0.75 by construction otherwise):
        what to read one loop's score beside."""
        return [float(q) for q in self.info.get("test_quartiles", (0.25, 0.5, 0.75))]

    def save(self, path: str | Path) -> Path:
        """Write the judge as a compressed .npz atomically, and its card as JSON beside it."""
        path = Path(path)
        meta = {"format": FORMAT, "kit": KIT_VERSION, "name": self.name,
                "kind": self.model.kind, "spec": self.spec.to_dict(), "info": self.info}
        arrays = {f"model_{k}": v for k, v in self.model.to_arrays().items()}
        with atomic.atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, meta=np.array(json.dumps(meta)), heldout=self.heldout, **arrays)
        atomic.write_json(path.with_suffix(".json"), meta)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Judge:
        """Read a judge written by `save`; EvodrumError naming the file if it is not one."""
        try:
            data = npyfile.load_npz(path, text=("meta",))
            meta = json.loads(str(data["meta"]))
            heldout = data["heldout"]
            arrays = {k[len("model_"):]: v for k, v in data.items() if k.startswith("model_")}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            raise EvodrumError(f"{path}: not a judge file ({e})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("kit") != KIT_VERSION:
            raise EvodrumError(f"{path}: not a judge file of format {FORMAT} / kit {KIT_VERSION}; "
                               "rebuild it with `evodrum data judges`")
        try:
            model = MODELS[meta["kind"]].from_arrays(arrays)
            spec = GridSpec.from_dict(meta["spec"])
            if len(heldout) == 0 or not np.isfinite(heldout).all():
                raise ValueError("no held-out scores")
            judge = cls(str(meta["name"]), model, heldout, spec, dict(meta["info"]))
            judge.raw(np.zeros((1, *spec.shape), np.float32))
        except (KeyError, TypeError, AttributeError, ValueError, IndexError) as e:
            raise EvodrumError(f"{path}: damaged judge file ({e})") from None
        return judge


def build_judges(corpus, seed: int = 0, card: dict | None = None) -> dict[str, Judge]:
    """Fit every judge on `corpus`'s training loops and calibrate it on its validation
    loops. `card` (e.g. the corpus's credit) is recorded in each judge's card."""
    train = onsets(corpus.split_grids("train"))
    held = onsets(corpus.split_grids(CALIBRATION_SPLIT))
    if len(train) == 0 or len(held) == 0:
        raise EvodrumError(f"corpus {corpus.path or corpus.manifest_hash}: judges need loops "
                           f"in both the train and {CALIBRATION_SPLIT} splits")
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(train), min(NEGATIVE_SOURCES, len(train)), replace=False)
    kinds = corrupted_negatives(corpus.split_grids("train")[pick], rng, corpus.spec.bars)
    negatives = np.concatenate(list(kinds.values()))
    models = {"markov": MarkovModel.fit(train, corpus.spec.steps_per_bar),
              "classifier": Classifier.fit(train, negatives)}
    info = {"corpus_hash": corpus.manifest_hash, "seed": seed, "train_loops": len(train),
            "calibration_split": CALIBRATION_SPLIT, "calibration_loops": len(held),
            "negatives": len(negatives),
            "negative_kinds": {name: len(on) for name, on in kinds.items()}, **(card or {})}
    built = {name: Judge(name, model, model.raw(held), corpus.spec, dict(info))
             for name, model in models.items()}
    test = corpus.split_grids("test")
    for judge in built.values():
        if len(test):
            judge.info["test_quartiles"] = [round(float(q), 4) for q in
                                            np.percentile(judge.score(test), [25, 50, 75])]
    return built


def corrupted_negatives(sources: np.ndarray, rng: np.random.Generator,
                        bars: int) -> dict[str, np.ndarray]:
    """The classifier's negatives by name, as onsets: every noisier corruption of real
    loops `sources` (velocities, so ghost notes can be told apart) and every over-regular
    one of the first OVER_REGULAR_SOURCES of them; corruptions that left a loop's onsets
    as they were are dropped (a loop with no ghost notes loses none), so a real loop is
    never labelled corrupted."""
    sources = sources.astype(np.float32)
    few = sources[:OVER_REGULAR_SOURCES]
    made = {**{n: (g, sources) for n, g in perturb.noisier(sources, rng).items()},
            **{n: (g, few) for n, g in perturb.over_regular(few, rng, bars).items()}}
    return {name: onsets(g)[(onsets(g) != onsets(src)).any(axis=(1, 2))]
            for name, (g, src) in made.items()}


def save_judges(judges: dict[str, Judge], folder: str | Path) -> list[Path]:
    """Write every judge into `folder` as judge-<name>.npz (+ .json card)."""
    return [judge.save(judge_file(folder, name)) for name, judge in judges.items()]


def load_judges(folder: str | Path) -> dict[str, Judge]:
    """Every judge in `folder`, by name; EvodrumError if one is missing or damaged."""
    missing = [judge_file(folder, n) for n in NAMES if not judge_file(folder, n).is_file()]
    if missing:
        raise EvodrumError(f"{missing[0]}: no such judge file; build the judges with "
                           "`evodrum data judges CORPUS -o FOLDER`")
    return {name: Judge.load(judge_file(folder, name)) for name in NAMES}
