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

import numpy as np
import torch

from evodrum.atomic import atomic_path, write_json
from evodrum.errors import EvodrumError
from evodrum.grid import GridSpec
from evodrum.kit import KIT_VERSION
from vae import decoder
from vae.cards import (DEFAULT_DIR, DEFAULT_MODEL, DEFAULT_PCA, GROOVE_CREDIT, card_path,  # noqa: F401
                       check_model_file, corpus_card, parse_card, refuse_foreign, resolve)
from vae.feel import FeelTables
from vae.model import DrumModel
from vae.network import Arch, DrumVAE
from vae.prior import MixturePrior

MODEL_FORMAT = "evodrum-vae-1"
CHECKPOINT_FORMAT = "evodrum-vae-checkpoint-1"


def save_torch(path: str | Path, payload: dict) -> None:
    """torch.save `payload` (tensors, numbers, strings only) to `path` atomically."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_torch(path: str | Path, expected_format: str) -> dict:
    """Load a torch archive without unpickling code; EvodrumError if it is not ours."""
    path = check_model_file(path)
    _refuse_damaged_archive(path)
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


def _refuse_damaged_archive(path: Path) -> None:
    """EvodrumError when a zip member's checksum fails: torch reads a damaged weight
    record without noticing, so a flipped byte would silently change the loops."""
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, NotImplementedError) as e:
        raise EvodrumError(f"{path}: not a readable model file ({e})") from None
    if bad is not None:
        raise EvodrumError(f"{path}: damaged model file (the checksum of {bad!r} fails)")


def network_from(path: Path, card: dict, weights: dict) -> DrumVAE:
    """A DrumVAE built from the card's architecture and loaded with `weights`, which
    must be finite floating-point tensors of the architecture's shapes (checked on the
    meta device first, so a card claiming a huge network allocates nothing)."""
    try:
        arch = Arch.from_dict(card["arch"])
    except (KeyError, TypeError, ValueError) as e:
        raise EvodrumError(f"{path}: model card has no valid architecture ({e})") from None
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in DrumVAE(arch).state_dict().items()}
    found = {k: tuple(v.shape) for k, v in weights.items()
             if isinstance(v, torch.Tensor)} if isinstance(weights, dict) else {}
    if expected != found or len(found) != len(weights):
        raise EvodrumError(f"{path}: weights do not match the card's architecture "
                           f"({arch.kind}, hidden {arch.hidden}, z {arch.zdim})")
    for name, tensor in weights.items():
        if not tensor.is_floating_point():
            raise EvodrumError(f"{path}: weight {name!r} holds {tensor.dtype}, not "
                               "floating-point numbers")
        if not torch.isfinite(tensor).all():
            raise EvodrumError(f"{path}: weight {name!r} holds NaN or infinity")
    net = DrumVAE(arch)
    net.load_state_dict(weights)
    return net


def _tensors(arrays: dict) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}


def save_model(path: str | Path, model: DrumModel) -> None:
    """Write a VAE (weights, learned prior and feel tables as plain arrays, card)
    atomically, its card as JSON beside it, and its decoder as numpy arrays with the
    prior and tables (`vae.decoder`: what searches decode with, torch-free)."""
    card = dict(model.card, format=MODEL_FORMAT, kind=model.kind, arch=model.arch.to_dict(),
                spec=model.spec.to_dict(), kit=KIT_VERSION,
                hit_threshold=model.hit_threshold.tolist())
    model.card = card
    weights = {k: v.detach().clone() for k, v in model.network.state_dict().items()}
    payload = {"format": MODEL_FORMAT, "card": json.dumps(card), "weights": weights}
    if model.mixture is not None:
        payload["prior"] = _tensors(model.mixture.to_arrays())
    if model.feel_tables is not None:
        payload["feel"] = _tensors(model.feel_tables.to_arrays())
    save_torch(path, payload)
    write_json(card_path(path), card)
    decoder.save(decoder.decoder_path(path), model.exported_decoder(), card,
                 decoder.file_digest(path))


def _arrays(path: Path, payload: dict, key: str, make):
    """The object `make` builds from the payload's arrays under `key` (None when absent);
    EvodrumError naming the file when they are damaged."""
    found = payload.get(key)
    if found is None:
        return None
    try:
        return make({k: v.numpy() for k, v in found.items()})
    except (AttributeError, KeyError, TypeError, ValueError, RuntimeError) as e:
        raise EvodrumError(f"{path}: damaged {key} arrays ({e})") from None


def load_vae(path: str | Path) -> DrumModel:
    """Load a VAE file written by `save_model`."""
    path = Path(path)
    payload = load_torch(path, MODEL_FORMAT)
    card = parse_card(path, payload.get("card"))
    net = network_from(path, card, payload.get("weights"))
    prior = _arrays(path, payload, "prior", MixturePrior.from_arrays)
    tables = _arrays(path, payload, "feel", FeelTables.from_arrays)
    if prior is not None and prior.zdim != net.arch.zdim:
        raise EvodrumError(f"{path}: learned prior for z = {prior.zdim}, the model has "
                           f"z = {net.arch.zdim}")
    spec = GridSpec.from_dict(card["spec"])
    if tables is not None and tables.offset.shape[0] != spec.shape[0]:
        raise EvodrumError(f"{path}: feel tables do not match the drum rows")
    try:
        return DrumModel(net, spec, card, prior, tables)
    except ValueError as e:
        raise EvodrumError(f"{path}: {e}") from None
