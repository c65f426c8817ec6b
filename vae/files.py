"""Model and checkpoint files: weights plus a JSON card, saved atomically, loaded safely.

A VAE file (.pt) is a torch archive of plain tensors and strings, loaded with
`weights_only=True`, so opening a file never runs code from it. A PCA file
(.npz) holds arrays and its card as a string, loaded with `allow_pickle=False`.
Every file's card says what it is (kind, architecture, grid resolution, kit
version, corpus hash, metrics); anything wrong, corrupt or foreign becomes an
EvodrumError naming the file.
"""
from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import torch

from evodrum.atomic import atomic_path, write_json
from evodrum.errors import EvodrumError
from evodrum.grid import GridSpec
from evodrum.kit import KIT_VERSION
from vae.model import DrumModel
from vae.network import Arch, DrumVAE

MODEL_FORMAT = "evodrum-vae-1"
CHECKPOINT_FORMAT = "evodrum-vae-checkpoint-1"
#: The shipped default models, installed with the package.
DEFAULT_DIR = Path(__file__).resolve().parent / "default"
DEFAULT_MODEL = DEFAULT_DIR / "model.pt"
DEFAULT_PCA = DEFAULT_DIR / "pca.npz"


def card_path(path: str | Path) -> Path:
    """The human-readable copy of a file's card, written beside it."""
    path = Path(path)
    return path.with_name(path.stem + ".json")


def save_torch(path: str | Path, payload: dict) -> None:
    """torch.save `payload` (tensors, numbers, strings only) to `path` atomically."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


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
    """`path` if it is a file that starts like a torch archive; EvodrumError saying what
    it is otherwise (missing, a MIDI file, a text file)."""
    path = Path(path)
    if not path.is_file():
        raise EvodrumError(f"{path}: no such model file")
    refuse_foreign(path, (b"PK\x03\x04", b"\x80"))  # torch.save's zip, or a legacy pickle
    return path


def load_torch(path: str | Path, expected_format: str) -> dict:
    """Load a torch archive without unpickling code; EvodrumError if it is not ours."""
    path = check_model_file(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise EvodrumError(f"{path}: refused to load: besides weights the file holds Python "
                           "objects, which could run code, so evodrum never opens it") from None
    except (RuntimeError, OSError, EOFError, ValueError, zipfile.BadZipFile, KeyError,
            IndexError, TypeError, AttributeError, UnicodeDecodeError):
        raise EvodrumError(f"{path}: not a readable model file (damaged, or not a model "
                           "saved by evodrum train)") from None
    if not isinstance(payload, dict) or payload.get("format") != expected_format:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise EvodrumError(f"{path}: not an evodrum {expected_format} file (found {found!r})")
    return payload


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


def network_from(path: Path, card: dict, weights: dict) -> DrumVAE:
    """A DrumVAE built from the card's architecture and loaded with `weights`."""
    try:
        arch = Arch.from_dict(card["arch"])
    except (KeyError, TypeError, ValueError) as e:
        raise EvodrumError(f"{path}: model card has no valid architecture ({e})") from None
    net = DrumVAE(arch)
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in weights.items()} if isinstance(weights, dict) else {}
    if expected != found:
        raise EvodrumError(f"{path}: weights do not match the card's architecture "
                           f"({arch.kind}, hidden {arch.hidden}, z {arch.zdim})")
    net.load_state_dict(weights)
    return net


def save_model(path: str | Path, model: DrumModel) -> None:
    """Write a VAE (weights + card) atomically, and its card as JSON beside it."""
    card = dict(model.card, format=MODEL_FORMAT, kind=model.kind, arch=model.arch.to_dict(),
                spec=model.spec.to_dict(), kit=KIT_VERSION,
                hit_threshold=model.hit_threshold.tolist())
    model.card = card
    weights = {k: v.detach().clone() for k, v in model.network.state_dict().items()}
    save_torch(path, {"format": MODEL_FORMAT, "card": json.dumps(card), "weights": weights})
    write_json(card_path(path), card)


def load_vae(path: str | Path) -> DrumModel:
    """Load a VAE file written by `save_model`."""
    path = Path(path)
    payload = load_torch(path, MODEL_FORMAT)
    card = parse_card(path, payload.get("card"))
    net = network_from(path, card, payload.get("weights"))
    try:
        return DrumModel(net, GridSpec.from_dict(card["spec"]), card)
    except ValueError as e:
        raise EvodrumError(f"{path}: {e}") from None


def resolve(path: str | Path | None) -> Path:
    """A model path: the shipped model for None, `model.pt` inside a run folder."""
    if path is None:
        return DEFAULT_MODEL
    path = Path(path)
    return path / "model.pt" if path.is_dir() else path


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
