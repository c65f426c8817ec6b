"""The learned genotype -> phenotype map: a drum VAE (and the PCA baseline) over grids.

`load_model()` returns the shipped default VAE; `load_model(path)` loads a VAE
(.pt, or a training run folder) or a PCA baseline (.npz). Every representation
offers `decode(z) -> grids`, `encode(grids) -> z`, `sample(n)`, `spec`, `zdim`
and `latent_std` (the prior's per-dimension std, for scaling a search).
`vae.refine.encode` gives codes that decode to the loop as written;
`vae.directions.steer(model, code, {name: amount})` moves a code along the
model's attribute and style directions.
"""
from __future__ import annotations

from pathlib import Path

from vae.files import DEFAULT_MODEL, DEFAULT_PCA, load_vae, resolve, save_model
from vae.model import DrumModel
from vae.pca import PCAModel, fit_pca, load_pca, save_pca
from vae.representation import Representation


def load_model(path: str | Path | None = None) -> Representation:
    """The representation in `path`: a VAE (.pt or run folder), a PCA (.npz), or the shipped VAE."""
    path = resolve(path)
    rep = load_pca(path) if path.suffix == ".npz" else load_vae(path)
    rep.source = path  # where its directions (vae.directions) are looked up
    return rep


def load_default_pca() -> PCAModel:
    """The PCA-20 baseline shipped beside the default model."""
    return load_pca(DEFAULT_PCA)


__all__ = ["DEFAULT_MODEL", "DEFAULT_PCA", "DrumModel", "PCAModel", "Representation", "resolve",
           "fit_pca", "load_default_pca", "load_model", "load_pca", "load_vae",
           "save_model", "save_pca"]
