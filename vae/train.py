"""Training a drum VAE: seeded, checkpointed every epoch, resumable bit for bit.

A run folder holds `checkpoint.pt` (weights, Adam state, RNG state, history: what
`--resume` needs), `model.pt` + `model.json` (the epoch with the best validation
loss so far, usable at any time) and `history.csv` (the training curve). All
randomness (initial weights, shuffling, reparameterisation noise) comes from the
seed, so the same seed and data give the same weights, and a resumed run ends
exactly where an uninterrupted one would.
"""
from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from collections.abc import Callable

import numpy as np
import torch

from evodrum import checks
from evodrum.atomic import write_text
from evodrum.errors import EvodrumError
from evodrum.grid import GridSpec, check_grids
from evodrum.kit import KIT_VERSION
from evodrum.statefile import Fields, StateError, parse_json
from vae import metrics
from vae.calibrate import calibrate
from vae.evaluate import CARD_METRICS, measure
from vae.files import (CHECKPOINT_FORMAT, load_torch, load_vae, network_from, parse_card,
                       save_model, save_torch)
from vae.model import DrumModel
from vae.network import Arch, DrumVAE, LossWeights, init_seeded

#: Reparameterisation noise for the validation loss is drawn from this fixed seed,
#: so validation losses of different epochs are comparable.
VALIDATION_SEED = 12345
#: The most epochs a training run records (the CLI's --epochs bound).
MAX_EPOCHS = 100_000


@dataclass(frozen=True)
class TrainConfig:
    """Every choice that changes the trained weights."""

    kind: str = "twohead"
    hidden: int = 400
    zdim: int = 20
    velocity_rank: int = 64
    encoder_input: str = "both"
    offset_rank: int = 64
    beta: float = 0.5       # the KL weight (lambda); the seed paper's 1 coded loops less well
    kl_warmup: int = 0
    free_bits: float = 0.0
    epochs: int = 300
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    patience: int = 0       # epochs without a better validation loss before stopping; 0 = never
    threads: int = 2
    offset_scale: float = 0.3   # Laplace scale of the offset loss, in steps (0.1 cost onset F1)
    feel_dropout: float = 0.25  # share of training loops whose encoder sees the onsets only

    def __post_init__(self):
        """Refuse settings no training could use (NaN rates, negative sizes) before it starts."""
        for name, low, high in (("hidden", 1, 16384), ("zdim", 1, 1024), ("epochs", 1, 100_000),
                                ("batch_size", 1, 65_536), ("threads", 1, 256),
                                ("velocity_rank", 0, 4096), ("offset_rank", 0, 4096),
                                ("kl_warmup", 0, 100_000),
                                ("patience", 0, 100_000)):
            checks.integer(getattr(self, name), name, low, high)
        checks.number(self.lr, "lr", 0, 1, low_open=True)
        checks.number(self.beta, "beta", 0, 1000)
        checks.number(self.free_bits, "free_bits", 0, 100)
        checks.number(self.offset_scale, "offset_scale", 0, 10, low_open=True)
        checks.number(self.feel_dropout, "feel_dropout", 0, 1, high_open=True)
        checks.seed(self.seed)
        if self.kind == "paper":   # the paper model has neither velocity nor offset head
            object.__setattr__(self, "velocity_rank", 0)
            object.__setattr__(self, "offset_rank", 0)

    def arch(self, spec: GridSpec) -> Arch:
        return Arch(self.kind, spec.shape[0] * spec.steps, self.hidden, self.zdim,
                    self.velocity_rank, self.encoder_input, self.offset_rank)

    def loss_weights(self) -> LossWeights:
        return LossWeights(self.beta, self.kl_warmup, self.free_bits, self.offset_scale,
                           self.feel_dropout)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """Settings from a card; a setting older cards lack takes the value those runs used."""
        names = {f.name for f in fields(cls)}
        return cls(**{**LEGACY, **{k: v for k, v in d.items() if k in names}})


#: What runs made before a setting existed used: no offset head, velocities in, no dropout.
LEGACY = {"encoder_input": "velocity", "offset_rank": 0, "feel_dropout": 0.0}


@dataclass
class SavedRun:
    """What a run folder's checkpoint says about how it was trained."""

    config: TrainConfig
    corpus: dict
    epochs_done: int


def card_config(path: Path, card: dict) -> TrainConfig:
    """The training settings a checkpoint's card records; EvodrumError if it has none."""
    try:
        return TrainConfig.from_dict(card["training"]["config"])
    except (KeyError, TypeError, ValueError) as e:
        raise EvodrumError(f"{path}: checkpoint card has no valid training settings ({e})") \
            from None


