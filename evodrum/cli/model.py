"""Model commands: train, sample, reconstruct, interpolate, encode, vary, evaluate, paper-report.

Each command parses options and calls the `vae` package; torch is imported only
inside the commands (through `vae`), so `evodrum --help` stays fast.
"""
from __future__ import annotations

import contextlib
import functools
import json
import sys
from pathlib import Path

import click
import numpy as np

from evodrum import display, text
from evodrum.atomic import atomic_path
from evodrum.cli import main
from evodrum.cli.feel import feel_options, feel_performer, model_feel
from evodrum.cli.inputs import (
    bpm_from_file_option,
    drum_channel_option,
    drum_map_option,
    window_option,
)
from evodrum.cli.options import (
    OUT_FILE,
    OUT_FOLDER,
    SEED,
    Number,
    ascii_option,
    bpm_option,
    given_options,
    lock_option,
    note_map_option,
    prior_option,
    refine_option,
    refuse_together,
    spelled,
)
from evodrum.cli.output import (
    add,
    detail,
    in_folder,
    kept_on_interrupt,
    output_options,
    say,
    wrote,
)
from evodrum.errors import EvodrumError
from evodrum.runs import claim_run_dir, new_run_dir

model_option = click.option(
    "--model", "model_path", type=click.Path(), default=None,
    help="A model file (.pt VAE, .npz PCA) or training run folder [default: the shipped model].")
out_option = click.option(
    "--out", type=OUT_FOLDER, default=None,
    help="Folder for the results [default: a new folder under runs/].")
seed_option = click.option("--seed", type=SEED, default=None,
                           help="Random seed, for a repeatable result.")
corpus_option = click.option(
    "--corpus", "corpus_name", default=None,
    help="Corpus name or folder [default: groove, built with `evodrum data build`].")
cache_option = click.option(
    "--cache-dir", type=click.Path(file_okay=False), default=None,
    help="Where corpora are stored [default: $EVODRUM_CACHE or ~/.cache/evodrum].")


def _load(model_path):
    import vae
    return vae.load_model(model_path)


def _encode(model, grids: np.ndarray, steps: int, names: list[str]):
    """Codes of `grids`, refined by `steps` Adam steps; says how faithful each is (stderr,
    the research figures with --verbose)."""
    from vae import refine
    encoding = refine.encode(model, grids, steps)
    hits = np.count_nonzero(np.reshape(grids, (len(encoding.f1), -1)) > 0, axis=1)
    for i, name in enumerate(names):
        say(f"{name}: the model's version of it matches {encoding.f1[i]:.0%} of its hits"
            if hits[i] else f"{name}: a silent loop (no hits)", err=True)
        detail(f"  {encoding.describe(i)}")
    return encoding


def _read_all(path: str, spec, drum_map: str, drum_channel: int | None):
    """Every grid (window) of a MIDI or grid file, at the model's resolution (a LoopFile)."""
    from evodrum.cli import inputs
    loops = inputs.load(path, spec, drum_map, drum_channel, for_model=True)
    if loops.spec != spec:
        raise EvodrumError(f"{path}: holds grids of {loops.spec.describe()}, the model uses "
                           f"{spec.describe()}")
    return loops


def _read(path: str, spec, window: int | None, drum_map: str, drum_channel: int | None):
    """(loop with its own timing, the file's tempo there, 'FILE (window 3 of 12, from
    bar 3)') of one window: `window` (from 1), or where the drums come in."""
    from evodrum.cli import inputs
    loops, i = inputs.pick(path, spec, window, drum_map, drum_channel, model_spec=spec)
    return loops.loop(i), loops.bpm(i), f"{path} ({loops.describe(i)})"


def _write(folder: Path, names: list[str], loops, titles: list[str], spec,
           bpm: float, ascii: bool, grid_file: str, inputs=(), tempo_maps=None,
           note_map=None) -> None:
    """Write loops[i] (a Loop batch, or grids played straight) as MIDI file names[i] and
    all of them as `grid_file` (.npz, in the same order, with their timing), show them
    titled by file, and say once where they went. `tempo_maps[i]` (or None) writes loop i
    with its own tempo changes instead of `bpm`; `note_map` (evodrum.notemap) sets the
    MIDI pitches (None: General MIDI).

    Files already in the folder (and the command's inputs) are never replaced:
    a taken name becomes NAME-2.mid (see evodrum.outpaths).
    """
    from evodrum import gridfile, midi
    from evodrum.loop import as_loop
    from evodrum.outpaths import Outputs
    outputs = Outputs(inputs)
    loops = as_loop(loops, spec)
    grids = loops.velocities
    tempo_maps = tempo_maps or [None] * len(loops)
    paths = [midi.write_midi(outputs.derived(folder / name), lp, spec, bpm, tempo_map=m,
                             note_map=note_map)
             for name, lp, m in zip(names, loops, tempo_maps)]
    npz = gridfile.save_grids(outputs.derived(folder / grid_file), loops, spec)
    in_folder(folder)
    for p, t, g in zip(paths, titles, grids):
        wrote(p, "midi", title=t, bpm=bpm, hits=int(np.count_nonzero(g)))
    wrote(npz, "grids", loops=len(grids))
    say(display.render_many(grids, spec, [f"{p.name}: {t}" for p, t in zip(paths, titles)],
                            ascii=ascii))
    files = text.span([p.name for p in paths])
    say(f"\nwrote {text.count(len(paths), 'MIDI file')} ({files}) and {npz.name} to {folder}")


