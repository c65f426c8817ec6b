"""`evodrum realism`: does a set of loops sound like real drumming, and how much of it?"""
from __future__ import annotations

import json

import click

from evodrum.cli import main
from evodrum.cli.inputs import Batch, drum_channel_option, drum_map_option, load
from evodrum.cli.options import SEED, Number, given_options, space_choice, spelled
from evodrum.errors import EvodrumError
from evodrum.text import count

#: Below this many loops, recall and coverage say little; the output says so.
FEW_LOOPS = 50


@main.command()
@click.argument("files", nargs=-1, type=click.Path())
@click.option("--space", "space", type=space_choice(), default=None,
              help="Read N loops sampled from this space's prior instead of files: the "
                   "likeliest hits of each code, as searches decode them (to read "
                   "`evodrum sample`'s takes, give its samples.npz).")
@click.option("-n", "count", type=click.IntRange(1, 20_000), default=1000, show_default=True,
              help="How many loops --space samples.")
@click.option("--temperature", type=Number(0, 10), default=1.0, show_default=True,
              help="Scale of the latent codes --space samples (below 1: closer to the "
                   "space's centre, usually less varied).")
@click.option("--prior", type=click.Choice(["learned", "normal"]), default="learned",
              show_default=True,
              help="Which prior --space samples: learned (a mixture fitted to where the "
                   "training loops lie; models without one use normal) or normal (the "
                   "standard normal).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of --space's samples.")
@click.option("--model", "model_path", type=click.Path(), default=None,
              help="The model whose spaces --space samples, and whose judges read the loops "
                   "[default: the shipped model and judges].")
@click.option("--corpus", default=None,
              help="Corpus the real loops come from [default: groove].")
@click.option("--verbose", "-v", is_flag=True,
              help="Also print the research figures: feature-space neighbourhoods, density, "
                   "Kolmogorov-Smirnov distances, near copies.")
@click.option("--json", "as_json", is_flag=True, help="Print every figure as one JSON document.")
@drum_map_option
@drum_channel_option
def realism(files, space, count, temperature, prior, seed, model_path, corpus, verbose,
            as_json, drum_map, drum_channel):
    """How much a set of loops sounds like real drumming, and how much of real
    drumming it covers.

    Reads FILES (MIDI files, grid files .npy/.npz, or folders of them; a long
    MIDI performance counts as its 4-bar windows, none overlapping), or N loops
    sampled from a space with --space. The set is read against about 1,100 real
    loops no model or judge trained on (one window in four of every Groove test
    and validation performance), and beside the same number of real training
    loops read the same way, so every figure has a real yardstick:

    \b
      sound real      share of the loops that fall among real loops (precision)
      cover real      share of real loops that have one of the loops nearby
                      (coverage); a set that repeats one good beat covers ~0
      range           how much of real drumming's range the set spans (recall)
      variety         distinct patterns; copies of training loops
      judges          where the set's median judge score sits among real loops
                      (about 50% for real drumming: far above is as unreal as
                      far below: a set of textbook beats scores above real)

    Neighbourhoods: 3 nearest neighbours for precision and range, 5 for cover
    (Kynkaanniemi et al. 2019; Naeem et al. 2020), between hit patterns (Jaccard
    distance). --verbose adds the same in rhythm-feature space and the
    two-sided (Kolmogorov-Smirnov) reading of each judge; --json prints all.
    Bad files are reported and skipped (exit code 1 if any was).

    \b
    Examples:
      evodrum realism --space vae -n 1000
      evodrum realism --space pca --temperature 0.5
      evodrum realism my-loops/ runs/target-20261201/
      evodrum realism runs/sample-X/samples.npz --json
    """
    from evodrum import realism as sets
    from evodrum.judging import loop_files
    if bool(files) == bool(space):
        raise click.UsageError("give loop FILES or --space, not both" if files
                               else "give loop FILES or --space SPACE")
    unused = given_options(("count", "temperature", "prior")) if files else []
    if unused:
        raise click.UsageError(", ".join(spelled(unused))
                               + ": only for --space (FILES are read as they are)")
    batch = Batch([])                           # files skipped (none for --space)
    if space:
        grids = sets.space_samples(space, count, temperature, prior, seed, model_path)
        source = {"space": space, "samples": count, "temperature": temperature, "prior": prior,
                  "seed": seed, "model": model_path or "shipped"}
        ref = sets.reference(corpus, model_path)
    else:
        ref = sets.reference(corpus, model_path)
        import numpy as np
        paths, problems = loop_files(files)
        batch = Batch(paths, problems)
        parts, read = [], []
        for path in batch.files:
            with batch.skipping():
                loops = load(str(path), ref.spec, drum_map, drum_channel, hop_bars=ref.spec.bars,
                             for_model=True)
                if loops.spec != ref.spec:
                    raise EvodrumError(f"{path}: a grid of {loops.spec.describe()}; realism "
                                       f"reads {ref.spec.describe()}")
                parts.append(loops.grids)
                read.append(str(path))
        if not parts:
            batch.finish()                      # every input skipped: each said, exit 1
            raise EvodrumError("no loops to read")
        grids = np.concatenate(parts)
        source = {"files": read, "loops": len(grids)}
    result = {"source": source, "reference": ref.info, "set": ref.measure(grids),
              "real": ref.measure(sets.yardstick(corpus, len(grids), seed))}
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(_describe(result, verbose))
    batch.finish()


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.0f}%"