def saved_config(folder: str | Path) -> SavedRun:
    """The settings and corpus of the run in `folder`, read from its checkpoint."""
    path = Path(folder) / "checkpoint.pt"
    card = parse_card(path, load_torch(path, CHECKPOINT_FORMAT).get("card"))
    config = card_config(path, card)
    return SavedRun(config, card.get("corpus", {}), int(card["training"].get("epochs_done", 0)))


def adam_state(saved, optimizer: torch.optim.Adam) -> dict:
    """A checkpoint's Adam state, checked against `optimizer`'s parameters (StateError
    naming the entry): each moment finite and of its parameter's shape, the second never
    below 0, a step count of at least 0. The settings (learning rate, betas, ...) are the
    run's own, never the file's: torch would take a NaN learning rate from it."""
    fresh = optimizer.state_dict()["param_groups"][0]
    groups = saved.get("param_groups") if isinstance(saved, dict) else None
    if not (isinstance(groups, list) and len(groups) == 1 and isinstance(groups[0], dict)
            and isinstance(saved.get("state"), dict)):
        raise StateError("optimizer", "must be Adam's state with one parameter group")
    if groups[0].get("params") != fresh["params"]:
        raise StateError("optimizer.param_groups[0].params",
                         f"must number the network's {len(fresh['params'])} parameters")
    shapes = [p.shape for p in optimizer.param_groups[0]["params"]]
    for key, entry in saved["state"].items():
        where = f"optimizer.state[{key!r}]"
        if not (type(key) is int and 0 <= key < len(shapes) and isinstance(entry, dict)
                and set(entry) == {"step", "exp_avg", "exp_avg_sq"}):
            raise StateError(where, "must hold Adam's step, exp_avg and exp_avg_sq of a "
                             "parameter")
        step = torch.as_tensor(entry["step"]) if isinstance(
            entry["step"], (int, float, torch.Tensor)) else None
        if step is None or step.numel() != 1 or not torch.isfinite(step.double()).all() \
                or step.item() < 0:
            raise StateError(f"{where}.step", "must be a count of steps, at least 0")
        for name in ("exp_avg", "exp_avg_sq"):
            moment = entry[name]
            if not isinstance(moment, torch.Tensor) or not moment.is_floating_point() \
                    or moment.shape != shapes[key]:
                raise StateError(f"{where}.{name}", "must be floating-point numbers of shape "
                                 f"{tuple(shapes[key])}")
            if not torch.isfinite(moment).all() or (name == "exp_avg_sq" and (moment < 0).any()):
                raise StateError(f"{where}.{name}", "must hold finite numbers"
                                 + (", none below 0" if name == "exp_avg_sq" else ""))
    return {"state": saved["state"], "param_groups": [fresh]}


@dataclass
class TrainResult:
    model: DrumModel
    history: list[dict]
    folder: Path
    best_epoch: int
    stopped_early: bool
    seconds: float


def _tensor(grids: np.ndarray, spec: GridSpec, what: str) -> torch.Tensor:
    """Training data as a flat tensor; EvodrumError for an empty batch or bad values."""
    try:
        arr = check_grids(grids, spec)
    except ValueError as e:
        raise EvodrumError(f"{what} grids: {e}") from None
    if len(arr) == 0:
        raise EvodrumError(f"{what} grids: the batch is empty")
    return torch.from_numpy(np.ascontiguousarray(arr.reshape(len(arr), -1)))


def _offsets(offsets: np.ndarray | None, x: torch.Tensor, what: str) -> torch.Tensor | None:
    """Timing offsets matching the flat grids `x`, 0 off the hits; None when not given."""
    if offsets is None:
        return None
    arr = np.asarray(offsets, np.float32).reshape(len(offsets), -1)
    if arr.shape != tuple(x.shape) or not np.isfinite(arr).all() or np.abs(arr).max(initial=0) > 0.5:
        raise EvodrumError(f"{what} offsets: expected {tuple(x.shape)} finite steps within "
                           f"[-0.5, 0.5], got {arr.shape}")
    return torch.from_numpy(np.where(x.numpy() > 0, arr, 0).astype(np.float32))