def _numbered(stem: str, n: int, tail: str = "") -> list[str]:
    """File names stem_01{tail}.mid ... stem_NN{tail}.mid."""
    return [f"{stem}_{i:02d}{tail}.mid" for i in range(1, n + 1)]


# --- training ----------------------------------------------------------------

@main.command()
@corpus_option
@cache_option
@click.option("--kind", type=click.Choice(["twohead", "paper", "pca"]), default="twohead",
              show_default=True,
              help="twohead: separate hit and velocity heads (clean hits); paper: McDermott "
                   "(2018), one sigmoid per cell; pca: the linear baseline (writes pca.npz).")
@click.option("-z", "--zdim", type=click.IntRange(1, 1024), default=20, show_default=True,
              help="Latent dimensions.")
@click.option("--hidden", type=click.IntRange(1, 16384), default=400, show_default=True,
              help="Hidden units in encoder and decoder.")
@click.option("--velocity-rank", type=click.IntRange(0, 4096), default=64, show_default=True,
              help="twohead: rank of the velocity head (0: full layer; low rank decodes faster).")
@click.option("--encoder-input", type=click.Choice(["velocity", "onsets", "both", "feel"]),
              default="both", show_default=True,
              help="What the encoder sees: velocities (the paper), onsets only, onsets and "
                   "velocities (both), or onsets, velocities and timing (feel).")
@click.option("--offset-rank", type=click.IntRange(0, 4096), default=64, show_default=True,
              help="twohead: rank of the timing head that learns the drummers' feel (0: no "
                   "timing head, loops play straight).")
@click.option("--feel-dropout", type=Number(0, 1, high_open=True), default=0.25,
              show_default=True,
              help="Share of training loops whose encoder sees only the onsets, so the model "
                   "learns to give a bare pattern (a quantised DAW loop) a feel.")
@click.option("--beta", "--lambda", "beta", type=Number(0, 1000), default=0.5,
              show_default=True,
              help="Weight of the KL term (the paper's lambda; below 1 a beta-VAE). The "
                   "shipped model uses 0.5: onset F1 0.780 against 0.774 at 1, for 1.4x "
                   "the KL (runs/feel-model/report.md).")
@click.option("--kl-warmup", type=click.IntRange(0, 100_000), default=0, show_default=True,
              help="Epochs over which the KL weight ramps up from 0.")
@click.option("--free-bits", type=Number(0, 100), default=0.0, show_default=True,
              help="Nats per latent dimension the KL term does not charge for.")
@click.option("--epochs", type=click.IntRange(1, 100_000), default=None,
              help="Epochs to train [default: 300; with --resume: the run's own].")
@click.option("--batch-size", type=click.IntRange(1, 65_536), default=128, show_default=True,
              help="Training loops per gradient step.")
@click.option("--lr", type=Number(0, 1, low_open=True), default=1e-3, show_default=True,
              help="Adam learning rate.")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Seed for weights, shuffling and noise: the same seed repeats a run exactly. "
                   "--kind pca: 0 fits the training split, another seed a bootstrap resample "
                   "of its performances (a trained replicate).")
@click.option("--patience", type=click.IntRange(0, 100_000), default=10, show_default=True,
              help="Stop after this many epochs without a better validation loss (0: never); "
                   "the Groove model's best epoch comes after 20-40.")
@click.option("--threads", type=click.IntRange(1, 256), default=2, show_default=True,
              help="torch threads used for training.")
@click.option("--threshold", type=click.Choice(["density", "f1", "half"]), default=None,
              help="How hit thresholds are set after training: density (per row, samples "
                   "match the corpus; twohead default), f1 (best F1 on validation; paper "
                   "default) or half (0.5).")
@out_option
@click.option("--resume", is_flag=True,
              help="Continue the interrupted run in --out with its own settings.")
@click.option("--refit", "refit", type=click.Path(dir_okay=True), default=None, metavar="MODEL",
              help="Train nothing: refit an existing VAE's learned prior, feel tables and hit "
                   "thresholds on --corpus's train split (what training ends with) and write "
                   "it as a new model to --out; MODEL itself is left as it is.")
