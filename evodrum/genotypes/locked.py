"""A genotype space whose decoder keeps a musician's locked cells (`evodrum.lock`):
every loop it decodes holds them exactly, so any algorithm searching it (GA, CMA-ES,
NSGA-II, MAP-Elites, breeding) only varies the rest."""
from __future__ import annotations

from evodrum.errors import EvodrumError
from evodrum.genotypes.base import Space
from evodrum.lock import Lock


class LockedSpace(Space):
    """`inner` with `lock` applied to everything it decodes; otherwise the same space."""

    def __init__(self, inner: Space, lock: Lock):
        super().__init__(inner.name, inner.dim, inner.low, inner.high, inner.spec)
        self.inner, self.lock = inner, lock
        self.hard_bounds, self.cell_genes = inner.hard_bounds, inner.cell_genes

    def __getattr__(self, name):
        # model files (representation), and anything else a space offers, are inner's
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def random(self, n, rng):
        return self.inner.random(n, rng)

    def decode(self, genotypes):
        return self.lock.apply(self.inner.decode(genotypes))

    def encode(self, grids, refine_steps=None):
        return self.inner.encode(grids, refine_steps)

    def clip(self, genotypes):
        return self.inner.clip(genotypes)

    def prior_excess(self, genotypes):
        return self.inner.prior_excess(genotypes)

    @property
    def centre(self):
        return self.inner.centre

    @property
    def prior_std(self):
        return self.inner.prior_std


def locked(space: Space, lock: Lock | None) -> Space:
    """`space` decoding through `lock` (the space itself when nothing is locked)."""
    if lock is None or not lock.mask.any():
        return space
    return LockedSpace(getattr(space, "inner", space), lock)


def locked_as_stored(space: Space, stored: dict | None) -> Space:
    """`space` decoding through a lock as a job file stores it (`Lock.to_dict`);
    EvodrumError when its cells do not fit the space's grid."""
    if stored is None:
        return space
    try:
        return locked(space, Lock.from_dict(stored, space.spec))
    except (KeyError, TypeError, ValueError) as e:
        raise EvodrumError(f"the job's locked cells do not fit the model's grid ({e})") from None
