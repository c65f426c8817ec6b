"""A trained VAE as a representation: decode, encode, sample.

Decoding goes through the decoder's weights as numpy arrays (`vae.decoder`), the
one genotype -> phenotype map every command and search uses, with or without
torch; encoding runs the torch encoder.
"""
from __future__ import annotations

import numpy as np
import torch

from evodrum.grid import GridSpec
from vae.decoder import Decoder, NumpyDecoding, logit
from vae.network import DrumVAE

__all__ = ["DrumModel", "logit"]


class DrumModel(NumpyDecoding):
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

    def refresh(self) -> None:
        """Copy the decoder weights into the numpy decoder (after training changes them)."""
        with torch.no_grad():
            self.decoder = Decoder.from_network(self.network)

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

