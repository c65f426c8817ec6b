"""The torch networks: McDermott's (2018) dense VAE and evodrum's two-head variant.

Both share the paper's encoder (input -> h ReLU -> mu, log-var) and decoder trunk
(z -> h ReLU). The paper's decoder ends in one sigmoid per cell that is both "is
there a hit" and "how loud", which leaves soft ghost notes wherever the model is
unsure. The two-head decoder separates them: a Bernoulli hit head (BCE on onsets)
and a velocity head trained only on cells that hold a hit. A third, optional
head predicts each hit's timing offset (a signed fraction of a step in
(-0.5, 0.5), trained with an L1 loss on hit cells only): the model's feel.

An encoder that sees velocities (and offsets) beside the onsets is trained with
"feel dropout": for a share of loops those channels are zeroed, so the same
encoder also codes a bare pattern (a quantised loop at one velocity) and the
decoder's heads then predict a feel for it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

KINDS = ("twohead", "paper")
#: What the encoder sees: velocities (the paper), onsets only, onsets and velocities side by
#: side, or onsets, velocities and timing offsets ("feel").
ENCODER_INPUTS = ("velocity", "onsets", "both", "feel")
#: Inputs per cell the encoder reads, by encoder input.
ENCODER_WIDTH = {"velocity": 1, "onsets": 1, "both": 2, "feel": 3}
#: Offsets live in [-0.5, 0.5) of a step; the head's tanh is scaled to this.
OFFSET_RANGE = 0.5


@dataclass(frozen=True)
class Arch:
    """What fixes the shapes of the weights: model kind, input size, hidden and latent size."""

    kind: str = "twohead"
    inputs: int = 576
    hidden: int = 400
    zdim: int = 20
    velocity_rank: int = 64   # twohead: rank of the velocity head (0 = a full h x inputs layer)
    encoder_input: str = "velocity"   # one of ENCODER_INPUTS
    offset_rank: int = 0      # twohead: rank of the timing-offset head (0 = no offset head)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown model kind {self.kind!r}: use one of {', '.join(KINDS)}")
        if self.encoder_input not in ENCODER_INPUTS:
            raise ValueError(f"unknown encoder input {self.encoder_input!r}: use one of "
                             f"{', '.join(ENCODER_INPUTS)}")
        if min(self.inputs, self.hidden, self.zdim) < 1 or min(self.velocity_rank,
                                                               self.offset_rank) < 0:
            raise ValueError("inputs, hidden and zdim must be positive, velocity_rank and "
                             "offset_rank >= 0")
        if self.kind == "paper":   # the paper model has neither velocity nor offset head
            object.__setattr__(self, "velocity_rank", 0)
            object.__setattr__(self, "offset_rank", 0)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Arch:
        return cls(str(d["kind"]), int(d["inputs"]), int(d["hidden"]), int(d["zdim"]),
                   int(d.get("velocity_rank", 0)), str(d.get("encoder_input", "velocity")),
                   int(d.get("offset_rank", 0)))


@dataclass(frozen=True)
class LossWeights:
    """How the loss is put together: KL weight (lambda), optional warm-up and free bits."""

    beta: float = 1.0          # lambda in the paper
    kl_warmup: int = 0         # epochs over which the KL weight ramps from 0 to beta
    free_bits: float = 0.0     # nats per latent dimension that cost nothing (batch mean)
    offset_scale: float = 0.3  # L1 offset loss per hit = |error| / offset_scale (Laplace scale)
    feel_dropout: float = 0.0  # share of loops whose velocity/offset inputs the encoder loses

    def beta_at(self, epoch: int) -> float:
        """KL weight during `epoch` (0-based)."""
        if self.kl_warmup <= 0:
            return self.beta
        return self.beta * min(1.0, (epoch + 1) / self.kl_warmup)


class DrumVAE(nn.Module):
    """Dense VAE over flattened grids (N, inputs) of velocities in [0, 1]."""

    def __init__(self, arch: Arch):
        super().__init__()
        self.arch = arch
        width = ENCODER_WIDTH[arch.encoder_input] * arch.inputs
        self.enc_hidden = nn.Linear(width, arch.hidden)
        self.enc_out = nn.Linear(arch.hidden, 2 * arch.zdim)
        self.dec_hidden = nn.Linear(arch.zdim, arch.hidden)
        self.dec_out = nn.Linear(arch.hidden, arch.inputs)
        if arch.kind == "twohead":
            # Dynamics (accents, per-instrument loudness) are smooth, so a low-rank
            # head loses little and makes decoding much cheaper than a full layer.
            self.velocity = (nn.Sequential(nn.Linear(arch.hidden, arch.velocity_rank, bias=False),
                                           nn.Linear(arch.velocity_rank, arch.inputs))
                             if arch.velocity_rank else
                             nn.Sequential(nn.Linear(arch.hidden, arch.inputs)))
        if arch.offset_rank:
            self.offset = nn.Sequential(nn.Linear(arch.hidden, arch.offset_rank, bias=False),
                                        nn.Linear(arch.offset_rank, arch.inputs))

    def encode(self, x: torch.Tensor, offsets: torch.Tensor | None = None,
               known: torch.Tensor | float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance of velocities `x` (N, inputs).

        `offsets` (N, inputs) feed a "feel" encoder (zeros when not given); `known`
        (N, 1) or a number is 0 for loops whose velocities and offsets are unknown (a
        bare pattern: the encoder then reads only the onsets, as trained by feel dropout).
        """
        mode = self.arch.encoder_input
        if mode != "velocity":
            hits = (x > 0).to(x.dtype)
            if mode == "onsets":
                x = hits
            elif mode == "both":
                x = torch.cat([hits, x * known], dim=-1)
            else:
                offsets = torch.zeros_like(x) if offsets is None else offsets
                x = torch.cat([hits, x * known, offsets * hits * known], dim=-1)
        mu, logvar = self.enc_out(F.relu(self.enc_hidden(x))).chunk(2, dim=-1)
        return mu, logvar

    def decoder_heads(self) -> dict[str, nn.Module]:
        """The decoder's heads by name, each from the trunk's hidden layer to logits
        per cell: what `vae.decoder` exports as numpy arrays ("hits" is what a search
        decodes; a model with another head lists it here)."""
        heads = {"hits": self.dec_out}
        if self.arch.kind == "twohead":
            heads["velocity"] = self.velocity
        if self.arch.offset_rank:
            heads["timing"] = self.offset   # tanh logits: offset = 0.5 * tanh(timing)
        return heads

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder pre-activations (N, inputs); for twohead (N, 2 * inputs): [hit | velocity]."""
        h = F.relu(self.dec_hidden(z))
        if self.arch.kind == "paper":
            return self.dec_out(h)
        return torch.cat([self.dec_out(h), self.velocity(h)], dim=-1)

    def decode_offsets(self, z: torch.Tensor) -> torch.Tensor:
        """Expected timing offset of every cell (N, inputs), in steps within (-0.5, 0.5)."""
        h = F.relu(self.dec_hidden(z))
        return OFFSET_RANGE * torch.tanh(self.offset(h))

    def loss(self, x: torch.Tensor, weights: LossWeights, epoch: int,
             generator: torch.Generator | None = None,
             offsets: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Per-loop mean loss terms for a batch; 'loss' is what is minimised.

        `offsets` (N, inputs): the loops' timing offsets, for the offset head's loss
        and a feel encoder's input."""
        known = 1.0
        if weights.feel_dropout > 0 and self.arch.encoder_input in ("both", "feel"):
            draw = torch.rand((len(x), 1), generator=generator, dtype=x.dtype)
            known = (draw >= weights.feel_dropout).to(x.dtype)
        mu, logvar = self.encode(x, offsets, known)
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
        z = mu + eps * torch.exp(0.5 * logvar)
        out = self.decode_logits(z)
        terms = reconstruction_terms(self.arch.kind, x, out)
        if self.arch.offset_rank and offsets is not None:
            hits = (x > 0).to(x.dtype)
            error = (self.decode_offsets(z) - offsets).abs() * hits
            terms["offset"] = error.sum() / (len(x) * weights.offset_scale)
            terms["offset_mae"] = error.sum() / hits.sum().clamp(min=1)
            terms["recon"] = terms["recon"] + terms["offset"]
        kl_dims = kl_per_dim(mu, logvar).mean(dim=0)
        kl = kl_dims.sum()
        kl_cost = kl_dims.clamp(min=weights.free_bits).sum() if weights.free_bits > 0 else kl
        terms["kl"] = kl
        terms["loss"] = terms["recon"] + weights.beta_at(epoch) * kl_cost
        return terms


def reconstruction_terms(kind: str, x: torch.Tensor, out: torch.Tensor) -> dict[str, torch.Tensor]:
    """Reconstruction loss (summed over cells, mean over loops) and its parts."""
    n = x.shape[0]
    if kind == "paper":
        bce = F.binary_cross_entropy_with_logits(out, x, reduction="sum") / n
        return {"recon": bce}
    hit_logit, vel_logit = out.chunk(2, dim=-1)
    hits = (x > 0).to(x.dtype)
    hit = F.binary_cross_entropy_with_logits(hit_logit, hits, reduction="sum") / n
    vel = (F.binary_cross_entropy_with_logits(vel_logit, x, reduction="none") * hits).sum() / n
    return {"recon": hit + vel, "hit": hit, "velocity": vel}


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per loop and latent dimension, in nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def init_seeded(arch: Arch, seed: int) -> DrumVAE:
    """A freshly initialised network whose weights depend only on `seed`."""
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        return DrumVAE(arch)
    finally:
        torch.random.set_rng_state(state)