@click.pass_context
def train(ctx, corpus_name, cache_dir, epochs, threshold, out, resume, refit, **options):
    """Train a drum VAE on a corpus's train split.

    The validation split picks the best epoch (lowest validation loss), which
    is saved as model.pt with a JSON card; the test split is measured once at
    the end and recorded in the card. Every finished epoch is checkpointed:
    after Ctrl-C, run the same command with --resume to continue exactly.

    \b
    Example:
      evodrum train                                 # default model, 300 epochs
      evodrum train --kind paper --out runs/paper   # McDermott (2018)
      evodrum train --out runs/paper --resume       # continue after Ctrl-C
      evodrum train --kind pca                      # PCA-20 baseline, in seconds
      evodrum train --kind pca --seed 1             # ... fitted on a resample
      evodrum train --refit old/model.pt --out runs/refit   # prior and thresholds anew
    """
    from evodrum.corpus import load_corpus
    from vae import disentangle
    from vae.files import corpus_card
    from vae.train import TrainConfig, Trainer, finish, saved_config

    if refit is not None:
        if resume:
            raise EvodrumError("--refit trains nothing, so it cannot --resume a run")
        ignored = given_options([*options, "epochs"])
        if ignored:
            raise EvodrumError("--refit trains nothing, so it takes no "
                               + ", ".join(spelled(ignored)))
        return _refit(ctx, refit, corpus_name, cache_dir, threshold, out)
    if resume:
        if out is None:
            raise EvodrumError("--resume needs --out: the folder of the run to continue")
        saved = saved_config(Path(out))
        given = {k: options[k] for k in given_options(options)}
        clash = [k for k, v in given.items() if getattr(saved.config, k) != v]
        if clash:
            raise EvodrumError(f"{out}: --resume keeps the run's settings; it was trained with "
                               + ", ".join(f"{k}={getattr(saved.config, k)}" for k in clash))
        config = TrainConfig.from_dict({**saved.config.to_dict(),
                                        "epochs": epochs or saved.config.epochs})
        corpus_name = corpus_name or saved.corpus.get("path") or saved.corpus.get("name")
    elif options["kind"] == "pca":
        ignored = given_options([*(k for k in options if k not in PCA_OPTIONS), "epochs",
                                 "threshold"])
        if ignored:
            raise EvodrumError("--kind pca is fitted in one step, not trained, so it takes no "
                               + ", ".join(spelled(ignored)))
        return _fit_pca(load_corpus(corpus_name, cache_dir), options["zdim"], options["seed"],
                        ctx.with_resource(claim_run_dir("train-pca", out)))
    else:
        config = TrainConfig(epochs=epochs or 300, **options)
    corpus = load_corpus(corpus_name, cache_dir)
    folder = ctx.with_resource(claim_run_dir("train", out, resume=resume))
    masks, splits = _splits(corpus)
    if not len(splits["validation"]):
        raise EvodrumError(f"corpus {corpus.path}: has no validation split to choose epochs on")
    trainer = Trainer(folder, splits["train"], splits["validation"], corpus.spec, config,
                      corpus_card(corpus), resume=resume,
                      train_offsets=corpus.offsets[masks["train"]],
                      validation_offsets=corpus.offsets[masks["validation"]])
    done = len(trainer.history)
    click.echo(f"training {config.kind} (z={config.zdim}, h={config.hidden}, "
               f"lambda={config.beta}) on {len(splits['train'])} loops -> {folder}")
    if done:
        click.echo(f"resuming after epoch {done}")
    with click.progressbar(length=config.epochs - done, label="epochs",
                           item_show_func=lambda row: _epoch_line(row) if row else None,
                           file=sys.stderr) as bar:
        try:
            result = trainer.run(on_epoch=lambda row: bar.update(1, row))
        except KeyboardInterrupt:
            saved = text.count(len(trainer.history), "epoch")
            click.echo(f"\ninterrupted: {saved} saved in {folder}; "
                       f"continue with: evodrum train --out {folder} --resume", err=True)
            raise SystemExit(130) from None
    if result.stopped_early:
        click.echo(f"stopped early after epoch {len(result.history)}")
    model = finish(result, splits["validation"], splits["train"],
                   splits["test"], threshold,
                   reference_offsets=corpus.offsets[masks["train"]],
                   reference_bpm=corpus.bpm[masks["train"]])
    directions = disentangle.attach(model, folder / "model.pt", corpus)
    click.echo(f"{len(directions.items)} latent directions (evodrum steer --list --model "
               f"{folder}): {folder / 'model.directions.json'}")
    click.echo(f"best epoch {result.best_epoch}; model: {folder / 'model.pt'}")
    _say_test(model)


#: The options a PCA baseline uses (the rest shape a VAE's training).
PCA_OPTIONS = ("kind", "zdim", "seed")


def _splits(corpus) -> tuple[dict, dict]:
    """The corpus's train, validation and test masks, and their loops (test: None when
    the corpus has no test loops, so there is nothing to measure)."""
    masks = {s: corpus.split_mask(s) for s in ("train", "validation", "test")}
    splits = {s: corpus.grids[m] for s, m in masks.items()}
    if not len(splits["test"]):
        splits["test"] = None
    return masks, splits


