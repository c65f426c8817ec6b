"""`evodrum steer`: move a loop along the model's attribute and style directions."""
from __future__ import annotations

import click
import numpy as np

from evodrum import display
from evodrum.cli import main
from evodrum.cli.feel import feel_options, model_feel
from evodrum.cli.inputs import (
    bpm_from_file_option,
    drum_channel_option,
    drum_map_option,
    window_option,
)
from evodrum.cli.model import (
    _decoder,
    _encode,
    _keep_locked,
    _load,
    _numbered,
    _read,
    _write,
    cache_option,
    corpus_option,
    model_option,
    out_option,
)
from evodrum.cli.options import (
    ascii_option,
    given_options,
    lock_option,
    note_map_option,
    refine_option,
    refuse_together,
    spelled,
)
from evodrum.cli.output import add, detail, in_folder, output_options, say, wrote
from evodrum.errors import EvodrumError
from evodrum.runs import new_run_dir


def _amounts(ctx, param, values) -> list[tuple[str, float]]:
    """NAME=AMOUNT pairs, e.g. syncopation=+1 or hats.density=-0.5."""
    pairs = []
    for text in values:
        name, sep, amount = text.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            value = float(amount)
            if not np.isfinite(value):
                raise ValueError
        except ValueError:
            raise click.BadParameter(f"{text!r}: use NAME=AMOUNT, e.g. syncopation=+1") from None
        pairs.append((name.strip(), value))
    return pairs


@main.command()
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@click.option("--attribute", "-a", "attributes", multiple=True, callback=_amounts,
              metavar="NAME=AMOUNT",
              help="Move along an attribute direction (repeatable): a feature such as "
                   "hats.density, or a row density such as BD.density. A bare feature "
                   "means what a drummer means: syncopation and wnbd (off-beat distance) "
                   "of kick & snare, density and symmetry (repetition) of the whole kit; "
                   "all.syncopation names the whole-kit level.")
@click.option("--style", "-s", "styles", multiple=True, callback=_amounts,
              metavar="NAME=AMOUNT", help="Move towards (+) or away from (-) a corpus style, "
                                          "e.g. funk=+1 (repeatable).")
@click.option("-n", "count", type=click.IntRange(1, 1000), default=1, show_default=True,
              help="Loops in a sweep: loop k of n moves by k/n of every amount.")
@window_option
@drum_map_option
@drum_channel_option
@click.option("--list", "listing", is_flag=True,
              help="List the model's directions with their measured slopes, and exit.")
@click.option("--build", is_flag=True,
              help="Build (and measure) directions for --model from --corpus, saved beside "
                   "the model file as MODEL.directions.json; the report goes to --out.")