def validation_terms(net: DrumVAE, x: torch.Tensor, weights: LossWeights,
                     offsets: torch.Tensor | None = None) -> dict[str, float]:
    """Loss terms on held-out loops at the full KL weight (and no feel dropout), plus onset
    F1 of posterior means."""
    net.eval()
    gen = torch.Generator().manual_seed(VALIDATION_SEED)
    with torch.inference_mode():
        terms = net.loss(x, LossWeights(weights.beta, offset_scale=weights.offset_scale), 0,
                         gen, offsets)
        mu, _ = net.encode(x, offsets)
        out = net.decode_logits(mu)
        hit = out[:, :net.arch.inputs]
        f1 = metrics.onset_scores(x.numpy(), (hit >= 0).numpy())["f1"]
    net.train()
    return {**{k: float(v) for k, v in terms.items()}, "f1": f1}


def history_csv(history: list[dict]) -> str:
    """The training curve as CSV text, one row per finished epoch."""
    buf = io.StringIO()
    keys = list(dict.fromkeys(k for row in history for k in row))
    writer = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


class Trainer:
    """One training run in a folder: start fresh or resume from its checkpoint."""

    def __init__(self, folder: str | Path, train: np.ndarray, validation: np.ndarray,
                 spec: GridSpec, config: TrainConfig, data_card: dict | None = None,
                 resume: bool = False, train_offsets: np.ndarray | None = None,
                 validation_offsets: np.ndarray | None = None):
        """`train_offsets`/`validation_offsets` (like the grids, steps within [-0.5, 0.5])
        are what the offset head learns; a model with one needs them."""
        self.folder = Path(folder)
        self.checkpoint_path = self.folder / "checkpoint.pt"
        self.spec = spec
        self.x = _tensor(train, spec, "training")
        self.xval = _tensor(validation, spec, "validation")
        self.offsets = _offsets(train_offsets, self.x, "training")
        self.offsets_val = _offsets(validation_offsets, self.xval, "validation")
        if config.offset_rank and config.kind != "paper" and (
                self.offsets is None or self.offsets_val is None):
            raise EvodrumError("a model with an offset head needs the loops' timing offsets "
                               "(train and validation)")
        self.data_card = dict(data_card or {})
        self.generator = torch.Generator()
        if resume:
            self._restore(config)
        else:
            if self.checkpoint_path.exists():
                raise EvodrumError(f"{self.folder}: already holds a training run; "
                                   "continue it with --resume or choose another --out")
            self.config = config
            self.net = init_seeded(config.arch(spec), config.seed)
            self.generator.manual_seed(config.seed)
            self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr)
            self.history: list[dict] = []
            self.best_loss = float("inf")
            self.best_epoch = -1
            self.seconds = 0.0

    # --- checkpoint ------------------------------------------------------

    def _restore(self, config: TrainConfig) -> None:
        payload = load_torch(self.checkpoint_path, CHECKPOINT_FORMAT)
        card = parse_card(self.checkpoint_path, payload.get("card"))
        saved = card_config(self.checkpoint_path, card)
        if {**saved.to_dict(), "epochs": 0} != {**config.to_dict(), "epochs": 0}:
            changed = [k for k, v in saved.to_dict().items()
                       if k != "epochs" and getattr(config, k) != v]
            raise EvodrumError(f"{self.checkpoint_path}: --resume with different settings "
                               f"({', '.join(changed)}); only --epochs may change")
        if GridSpec.from_dict(card["spec"]) != self.spec:
            raise EvodrumError(f"{self.checkpoint_path}: trained at another grid resolution")
        saved_hash = card.get("corpus", {}).get("manifest_hash")
        if saved_hash and saved_hash != self.data_card.get("manifest_hash"):
            raise EvodrumError(f"{self.checkpoint_path}: trained on another corpus "
                               f"({saved_hash}); resume with the same corpus")
        self.config = config
        self.net = network_from(self.checkpoint_path, card, payload.get("weights"))
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        try:
            self.optimizer.load_state_dict(adam_state(payload.get("optimizer"), self.optimizer))
            self.generator.set_state(payload["generator"])
            state = Fields(parse_json(payload["progress"], self.checkpoint_path,
                                      "training progress"), "progress")
            epochs = state.tables("history", MAX_EPOCHS)
            for epoch in epochs:            # one row of finite numbers per epoch trained
                for name in epoch.data:
                    epoch.number(name)
            self.history = [epoch.data for epoch in epochs]
            self.best_loss = state.number("best_loss")
            self.best_epoch = state.integer("best_epoch", -1, max(len(self.history) - 1, -1))
            self.seconds = state.number("seconds", 0)
        except (KeyError, TypeError, ValueError, RuntimeError, StateError) as e:
            raise EvodrumError(f"{self.checkpoint_path}: damaged checkpoint, cannot resume "
                               f"({e})") from None

    def card(self, **extra) -> dict:
        """The card shared by checkpoint and model files."""
        return {
            # the run folder in the name, so a model you trained never reads as the shipped one
            "name": (f"{self.config.kind}-z{self.config.zdim}-h{self.config.hidden} "
                     f"({self.folder.name})"),
            "kind": self.config.kind, "arch": self.config.arch(self.spec).to_dict(),
            "spec": self.spec.to_dict(), "kit": KIT_VERSION, "corpus": self.data_card,
            **({"credits": self.data_card["credits"]} if "credits" in self.data_card else {}),
            "training": {"config": self.config.to_dict(), "epochs_done": len(self.history),
                         "best_epoch": self.best_epoch + 1, "seconds": round(self.seconds, 2),
                         "torch": torch.__version__},
            **extra,
        }

    def _save_checkpoint(self) -> None:
        progress = {"history": self.history, "best_loss": self.best_loss,
                    "best_epoch": self.best_epoch, "seconds": self.seconds}
        save_torch(self.checkpoint_path, {
            "format": CHECKPOINT_FORMAT, "card": json.dumps(self.card()),
            "weights": {k: v.detach().clone() for k, v in self.net.state_dict().items()},
            "optimizer": self.optimizer.state_dict(), "generator": self.generator.get_state(),
            "progress": json.dumps(progress)})
        write_text(self.folder / "history.csv", history_csv(self.history))

    def _save_best(self, row: dict) -> None:
        val = {k[4:]: v for k, v in row.items() if k.startswith("val_")}
        model = DrumModel(self.net, self.spec, self.card(metrics={"validation": val}))
        save_model(self.folder / "model.pt", model)
        self.net.train()

    # --- training --------------------------------------------------------

    def run(self, on_epoch: Callable[[dict], None] | None = None) -> TrainResult:
        """Train until `config.epochs` (or early stop); every finished epoch is checkpointed."""
        threads = torch.get_num_threads()
        torch.set_num_threads(self.config.threads)
        try:
            stopped = self._epochs(on_epoch)
        finally:
            torch.set_num_threads(threads)
        model = self.best_model()
        return TrainResult(model, self.history, self.folder, self.best_epoch + 1, stopped,
                           self.seconds)

    def _epochs(self, on_epoch) -> bool:
        cfg, weights, n = self.config, self.config.loss_weights(), len(self.x)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.net.train()
        for epoch in range(len(self.history), cfg.epochs):
            if cfg.patience and epoch - self.best_epoch > cfg.patience:
                return True
            start = time.perf_counter()
            perm = torch.randperm(n, generator=self.generator)
            sums: dict[str, torch.Tensor] = {}
            for i in range(0, n, cfg.batch_size):
                idx = perm[i:i + cfg.batch_size]
                terms = self.net.loss(self.x[idx], weights, epoch, self.generator,
                                      None if self.offsets is None else self.offsets[idx])
                self.optimizer.zero_grad(set_to_none=True)
                terms["loss"].backward()
                self.optimizer.step()
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + v.detach() * len(idx)
            self.seconds += time.perf_counter() - start
            val = validation_terms(self.net, self.xval, weights, self.offsets_val)
            row = {"epoch": epoch + 1, "beta": weights.beta_at(epoch),
                   **{k: float(v) / n for k, v in sums.items()},
                   **{f"val_{k}": v for k, v in val.items()},
                   "seconds": time.perf_counter() - start}
            self.history.append(row)
            if val["loss"] < self.best_loss:
                self.best_loss, self.best_epoch = val["loss"], epoch
                self._save_best(row)
            self._save_checkpoint()
            if on_epoch:
                on_epoch(row)
        return False

    def best_model(self) -> DrumModel:
        """The model with the best validation loss, as saved in the run folder."""
        return load_vae(self.folder / "model.pt")