def _say_test(model) -> None:
    """The test-split line of a model's card, when it has one."""
    test = model.card.get("metrics", {}).get("test", {})
    if test:
        click.echo("test split: " + ", ".join(f"{k} {v:.3f}" for k, v in test.items()
                                              if isinstance(v, float)))


def _refit(ctx, model_path, corpus_name, cache_dir, threshold, out) -> None:
    """Refit an existing VAE's learned parts and thresholds into a new run folder."""
    from evodrum.corpus import load_corpus
    from vae import disentangle
    from vae.files import corpus_card, load_vae, resolve
    from vae.train import refit
    source = resolve(model_path)
    if source.suffix != ".pt":
        raise EvodrumError(f"{source}: --refit needs a VAE model file (.pt); a PCA has no "
                           "learned prior to refit")
    model = load_vae(source)
    corpus = load_corpus(corpus_name, cache_dir)
    if corpus.spec != model.spec:
        raise EvodrumError(f"corpus {corpus.path} is at {corpus.spec.describe()}, the model "
                           f"decodes {model.spec.describe()}")
    masks, splits = _splits(corpus)
    if not len(splits["train"]) or not len(splits["validation"]):
        raise EvodrumError(f"corpus {corpus.path}: needs train and validation loops to refit on")
    folder = ctx.with_resource(claim_run_dir("refit", out))
    click.echo(f"refitting the prior, feel and thresholds of {model.name} on "
               f"{len(splits['train'])} loops -> {folder}")
    refit(model, folder, str(source), corpus_card(corpus), splits["validation"],
          splits["train"], splits["test"], threshold,
          reference_offsets=corpus.offsets[masks["train"]],
          reference_bpm=corpus.bpm[masks["train"]])
    directions = disentangle.attach(model, folder / "model.pt", corpus)
    click.echo(f"{len(directions.items)} latent directions; model: {folder / 'model.pt'}")
    _say_test(model)


def _fit_pca(corpus, zdim: int, seed: int, folder: Path) -> None:
    from vae.pca import fit_corpus_pca, save_pca
    model = fit_corpus_pca(corpus, zdim, seed)
    path = folder / "pca.npz"
    save_pca(path, model)
    test = model.card["metrics"].get("test", {})
    click.echo(f"PCA-{zdim} explains {model.card['explained_variance_ratio']:.1%} of the "
               f"variance; hit threshold {model.hit_threshold[0]:.2f}; wrote {path}")
    if test:
        click.echo("test split: " + ", ".join(f"{k} {v:.3f}" for k, v in test.items()))


def _epoch_line(row: dict) -> str:
    parts = [f"loss {row['loss']:.1f}", f"recon {row['recon']:.1f}", f"kl {row['kl']:.1f}"]
    if "hit" in row:
        parts[1:2] = [f"hit {row['hit']:.1f}", f"vel {row['velocity']:.1f}"]
    if "offset_mae" in row:
        parts.append(f"timing {row['offset_mae']:.3f}")
    parts.append(f"val {row['val_loss']:.1f} F1 {row['val_f1']:.3f}")
    return " ".join(parts)


# --- using a model -----------------------------------------------------------

#: Up to this many samples are drawn on screen and written one MIDI file each.
MANY_LOOPS = 16
#: The most loops one `sample` call draws (100,000 loops: 230 MB of grids).
MAX_SAMPLES = 100_000
#: Loops decoded per step of the progress bar.
SAMPLE_BATCH = 1024


@main.command()
@click.option("-n", "count", type=click.IntRange(1, MAX_SAMPLES), default=4, show_default=True,
              help=f"How many loops (up to {MAX_SAMPLES:,}; more than {MANY_LOOPS} go to one "
                   "grid file with a summary on screen).")
@click.option("--temperature", type=Number(0, 10), default=1.0, show_default=True,
              help="Scale of the prior: below 1 more typical loops, above 1 wilder ones.")
@click.option("--midi-files/--no-midi-files", default=None,
              help=f"One MIDI file per loop [default: for up to {MANY_LOOPS} loops].")
@click.option("--tidy", is_flag=True,
              help="Only each loop's likeliest hits: tidier, more regular loops (a loop with "
                   "a backbeat keeps it in nearly every bar), the loops the searches and "
                   "`vary` make. By default each loop is a take, played as a drummer would.")
