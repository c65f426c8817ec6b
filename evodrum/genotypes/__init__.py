"""Genotype spaces by name: the one registry that `target`, `map`, `interactive`,
`compare`, the plots and the CLI's choices read. Nothing else branches on a space's name.

A space is one `SpaceEntry` in `SPACES`: its name, a line of help, its `Space`
class, how it opens (loads its model files at the run's resolution) and its plot
colour. The `Space` it opens supplies the rest: the prior (`random`), batch
`decode`/`encode`, bounds, `clip`, `prior_excess`, `centre`/`prior_std`.

    from evodrum import genotypes
    space = genotypes.open_space("vae", model=None)     # the shipped model
    loops = space.decode(space.random(8, np.random.default_rng(0)))
    genotypes.fingerprint(space)                        # 'vae:3f0c...'

Resolution rule, one for every space: a run's grid resolution is that of the
well-formedness reference it is scored against (built from `--corpus`, else beside
`--model`, else the shipped one). A learned space must decode at it; the grid
space adopts it. (Before, the grid space always took the default resolution, so
`target --space grid` refused a paper-resolution model folder that `compare` used.)

Fingerprint: a hash of the loops a fixed set of prior genotypes decode to. A
resumed search or interactive session and a comparison's finished runs are
checked against it, so a changed model is refused rather than silently mixed in.

Adding a space: its `Space` subclass in its own module, and one entry below.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from evodrum.errors import EvodrumError
from evodrum.genotypes.base import Space
from evodrum.genotypes.grid import GridSpace
from evodrum.genotypes.latent import LatentSpace
from evodrum.grid import DEFAULT_SPEC, GridSpec, to_midi_velocity

#: Prior genotypes decoded for a fingerprint, and the seed that draws them.
PROBES = 32
PROBE_SEED = 20181


@dataclass(frozen=True)
class SpaceEntry:
    """One genotype space: how to open it and how it is shown."""

    name: str
    help: str
    kind: type[Space]
    open: Callable[[str | None, GridSpec], Space]   # (model, resolution) -> Space
    colour: str                                     # matplotlib colour in every figure


def _vae(model, spec):
    from evodrum.genotypes import files
    return LatentSpace("vae", files.load_vae(model))


def _pca(model, spec):
    from evodrum.genotypes import files
    return LatentSpace("pca", files.load_pca(model))


SPACES: dict[str, SpaceEntry] = {e.name: e for e in (
    SpaceEntry("vae", "the VAE's 20-d latent space (its learned prior)", LatentSpace,
               _vae, "tab:blue"),
    SpaceEntry("pca", "the PCA-20 baseline, scaled to a standard normal prior", LatentSpace,
               _pca, "tab:orange"),
    SpaceEntry("grid", "the raw grid: one value in [0, 1] per cell", GridSpace,
               lambda model, spec: GridSpace(spec), "tab:green"),
)}


def names() -> tuple[str, ...]:
    """The registered spaces, in registration order (CLI choices, default comparisons)."""
    return tuple(SPACES)


def entry(name: str) -> SpaceEntry:
    """The registry entry of space `name`; EvodrumError listing the known ones."""
    try:
        return SPACES[name]
    except KeyError:
        raise EvodrumError(f"unknown space {name!r}: use one of {', '.join(SPACES)}") from None


def resolution(model: str | None = None, corpus: str | None = None) -> GridSpec:
    """A run's grid resolution: its well-formedness reference's (see the module note)."""
    from evodrum.genotypes import files
    if corpus is not None:
        from evodrum.corpus import load_corpus
        return load_corpus(corpus).spec
    path = files.beside_or_shipped(model, files.WELLFORMED_FILE)
    return files.load_reference(model).spec if path.exists() else DEFAULT_SPEC


def open_space(name: str, model: str | None = None, spec: GridSpec | None = None,
               prior: str = "learned") -> Space:
    """Space `name` decoded by `model`'s files (the shipped ones for None) at resolution
    `spec` (default: `resolution(model)`), drawing fresh genotypes from `prior` (learned:
    the model's mixture where it has one; normal); EvodrumError if the model decodes
    another resolution."""
    spec = spec or resolution(model)
    space = entry(name).open(model, spec).with_prior(prior)
    if space.spec != spec:
        raise EvodrumError(f"the {name} space decodes {space.spec.describe()}, the run's "
                           f"well-formedness reference is for {spec.describe()}: give --corpus "
                           f"NAME built at {space.spec.describe()}")
    return space


def fingerprint(space: Space) -> str:
    """A short hash of the loops PROBES fixed prior genotypes decode to in `space`, and
    of its resolution (two resolutions can share a grid shape). The resolution is left
    out at the default one, so fingerprints made before it counted still match."""
    probes = space.probes(PROBES, np.random.default_rng(PROBE_SEED))
    grids = np.ascontiguousarray(to_midi_velocity(space.decode(probes)))
    digest = hashlib.sha256(grids.tobytes())
    if space.spec != DEFAULT_SPEC:
        digest.update(json.dumps(space.spec.to_dict(), sort_keys=True).encode())
    return f"{space.name}:{digest.hexdigest()[:16]}"


def check_fingerprint(expected: str, space: Space, where: str) -> None:
    """EvodrumError if `space` decodes differently from the space `expected` was taken of."""
    if expected != fingerprint(space):
        raise EvodrumError(
            f"{where}: made with another {space.name} model or resolution (its genotypes "
            "would decode to different loops); resume with the model it was made with "
            "(--model)")


__all__ = ["SPACES", "Space", "SpaceEntry", "names", "entry", "resolution", "open_space",
           "fingerprint", "check_fingerprint", "GridSpace", "LatentSpace"]