def finish(result: TrainResult, validation: np.ndarray, reference: np.ndarray,
           test: np.ndarray | None = None, threshold: str | None = None, *,
           reference_offsets: np.ndarray | None = None, reference_bpm: np.ndarray | None = None,
           prior: bool = True) -> DrumModel:
    """Fit the best model's learned parts on the training loops (`fit_learned_parts`),
    record its test metrics in its card and save it in the run folder."""
    model = result.model
    fit_learned_parts(model, validation, reference, threshold, reference_offsets=reference_offsets,
                      reference_bpm=reference_bpm, prior=prior)
    training = dict(model.card.get("training", {}), epochs_done=len(result.history),
                    seconds=round(result.seconds, 2))
    model.card = dict(model.card, training=training)
    record_test(model, test, reference)
    save_model(result.folder / "model.pt", model)
    return model


def refit(model: DrumModel, folder: Path, source: str, data_card: dict,
          validation: np.ndarray, reference: np.ndarray, test: np.ndarray | None = None,
          threshold: str | None = None, *, reference_offsets: np.ndarray | None = None,
          reference_bpm: np.ndarray | None = None) -> DrumModel:
    """An existing model's learned parts and thresholds fitted anew (`fit_learned_parts`)
    on another corpus's loops, its card saying so, saved as model.pt in `folder`. The
    card's benchmark figures (metrics.feel) were measured with the old parts, so they
    are not carried over; the test metrics are measured again."""
    fit_learned_parts(model, validation, reference, threshold,
                      reference_offsets=reference_offsets, reference_bpm=reference_bpm)
    model.card = dict(model.card, name=f"{model.name.split(' (')[0]} ({folder.name})",
                      refit={"from": source, "corpus": data_card},
                      metrics={k: v for k, v in model.card.get("metrics", {}).items()
                               if k != "feel"})
    record_test(model, test, reference)
    save_model(folder / "model.pt", model)
    return model