@prior_option
@seed_option
@model_option
@out_option
@bpm_option
@feel_options()
@note_map_option
@ascii_option
@output_options
def sample(count, temperature, midi_files, tidy, prior, seed, model_path, out, bpm,
           feel_amount, scatter, swing, note_map, ascii):
    """Draw loops from the model's prior and write them as MIDI files.

    Each loop is a take: the model gives every step of every drum a chance of
    being played, and the take plays it with that chance. So, as in the Groove
    recordings, some bars leave the backbeat out and soft notes come and go;
    `--tidy` keeps only the likeliest hits. `--seed` gives the same takes again.

    More than 16 loops are written to one grid file (samples.npz; play one with
    `evodrum play FOLDER/samples.npz --index N`, or convert them with `evodrum
    convert`) with a summary on screen instead of a grid each.

    \b
    Example:
      evodrum sample -n 8 --temperature 0.8
      evodrum sample --model runs/train-20260101-120000 --seed 3
      evodrum sample -n 10000 --seed 1       # one grid file and a summary
      evodrum sample --tidy                  # the likeliest hits only
      evodrum sample --prior normal          # the standard normal prior: wilder loops
      evodrum sample --note-map roland-td    # at a V-Drums module's pitches
    """
    model = _load(model_path)
    if model.use_prior(prior) != prior and given_options(["prior"]):
        click.echo(f"note: {model.name} has no learned prior; sampling its standard normal",
                   err=True)
    if not (tidy or model.has_takes):
        tidy = True
        click.echo(f"note: {model.name} can't play takes; writing its likeliest hits",
                   err=True)
    folder = new_run_dir("sample", out)
    rng = np.random.default_rng(seed)
    z = model.sample_latent(count, temperature, rng)
    decode = model.decode if tidy else functools.partial(model.take, rng=rng)
    add(tidy=tidy)
    if count <= MANY_LOOPS and midi_files is not False:
        titles = [f"sample {i + 1} of {count} ({model.name}, temperature {temperature}"
                  f"{', tidy' if tidy else ''})" for i in range(count)]
        _write(folder, _numbered("sample", count),
               model_feel(model, decode(z), bpm, feel_amount, scatter, swing, seed), titles,
               model.spec, bpm, ascii, "samples.npz", note_map=note_map)
        return
    feel = dict(feel_amount=feel_amount, scatter=scatter, swing=swing)
    how = f"temperature {temperature}{', tidy' if tidy else ''}"
    _sample_many(model, z, decode, how, seed, folder, bpm, bool(midi_files), feel, note_map)


def _sample_many(model, z: np.ndarray, decode, how: str, seed, folder: Path, bpm: float,
                 midi_files: bool, feel: dict, note_map=None) -> None:
    """Many samples: codes `z` decoded by `decode` in batches under a progress bar, one
    grid file, a summary saying `how` they were drawn (played with the model's feel as
    `feel` asks, batch by batch)."""
    from evodrum import gridfile, midi
    from evodrum.loop import Loop
    from evodrum.outpaths import Outputs
    count = len(z)
    grids = np.empty((count, *model.spec.shape), np.float32)
    offsets = np.zeros_like(grids)
    perform = feel_performer(model, model.spec, bpm, seed=seed, **feel)
    try:
        with click.progressbar(range(0, count, SAMPLE_BATCH), label="decoding",
                               file=sys.stderr) as starts:
            for start in starts:
                part = perform(decode(z[start:start + SAMPLE_BATCH]))
                grids[start:start + SAMPLE_BATCH] = part.velocities
                offsets[start:start + SAMPLE_BATCH] = part.offsets
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):
            folder.rmdir()          # the run's folder, still empty: nothing left behind
        raise
    loops = Loop(grids, offsets, model.spec)
    outputs = Outputs()
    npz = gridfile.save_grids(outputs.derived(folder / "samples.npz"), loops, model.spec)
    if midi_files:
        with kept_on_interrupt(f"every loop is in {npz}, and the MIDI files written so far "
                               f"are in {folder}"), \
                click.progressbar(enumerate(loops), length=count, label="writing MIDI",
                                  file=sys.stderr) as items:
            for i, lp in items:
                midi.write_midi(outputs.derived(folder / f"sample_{i + 1:06d}.mid"), lp,
                                model.spec, bpm, note_map=note_map)
    hits = (grids > 0).sum(axis=(1, 2))
    distinct = len(np.unique(np.packbits(grids > 0, axis=-1).reshape(count, -1), axis=0))
    low, mid, high = np.percentile(hits, [5, 50, 95])
    say(f"{count:,} loops from {model.name} ({how}): {distinct:,} "
        f"different hit patterns; most loops have {low:.0f} to {high:.0f} hits "
        f"(typically {mid:.0f})")
    made = f"{count:,} MIDI files and " if midi_files else ""
    in_folder(folder)
    wrote(npz, "grids", loops=count, distinct=distinct, hits_median=float(mid))
    add(midi_files=count if midi_files else 0)
    say(f"wrote {made}{npz} ({count:,} grids of {model.spec.describe()}); listen to "
        f"one with: evodrum play {npz} --index 1")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@window_option
