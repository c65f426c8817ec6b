"""What a trained VAE adds to decoding: its learned prior and its feel.

Shared by the torch model (vae.model.DrumModel) and its exported numpy decoder
(vae.decoder.DecoderModel), so searches that never import torch sample the same
prior and play the same feel. The arrays (mixture, scatter tables) travel in the
model file and in the exported decoder's extras under `EXTRAS` names.
"""
from __future__ import annotations

import numpy as np

from evodrum.errors import EvodrumError
from vae import feel as feel_tables
from vae.prior import PRIORS, MixturePrior
from vae.representation import MIN_VELOCITY, sigmoid

#: Names of the learned parts among an exported decoder's extra arrays.
PRIOR_PREFIX, FEEL_PREFIX, PATTERN_PREFIX = "prior.", "feel.", "pattern."
#: The decoder head that predicts timing offsets (tanh logits, scaled to half a step).
TIMING_HEAD = "timing"
#: How closely a take follows the decoder's hit probabilities: a cell of hit probability p
#: is played with probability sigmoid(logit(p) / TAKE_TEMPERATURE): below 1, fewer stray
#: hits and fewer left out.
TAKE_TEMPERATURE = 0.9
#: How much of a cell's draw the bars of a take share (0: every cell drawn on its own; 1:
#: the same draw for a step in every bar): a drummer mostly repeats their soft notes bar to
#: bar. 0.7 and 0.9 above: the most precise takes (nearest real loops) whose playability
#: stays within 8% of the training corpus on average, for the shipped seed and for the
#: three trained seeds' mean (`python -m benchmarks.takes`; runs/feel-model/report.md).
TAKE_BAR_SHARE = 0.7


def extras(mixture: MixturePrior | None, tables: feel_tables.FeelTables | None,
           pattern: dict | None = None) -> dict:
    """The learned parts as named plain arrays (for an exported decoder); `pattern` is the
    pattern encoder's arrays (see `pattern_encoder`)."""
    out = {PATTERN_PREFIX + k: v for k, v in (pattern or {}).items()}
    if mixture is not None:
        out.update({PRIOR_PREFIX + k: v for k, v in mixture.to_arrays().items()})
    if tables is not None:
        out.update({FEEL_PREFIX + k: v for k, v in tables.to_arrays().items()})
    return out


def from_extras(arrays: dict) -> tuple[MixturePrior | None, feel_tables.FeelTables | None]:
    """(mixture, tables) from named arrays; None where absent; ValueError if damaged."""
    def part(prefix):
        found = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
        return found or None
    prior, tables = part(PRIOR_PREFIX), part(FEEL_PREFIX)
    try:
        return (None if prior is None else MixturePrior.from_arrays(prior),
                None if tables is None else feel_tables.FeelTables.from_arrays(tables))
    except KeyError as e:
        raise ValueError(f"missing array {e}") from None