def _describe(result: dict, verbose: bool) -> str:
    """The figures in a musician's words, set beside real loops (research rows with -v)."""
    mine, real, ref = result["set"], result["real"], result["reference"]
    src = result["source"]
    what = (f"{mine['loops']:,} loops sampled from the {src['space']} space (temperature "
            f"{src['temperature']:g})" if "space" in src else f"{mine['loops']:,} loops")
    lines = [f"{what}, against {ref['heldout_loops']:,} real loops no model trained on "
             f"({ref['heldout_files']} performances)", "",
             f"{'':38}{'these loops':>12}{'real loops*':>13}"]

    def row(label, a, b):
        lines.append(f"  {label:<36}{a:>12}{b:>13}")

    for label, key in (("sound real (precision)", "precision"),
                       ("cover real drumming (coverage)", "coverage"),
                       ("range of real drumming (recall)", "recall")):
        row(label, _pct(mine["onsets"][key]), _pct(real["onsets"][key]))
    row("distinct patterns", f"{mine['distinct']:,}", f"{real['distinct']:,}")
    memo = mine["memorisation"]
    row("copies of a training loop", _pct(memo["copies"]), "–")
    row("distance to nearest training loop", f"{memo['nearest_median']:.2f}",
        f"{memo['real_nearest_median']:.2f}")
    lines += ["", "  judges: the set's median score sits above this share of real loops "
              "(real drumming: about 50%)"]
    for name, j in mine["judges"].items():
        row(f"  {name}", _pct(j["median_among_real"]),
            _pct(real["judges"][name]["median_among_real"]))
    if verbose:
        lines += ["", "  research figures (k = 3 precision/recall, k = 5 density/coverage; "
                  "onsets: Jaccard; features: standardised rhythm features + row densities)"]
        for space in ("onsets", "features"):
            for key in ("precision", "recall", "density", "coverage"):
                a, b = mine[space][key], real[space][key]
                row(f"{space} {key}", "–" if a is None else f"{a:.3f}",
                    "–" if b is None else f"{b:.3f}")
        for name, j in mine["judges"].items():
            row(f"{name} KS distance from real", f"{j['ks']:.3f}",
                f"{real['judges'][name]['ks']:.3f}")
            row(f"{name} median score", f"{j['median']:.3f}",
                f"{real['judges'][name]['median']:.3f}")
        row("near copies of training loops", _pct(memo["near_copies"]), "5%")
    lines += ["", "* the same number of real training loops, read the same way (so their "
              "copies of training loops are not shown)"]
    if mine["loops"] < FEW_LOOPS:
        lines.append(f"note: only {count(mine['loops'], 'loop')}: coverage and range need a "
                     f"set of {FEW_LOOPS} or more to mean much")
    return "\n".join(lines)
