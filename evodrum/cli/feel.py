"""Feel on the command line: `--feel`, `--scatter`, `--swing` for every command that plays
or writes loops, and `evodrum groove`, which performs any loop with a drummer's feel."""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from evodrum.cli import main
from evodrum.cli.inputs import (
    bpm_from_file_option,
    drum_channel_option,
    drum_map_option,
)
from evodrum.cli.options import (
    OUT_FILE,
    SEED,
    Number,
    ascii_option,
    given_options,
    grid_option,
    note_map_option,
)
from evodrum.cli.output import add, in_folder, output_options, say, wrote
from evodrum.errors import EvodrumError
from evodrum.feel import SWING_RANGE, Feel
from evodrum.grid import MAX_BARS
from evodrum.notes import note

FEEL_HELP = ("How much feel, 0..1: 1 plays {what}, 0 exactly on the grid (straight, for "
             "editing on a grid).")

scatter_option = click.option(
    "--scatter", type=Number(0, 1), default=1.0, show_default=True,
    help="How much of a drummer's hit-to-hit scatter the model adds to its feel: 1 as real "
         "drummers scatter, 0 only the expected feel (the same every take).")
swing_option = click.option(
    "--swing", type=Number(*SWING_RANGE), default=50.0, show_default=True, metavar="PCT",
    help="MPC-style swing on 16ths (every second 16th of a pair played late): 50 straight, "
         "54-58 a light shuffle, 66 about a triplet feel, 75 the most.")


def feel_options(what: str = "the model's feel (timing and dynamics)", *, scatter=True):
    """`--feel A` (and `--scatter`, `--swing`) for a command whose loops are played with
    `what` by default."""
    def apply(f):
        f = swing_option(f)
        if scatter:
            f = scatter_option(f)
        return click.option("--feel", "feel_amount", type=Number(0, 1), default=1.0,
                            show_default=True, help=FEEL_HELP.format(what=what))(f)
    return apply


def _with_feel(model, feel_amount: float) -> float:
    """`feel_amount`, or 0 with a note when `model` has no feel (None, a PCA, a VAE trained
    before feel); a typed --feel on such a model is an error."""
    if feel_amount > 0 and not getattr(model, "has_feel", False):
        name = getattr(model, "name", "the model")
        if given_options(["feel_amount"]):
            raise EvodrumError(f"{name} has no feel (it predicts no timing): use --feel 0, "
                               "or a model trained with feel")
        note(f"{name} has no feel, so its loops are straight")
        return 0.0
    return feel_amount


def feel_performer(model, spec, bpm, feel_amount: float, scatter: float, swing: float,
                   seed=None, lock=None):
    """A function from grids (N, 9, S) of `spec` to Loops played with `model`'s feel as
    the options ask (the scatter drawn afresh for each call, from `seed`); a `lock`'s
    cells keep the musician's velocities."""
    from evodrum.feel import perform
    from evodrum.loop import Loop
    feel_amount = _with_feel(model, feel_amount)
    rng = np.random.default_rng(seed)

    def played(grids) -> Loop:
        feel = Feel("model", feel_amount, scatter, swing, seed=int(rng.integers(2**63)))
        loops = perform(Loop.straight(np.asarray(grids, np.float32), spec), feel, bpm=bpm,
                        model=model)
        return loops if lock is None else lock.keep_played(loops)
    return played


def model_feel(model, grids, bpm, feel_amount: float, scatter: float, swing: float,
               seed=None):
    """Loops a model made (grids of its spec), played with its feel as the options ask
    (see feel_performer)."""
    return feel_performer(model, model.spec, bpm, feel_amount, scatter, swing, seed)(grids)


def session_performer(session, feel_amount: float | None, scatter: float,
                      swing: float | None, adjustable: bool = False):
    """The Performer of an interactive or studio session: the model's feel of each loop.

    `feel_amount` and `swing` are what was typed (None: the session's saved values, else
    the defaults); the session keeps what is used. `adjustable` (the studio's feel
    slider) loads the model's feel even at feel 0, so the slider can bring it in."""
    from evodrum.feel import Performer
    settings = session.settings
    if feel_amount is None:
        feel_amount = 1.0 if settings.feel is None else settings.feel
    if swing is None:
        swing = 50.0 if settings.swing is None else settings.swing
    wanted = feel_amount > 0 or adjustable
    model = feel_model(settings.model, session.spec) if wanted else None
    feel_amount = _with_feel(model, feel_amount)
    source = "model" if getattr(model, "has_feel", False) else "straight"
    performer = Performer(Feel(source, feel_amount, scatter, swing),
                          session.spec, model, settings.seed, lambda: session.lock)
    session.set_feel(performer.feel.amount, performer.feel.swing)
    return performer