@drum_map_option
@drum_channel_option
@refine_option
@model_option
@out_option
@bpm_from_file_option
@feel_options("the model's feel for the reconstruction (the original keeps its own)")
@note_map_option
@ascii_option
@output_options
def reconstruct(file, window, drum_map, drum_channel, refine_steps, model_path, out, bpm,
                feel_amount, scatter, swing, note_map, ascii):
    """Encode a MIDI loop and decode it again: what the model keeps of it.

    \b
    Example:
      evodrum reconstruct loop.mid
      evodrum reconstruct loop.mid --refine 0     # the encoder's first guess only
    """
    from evodrum.cli import inputs
    from vae.metrics import onset_scores
    model = _load(model_path)
    loops, i = inputs.pick(file, model.spec, window, drum_map, drum_channel,
                           model_spec=model.spec)
    original, label = loops.loop(i), f"{file} ({loops.describe(i)})"
    codes = _encode(model, original.velocities, refine_steps, [label]).codes
    recon = model.decode(codes)[0]
    score = onset_scores(original.velocities, recon)
    folder = new_run_dir("reconstruct", out)
    # your own loop goes back with its tempo changes, unless --bpm sets one tempo
    kept = [loops.tempo_maps[i] if loops.tempo_maps and not bpm else None, None]
    bpm = bpm or loops.bpm(i)
    from evodrum.loop import Loop
    heard = model_feel(model, recon, bpm, feel_amount, scatter, swing)
    _write(folder, ["original.mid", "reconstruction.mid"], Loop.stack([original, heard]),
           [label,
            f"reconstruction by {model.name}: {_kept_and_added(original.velocities, recon)}"],
           model.spec, bpm, ascii,
           "reconstruction.npz", inputs=[file], tempo_maps=kept, note_map=note_map)
    detail(f"onset precision {score['precision']:.3f}, recall {score['recall']:.3f}, "
           f"F1 {score['f1']:.3f}")
    add(onsets={k: round(float(v), 6) for k, v in score.items()})


def _kept_and_added(original: np.ndarray, remade: np.ndarray) -> str:
    """'kept 40 of your 42 hits, added 3': onset recall and precision in a drummer's words."""
    yours, its = original > 0, remade > 0
    return (f"kept {np.count_nonzero(yours & its)} of your {np.count_nonzero(yours)} hits, "
            f"added {np.count_nonzero(its & ~yours)}")


@main.command()
@click.argument("file_a", type=click.Path(dir_okay=False))
@click.argument("file_b", type=click.Path(dir_okay=False))
@click.option("--steps", type=click.IntRange(2, 256), default=6, show_default=True,
              help="Loops from A to B, both ends included.")
@click.option("--path", "--method", "method", default="curved", show_default=True,
              type=click.Choice(["curved", "straight", "both", "slerp", "lerp"]),
              help="How to travel from A to B: curved (slerp: every loop on the way is as "
                   "typical as A and B, the usual choice), straight (lerp: the middle "
                   "loops are plainer), or both as two series.")
@drum_map_option
@drum_channel_option
@refine_option
@model_option
@out_option
@bpm_from_file_option
@feel_options()
@note_map_option
@ascii_option
@output_options
def interpolate(file_a, file_b, steps, method, drum_map, drum_channel, refine_steps,
                model_path, out, bpm, feel_amount, scatter, swing, note_map, ascii):
    """Morph between two MIDI loops through the latent space.

    Each file's window where the drums come in is used; the loops are written at
    FILE_A's tempo unless --bpm is given.

    \b
    Example:
      evodrum interpolate funk.mid rock.mid --steps 8
      evodrum interpolate funk.mid rock.mid --path both    # curved and straight
    """
    from vae import latent
    model = _load(model_path)
    (a, bpm_a, label_a), (b, _, label_b) = (_read(f, model.spec, None, drum_map, drum_channel)
                                            for f in (file_a, file_b))
    za, zb = _encode(model, np.stack([a.velocities, b.velocities]), refine_steps,
                     [label_a, label_b]).codes
    bpm = bpm or bpm_a
    folder = new_run_dir("interpolate", out)
    paths = {"curved": "slerp", "straight": "lerp"}
    chosen = list(paths) if method == "both" else [
        {v: k for k, v in paths.items()}.get(method, method)]
    grids = np.concatenate([model.decode(getattr(latent, paths[p])(za, zb, steps))
                            for p in chosen])
    names = [n for p in chosen
             for n in _numbered("interpolation", steps, f"_{p}" if len(chosen) > 1 else "")]
    titles = [f"{'' if len(chosen) == 1 else p + ' '}step {i + 1} of {steps}: "
              f"{Path(file_a).name} -> {Path(file_b).name}"
              for p in chosen for i in range(steps)]
    _write(folder, names, model_feel(model, grids, bpm, feel_amount, scatter, swing), titles,
           model.spec, bpm, ascii, "interpolation.npz",
           inputs=[file_a, file_b], note_map=note_map)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--all", "every", is_flag=True, help="Every window of a long performance.")
