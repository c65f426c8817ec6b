"""Where the learned parts behind a run come from: the VAE, the PCA baseline and the
well-formedness reference, each from beside a user's model (a .pt file or a training
run folder) or else the shipped ones."""
from __future__ import annotations

from pathlib import Path

from evodrum.errors import EvodrumError
from fitness import WellFormedness
from fitness.judges import judge_file
from fitness.judges import load_judges as load_judge_folder

WELLFORMED_FILE = "wellformed.npz"
PCA_FILE = "pca.npz"


def model_dir(model: str | None) -> Path:
    """The folder of a model file (or run folder); the shipped models' folder for None."""
    from vae.cards import resolve
    return resolve(model).parent


def beside_or_shipped(model: str | None, name: str) -> Path:
    """The file `name` in the model's folder, else the shipped one (which may not exist)."""
    here = model_dir(model) / name
    return here if here.exists() else model_dir(None) / name


def load_vae(model: str | None = None):
    """The VAE at `model` (a .pt file or a training run folder), or the shipped one:
    as its exported numpy decoder when it has one (searches only decode; encoding
    loads torch on first use), else the torch model."""
    from vae import load_model
    from vae.cards import check_model_file, resolve
    return load_model(check_model_file(resolve(model)), decode_only=True)


def load_pca(model: str | None = None):
    """The PCA baseline beside `model`, else the shipped one."""
    from vae.pca import load_pca as load
    return load(beside_or_shipped(model, PCA_FILE))


def load_reference(model: str | None = None, corpus: str | None = None) -> WellFormedness:
    """The well-formedness reference: built from a named corpus, else beside the model,
    else the shipped one (made from the Groove corpus)."""
    if corpus is not None:
        from evodrum.corpus import load_corpus
        return WellFormedness.from_corpus(load_corpus(corpus))
    path = beside_or_shipped(model, WELLFORMED_FILE)
    if not path.exists():
        raise EvodrumError(f"{path}: no well-formedness reference; give --corpus NAME to "
                           "build one from a corpus")
    return WellFormedness.load(path)


def judges_dir(model: str | None = None) -> Path:
    """The folder holding the judges of real drumming: beside `model`, else the shipped one."""
    here = model_dir(model)
    return here if judge_file(here, "markov").exists() else model_dir(None)


def judges_beside(model: str) -> bool:
    """Whether a user's model has its own judges beside it (else the shipped ones stand in)."""
    return judges_dir(model) == model_dir(model)


def check_model(model: str) -> None:
    """EvodrumError unless `model` is a model file, or a folder holding one or judges
    (`data judges -o`), for commands whose --model only says where the judges are: a
    typo must not silently mean the shipped ones."""
    from vae.cards import check_model_file, resolve
    if not (Path(model).is_dir() and judges_beside(model)):
        check_model_file(resolve(model))


def load_judges(model: str | None = None) -> dict:
    """The judges of real drumming beside `model`, else the shipped ones."""
    return load_judge_folder(judges_dir(model))