def typed_feel(feel_amount: float, swing: float) -> tuple[float | None, float | None]:
    """--feel and --swing as typed, None for each left at its default (a session then
    plays with its saved values)."""
    typed = given_options(["feel_amount", "swing"])
    return (feel_amount if "feel_amount" in typed else None,
            swing if "swing" in typed else None)


def feel_model(model_path, spec=None):
    """The model whose feel plays a search's or session's loops: `model_path`, else the
    shipped one, as its exported decoder (searches never import torch); None when that
    is no model (a folder holding only a reference) or decodes another grid resolution
    than `spec`."""
    import vae
    try:
        model = vae.load_model(model_path, decode_only=True)
    except EvodrumError:
        return None
    return model if spec is None or model.spec == spec else None


def timing_summary(loop, bpm: float) -> dict:
    """How a loop is played, in milliseconds and MIDI velocities, for people and --json."""
    from evodrum.loop import offset_seconds
    hits = loop.hits
    ms = offset_seconds(loop.offsets[hits], bpm, loop.spec) * 1000
    velocity = np.rint(loop.velocities[hits] * 127)
    if not hits.any():
        return {"hits": 0}
    return {"hits": int(hits.sum()), "mean_ms": round(float(ms.mean()), 2),
            "mean_abs_ms": round(float(np.abs(ms).mean()), 2),
            "spread_ms": round(float(ms.std()), 2),
            "off_grid": round(float((np.abs(ms) >= 1).mean()), 3),
            "velocity_mean": round(float(velocity.mean()), 1),
            "velocity_spread": round(float(velocity.std()), 1)}


def describe_timing(summary: dict) -> str:
    """'played 8 ms ahead on average, hits spread by 14 ms' (or 'on the grid')."""
    if not summary.get("hits"):
        return "no hits"
    if summary["mean_abs_ms"] < 0.5:
        return "straight (every hit on the grid)"
    ahead = summary["mean_ms"]
    where = (f"{-ahead:.0f} ms ahead of the beat" if ahead <= -0.5 else
             f"{ahead:.0f} ms behind the beat" if ahead >= 0.5 else "centred on the beat")
    return f"{where} on average, hits spread by {summary['spread_ms']:.0f} ms"


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--out", type=OUT_FILE, default=None,
              help="MIDI file to write [default: FILE-groove.mid beside FILE, or "
                   "FILE-groove-2.mid, ... when that exists].")
@click.option("--window", type=click.IntRange(1), default=None,
              help="Play only this window of a longer file (the grid's 4 bars from bar N), "
                   "counting from 1 [default: the whole file, 4 bars at a time, up to "
                   f"{MAX_BARS} bars].")
@feel_options()
@click.option("--like", "like_path", type=click.Path(exists=True, dir_okay=False),
              default=None, metavar="OTHER",
              help="Play FILE with the feel of OTHER (a MIDI file): groove transfer. "
                   "Cells both play take OTHER's timing and velocity; other hits take its "
                   "timing on the same step.")
@click.option("--like-window", type=click.IntRange(1), default=None,
              help="Which window of OTHER, counting from 1 [default: where its drums come in].")
@click.option("--seed", type=SEED, default=None,
              help="Random seed of the scatter, for a repeatable take.")
@click.option("--wav", is_flag=True, help="Also write the performance as a WAV file beside "
                                          "the MIDI file (built-in kit or FluidSynth).")
@bpm_from_file_option
@grid_option
@drum_map_option
@drum_channel_option
@click.option("--model", "model_path", type=click.Path(), default=None,
              help="The model whose feel is used [default: the shipped model].")
