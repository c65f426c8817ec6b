"""A trained VAE as a representation: decode, encode, sample, play with feel.

Decoding goes through the decoder's weights as numpy arrays (`vae.decoder`), the
one genotype -> phenotype map every command and search uses, with or without
torch; encoding runs the torch encoder. The learned prior and the feel
(`vae.playing`) are shared with the torch-free exported decoder.
"""
from __future__ import annotations

import numpy as np
import torch

from evodrum.grid import GridSpec
from vae.decoder import Decoder, NumpyDecoding, logit
from vae.feel import FeelTables
from vae.network import DrumVAE
from vae.playing import Playing, pattern_means
from vae.prior import MixturePrior

__all__ = ["DrumModel", "logit"]


class DrumModel(Playing, NumpyDecoding):
    """A VAE ("paper" or "twohead") with its grid resolution and card; optionally a learned
    sampling prior (`mixture`, vae.prior) and scatter tables (`feel_tables`, vae.feel)."""

    def __init__(self, network: DrumVAE, spec: GridSpec, card: dict,
                 prior: MixturePrior | None = None, tables: FeelTables | None = None):
        arch = network.arch
        if arch.inputs != spec.shape[0] * spec.steps:
            raise ValueError(f"model input size {arch.inputs} does not fit {spec.describe()}")
        self.network = network.eval()
        self.arch = arch
        self.spec = spec
        self.zdim = arch.zdim
        self.latent_std = np.ones(arch.zdim, dtype=np.float32)
        self.card = card
        self.learned_parts(prior, tables)
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

    def posterior(self, grids: np.ndarray, offsets: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and log-variance (N, zdim) each; `offsets` (like the grids) are
        read by an encoder that sees the feel."""
        x = torch.from_numpy(self.flat_grids(grids))
        off = None if offsets is None else torch.from_numpy(
            np.asarray(offsets, np.float32).reshape(x.shape))
        with torch.inference_mode():
            mu, logvar = self.network.encode(x, off)
        return mu.numpy().copy(), logvar.numpy().copy()

    def pattern_encoder(self) -> dict | None:
        """The encoder's onset columns as numpy arrays (vae.playing.pattern_means), for
        encoders that read onsets beside velocities (a bare pattern sets the rest to 0)."""
        if self.arch.encoder_input not in ("both", "feel", "onsets"):
            return None
        net = self.network
        with torch.no_grad():
            w1 = net.enc_hidden.weight[:, :self.arch.inputs].t()
            return {"w1": w1.numpy().copy(), "b1": net.enc_hidden.bias.numpy().copy(),
                    "w2": net.enc_out.weight.t().numpy().copy(),
                    "b2": net.enc_out.bias.numpy().copy()}

    def posterior_of_pattern(self, grids: np.ndarray) -> np.ndarray:
        """Posterior means (N, zdim) of the loops' onsets alone, as for a quantised pattern
        at one velocity (an encoder trained with feel dropout reads the onsets only):
        through the same numpy arrays the exported decoder uses, so both play alike."""
        x = torch.from_numpy(self.flat_grids((np.asarray(grids) > 0).astype(np.float32)))
        arrays = self.pattern_encoder()
        if arrays is not None:
            return pattern_means(arrays, x.numpy())
        with torch.inference_mode():
            mu, _ = self.network.encode(x, None, 0.0)
        return mu.numpy().copy()