@click.option("-o", "--out", type=OUT_FILE, default=None, metavar="FILE.npy",
              help="Also write the codes as a float32 array (windows x latent dimensions).")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON document {file, model, zdim, refine_steps, npy, windows} "
                   "instead of one line per window.")
@window_option
@drum_map_option
@drum_channel_option
@refine_option
@model_option
def encode(file, every, out, as_json, window, drum_map, drum_channel, refine_steps,
           model_path):
    """Print a MIDI loop's latent code, one line per window.

    The code is refined until it decodes to the loop as closely as the model
    can (--refine 0: the encoder's posterior mean). How faithful (onset F1 of
    its decoding) and how typical (prior log-density) each code is goes to
    stderr, so stdout stays one code per line (or the JSON document).

    \b
    Example:
      evodrum encode loop.mid
      evodrum encode performance.mid --all --refine 0 -o codes.npy
      evodrum encode loop.mid --json
    """
    from evodrum.cli import inputs
    from evodrum.outpaths import Outputs
    refuse_together("window", "every")
    if out and Path(out).suffix.lower() != ".npy":
        raise EvodrumError(f"{out}: codes are written as .npy")
    model = _load(model_path)
    if every:
        loops = _read_all(file, model.spec, drum_map, drum_channel)
        grids, numbers = loops.grids, list(range(1, len(loops) + 1))
        labels = [f"{file} ({loops.describe(i)})" for i in range(len(loops))]
    else:
        loops, i = inputs.pick(file, model.spec, window, drum_map, drum_channel,
                               model_spec=model.spec)
        grids, numbers, labels = loops.grids[i:i + 1], [i + 1], [f"{file} ({loops.describe(i)})"]
    encoding = _encode(model, grids, refine_steps, labels)
    codes = np.asarray(encoding.codes, np.float32)
    if out:
        target = Outputs([file]).explicit(out)
        with atomic_path(target) as tmp, open(tmp, "wb") as f:
            np.save(f, codes)
        click.echo(f"wrote {target}: {text.count(len(codes), 'code')} of {model.zdim} numbers",
                   err=True)
    if as_json:
        click.echo(json.dumps(_encoding_json(file, model, encoding, out, numbers), indent=2))
        return
    for z in codes:
        click.echo(" ".join(f"{v:+.3f}" for v in z))


def _encoding_json(file: str, model, encoding, npy: str | None, numbers: list[int]) -> dict:
    """`evodrum encode --json`: the schema documented in the README."""
    def r(x):
        return round(float(x), 6)
    return {"file": file, "model": model.name, "zdim": int(model.zdim),
            "refine_steps": int(encoding.steps), "npy": npy,
            "windows": [{"window": numbers[i], "code": [r(v) for v in z], "onset_f1": r(encoding.f1[i]),
                         "onset_f1_encoder_mean": r(encoding.f1_mean[i]),
                         "log_prior": r(encoding.log_prior[i]),
                         "typicality": r(encoding.typicality[i])}
                        for i, z in enumerate(encoding.codes)]}


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-n", "count", type=click.IntRange(1, 1000), default=8, show_default=True,
              help="How many variations.")
@click.option("--amount", type=Number(0, 10), default=0.3, show_default=True,
              help="Step size, in prior standard deviations per latent dimension.")
@window_option
@drum_map_option
@drum_channel_option
@refine_option
@seed_option
@model_option
@out_option
@bpm_from_file_option
@feel_options()
@lock_option("the loop you vary")
@note_map_option
@ascii_option
@output_options
def vary(file, count, amount, window, drum_map, drum_channel, refine_steps, seed, model_path,
         out, bpm, feel_amount, scatter, swing, lock_rows, note_map, ascii):
    """Variations of a MIDI loop: small random moves around its latent code.

    With --lock the locked rows stay exactly as you wrote them in every variation
    and only the other rows vary ("new hats over my kick and snare").

    \b
    Example:
      evodrum vary loop.mid -n 8 --amount 0.3
      evodrum vary loop.mid --lock BD,SD        # keep kick and snare, vary the rest
    """
    from evodrum.lock import Lock
    from vae import latent
    model = _load(model_path)
    original, file_bpm, label = _read(file, model.spec, window, drum_map, drum_channel)
    z = _encode(model, original.velocities, refine_steps, [label]).codes[0]
    bpm = bpm or file_bpm
    lock = Lock.of_loop(lock_rows, original) if lock_rows else None
    decode = _decoder(model, lock)
    codes = latent.vary(z, count, amount, model.latent_std, np.random.default_rng(seed))
    folder = new_run_dir("vary", out)
    kept = f", {lock.describe()}" if lock else ""
    titles = [f"variation {i + 1} of {count} (amount {amount}{kept})" for i in range(count)]
    say(display.render(decode(z[None])[0], model.spec, f"{file}, as the model hears it" + kept,
                       ascii=ascii) + "\n")
    _write(folder, _numbered("variation", count),
           _keep_locked(lock, model_feel(model, decode(codes), bpm, feel_amount, scatter,
                                         swing, seed)),
           titles, model.spec, bpm, ascii, "variations.npz", inputs=[file], note_map=note_map)


