"""A trained VAE as a representation: fast batched decode, encode, sample.

Decoding is the search's inner loop (whole populations at once), so it bypasses
nn.Module: the decoder weights are kept as contiguous matrices, big batches run
through torch in cache-sized chunks under inference_mode, and tiny batches (a
single loop in the interactive view) go through numpy, which has no per-call
dispatch overhead.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from evodrum.grid import GridSpec
from vae.network import DrumVAE
from vae.representation import MIN_VELOCITY, Representation

#: Batches up to this size decode through numpy, larger ones through torch.
NUMPY_MAX_BATCH = 8
#: Rows per torch chunk: keeps the (chunk, 2 * 576) output in the L2 cache.
CHUNK = 2048


def logit(p: float) -> float:
    """The pre-sigmoid value whose sigmoid is `p` (clipped away from 0 and 1)."""
    p = min(max(float(p), 1e-7), 1 - 1e-7)
    return math.log(p / (1 - p))


class DrumModel(Representation):
    """A VAE ("paper" or "twohead") with its grid resolution and card."""

    def __init__(self, network: DrumVAE, spec: GridSpec, card: dict):
        arch = network.arch
        if arch.inputs != spec.shape[0] * spec.steps:
            raise ValueError(f"model input size {arch.inputs} does not fit {spec.describe()}")
        self.network = network.eval()
        self.arch = arch
        self.spec = spec
        self.zdim = arch.zdim
        self.latent_std = np.ones(arch.zdim, dtype=np.float32)
        self.card = card
        self.refresh()
        self.hit_threshold = card.get("hit_threshold", 0.5)

    @property
    def kind(self) -> str:
        return self.arch.kind

    def thresholds_changed(self) -> None:
        """Hit probability thresholds as logits, one per cell of a flattened grid."""
        cut = np.repeat([logit(t) for t in self.hit_threshold], self.spec.steps)
        self._cut_np = cut.astype(np.float32)
        self._cut_t = torch.from_numpy(self._cut_np)

    def refresh(self) -> None:
        """Copy the decoder weights into the fast-path matrices (after training changes them)."""
        net = self.network

        def mats(layer):
            bias = None if layer.bias is None else layer.bias.detach().clone()
            return layer.weight.detach().t().contiguous(), bias

        with torch.no_grad():
            self._t = [mats(net.dec_hidden), mats(net.dec_out)]
            self._t_vel = [mats(layer) for layer in getattr(net, "velocity", [])]
        self._np = [(w.numpy(), None if b is None else b.numpy()) for w, b in self._t]
        self._np_vel = [(w.numpy(), None if b is None else b.numpy()) for w, b in self._t_vel]

    # --- decoding --------------------------------------------------------

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Grids (N, 9, S) float32 for latent vectors (N, zdim): thresholded hits, velocities."""
        z = self.check_latent(z)
        flat = self._decode_numpy(z) if len(z) <= NUMPY_MAX_BATCH else self._decode_torch(z)
        return flat.reshape(len(z), *self.spec.shape)

    def _decode_numpy(self, z: np.ndarray) -> np.ndarray:
        (w1, b1), (w2, b2) = self._np
        h = z @ w1
        h += b1
        np.maximum(h, 0, out=h)
        hit = h @ w2
        hit += b2
        vel = hit
        if self._np_vel:
            vel = h
            for w, b in self._np_vel:
                vel = vel @ w if b is None else vel @ w + b
        with np.errstate(over="ignore"):
            velocity = np.maximum(1.0 / (1.0 + np.exp(-vel)), MIN_VELOCITY)
        return np.where(hit >= self._cut_np, velocity, 0).astype(np.float32)

    def _decode_torch(self, z: np.ndarray) -> np.ndarray:
        (w1, b1), (w2, b2) = self._t
        zt = torch.from_numpy(z)
        result = torch.empty(len(z), self.arch.inputs)
        zero = torch.zeros(())
        with torch.inference_mode():
            for start in range(0, len(z), CHUNK):
                h = torch.addmm(b1, zt[start:start + CHUNK], w1).relu_()
                hit = torch.addmm(b2, h, w2)
                vel = self._velocity_torch(h).sigmoid_() if self._t_vel else hit.sigmoid()
                torch.where(hit >= self._cut_t, vel.clamp_(min=MIN_VELOCITY), zero,
                            out=result[start:start + CHUNK])
        return result.numpy()

    def _velocity_torch(self, h: torch.Tensor) -> torch.Tensor:
        """Velocity logits of the two-head decoder from its hidden layer."""
        for w, b in self._t_vel:
            h = torch.mm(h, w) if b is None else torch.addmm(b, h, w)
        return h

    def _split(self, out):
        """(hit logits, velocity logits) of the decoder output: shared for the paper model."""
        if self.kind == "paper":
            return out, out
        return out[:, :self.arch.inputs], out[:, self.arch.inputs:]

    def decode_scores(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hit probability, velocity), each (N, 9, S), before thresholding."""
        z = torch.from_numpy(self.check_latent(z))
        with torch.inference_mode():
            hit, vel = self._split(self.network.decode_logits(z))
            shape = (len(z), *self.spec.shape)
            return (hit.sigmoid().reshape(shape).numpy().copy(),
                    vel.sigmoid().reshape(shape).numpy().copy())

    # --- encoding --------------------------------------------------------

    def encode(self, grids: np.ndarray) -> np.ndarray:
        """Posterior means (N, zdim)."""
        return self.posterior(grids)[0]

    def posterior(self, grids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and log-variance (N, zdim) each."""
        x = torch.from_numpy(self.flat_grids(grids))
        with torch.inference_mode():
            mu, logvar = self.network.encode(x)
        return mu.numpy().copy(), logvar.numpy().copy()

