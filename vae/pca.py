"""PCA-20: the linear baseline representation, with the VAE's interface.

Fitted with numpy's SVD on the training grids. Its latent space is the principal
component scores; the prior is N(0, diag(explained variance)), so `latent_std`
lets a search rescale it to a standard normal. A reconstruction is continuous,
so decoding needs a hit threshold, chosen for the best onset F1 on held-out data.
"""
from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import numpy as np

from evodrum import npyfile
from evodrum.atomic import atomic_path, write_json
from evodrum.errors import EvodrumError
from evodrum.grid import GridSpec
from evodrum.kit import KIT_VERSION
from vae import metrics
from vae.calibrate import calibrate
from vae.evaluate import CARD_METRICS, measure
from vae.cards import card_path, corpus_card, parse_card, refuse_foreign
from vae.representation import Representation

PCA_FORMAT = "evodrum-pca-1"


class PCAModel(Representation):
    """Mean + `zdim` principal components of flattened grids."""

    def __init__(self, mean: np.ndarray, components: np.ndarray, variance: np.ndarray,
                 spec: GridSpec, card: dict):
        self.mean = np.asarray(mean, dtype=np.float32)
        self.components = np.asarray(components, dtype=np.float32)
        self.variance = np.asarray(variance, dtype=np.float32)
        self.spec = spec
        self.zdim = len(self.components)
        self.latent_std = np.sqrt(self.variance).astype(np.float32)
        self.card = card
        self.hit_threshold = card.get("hit_threshold", 0.5)

    def encode(self, grids: np.ndarray) -> np.ndarray:
        return (self.flat_grids(grids) - self.mean) @ self.components.T

    def reconstruct_flat(self, z: np.ndarray) -> np.ndarray:
        """The continuous reconstruction (N, 9 * S) of latent vectors."""
        return self.check_latent(z) @ self.components + self.mean

    def decode_scores(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(reconstructed value, the same clipped to [0, 1] as velocity)."""
        flat = self.reconstruct_flat(z).reshape(-1, *self.spec.shape)
        return flat, np.clip(flat, 0.0, 1.0)


def fit_pca(train: np.ndarray, validation: np.ndarray, spec: GridSpec,
            zdim: int = 20, card: dict | None = None) -> PCAModel:
    """Fit PCA on the training grids; pick the hit threshold by onset F1 on `validation`."""
    start = time.perf_counter()
    x = np.asarray(train, dtype=np.float64).reshape(len(train), -1)
    if len(x) <= zdim:
        raise EvodrumError(f"PCA with {zdim} components needs more than {zdim} training grids")
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    variance = s[:zdim] ** 2 / (len(x) - 1)
    model = PCAModel(mean, vt[:zdim], variance, spec, dict(card or {}))
    calibrate(model, "f1", validation, train)
    total = float((s ** 2).sum() / (len(x) - 1))
    model.card.update({
        "kind": "pca", "name": "pca-20" if zdim == 20 else f"pca-{zdim}", "zdim": zdim,
        "spec": spec.to_dict(), "kit": KIT_VERSION,
        "explained_variance_ratio": float(variance.sum() / total),
        "metrics": {"validation": metrics.onset_scores(validation, model.decode(
            model.encode(validation)))},
        "fit_seconds": round(time.perf_counter() - start, 3),
    })
    return model


def fit_corpus_pca(corpus, zdim: int = 20, seed: int = 0) -> PCAModel:
    """PCA fitted on a corpus's train split (threshold on validation), test metrics in its
    card. Seed 0 fits the split as it is; another seed fits a bootstrap resample of its
    performances (files drawn with replacement, all their windows), so PCA has trained
    replicates that differ the way retrained VAEs do."""
    splits = {s: corpus.split_grids(s) for s in ("train", "validation", "test")}
    data = corpus_card(corpus)
    card = {"corpus": data, **({"credits": data["credits"]} if "credits" in data else {})}
    if seed:
        files = corpus.labels["file"][corpus.split == "train"]
        names = np.unique(files)
        drawn = np.random.default_rng(seed).choice(names, len(names), replace=True)
        counts = dict(zip(*np.unique(drawn, return_counts=True)))
        splits["train"] = np.repeat(splits["train"], [counts.get(f, 0) for f in files], axis=0)
        card["resample"] = {"seed": int(seed), "files": int(len(names)),
                            "distinct_files": int(len(counts))}
    model = fit_pca(splits["train"], splits["validation"], corpus.spec, zdim, card)
    if len(splits["test"]):
        row = measure(model, splits["test"], splits["train"])
        model.card["metrics"]["test"] = {k: row[k] for k in CARD_METRICS if k in row}
    return model


def save_pca(path: str | Path, model: PCAModel) -> None:
    """Write the PCA arrays and card (.npz) atomically, and the card as JSON beside it."""
    model.card = dict(model.card, format=PCA_FORMAT, hit_threshold=model.hit_threshold.tolist())
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, mean=model.mean, components=model.components,
                 variance=model.variance, card=np.array(json.dumps(model.card)))
    write_json(card_path(path), model.card)


def _check_numbers(path: Path, arrays: dict) -> None:
    """EvodrumError unless the arrays are finite floats, with at least one component
    and a positive variance for each (a search's step widths are their roots)."""
    for key in ("mean", "components", "variance"):
        a = arrays[key]
        if a.dtype.kind != "f" or not np.isfinite(a).all():
            raise EvodrumError(f"{path}: PCA array {key!r} must hold finite floating-point "
                               f"numbers ({a.dtype})")
    if len(arrays["variance"]) == 0 or (arrays["variance"] <= 0).any():
        raise EvodrumError(f"{path}: PCA array 'variance' must hold at least one number, "
                           "each above 0")


def load_pca(path: str | Path) -> PCAModel:
    """Load a PCA file written by `save_pca` (never unpickles)."""
    path = Path(path)
    if not path.is_file():
        raise EvodrumError(f"{path}: no such PCA file")
    refuse_foreign(path, (b"PK\x03\x04",))  # an .npz is a zip archive
    try:
        data = npyfile.load_npz(path, text=("card",))
        arrays = {k: data[k] for k in ("mean", "components", "variance", "card")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise EvodrumError(f"{path}: not a readable PCA file (damaged, or not one saved by "
                           f"evodrum train --kind pca: {e})") from None
    card = parse_card(path, arrays["card"])
    if card.get("format") != PCA_FORMAT:
        raise EvodrumError(f"{path}: not an evodrum PCA file (format {card.get('format')!r})")
    spec = GridSpec.from_dict(card["spec"])
    inputs = spec.shape[0] * spec.steps
    comps = arrays["components"]
    if (comps.ndim != 2 or comps.shape[1] != inputs or arrays["mean"].shape != (inputs,)
            or arrays["variance"].shape != (len(comps),)):
        raise EvodrumError(f"{path}: PCA arrays do not fit {spec.describe()}")
    _check_numbers(path, arrays)
    try:
        return PCAModel(arrays["mean"], comps, arrays["variance"], spec, card)
    except ValueError as e:
        raise EvodrumError(f"{path}: damaged PCA card ({e})") from None
