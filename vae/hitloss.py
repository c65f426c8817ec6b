"""The loss refinement minimises and its gradient, by hand, through the numpy decoder.

For codes z (N, zdim) and the loops' onsets y (N, cells) the loss is the hit
head's binary cross-entropy, summed over cells, plus a prior term:

    loss(z) = sum_c -[w_hit y log s(x_c) + w_miss (1 - y) log(1 - s(x_c))]
              + prior_weight * |z|^2 / 2

where x = hit logits of decode(z) and s the sigmoid. Its gradient is back-propagated
through the decoder's layers (the trunk, then the hit head) with two matrix products
per layer, vectorised over the batch: no autograd graph, no torch.
"""
from __future__ import annotations

import numpy as np

from vae.decoder import Decoder, Layer


class HitLoss:
    """The refinement loss of one batch of loops (onsets `hits`, (N, cells) 0/1)."""

    def __init__(self, decoder: Decoder, hits: np.ndarray, prior_weight: float = 1.0,
                 hit_weight: float = 1.0, miss_weight: float = 1.0):
        self.layers: list[Layer] = [*decoder.trunk, *decoder.heads["hits"]]
        for layer in self.layers:
            if layer.activation not in DERIVATIVES:
                raise ValueError(f"no derivative for activation {layer.activation!r}")
        self.hits = np.asarray(hits, np.float32)
        self.prior_weight = np.float32(prior_weight)
        # d loss / d x is w_hit (s - 1) on a hit and w_miss s elsewhere, i.e. w s - w_hit y
        # with w the cell's weight; as s = (1 + tanh(x / 2)) / 2 that is a tanh(x / 2) + b:
        weight = np.where(self.hits > 0, hit_weight, miss_weight).astype(np.float32)
        self.a = 0.5 * weight
        self.b = 0.5 * weight - np.float32(hit_weight) * self.hits

    def keep(self, rows: np.ndarray) -> None:
        """Go on with these loops only (a boolean mask or indices into the current batch)."""
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
        grad = np.tanh(0.5 * logits)
        grad *= self.a
        grad += self.b
        for layer, out in zip(reversed(self.layers), reversed(outputs)):
            DERIVATIVES[layer.activation](grad, out)
            grad = grad @ layer.weight.T
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