def pattern_means(arrays: dict, hits: np.ndarray) -> np.ndarray:
    """Posterior means of bare patterns, flat onsets (N, inputs), through the encoder's
    onset columns as numpy arrays (`w1` (inputs, h), `b1`, `w2` (h, 2 zdim), `b2`): the
    velocity (and timing) inputs of a pattern are zero, so only these weights count."""
    h = np.maximum(hits @ arrays["w1"] + arrays["b1"], 0)
    out = h @ arrays["w2"] + arrays["b2"]
    return out[:, :out.shape[1] // 2].astype(np.float32)


def pattern_arrays(extras_: dict) -> dict | None:
    """The pattern encoder's arrays among an exported decoder's extras, checked; None when
    the decoder has none."""
    found = {k[len(PATTERN_PREFIX):]: np.asarray(v, np.float32) for k, v in extras_.items()
             if k.startswith(PATTERN_PREFIX)}
    if not found:
        return None
    try:
        w1, b1, w2, b2 = (found[k] for k in ("w1", "b1", "w2", "b2"))
    except KeyError as e:
        raise ValueError(f"pattern encoder lacks {e}") from None
    if w1.ndim != 2 or w2.ndim != 2 or b1.shape != (w1.shape[1],) \
            or w2.shape[0] != w1.shape[1] or b2.shape != (w2.shape[1],):
        raise ValueError("pattern encoder arrays do not fit together")
    if not all(np.isfinite(a).all() for a in found.values()):
        raise ValueError("pattern encoder holds non-finite numbers")
    return found


class Playing:
    """Mixin for a decoding representation with `decoder` (vae.decoder.Decoder), `spec`,
    `zdim`, `name`, `_chunks` and `_velocities` (vae.decoder.NumpyDecoding) and
    `posterior_of_pattern(grids)`: prior choice and sampling, takes, feel."""

    mixture: MixturePrior | None = None
    feel_tables: feel_tables.FeelTables | None = None

    def exported_decoder(self):
        """The decoder with the learned prior and scatter tables among its extra arrays:
        what `vae.decoder` exports beside the model file."""
        return type(self.decoder)(self.decoder.trunk, self.decoder.heads,
                                  {**self.decoder.extras,
                                   **extras(self.mixture, self.feel_tables,
                                            self.pattern_encoder())})

    def pattern_encoder(self) -> dict | None:
        """The arrays `pattern_means` codes bare patterns with (None: none exported)."""
        return None

    def learned_parts(self, mixture, tables) -> None:
        """Attach a learned prior (the default prior from now on) and scatter tables."""
        self.mixture, self.feel_tables = mixture, tables
        self.prior = "learned" if mixture is not None else "normal"

    # --- the prior -------------------------------------------------------

    def use_prior(self, name: str) -> str:
        """Sample from the 'learned' mixture (the default when the model has one) or the
        standard 'normal' prior; returns the prior now in use (a model trained before
        learned priors existed stays normal)."""
        if name not in PRIORS:
            raise ValueError(f"unknown prior {name!r}: use {' or '.join(PRIORS)}")
        self.prior = "normal" if self.mixture is None else name
        return self.prior

    def sample(self, n: int, temperature: float = 1.0,
               rng: np.random.Generator | int | None = None, tidy: bool = False) -> np.ndarray:
        """`n` loops from the prior (codes scaled by `temperature`), as `evodrum sample`
        writes them: takes (see `take`), or with `tidy` each code's likeliest hits."""
        rng = np.random.default_rng(rng)
        z = self.sample_latent(n, temperature, rng)
        return self.decode(z) if tidy or not self.has_takes else self.take(z, rng)

    def sample_latent(self, n: int, temperature: float = 1.0,
                      rng: np.random.Generator | int | None = None,
                      prior: str | None = None) -> np.ndarray:
        """`n` latent vectors from `prior` (None: the one in use, see `use_prior`), scaled by
        `temperature` (for the mixture: each component's spread)."""
        if (prior or self.prior) == "learned" and self.mixture is not None:
            return self.mixture.sample(n, temperature, rng)
        return super().sample_latent(n, temperature, rng)

    # --- takes -----------------------------------------------------------

    @property
    def has_takes(self) -> bool:
        """Whether the hit head gives each cell a probability of being played (a separate
        velocity head); the paper model's single head is a velocity, not a probability."""
        return "velocity" in self.decoder.heads

    def take(self, z: np.ndarray, rng: np.random.Generator | int | None = None,
             temperature: float = TAKE_TEMPERATURE, bar_share: float = TAKE_BAR_SHARE
             ) -> np.ndarray:
        """Grids (N, 9, S): a take of codes (N, zdim). Each cell is played with its decoded
        hit probability (sharpened by `temperature`), where `decode` keeps the likeliest
        cells only: so some bars leave the backbeat out or add a soft note, as drummers do.
        The draws of a step are correlated across bars (`bar_share`), so a take's ghost
        notes mostly repeat. Velocities are `decode`'s; the same `rng` seed, the same take."""
        if not temperature > 0 or not 0 <= bar_share <= 1:
            raise ValueError(f"a take needs a temperature above 0 and a bar share in [0, 1], "
                             f"got {temperature} and {bar_share}")
        if not self.has_takes:
            raise EvodrumError(f"{self.name}: this model can't play takes (its hit head is "
                               "no probability); decode its likeliest hits")
        rng = np.random.default_rng(rng)
        return self._chunks(z, lambda part: self._take_part(part, rng, temperature, bar_share))

    def _take_part(self, z, rng, temperature: float, bar_share: float) -> np.ndarray:
        """`take` of one chunk of codes, as flat grids (N, 9 * S). Each code's normals are
        drawn together (one shared per step of the bar, then one per cell), so a batch drawn
        in parts is the same take as drawn at once."""
        from scipy.special import ndtr
        h = self.decoder.hidden(z)
        hit = self.decoder.head("hits", h)
        played = sigmoid(hit / temperature)
        velocity = self._velocities(h, hit)
        rows, steps = self.spec.shape
        per_bar = self.spec.steps_per_bar
        normals = rng.standard_normal((len(z), rows, steps // per_bar + 1, per_bar))
        shared, own = normals[:, :, :1], normals[:, :, 1:]
        draw = ndtr(np.sqrt(bar_share) * shared + np.sqrt(1 - bar_share) * own)
        hits = draw.reshape(played.shape) < played
        return np.where(hits, velocity, 0.0)

    # --- feel ------------------------------------------------------------

    @property
    def has_feel(self) -> bool:
        """Whether the model predicts timing offsets (a timing head) and has scatter tables."""
        return TIMING_HEAD in self.decoder.heads and self.feel_tables is not None

    def _need_feel(self, scatter: float = 0.0) -> None:
        """EvodrumError unless the model has a timing head (and tables, for scatter)."""
        if TIMING_HEAD not in self.decoder.heads:
            raise EvodrumError(f"{self.name}: this model has no feel (no timing head); "
                               "train one with `evodrum train`, or use the shipped model")
        if scatter and self.feel_tables is None:
            raise EvodrumError(f"{self.name}: this model has no scatter tables; play its "
                               "expected feel (scatter 0)")

    def expected_feel(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(velocity, offset) of every cell (N, 9, S) for codes (N, zdim): the heads' output."""
        self._need_feel()
        z = self.check_latent(z)
        h = self.decoder.hidden(z)
        velocity = 1.0 / (1.0 + np.exp(-np.clip(self.decoder.head("velocity", h), -60, 60)))
        offset = 0.5 * np.tanh(self.decoder.head(TIMING_HEAD, h))
        shape = (len(z), *self.spec.shape)
        return velocity.reshape(shape).astype(np.float32), offset.reshape(shape).astype(np.float32)

    def feel(self, loops, *, bpm, scatter: float = 1.0,
             rng: np.random.Generator | int | None = None, z: np.ndarray | None = None):
        """`loops` (a Loop, or grids (N, 9, S) / (9, S)) played with the model's feel: the
        same hits, velocities and timing offsets from the model (an evodrum.loop.Loop).

        The loops' onsets are encoded as a bare pattern (their own velocities and timing
        are not read) unless codes `z` are given; `scatter` scales the residuals drawn from
        the real spread per row and tempo band (0: the expected feel, 1: as played).
        `bpm` is one tempo or one per loop.
        """
        from evodrum.loop import Loop
        self._need_feel(scatter)
        grids = np.asarray(getattr(loops, "velocities", loops), np.float32)
        one = grids.ndim == 2
        grids = grids[None] if one else grids
        hits = self.flat_grids(grids).reshape(grids.shape) > 0
        z = self.posterior_of_pattern(grids) if z is None else self.check_latent(z)
        velocity, offset = feel_tables.perform(hits, *self.expected_feel(z), bpm,
                                               self.feel_tables, scatter, rng, MIN_VELOCITY)
        return Loop(velocity[0] if one else velocity, offset[0] if one else offset, self.spec)

    def decode_loops(self, z: np.ndarray, *, bpm, scatter: float = 1.0,
                     rng: np.random.Generator | int | None = None):
        """Codes (N, zdim) decoded to Loops with feel: the decoded hits (exactly `decode`'s),
        velocities and offsets from the heads plus `scatter` x real residuals."""
        from evodrum.loop import Loop
        self._need_feel(scatter)
        z = self.check_latent(z)
        hits = self.decode(z) > 0
        velocity, offset = feel_tables.perform(hits, *self.expected_feel(z), bpm,
                                               self.feel_tables, scatter, rng, MIN_VELOCITY)
        return Loop(velocity, offset, self.spec)