def fit_learned_parts(model: DrumModel, validation: np.ndarray, reference: np.ndarray,
                      threshold: str | None = None, *, reference_offsets: np.ndarray | None = None,
                      reference_bpm: np.ndarray | None = None, prior: bool = True) -> DrumModel:
    """Fit a model's learned prior and feel tables on the training loops (`reference`, with
    their offsets and tempos) and set its hit thresholds: what training ends with, and
    what `evodrum train --refit` redoes for an existing model.

    The prior (vae.prior, unless `prior` is False) is a mixture fitted to the training
    loops' aggregate posterior, and becomes the model's default prior before thresholds
    are set, so they are calibrated on samples of the prior actually used. `threshold` is
    a vae.calibrate method; by default the two-head model matches the corpus
    (`reference`) hit density per row of prior samples, and the paper model takes the
    best onset F1 on `validation` (at 0.5 its single sigmoid misses most hits).
    (`python -m benchmarks.playability` measures the alternatives tried: more
    components, temperatures, the aggregate posterior itself, per-position thresholds.)
    """
    from vae import feel, prior as learned
    extra = {}
    if prior:
        mu, logvar = model.posterior(reference, reference_offsets)
        model.mixture = learned.fit(mu, logvar)
        model.prior = "learned"
        extra["prior"] = {"kind": "gaussian-mixture", "components": model.mixture.components,
                          "covariance": "full", "fitted_on": "aggregate posterior of the "
                          f"{len(reference)} training loops (2 draws each), scikit-learn EM"}
    if model.arch.offset_rank and reference_offsets is not None and reference_bpm is not None:
        model.feel_tables = feel_tables_for(model, reference, reference_offsets, reference_bpm)
        extra["feel"] = {"tempo_bands": feel.band_names(), "fitted_on":
                         f"residuals of the {len(reference)} training loops' hits, encoded "
                         "as bare patterns"}
    calibrate(model, threshold or ("f1" if model.kind == "paper" else "density"),
              validation, reference)
    model.card = dict(model.card, **extra)
    return model


def record_test(model: DrumModel, test: np.ndarray | None, reference: np.ndarray) -> None:
    """Measure the model on the `test` loops (when given) into its card's metrics: recorded,
    never used for choices."""
    card_metrics = dict(model.card.get("metrics", {}))
    if test is not None:
        row = measure(model, test, reference)
        card_metrics["test"] = {k: row[k] for k in CARD_METRICS if k in row}
    model.card = dict(model.card, metrics=card_metrics)


def feel_tables_for(model: DrumModel, grids: np.ndarray, offsets: np.ndarray,
                    bpm: np.ndarray):
    """Scatter tables (vae.feel) from the real feel of `grids` around the model's expected
    feel for their bare patterns (what `DrumModel.feel` predicts)."""
    from vae import feel
    hits = np.asarray(grids) > 0
    velocity, offset = model.expected_feel(model.posterior_of_pattern(grids))
    return feel.fit_tables(hits, grids, offsets, velocity, offset, bpm)