@note_map_option
@ascii_option
@output_options
def groove(file, out, window, feel_amount, scatter, swing, like_path, like_window, seed, wav,
           bpm, spec, drum_map, drum_channel, model_path, note_map, ascii):
    """Play a drum loop like a drummer: same hits, human timing and dynamics.

    FILE is any loop (a quantised pattern from your DAW, a `target` result),
    played whole: an 8-bar pattern comes back as 8 bars, a window of the grid's
    4 bars at a time (a shorter loop fills the 4 bars: a 1- or 2-bar loop
    repeats, a 3-bar one gets a silent 4th). By default the model's feel
    is used: the velocities and timing a Groove
    drummer would give these hits at this tempo, with their natural
    hit-to-hit scatter (--scatter 0: the expected feel alone; --seed: a
    repeatable take). --like OTHER.mid takes the feel of another loop
    instead (groove transfer). --swing alone swings the loop as written;
    with --feel or --like it swings that feel. --feel 0.5 is half of it.
    Writes MIDI at 480 ticks per beat (and WAV with --wav); FILE is never
    changed.

    \b
    Examples:
      evodrum groove my_beat.mid                    # the model's feel
      evodrum groove my_beat.mid --scatter 0        # its expected feel, no scatter
      evodrum groove my_beat.mid --feel 0.5 --seed 3 --wav
      evodrum groove my_beat.mid --like drummer.mid # groove transfer
      evodrum groove my_beat.mid --swing 62         # MPC swing, nothing else
      evodrum groove my_beat.mid --note-map roland-td   # for a V-Drums module
    """
    from evodrum import display, midi
    from evodrum.audio import open_renderer, write_audio
    from evodrum.cli import inputs
    from evodrum.feel import perform
    from evodrum.outpaths import Outputs

    typed = given_options(["feel_amount", "scatter"])
    source = "like" if like_path else "straight" if swing != 50 and not typed else "model"
    model = None
    if source == "model":
        import vae
        model = vae.load_model(model_path)
        if "spec" in given_options(["spec"]) and spec != model.spec:
            raise EvodrumError(f"--grid: the model's feel plays grids of {model.spec.describe()}, "
                               f"not {spec.describe()}; play those with --swing PCT or "
                               "--like OTHER.mid")
        spec = model.spec
    try:
        loops, plan, chosen = inputs.to_play(file, spec, window, drum_map, drum_channel,
                                             model_spec=model and spec)
    except midi.BadMidiFile as e:
        if model is None or not e.holding_grid:
            raise
        raise EvodrumError(f"{e}; the model's feel plays only its own grid: --swing PCT or "
                           f"--like OTHER.mid play it on {e.holding_grid}") from None
    changes = loops.tempo_map(plan) if bpm is None else None   # kept in the MIDI file
    changes = changes if changes and len(changes) > 1 else None
    bpm = bpm or loops.bpm(plan.windows[0])
    like = None
    if like_path is not None:
        others, j = inputs.pick(like_path, spec, like_window, drum_map, drum_channel)
        like = others.loop(j)
        if not like.offsets.any():
            click.echo(f"warning: {like_path}: is played exactly on the grid, so it has no "
                       "timing to give", err=True)
    feel = Feel(source, feel_amount, scatter, swing, like, seed)
    played = plan.stitched(perform(loops.loops()[plan.windows], feel, bpm=bpm, model=model))

    outputs = Outputs([file, like_path])
    stem = Path(file).with_name(f"{Path(file).stem}-groove")
    if out is not None:
        mid_path = outputs.explicit(out)
        wav_path = outputs.derived(mid_path.with_suffix(".wav")) if wav else None
    elif wav:
        mid_path, wav_path = outputs.derived_set(stem.parent, stem.name, [".mid", ".wav"])
    else:
        mid_path, wav_path = outputs.derived(stem.with_suffix(".mid")), None
    spec = played.spec
    written = [midi.write_midi(mid_path, played, spec, bpm, note_map=note_map,
                               tempo_map=changes, metre=loops.metre_map(plan))]
    wrote(written[0], "midi", bpm=bpm, hits=int(played.hits.sum()))
    if wav_path is not None:
        from evodrum.audio.synth import AudioTooLong
        renderer, _ = open_renderer("auto", None)
        try:
            written.append(write_audio(wav_path, renderer(played, spec, bpm, 44100, "wrap"), 44100))
        except (AudioTooLong, MemoryError) as e:
            raise AudioTooLong.of(file, e, "a faster --bpm",
                                     "--window N (one window of the file)") from None
        wrote(written[1], "audio")
    summary = timing_summary(played, bpm)
    in_folder(mid_path.parent)
    whole = chosen is None
    add(input=file, window=None if whole else chosen + 1, bars=spec.bars,
        file_bars=plan.file_bars if whole else None, bpm=bpm,
        spec=spec.to_dict(),
        feel={"source": source, "amount": feel_amount, "scatter": scatter, "swing": swing,
              "seed": seed, "like": like_path, "model": getattr(model, "name", None)},
        played=summary, written=[str(p) for p in written])
    say(display.render(played.velocities, spec, title=Path(file).name, ascii=ascii))
    which = f" {loops.extent(plan)}" if whole else ""
    say(f"played{which} with {feel.describe()} at {bpm:g} BPM: {describe_timing(summary)}")
    if changes:
        say(f"kept the file's tempo changes ({len(changes) - 1}, to "
            f"{', '.join(f'{b:g}' for _, b in changes[1:])} BPM) in {mid_path.name}; "
            f"the feel{' and the audio play' if wav_path else ' plays'} at {bpm:g} BPM, "
            "where it starts")
    say(f"wrote {', '.join(str(p) for p in written)}")