@refine_option
@model_option
@corpus_option
@cache_option
@out_option
@bpm_from_file_option
@feel_options()
@lock_option("the loop you steer")
@note_map_option
@ascii_option
@output_options
def steer(file, attributes, styles, count, window, drum_map, drum_channel, listing, build,
          refine_steps, model_path, corpus_name, cache_dir, out, bpm, feel_amount, scatter, swing,
          lock_rows, note_map, ascii):
    """Steer a loop with semantic sliders: more syncopation, fewer hi-hats, more funk.

    The loop is encoded (refined, so the code decodes to your loop), moved by
    AMOUNT along each named direction and decoded. A move always changes the
    loop and moves each steered feature the asked way: when the straight move
    does not, the nearest code along and around the direction that does is
    used (and said); when none does, steer says so. +1 is each direction's unit
    (see --list: about from a typical loop to a typical top-quartile one for an
    attribute; a style's typical offset for a style); -2..+2 is the measured
    range. Writes the steered loops as MIDI files and steered.npz to a new run
    folder, shows them, and prints every feature before and after.

    \b
    Example:
      evodrum steer loop.mid --attribute syncopation=+1 --attribute hats.density=-0.5
      evodrum steer loop.mid --style funk=+1 -n 5        # a sweep of 5 loops
      evodrum steer loop.mid -a hats.density=+1 --lock BD,SD   # kick, snare as written
      evodrum steer --list                                # directions and their slopes
      evodrum steer --build --model runs/train-.../model.pt --out runs/directions
    """
    from vae import directions as latent_directions
    if listing or build:
        refuse_together("listing", "build")
        typed = spelled(given_options(["file", "attributes", "styles"]))
        if typed:
            raise click.UsageError(f"{'--list' if listing else '--build'} steers no loop, so "
                                   f"it takes no {', '.join(typed)}",
                                   click.get_current_context())
    if build:
        return _build(model_path, corpus_name, cache_dir, out)
    model = _load(model_path)
    found = latent_directions.for_model(model)
    if listing:
        say(_listing(found))
        add(model=model.name, directions=[{"name": item.name, "kind": item.kind,
                                           "unit": item.unit, "measured": item.measured}
                                          for item in found.items.values()])
        return
    if file is None:
        raise EvodrumError("steer needs a MIDI or grid file (or --list / --build)")
    amounts = {found.resolve(n): v for n, v in attributes}
    amounts.update({found.resolve(f"style:{n}" if ":" not in n else n): v for n, v in styles})
    if not amounts:
        raise EvodrumError("nothing to steer: give --attribute NAME=AMOUNT or --style NAME=AMOUNT"
                           " (evodrum steer --list shows the names)")
    latent_directions.check_amounts(amounts)     # before the loop is read and encoded
    low, high = latent_directions.RANGE
    for name, value in amounts.items():
        if not low <= value <= high:
            click.echo(f"note: {name}={value:+g} is outside the measured range "
                       f"{low:+g}..{high:+g}", err=True)
    original, file_bpm, label = _read(file, model.spec, window, drum_map, drum_channel)
    bpm = bpm or file_bpm
    code = _encode(model, original.velocities, refine_steps, [label]).codes[0]
    fractions = np.arange(1, count + 1) / count
    from evodrum.lock import Lock
    lock = Lock.of_loop(lock_rows, original) if lock_rows else None
    decode = _decoder(model, lock)
    # loop k moves k/N of the way; a move that changes nothing, or moves a feature the
    # wrong way, is replaced by the nearest code along and around the direction that works
    moves = [latent_directions.move(model, code, {n: f * v for n, v in amounts.items()},
                                    None if lock is None else lock.apply) for f in fractions]
    steered = np.stack([m.grid for m in moves])
    encoded = decode(code[None])[0]
    folder = new_run_dir("steer", out)
    say(display.render(encoded, model.spec, f"{file}, as encoded", ascii=ascii) + "\n")
    what = ", ".join(f"{n} {v:+g}" for n, v in amounts.items())
    titles = [f"steered {i + 1} of {count}: " + ", ".join(
        f"{n} {f * v:+.2g}" for n, v in amounts.items()) for i, f in enumerate(fractions)]
    _write(folder, _numbered("steered", count),
           _keep_locked(lock, model_feel(model, steered, bpm, feel_amount, scatter, swing)),
           titles, model.spec,
           bpm, ascii, "steered.npz", inputs=[file], note_map=note_map)
    for i, m in enumerate(moves, 1):
        if m.note:
            say(f"note: steered {i}: {m.note}", err=True)
        elif m.searched:
            say(f"note: steered {i}: the straight move changed nothing (or moved a feature "
                "the wrong way); this is the nearest loop along and around the direction "
                "that moves it", err=True)
            detail(f"  ({_distance(m.code, code, model):.2f} prior standard deviations from "
                   "your loop's code)")
    add(moves=[{"searched": m.searched, "works": m.works, "note": m.note} for m in moves])
    say(f"\nfeatures ({what}; * = the ones you steered):")
    say(_feature_table(original.velocities, encoded, steered, list(amounts), model.spec))


