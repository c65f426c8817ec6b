"""The decoder as plain numpy arrays: the genotype -> phenotype map of every search.

A trained VAE's decoder is a trunk (z -> h) and heads (h -> logits per cell): the
hit head, the velocity head and any head a model adds. `Decoder` holds them as
matrices and runs them with numpy, so commands that only decode (target, map,
interactive, studio, compare) never import torch (~1.2 s of CPU at start-up).
`save_model` exports it beside the model as `<stem>.decoder.npz` (arrays and a
JSON card, read with `allow_pickle=False`); `export(model_path)` does it for an
existing model. The torch model decodes through the same arrays, so search, the
CLI, refinement (vae.hitloss) and Python users all get one map; torch's own forward
pass (used in training) sums in another order and can differ at a threshold's edge
(measured: 2 cells in 2,880,000 of 5,000 prior samples; see tests/test_decoder.py).
"""
from __future__ import annotations

import hashlib
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evodrum import atomic, npyfile
from evodrum.errors import EvodrumError
from evodrum.grid import GridSpec
from vae.playing import Playing, from_extras, pattern_arrays, pattern_means
from vae.representation import MIN_VELOCITY, Representation, sigmoid

FORMAT = "evodrum-decoder-1"
SUFFIX = ".decoder.npz"
#: Rows decoded at once: keeps a chunk's (rows, 576) logits in the L2 cache.
CHUNK = 2048
ACTIVATIONS = ("none", "relu", "tanh", "sigmoid")


def logit(p: float) -> float:
    """The pre-sigmoid value whose sigmoid is `p` (clipped away from 0 and 1)."""
    p = min(max(float(p), 1e-7), 1 - 1e-7)
    return math.log(p / (1 - p))


def _activate(x: np.ndarray, activation: str) -> np.ndarray:
    if activation == "relu":
        return np.maximum(x, 0, out=x)
    if activation == "tanh":
        return np.tanh(x, out=x)
    if activation == "sigmoid":
        return sigmoid(x)
    return x


@dataclass
class Layer:
    """x @ weight (+ bias), then an activation: weight (in, out) float32."""

    weight: np.ndarray
    bias: np.ndarray | None
    activation: str = "none"
    _transposed: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.weight
        if self.bias is not None:
            y += self.bias
        return _activate(y, self.activation)

    def transposed(self) -> np.ndarray:
        """weight.T as a contiguous array, made once: back-propagation (vae.hitloss)
        multiplies by it, and OpenBLAS is 2-7x slower on a transposed view from 4 rows."""
        if self._transposed is None:
            self._transposed = np.ascontiguousarray(self.weight.T)
        return self._transposed


class Decoder:
    """A trunk (z -> h) and named heads (h -> logits), plus any other arrays the
    model keeps beside its decoder (e.g. a learned prior's parameters) in `extras`."""

    def __init__(self, trunk: list[Layer], heads: dict[str, list[Layer]],
                 extras: dict[str, np.ndarray] | None = None):
        self.trunk, self.heads, self.extras = trunk, heads, dict(extras or {})

    @property
    def zdim(self) -> int:
        return self.trunk[0].weight.shape[0]

    def hidden(self, z: np.ndarray) -> np.ndarray:
        for layer in self.trunk:
            z = layer(z)
        return z

    def head(self, name: str, h: np.ndarray) -> np.ndarray:
        for layer in self.heads[name]:
            h = layer(h)
        return h

    # --- from torch and to/from files ------------------------------------

    @classmethod
    def from_network(cls, network) -> "Decoder":
        """The decoder of a torch DrumVAE (its `decoder_heads()`); other parameters
        outside the encoder go to `extras` under their state-dict names."""
        from torch import nn

        def layers(module) -> list[Layer]:
            out: list[Layer] = []
            for part in (module if isinstance(module, nn.Sequential) else [module]):
                if isinstance(part, nn.Linear):
                    bias = None if part.bias is None else _array(part.bias)
                    out.append(Layer(np.ascontiguousarray(_array(part.weight).T), bias))
                elif type(part).__name__.lower() in ACTIVATIONS and out:
                    out[-1].activation = type(part).__name__.lower()
                else:
                    raise ValueError(f"cannot export decoder part {type(part).__name__}")
            return out

        trunk = layers(network.dec_hidden)
        trunk[-1].activation = "relu"
        heads = {name: layers(m) for name, m in network.decoder_heads().items()}
        exported = {"dec_hidden", *(_module_name(network, m)
                                    for m in network.decoder_heads().values())}
        extras = {k: _array(v) for k, v in network.state_dict().items()
                  if not k.startswith("enc_") and k.split(".")[0] not in exported}
        return cls(trunk, heads, extras)

    def arrays(self) -> tuple[dict[str, np.ndarray], dict]:
        """Plain arrays and the layout that reassembles them."""
        arrays, layout = {}, {"trunk": [], "heads": {}, "extras": sorted(self.extras)}

        def put(prefix, layers):
            spec = []
            for i, layer in enumerate(layers):
                arrays[f"{prefix}.{i}.weight"] = layer.weight
                if layer.bias is not None:
                    arrays[f"{prefix}.{i}.bias"] = layer.bias
                spec.append({"bias": layer.bias is not None, "activation": layer.activation})
            return spec

        layout["trunk"] = put("trunk", self.trunk)
        for name, layers in self.heads.items():
            layout["heads"][name] = put(f"head.{name}", layers)
        arrays.update({f"extra.{k}": v for k, v in self.extras.items()})
        return arrays, layout

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], layout: dict) -> "Decoder":
        def get(prefix, spec):
            layers = []
            for i, s in enumerate(spec):
                if s["activation"] not in ACTIVATIONS:
                    raise ValueError(f"unknown activation {s['activation']!r}")
                bias = arrays[f"{prefix}.{i}.bias"] if s["bias"] else None
                layers.append(Layer(_float32(arrays[f"{prefix}.{i}.weight"], 2),
                                    None if bias is None else _float32(bias, 1), s["activation"]))
            for a, b in zip(layers, layers[1:]):
                if a.weight.shape[1] != b.weight.shape[0]:
                    raise ValueError(f"{prefix}: layer shapes do not chain")
            for layer in layers:
                if layer.bias is not None and layer.bias.shape[0] != layer.weight.shape[1]:
                    raise ValueError(f"{prefix}: a bias does not fit its layer")
            return layers

        trunk = get("trunk", layout["trunk"])
        heads = {str(n): get(f"head.{n}", spec) for n, spec in dict(layout["heads"]).items()}
        width = trunk[-1].weight.shape[1]
        if any(not layers or layers[0].weight.shape[0] != width for layers in heads.values()):
            raise ValueError("a head does not fit the trunk")
        extras = {str(k): np.asarray(arrays[f"extra.{k}"]) for k in layout.get("extras", [])}
        return cls(trunk, heads, extras)


