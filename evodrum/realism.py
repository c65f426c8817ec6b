"""What `evodrum realism` and the comparison report read a set of loops against: the
realism reference of a corpus with the judges beside a model, and a space's prior
samples. The measures themselves live in `fitness.realism`."""
from __future__ import annotations

import functools

import numpy as np

from evodrum.errors import EvodrumError
from fitness.realism import RealismReference, training_windows

#: Priors a latent space can be sampled from: the model's learned mixture (vae.prior; the
#: standard normal for a model without one) and the standard normal.
PRIORS = ("learned", "normal")


@functools.cache
def reference(corpus: str | None = None, model: str | None = None) -> RealismReference:
    """The realism reference of corpus `corpus` (default groove), read by the judges
    beside `model` (else the shipped ones); built once per process (~2 s)."""
    from evodrum.corpus import load_corpus
    from evodrum.genotypes.files import load_judges
    return RealismReference.from_corpus(load_corpus(corpus), load_judges(model))


def yardstick(corpus: str | None, n: int, seed: int = 0) -> np.ndarray:
    """`n` real training loops (one window in four per file): what real drumming reads
    at the same set size."""
    from evodrum.corpus import load_corpus
    return training_windows(load_corpus(corpus), n, seed)


def space_samples(space: str, n: int, temperature: float = 1.0, prior: str = "learned",
                  seed: int = 0, model: str | None = None) -> np.ndarray:
    """`n` loops decoded from space `space`'s prior, latent codes scaled by `temperature`
    (latent spaces only: the grid space's prior is cell noise at the corpus hit rate)."""
    from evodrum.genotypes import open_space
    if prior not in PRIORS:
        raise EvodrumError(f"unknown prior {prior!r}: use one of {', '.join(PRIORS)}")
    genotypes = open_space(space, model)
    if genotypes.cell_genes and temperature != 1.0:
        raise EvodrumError(f"--temperature scales latent codes; the {space} space has none")
    rng = np.random.default_rng(seed)
    if genotypes.cell_genes:
        return genotypes.decode(genotypes.random(n, rng))
    representation = genotypes.representation
    representation.use_prior(prior)
    return representation.decode(representation.sample_latent(n, temperature, rng))