def _distance(a, b, model) -> float:
    """Root-mean-square distance between two codes, in prior standard deviations."""
    return float(np.sqrt(np.mean(np.square((a - b) / np.asarray(model.latent_std)))))


def _feature_table(original, encoded, steered, steered_names, spec) -> str:
    """Every feature (and each steered row density) of the loop, as encoded, and steered."""
    import fitness
    from fitness.features import plain_name
    from vae.directions import attribute_values
    names = list(fitness.FEATURE_NAMES) + [n for n in steered_names
                                           if n not in fitness.FEATURE_NAMES
                                           and not n.startswith("style:")]
    values = attribute_values(np.concatenate([original[None], encoded[None], steered]), spec)
    head = ["your loop", "model's"] + [f"steered {i + 1}" for i in range(len(steered))]
    lines = [f"  {'feature':<30}" + "".join(f"{h:>11}" for h in head)]
    for name in names:
        mark = "*" if name in steered_names else " "
        lines.append(f"{mark} {plain_name(name):<30}" + "".join(f"{v:>11.3f}"
                                                              for v in values[name]))
    return "\n".join(lines)


def _listing(found) -> str:
    """The directions, one line each, with what +1 does on held-out loops."""
    lines = [f"{'direction':<24} {'slope per +1':>13} {'in sds':>7} {'monotonic':>10}  "
             "works  notes"]
    for item in found.items.values():
        m = item.measured
        if item.kind == "attribute":
            lines.append(f"{item.name:<24} {m.get('slope', float('nan')):>+13.3f} "
                         f"{m.get('slope_sd', float('nan')):>+7.2f} "
                         f"{'yes' if m.get('monotonic') else 'no':>10}  "
                         f"{'yes' if m.get('works') else 'no':<5}  "
                         f"largest side effect {m.get('off_target_max', '?')} "
                         f"{m.get('off_target_max_sd', float('nan')):+.2f} sds")
        else:
            vote = " -> ".join(f"{100 * v:.0f}%" for v in m.get("vote", []))
            lines.append(f"{item.name[6:]:<24} {'(style)':>13} {'':>7} {'':>10}  "
                         f"{'yes' if m.get('works') else 'no':<5}  "
                         f"nearest-style vote at 0/+1/+2: {vote or 'not measured'}")
    from vae.directions import RANGE
    lines.append(f"\nrange {RANGE[0]:+g}..{RANGE[1]:+g}; use: evodrum steer FILE --attribute NAME=AMOUNT "
                 "--style NAME=AMOUNT")
    return "\n".join(lines)


def _build(model_path, corpus_name, cache_dir, out) -> None:
    """Build, measure and save directions for a model; write the disentanglement report."""
    import vae
    from evodrum.corpus import load_corpus
    from vae import disentangle
    from vae.directions import directions_path
    from vae.report import directions_report
    path = vae.resolve(model_path)
    target = directions_path(path)
    if target.is_symlink():
        raise EvodrumError(f"{target}: is a symbolic link; evodrum never writes through one "
                           "(remove it to build the directions)")
    if target.exists():
        raise EvodrumError(f"{target}: already exists; remove it to rebuild the directions")
    model = _load(model_path)
    corpus = load_corpus(corpus_name, cache_dir)
    if corpus.spec != model.spec:
        raise EvodrumError(f"corpus {corpus.path} is at {corpus.spec.describe()}, the model "
                           f"decodes {model.spec.describe()}")
    say(f"building directions for {model.name} from {corpus.path} ...", err=True)
    directions, matrix = disentangle.build_and_measure(model, corpus)
    directions.save(target)
    folder = new_run_dir("directions", out)
    report = directions_report(folder, model, directions, matrix)
    say(_listing(directions))
    in_folder(folder)
    wrote(target, "json")
    wrote(report, "md")
    say(f"\nwrote {target} and {report}")