def _array(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float32, copy=True)


def _float32(a: np.ndarray, ndim: int) -> np.ndarray:
    if a.dtype != np.float32 or a.ndim != ndim or not np.isfinite(a).all():
        raise ValueError(f"expected finite float32 arrays of {ndim} dimensions, found "
                         f"{a.dtype} {a.shape}")
    return np.ascontiguousarray(a)


def _module_name(network, module) -> str:
    return next(name for name, m in network.named_children() if m is module)


def decoder_path(model_path: str | Path) -> Path:
    """Where a model's exported decoder lives: `model.pt` -> `model.decoder.npz`."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + SUFFIX)


def file_digest(path: str | Path) -> str:
    """sha256 of a file: ties an exported decoder to the exact model file it came from."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save(path: str | Path, decoder: Decoder, card: dict, model_digest: str) -> Path:
    """Write `decoder` and the model's card (plain arrays, no pickle) atomically."""
    arrays, layout = decoder.arrays()
    meta = {"format": FORMAT, "card": card, "layout": layout, "model_sha256": model_digest}
    path = Path(path)
    with atomic.atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta)), **arrays)
    return path


def load(path: str | Path) -> tuple[Decoder, dict, str]:
    """(decoder, model card, sha256 of the model file it was exported from);
    EvodrumError naming the file if it is not an exported decoder."""
    try:
        data = npyfile.load_npz(path, text=("meta",))
        meta = json.loads(str(data["meta"]))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError(f"format {meta.get('format') if isinstance(meta, dict) else None}"
                             f", expected {FORMAT}")
        arrays = {k: v for k, v in data.items() if k != "meta"}
        return Decoder.from_arrays(arrays, meta["layout"]), dict(meta["card"]), \
            str(meta["model_sha256"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            RecursionError, zipfile.BadZipFile) as e:
        raise EvodrumError(f"{path}: not an exported decoder ({e})") from None


def export(model_path: str | Path) -> Path:
    """Export the decoder of an existing model file (imports torch); returns its path."""
    from vae.files import load_vae
    model = load_vae(model_path)
    return save(decoder_path(model_path), model.exported_decoder(), model.card,
                file_digest(model_path))


class NumpyDecoding(Representation):
    """Decoding through a `Decoder`: thresholded hits (on logits: sigmoid(x) >= t is
    x >= logit(t)), velocities from the velocity head (the hit head for the paper
    model). Subclasses set `decoder`, `spec`, `zdim`, `card`, `hit_threshold`."""

    decoder: Decoder

    def thresholds_changed(self) -> None:
        """Hit probability thresholds as logits, one per cell of a flattened grid
        (`hit_cut`: a cell is a hit where its logit is at least this)."""
        cut = np.repeat([logit(t) for t in self.hit_threshold], self.spec.steps)
        self.hit_cut = cut.astype(np.float32)

    def _chunks(self, z: np.ndarray, fn) -> np.ndarray:
        z = self.check_latent(z)
        out = np.empty((len(z), self.spec.shape[0] * self.spec.steps), np.float32)
        for start in range(0, len(z), CHUNK):
            out[start:start + CHUNK] = fn(z[start:start + CHUNK])
        return out.reshape(len(z), *self.spec.shape)

    def _velocity_logits(self, h: np.ndarray, hit: np.ndarray) -> np.ndarray:
        return self.decoder.head("velocity", h) if "velocity" in self.decoder.heads else hit

    def _velocities(self, h: np.ndarray, hit: np.ndarray) -> np.ndarray:
        """Each cell's velocity if played, from the trunk's `h` and the hit logits (never
        below the softest level): what `decode` and a take give a played cell."""
        return np.maximum(sigmoid(self._velocity_logits(h, hit)), MIN_VELOCITY)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Grids (N, 9, S) float32 for latent vectors (N, zdim): thresholded hits, velocities."""
        def chunk(z):
            h = self.decoder.hidden(z)
            hit = self.decoder.head("hits", h)
            return np.where(hit >= self.hit_cut, self._velocities(h, hit), 0)
        return self._chunks(z, chunk)

    def decode_hits(self, z: np.ndarray) -> np.ndarray:
        """Onsets only, as 0/1 grids (N, 9, S) float32: the hit head alone, what a search
        scores (its features and judges read onsets); the same hits as `decode`."""
        return self._chunks(z, lambda z: self.decoder.head("hits", self.decoder.hidden(z))
                            >= self.hit_cut)

    def decode_scores(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hit probability, velocity), each (N, 9, S), before thresholding."""
        z = self.check_latent(z)
        h = self.decoder.hidden(z)
        hit = self.decoder.head("hits", h)
        shape = (len(z), *self.spec.shape)
        return (sigmoid(hit).reshape(shape).astype(np.float32),
                sigmoid(self._velocity_logits(h, hit)).reshape(shape).astype(np.float32))


class DecoderModel(Playing, NumpyDecoding):
    """A VAE as its exported decoder: decodes, samples its learned prior and plays its
    feel without torch. Encoding (and anything else needing the network) loads the
    torch model from `source` on first use."""

    def __init__(self, decoder: Decoder, card: dict, source: Path):
        self.decoder, self.card, self.source = decoder, card, Path(source)
        self.learned_parts(*from_extras(decoder.extras))
        self._pattern = pattern_arrays(decoder.extras)
        self.spec = GridSpec.from_dict(card["spec"])
        self.zdim = decoder.zdim
        self.latent_std = np.ones(self.zdim, dtype=np.float32)
        self._torch_model = None
        if decoder.head("hits", decoder.hidden(np.zeros((1, self.zdim), np.float32))).shape[1] \
                != self.spec.shape[0] * self.spec.steps:
            raise ValueError(f"decoder output does not fit {self.spec.describe()}")
        self.hit_threshold = card.get("hit_threshold", 0.5)

    @property
    def kind(self) -> str:
        return str(self.card.get("kind", "twohead"))

    def torch_model(self):
        """The full torch model this decoder was exported from (imports torch)."""
        if self._torch_model is None:
            from vae.files import load_vae
            self._torch_model = load_vae(self.source)
            self._torch_model.hit_threshold = self.hit_threshold
        return self._torch_model

    @property
    def network(self):
        return self.torch_model().network

    def encode(self, grids: np.ndarray) -> np.ndarray:
        return self.torch_model().encode(grids)

    def posterior(self, grids: np.ndarray, offsets: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
        return self.torch_model().posterior(grids, offsets)

    def posterior_of_pattern(self, grids: np.ndarray) -> np.ndarray:
        """Codes of bare patterns through the exported encoder columns (no torch), else
        through the torch model."""
        if self._pattern is None:
            return self.torch_model().posterior_of_pattern(grids)
        hits = (self.flat_grids(grids) > 0).astype(np.float32)
        return pattern_means(self._pattern, hits)


def load_decode_only(model_path: str | Path) -> DecoderModel | None:
    """The model at `model_path` as its exported decoder, or None when there is none
    or it was exported from another version of the file (the caller loads torch)."""
    path = decoder_path(model_path)
    if not path.is_file():
        return None
    decoder, card, digest = load(path)
    if digest != file_digest(model_path):
        return None
    try:
        return DecoderModel(decoder, card, Path(model_path))
    except (KeyError, TypeError, ValueError) as e:
        raise EvodrumError(f"{path}: not an exported decoder ({e})") from None
