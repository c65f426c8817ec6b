"""The genotype space a session evolves in, and a fingerprint of how it decodes.

A resumed session must decode its genotypes into the same loops it showed
before; the fingerprint (a hash of the loops a fixed set of genotypes decode
to) tells whether the model behind `--model` or the shipped one has changed.
"""
from __future__ import annotations

import hashlib

import numpy as np

from evodrum.errors import EvodrumError
from evodrum.grid import to_midi_velocity
from evodrum.interactive.session import Session, Settings
from evodrum.search.spaces import Space

PROBES = 32
PROBE_SEED = 20181


def open_space(settings: Settings) -> Space:
    """The settings' space, with the model they name (the shipped one by default)."""
    from evodrum.search import models
    from evodrum.search.spaces import make_space
    if settings.space == "vae":
        return make_space("vae", model=models.load_vae(settings.model))
    if settings.space == "pca":
        return make_space("pca", pca=models.load_pca(settings.model))
    return make_space(settings.space)


def fingerprint(space: Space) -> str:
    """A short hash of the grids that PROBES fixed genotypes decode to in `space`."""
    probes = space.random(PROBES, np.random.default_rng(PROBE_SEED))
    grids = np.ascontiguousarray(to_midi_velocity(space.decode(probes)))
    return f"{space.name}:{hashlib.sha256(grids.tobytes()).hexdigest()[:16]}"


def check_same_model(session: Session, space: Space, where: str) -> None:
    """EvodrumError if `space` decodes differently from the space the session was made in."""
    if session.fingerprint != fingerprint(space):
        raise EvodrumError(
            f"{where}: this session was made with another {session.settings.space} model "
            "(its genotypes would decode to different loops); resume with the model it was "
            "made with (--model), or start a new session from its favourites "
            "(--seed-loops FILE.mid)")
