"""The loss refinement minimises and its gradient, by hand, through the numpy decoder.

For codes z (N, zdim) and the loops' onsets y (N, cells) the loss is the hit
head's binary cross-entropy, summed over cells, plus a prior term:

    loss(z) = sum_c -[w_hit y log s_c + w_miss (1 - y) log(1 - s_c)]
              + prior_weight * |z|^2 / 2,      s_c = sigmoid((x_c - cut_c) / T)

where x = the hit logits of decode(z). With cut = 0 and T = 1 it is the likelihood
the model was trained on; cut = the decoder's own thresholds (as logits) centres it
where a cell becomes a hit, and T < 1 sharpens it there, nearer to counting wrong
onsets. The gradient is back-propagated through the decoder's layers (the trunk,
then the hit head), two matrix products per layer, vectorised over the batch: no
autograd graph, no torch.
"""
from __future__ import annotations

import numpy as np

from vae.decoder import Decoder, Layer


class HitLoss:
    """The refinement loss of one batch of loops (onsets `hits`, (N, cells) 0/1)."""

    def __init__(self, decoder: Decoder, hits: np.ndarray, prior_weight: float = 1.0,
                 hit_weight: float = 1.0, miss_weight: float = 1.0,
                 cut: np.ndarray | float = 0.0, temperature: float = 1.0):
        self.layers: list[Layer] = [*decoder.trunk, *decoder.heads["hits"]]
        for layer in self.layers:
            if layer.activation not in DERIVATIVES:
                raise ValueError(f"no derivative for activation {layer.activation!r}")
        self.transposed = [layer.transposed() for layer in self.layers]
        self.hits = np.asarray(hits, np.float32)
        self.prior_weight = np.float32(prior_weight)
        # d loss / d x = (w s - w_hit y) / T, w the cell's weight; as s = (1 + tanh(u)) / 2
        # with u = k (x - cut), k = 1 / 2T, that is a tanh(k x - k cut) + b per cell.
        weight = np.where(self.hits > 0, hit_weight, miss_weight).astype(np.float32)
        self.k = np.float32(0.5 / temperature)
        self.k_cut = (self.k * np.asarray(cut, np.float32)).astype(np.float32)
        self.a = weight * self.k
        self.b = (0.5 * weight - np.float32(hit_weight) * self.hits) / np.float32(temperature)

    def keep(self, rows: np.ndarray) -> None:
        """Go on with these rows only (a boolean mask or indices into the current batch)."""
        self.hits, self.a, self.b = self.hits[rows], self.a[rows], self.b[rows]

    def logits(self, z: np.ndarray) -> np.ndarray:
        """Hit logits (N, cells) at codes `z`."""
        for layer in self.layers:
            z = layer(z)
        return z

    def logits_and_gradient(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hit logits (N, cells), d loss / d z (N, zdim)) at codes `z`."""
        outputs = []
        x = z
        for layer in self.layers:
            x = layer(x)
            outputs.append(x)
        logits = x
        grad = logits * self.k
        grad -= self.k_cut
        np.tanh(grad, out=grad)
        grad *= self.a
        grad += self.b
        for layer, weight_t, out in zip(reversed(self.layers), reversed(self.transposed),
                                        reversed(outputs)):
            DERIVATIVES[layer.activation](grad, out)
            grad = grad @ weight_t
        grad += self.prior_weight * z
        return logits, grad


def _relu(grad: np.ndarray, out: np.ndarray) -> None:
    grad *= out > 0


def _tanh(grad: np.ndarray, out: np.ndarray) -> None:
    grad *= 1 - out * out


def _sigmoid(grad: np.ndarray, out: np.ndarray) -> None:
    grad *= out * (1 - out)


def _identity(grad: np.ndarray, out: np.ndarray) -> None:
    pass


#: In place: the gradient at a layer's output times its activation's derivative there.
DERIVATIVES = {"relu": _relu, "tanh": _tanh, "sigmoid": _sigmoid, "none": _identity}