def _keep_locked(lock, played):
    """Loops as played, their locked cells as the musician played them (see Lock)."""
    return played if lock is None else lock.keep_played(played)


def _decoder(model, lock):
    """The model's decoder, keeping `lock`'s cells (evodrum.lock) when one is given."""
    if lock is None:
        return model.decode
    return lambda codes: lock.apply(model.decode(codes))


# --- evaluation and the paper's experiments -----------------------------------

@main.command()
@click.option("--model", "model_paths", multiple=True, type=click.Path(),
              help="A model to compare (repeatable) [default: the shipped VAE and PCA-20].")
@corpus_option
@cache_option
@click.option("--samples", type=click.IntRange(10, MAX_SAMPLES), default=2000, show_default=True,
              help="Prior samples per model for the sample statistics (decoded at once: "
                   f"{MAX_SAMPLES:,} need about 2 GB of memory).")
@seed_option
@click.option("--notes", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A markdown file of commentary to include in the report.")
@click.option("--refinement", is_flag=True,
              help="Instead: validation- and test-split F1 of the first model's codes "
                   "with and without refinement (--refine) in several settings, written "
                   "as refinement.md.")
@out_option
def evaluate(model_paths, corpus_name, cache_dir, samples, seed, notes, refinement, out):
    """Compare representations on the corpus's held-out test split; writes report.md.

    Measures onset precision/recall/F1, velocity error, KL and active latent
    dimensions, and for prior samples: hit density per row against the corpus,
    ghost notes and soft hits. A paper-kind model also gets a row decoded as
    the paper did (every output above 0.05 played).

    \b
    Example:
      evodrum evaluate
      evodrum evaluate --model runs/train-paper --model vae/default/model.pt
      evodrum evaluate --refinement --out runs/evaluation   # faithful-encoding table
    """
    import vae
    from evodrum.corpus import load_corpus
    from vae.report import evaluation_report, refinement_report
    if refinement and len(model_paths) > 1:
        raise click.UsageError("--refinement measures one model: give one --model",
                               click.get_current_context())
    if refinement:
        refuse_together("refinement", "samples")
        refuse_together("refinement", "notes")
    corpus = load_corpus(corpus_name, cache_dir)
    if refinement:
        path = refinement_report(new_run_dir("evaluate", out),
                                 vae.load_model(model_paths[0] if model_paths else None), corpus)
        click.echo(path.read_text())
        return click.echo(f"wrote {path}")
    paths = model_paths or (str(vae.DEFAULT_PCA), None)
    models = [vae.load_model(p) for p in paths]
    names = [m.name for m in models]
    labels = [f"{m.name} ({'shipped' if p is None else vae.resolve(p).parent.name})"
              if names.count(m.name) > 1 else m.name for m, p in zip(models, paths)]
    folder = new_run_dir("evaluate", out)
    path = evaluation_report(folder, models, corpus, samples=samples, seed=seed or 0,
                             notes=Path(notes).read_text() if notes else "", labels=labels)
    click.echo(path.read_text())
    click.echo(f"wrote {path}")


@main.command("paper-report")
@corpus_option
@cache_option
@click.option("--epochs", type=click.IntRange(1, 100_000), default=60, show_default=True,
              help="Epochs for each of the report's trainings (the paper: 300).")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Seed of every training and sample in the report: the same seed repeats "
                   "it.")
@click.option("--threads", type=click.IntRange(1, 256), default=2, show_default=True,
              help="torch threads per training (1 is steadier on a busy machine).")
@out_option
def paper_report(corpus_name, cache_dir, epochs, seed, threads, out):
    """Reproduce McDermott (2018)'s experiments; writes report.md, pictures and MIDI.

    Trains the paper's model (and a sweep over latent size z and hidden size h,
    and lambda = 0) and shows: samples after 1, 5 and all epochs (Fig. 2),
    samples from PCA space (Fig. 3), final losses against z and h (Fig. 4),
    latent codes for lambda 0 vs 1 (Fig. 5), a reconstruction of an unseen
    loop (Fig. 6) and an interpolation along one latent axis (Fig. 7).
    Pictures need the `plot` extra (matplotlib); without it grids are text.

    \b
    Example:
      evodrum paper-report --epochs 60      # about 10 minutes on 2 cores
    """
    from evodrum.corpus import load_corpus
    from vae.paper import paper_report as run
    corpus = load_corpus(corpus_name, cache_dir)
    folder = new_run_dir("paper-report", out)
    path = run(folder, corpus, epochs=epochs, seed=seed, threads=threads,
               progress=lambda msg: click.echo(msg, err=True))
    click.echo(f"wrote {path}")
