"""The learned genotype -> phenotype map: a drum VAE (and the PCA baseline) over grids.

`load_model()` returns the shipped default VAE; `load_model(path)` loads a VAE
(.pt, or a training run folder) or a PCA baseline (.npz). Every representation
offers `decode(z) -> grids`, `encode(grids) -> z`, `sample(n)`, `spec`, `zdim`
and `latent_std` (the prior's per-dimension std, for scaling a search).
`vae.refine.encode` gives codes that decode to the loop as written;
`vae.directions.steer(model, code, {name: amount})` moves a code along the
model's attribute and style directions.

A VAE with a timing head plays loops with feel: `model.feel(loops, bpm=...)`
(same hits, the model's velocities and timing offsets, an evodrum.loop.Loop) and
`model.decode_loops(z, bpm=...)`; `model.sample_latent` draws from its learned
mixture prior (vae.prior) unless `model.use_prior("normal")`.
"""
from __future__ import annotations

from importlib import import_module
from pathlib import Path

from vae.cards import DEFAULT_MODEL, DEFAULT_PCA, resolve

#: Names served from submodules on first use: `import vae` stays free of torch, so
#: commands that only decode start without it.
_LAZY = {"DrumModel": "vae.model", "load_vae": "vae.files", "save_model": "vae.files",
         "PCAModel": "vae.pca", "fit_pca": "vae.pca", "load_pca": "vae.pca",
         "save_pca": "vae.pca", "Representation": "vae.representation"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vae' has no attribute {name!r}")


def load_model(path: str | Path | None = None, *, decode_only: bool = False):
    """The representation in `path`: a VAE (.pt or run folder), a PCA (.npz), or the
    shipped VAE. `decode_only=True` returns a VAE as its exported numpy decoder when
    it has one (`vae.decoder`; no torch until something encodes)."""
    from vae.pca import load_pca
    path = resolve(path)
    rep = None
    if path.suffix == ".npz":
        rep = load_pca(path)
    elif decode_only:
        from vae.decoder import load_decode_only
        rep = load_decode_only(path)
    if rep is None:
        from vae.files import load_vae
        rep = load_vae(path)
    rep.source = path  # where its directions (vae.directions) are looked up
    return rep


def load_default_pca():
    """The PCA-20 baseline shipped beside the default model."""
    from vae.pca import load_pca
    return load_pca(DEFAULT_PCA)


__all__ = ["DEFAULT_MODEL", "DEFAULT_PCA", "DrumModel", "PCAModel", "Representation", "resolve",
           "fit_pca", "load_default_pca", "load_model", "load_pca", "load_vae",
           "save_model", "save_pca"]
