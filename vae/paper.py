"""McDermott (2018)'s experiments, reproduced as one report (markdown, pictures, MIDI).

Figures: samples after 1, 5 and all epochs (Fig. 2); samples from PCA space
(Fig. 3); final loss terms against latent size z and hidden size h (Fig. 4);
latent codes for lambda = 0 vs 1 (Fig. 5); reconstruction of an unseen loop
(Fig. 6); interpolation from (-3, 0, ..., 0) to (+3, 0, ..., 0) (Fig. 7). The
paper's model is shown as the paper played it (its sigmoid output is the
velocity); the shipped two-head model is shown beside it where it applies.
Every training lives in its own run folder under models/, so an interrupted
report resumes where it stopped.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from collections.abc import Callable

import numpy as np

from evodrum import display
from evodrum.atomic import write_text
from evodrum.midi import write_midi
from vae import latent, plot
from vae.files import DEFAULT_MODEL, corpus_card, load_vae
from vae.model import DrumModel
from vae.pca import fit_pca
from vae.train import TrainConfig, Trainer, saved_config

Z_SWEEP = (2, 5, 10, 20, 40)
H_SWEEP = (100, 200, 400, 800)
SNAPSHOT_EPOCHS = (1, 5)
N_SAMPLES = 4


class PaperReport:
    """Collects figures (picture or terminal grids) and text into report.md."""

    def __init__(self, folder: Path, spec, progress: Callable[[str], None]):
        self.folder = folder
        self.spec = spec
        self.progress = progress
        self.parts: list[str] = []
        self.pictures = plot.available()

    def text(self, text: str) -> None:
        self.parts.append(text.strip() + "\n")

    def grids(self, name: str, grids: np.ndarray, titles: list[str], caption: str) -> None:
        """A figure of grids: PNG (or terminal grids) in the report, MIDI files beside it."""
        midi_dir = self.folder / "midi" / name
        for i, g in enumerate(grids):
            write_midi(midi_dir / f"{name}_{i + 1:02d}.mid", _played(g), self.spec)
        if self.pictures:
            plot.grids_figure(self.folder / f"{name}.png", grids, self.spec, titles)
            self.parts.append(f"![{caption}]({name}.png)\n\n*{caption}* "
                              f"(MIDI: `midi/{name}/`)\n")
        else:
            text = display.render_many(_played(grids), self.spec, titles, ascii=True)
            self.parts.append(f"*{caption}* (MIDI: `midi/{name}/`)\n\n```\n{text}\n```\n")

    def write(self) -> Path:
        path = self.folder / "report.md"
        write_text(path, "\n".join(self.parts))
        return path


def _played(grids: np.ndarray) -> np.ndarray:
    """Raw decoder output as played: every cell above MIDI velocity 0 is a note."""
    return np.where(np.asarray(grids) >= 0.5 / 127, grids, 0.0).astype(np.float32)


def _raw(model: DrumModel, z: np.ndarray) -> np.ndarray:
    """What a model plays for z: the paper model's raw sigmoid, a two-head model's decode."""
    if model.kind == "paper":
        return model.decode_scores(z)[1]
    return model.decode(z)


def _train(folder: Path, name: str, config: TrainConfig, splits: dict, spec, data_card: dict,
           progress, on_epoch=None) -> tuple[DrumModel, list[dict]]:
    """Train (or resume, or reuse) one model of the report in models/<name>."""
    run = folder / "models" / name
    resume = (run / "checkpoint.pt").exists()
    if resume and saved_config(run).epochs_done >= config.epochs:
        trainer = Trainer(run, splits["train"], splits["validation"], spec, config, data_card,
                          resume=True)
        progress(f"{name}: reusing the finished training in {run}")
        return trainer.best_model(), trainer.history
    trainer = Trainer(run, splits["train"], splits["validation"], spec, config, data_card,
                      resume=resume)
    start = time.perf_counter()

    def report_epoch(row):
        if row["epoch"] % 10 == 0 or row["epoch"] == config.epochs:
            progress(f"{name}: epoch {row['epoch']}/{config.epochs}, loss {row['loss']:.1f}")
        if on_epoch:
            on_epoch(trainer, row)

    result = trainer.run(report_epoch)
    progress(f"{name}: done in {time.perf_counter() - start:.0f} s")
    return result.model, result.history


def paper_report(folder: str | Path, corpus, epochs: int = 60, seed: int = 0, threads: int = 2,
                 progress: Callable[[str], None] = print) -> Path:
    """Run every experiment and write folder/report.md (plus PNGs and MIDI); returns its path."""
    folder = Path(folder)
    spec = corpus.spec
    splits = {s: corpus.split_grids(s) for s in ("train", "validation", "test")}
    data_card = corpus_card(corpus)
    base = TrainConfig(kind="paper", hidden=400, zdim=20, beta=1.0, epochs=epochs, seed=seed,
                       threads=threads)
    rng = np.random.default_rng(seed)
    z_fixed = rng.standard_normal((N_SAMPLES, base.zdim)).astype(np.float32)
    rep = PaperReport(folder, spec, progress)
    shipped = load_vae(DEFAULT_MODEL) if DEFAULT_MODEL.exists() else None
    if shipped is not None and shipped.spec != spec:
        shipped = None
    rep.text(_intro(corpus, epochs, len(splits["train"]), rep.pictures))

    # Fig. 2: samples from fixed prior draws after 1, 5 and all epochs.
    snapshots: dict[int, np.ndarray] = {}

    def snapshot(trainer, row):
        if row["epoch"] in SNAPSHOT_EPOCHS:
            snapshots[row["epoch"]] = _raw(DrumModel(trainer.net, spec, {}), z_fixed)
            trainer.net.train()

    main, _ = _train(folder, "paper-z20-h400", base, splits, spec, data_card, progress, snapshot)
    rep.text("## Fig. 2: samples during training\n\nThe same four prior draws z ~ N(0, I) "
             "decoded by the paper's model after 1 and 5 epochs and at the end of training "
             "(best validation epoch). Grey levels are velocities: the paper's single sigmoid "
             "is played as is, so unsure cells become soft ghost notes.")
    for e in SNAPSHOT_EPOCHS:
        if e in snapshots:
            rep.grids(f"fig2-epoch{e}", snapshots[e],
                      [f"sample {i + 1}, epoch {e}" for i in range(N_SAMPLES)],
                      f"Samples after {e} epoch{'s' if e != 1 else ''}")
        elif e < epochs:
            rep.text(f"(Samples after epoch {e} are missing: this report resumed a training "
                     "interrupted after that epoch.)")
    rep.grids("fig2-final", _raw(main, z_fixed),
              [f"sample {i + 1}, final" for i in range(N_SAMPLES)], "Samples after training")
    if shipped is not None:
        rep.grids("fig2-shipped", shipped.decode(z_fixed),
                  [f"sample {i + 1}, shipped {shipped.name}" for i in range(N_SAMPLES)],
                  "The same prior draws decoded by the shipped two-head model: clean hits "
                  "with dynamics, no ghost notes")

    # Fig. 3: PCA samples.
    pca = fit_pca(splits["train"], splits["validation"], spec, base.zdim)
    pz = pca.sample_latent(N_SAMPLES, rng=seed)
    _, velocity = pca.decode_scores(pz)
    rep.text("## Fig. 3: samples from PCA space\n\nPCA with 20 components on the same "
             "training loops, sampled from N(0, diag(explained variance)). First raw (clipped "
             "to [0, 1]) as in the paper, then thresholded at the F1-best threshold "
             f"{pca.hit_threshold[0]:.2f} chosen on the validation split.")
    rep.grids("fig3-pca-raw", velocity, [f"PCA sample {i + 1}, raw" for i in range(N_SAMPLES)],
              "PCA samples, raw reconstruction")
    rep.grids("fig3-pca", pca.decode(pz),
              [f"PCA sample {i + 1}, thresholded" for i in range(N_SAMPLES)],
              "PCA samples, thresholded")

    # Fig. 4: final loss terms against z and h.
    sweep = {}
    for z in Z_SWEEP:
        sweep[("z", z)] = main if z == base.zdim else _train(
            folder, f"paper-z{z}-h400", replace(base, zdim=z), splits, spec, data_card,
            progress)[0]
    for h in H_SWEEP:
        sweep[("h", h)] = main if h == base.hidden else _train(
            folder, f"paper-z20-h{h}", replace(base, hidden=h), splits, spec, data_card,
            progress)[0]
    rep.text(_sweep_section(folder, sweep, rep.pictures))

    # Fig. 5: latent codes with lambda = 0 vs 1.
    flat, _ = _train(folder, "paper-z20-h400-lambda0", replace(base, beta=0.0), splits, spec,
                     data_card, progress)
    rep.text(_codes_section(folder, {"lambda = 0": flat.encode(splits["test"][:40]),
                                     "lambda = 1": main.encode(splits["test"][:40])},
                            rep.pictures))

    # Fig. 6: reconstruction of an unseen (test) loop.
    unseen = splits["test"][:1]
    recon = [unseen[0], _raw(main, main.encode(unseen))[0]]
    titles = ["unseen test loop", "paper model reconstruction"]
    if shipped is not None:
        recon.append(shipped.decode(shipped.encode(unseen))[0])
        titles.append(f"shipped {shipped.name} reconstruction")
    rep.text("## Fig. 6: reconstruction of an unseen loop\n\nThe first window of the test "
             "split, encoded to its posterior mean and decoded.")
    rep.grids("fig6-reconstruction", np.stack(recon), titles, "Reconstruction of an unseen loop")

    # Fig. 7: interpolation along the first latent axis.
    axis = latent.axis_sweep(base.zdim, 0, -3.0, 3.0, 7)
    rep.text("## Fig. 7: interpolation\n\nFrom (-3, 0, ..., 0) to (+3, 0, ..., 0) in 7 steps.")
    rep.grids("fig7-interpolation", _raw(main, axis),
              [f"z1 = {v:+.0f}" for v in axis[:, 0]], "Paper model along the first latent axis")
    if shipped is not None:
        rep.grids("fig7-shipped", shipped.decode(axis), [f"z1 = {v:+.0f}" for v in axis[:, 0]],
                  "Shipped two-head model along the first latent axis")
    return rep.write()


def _intro(corpus, epochs: int, n_train: int, pictures: bool) -> str:
    return (f"# McDermott (2018) reproduced\n\nJames McDermott, \"Representation learning for "
            f"drum loops with a variational autoencoder\" (2018), re-run on corpus "
            f"`{corpus.path.name if corpus.path else ''}` (manifest {corpus.manifest_hash}, "
            f"{n_train} training windows, {corpus.spec.describe()}).\n\nEvery model here is "
            f"the paper's: dense 576 -> h (ReLU) -> z, decoder z -> h (ReLU) -> 576 sigmoid, "
            f"BCE + lambda KL, Adam. **Each training runs {epochs} epochs** (the paper: 300) "
            f"so that the nine trainings of the sweep fit in minutes; the model kept is the "
            f"epoch with the lowest validation loss. "
            + ("" if pictures else "matplotlib is not installed, so figures are text grids "
               "(install the `plot` extra for pictures). ")
            + f"Written {time.strftime('%Y-%m-%d %H:%M')}.")


def _final_losses(model: DrumModel) -> dict[str, float]:
    val = model.card.get("metrics", {}).get("validation", {})
    return {"reconstruction (BCE)": val.get("recon", float("nan")),
            "KL": val.get("kl", float("nan")), "total": val.get("loss", float("nan"))}


def _sweep_section(folder: Path, sweep: dict, pictures: bool) -> str:
    lines = ["## Fig. 4: final loss terms against z and h", "",
             "Validation loss terms (per loop, nats) of the best epoch. Left: z varies at "
             "h = 400; right: h varies at z = 20.", ""]
    for axis, values in (("z", Z_SWEEP), ("h", H_SWEEP)):
        losses = [_final_losses(sweep[(axis, v)]) for v in values]
        series = {k: [l[k] for l in losses] for k in losses[0]}
        if pictures:
            plot.curves_figure(folder / f"fig4-{axis}.png", list(values), series, axis,
                               "validation loss per loop (nats)",
                               f"loss terms against {axis}", logx=True)
            lines.append(f"![loss against {axis}](fig4-{axis}.png)")
        lines += ["", f"| {axis} | " + " | ".join(series) + " |", "|---" * (len(series) + 1) + "|"]
        lines += [f"| {v} | " + " | ".join(f"{series[k][i]:.2f}" for k in series) + " |"
                  for i, v in enumerate(values)]
        lines.append("")
    return "\n".join(lines)


def _codes_section(folder: Path, codes: dict[str, np.ndarray], pictures: bool) -> str:
    lines = ["## Fig. 5: latent codes with lambda = 0 and lambda = 1", "",
             "Posterior means of 40 test loops. Without the KL term (lambda = 0) the codes "
             "spread freely and the prior N(0, I) says nothing about where loops lie; with "
             "it they are pulled to the prior, so sampling and searching it yield loops.", ""]
    if pictures:
        plot.codes_figure(folder / "fig5-codes.png", codes, "latent codes of 40 test loops")
        lines += ["![latent codes](fig5-codes.png)", ""]
    lines += ["| | mean | std | min | max |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {z.mean():.2f} | {z.std():.2f} | {z.min():.2f} | {z.max():.2f} |"
              for name, z in codes.items()]
    return "\n".join(lines) + "\n"
