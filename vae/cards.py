"""Model files' paths and cards: the shipped defaults, run folders, cards beside
files, what a file is. Kept free of torch, so commands that only decode (and the
PCA baseline) find and check a model without importing it."""
from __future__ import annotations

import json
from pathlib import Path

from evodrum import limits
from evodrum.errors import EvodrumError
from evodrum.grid import GridSpec
from evodrum.kit import KIT_VERSION

#: The shipped default models, installed with the package.
DEFAULT_DIR = Path(__file__).resolve().parent / "default"
DEFAULT_MODEL = DEFAULT_DIR / "model.pt"
DEFAULT_PCA = DEFAULT_DIR / "pca.npz"


def card_path(path: str | Path) -> Path:
    """The human-readable copy of a file's card, written beside it."""
    path = Path(path)
    return path.with_name(path.stem + ".json")


def resolve(path: str | Path | None) -> Path:
    """A model path: the shipped model for None, `model.pt` inside a run folder."""
    if path is None:
        return DEFAULT_MODEL
    path = Path(path)
    return path / "model.pt" if path.is_dir() else path


def refuse_foreign(path: Path, magics: tuple[bytes, ...]) -> None:
    """Say plainly what a file is when it does not start like a model file (`magics`):
    a MIDI file given as --model, a WAV, a text file; never a loader's unsafe advice."""
    from evodrum import smf
    with open(path, "rb") as f:
        head = f.read(4096)
    if head.startswith(magics):
        return
    if head.startswith(b"MThd"):
        raise EvodrumError(f"{path}: this is a MIDI file, not a model: give it as the loop "
                           "to read, and --model a .pt file or a training run folder")
    what = smf.what_it_is(head)
    if what.startswith("not a MIDI file"):
        what = "it is not a model saved by evodrum train"
    raise EvodrumError(f"{path}: not a model file: {what.replace(', not MIDI', '')}")


def check_model_file(path: str | Path) -> Path:
    """`path` if it is a file that starts like a torch archive, within limits.MODEL_BYTES
    (torch reads it whole: a 100 GB sparse file must not fill the memory); EvodrumError
    saying what it is otherwise (missing, a MIDI file, a text file)."""
    path = Path(path)
    if not path.is_file():
        raise EvodrumError(f"{path}: no such model file")
    limits.MODEL_BYTES.check(path, path.stat().st_size, "the model file's size")
    refuse_foreign(path, (b"PK\x03\x04", b"\x80"))  # torch.save's zip, or a legacy pickle
    return path


def parse_card(path: Path, text) -> dict:
    """The card dict of a file, checked for what every card needs."""
    try:
        card = json.loads(str(text))
        spec = GridSpec.from_dict(card["spec"])
    except (ValueError, KeyError, TypeError, RecursionError) as e:
        raise EvodrumError(f"{path}: damaged model card ({type(e).__name__}: {e})") from None
    if card.get("kit") != KIT_VERSION:
        raise EvodrumError(f"{path}: made for drum kit {card.get('kit')!r}, this evodrum uses "
                           f"{KIT_VERSION!r}; retrain it with `evodrum train`")
    card["spec"] = spec.to_dict()
    return card


GROOVE_CREDIT = (
    "Trained on the Groove MIDI Dataset (CC BY 4.0): Jon Gillick, Adam Roberts, Jesse Engel, "
    "Douglas Eck, David Bamman, \"Learning to Groove with Inverse Sequence Transformations\", "
    "ICML 2019. https://magenta.tensorflow.org/datasets/groove")


def corpus_card(corpus) -> dict:
    """What a model card records about its training corpus, with the data's credit."""
    source = Path(corpus.manifest.get("source", ""))
    card = {"name": corpus.path.name if corpus.path else source.name,
            "path": str(corpus.path) if corpus.path else "",
            "manifest_hash": corpus.manifest_hash,
            "windows": {s: int((corpus.split == s).sum())
                        for s in ("train", "validation", "test")}}
    if (source / "info.csv").is_file() or card["name"] == "groove":
        card["credits"] = GROOVE_CREDIT
    return card
