"""`evodrum interactive`: evolve drum loops by ear, rating them generation by generation."""
from __future__ import annotations

import contextlib
import secrets
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from evodrum.cli import main
from evodrum.cli.feel import feel_options, session_performer, typed_feel
from evodrum.cli.inputs import drum_channel_option, drum_map_option, tell_seed_loops
from evodrum.cli.listen import listening_options
from evodrum.cli.options import (
    OUT_FOLDER,
    SEED,
    Number,
    ascii_option,
    lock_option,
    prior_option,
    refine_option,
    session_bpm_option,
    space_option,
)
from evodrum.errors import EvodrumError
from evodrum.interactive.commands import KEYS
from evodrum.resume import refuse_changed_options

#: Options that shape the evolution: fixed for a session, so not with --resume.
SESSION_OPTIONS = ("loops", "fresh", "adventure", "blend", "keep_favourites", "space", "model",
                   "seed_loops", "refine_steps", "seed", "lock_rows", "prior", "drum_map",
                   "drum_channel")

HELP = """Evolve drum loops by ear: listen, rate, breed the next generation.

Each generation shows a handful of loops. Play them, rate what you hear
from 0 (dislike) to 9 (love it) and mark favourites; then breed. The next
generation blends the loops you liked and varies them in the VAE's latent
space (DEAP blend crossover and Gaussian mutation, parents chosen by
rating), keeps your favourites, and adds a few fresh loops to keep
exploring. Unrated loops are left out of breeding, unless you rated
nothing at all.

Every rating is saved at once in the session folder (runs/interactive-...),
so Ctrl-C or a crash loses nothing: continue with --resume FOLDER. Quitting
writes your favourites as MIDI files and a summary (summary.md, .json).

\b
Keys: type a command and Enter; several fit on a line separated by
commas, e.g. "1 7, 2 3, 5 9, n". Commands are read line by line from
standard input, so a session can be scripted from a file.
\b
{keys}

\b
Examples:
  evodrum interactive
  evodrum interactive --seed-loops mine.mid --adventure 0.5
  evodrum interactive --seed-loops mine.mid --lock BD,SD  (evolve the rest)
  evodrum interactive --space pca            (compare by ear with the PCA map)
  evodrum interactive --no-audio             (write MIDI + WAV for your player)
  evodrum interactive --midi-port "IAC Driver Bus 1" --bpm 96
  evodrum interactive --resume runs/interactive-20261124-101500
""".format(keys="\n".join(f"  {k:<6} {what}" for k, what in KEYS))


@main.command(help=HELP)
@click.option("--loops", "-n", type=click.IntRange(2, 16), default=8, show_default=True,
              help="Loops per generation.")
@click.option("--fresh", type=click.IntRange(0), default=1, show_default=True,
              help="New loops from the prior in every generation, to keep exploring.")
@click.option("--adventure", type=Number(0, 10, low_open=True), default=0.3,
              show_default=True, help="How far variations stray from their parents: Gaussian "
              "mutation in prior standard deviations (0.1 subtle, 1 wild). Change it during "
              "the session with 'a X'.")
@click.option("--blend", type=Number(0, 1), default=0.5, show_default=True,
              help="Share of children that blend two liked loops (the rest vary one).")
@click.option("--keep-favourites/--no-keep-favourites", default=True, show_default=True,
              help="Elitism: favourites join every next generation unchanged.")
@space_option
@prior_option
@click.option("--model", type=click.Path(exists=True), default=None,
              help="VAE model file or training run folder [default: the shipped model].")
@click.option("--seed-loops", multiple=True, type=click.Path(exists=True, dir_okay=False),
              metavar="FILE.mid", help="Start from your own loops (repeat for several).")
@drum_map_option
@drum_channel_option
@refine_option
@click.option("--seed", type=SEED, default=None,
              help="Random seed: the same seed and ratings give the same loops [default: new].")
@click.option("--resume", type=click.Path(exists=True), default=None, metavar="SESSION",
              help="Continue a session (its folder or session.json) where you stopped.")
@click.option("--out", type=OUT_FOLDER, default=None,
              help="Session folder [default: runs/interactive-DATE-TIME].")
@session_bpm_option
@feel_options()
@lock_option("the first --seed-loops file")
@listening_options
@ascii_option
@click.pass_context
def interactive(ctx, loops, fresh, adventure, blend, keep_favourites, space, prior, model,
                seed_loops, drum_map, drum_channel, refine_steps, seed, resume, out, bpm,
                feel_amount, scatter, swing,
                lock_rows, output, midi_port, clock, clock_in, link, note_map, no_audio, out_dir,
                synth_name, soundfont, sr, ascii):
    from evodrum.audio import open_player
    from evodrum.audio.outputs import working_output
    from evodrum.interactive import store
    from evodrum.interactive.controller import Controller
    from evodrum.interactive.lifecycle import (
        finish_session,
        resume_session,
        start_session,
    )
    from evodrum.interactive.screen import Screen
    from evodrum.interactive.session import Settings
    from evodrum.runs import folder_lock

    def given(name):
        return ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)

    if not (no_audio or midi_port):
        output = working_output(output)  # no sound here: say so before the model loads
    if resume:
        refuse_changed_options([n for n in SESSION_OPTIONS if given(n)], "session",
                               " (change adventure inside the session with 'a X')")
        session, folder, space_ = resume_session(resume, bpm)
    else:
        settings = Settings(space=space, model=str(Path(model).resolve()) if model else None,
                            loops=loops, fresh=fresh, adventure=adventure, blend=blend,
                            keep_favourites=keep_favourites, seed_loops=tuple(seed_loops),
                            refine=refine_steps, lock=lock_rows,
                            seed=secrets.randbelow(1_000_000) if seed is None else seed, bpm=bpm,
                            prior=prior, drum_map=drum_map, drum_channel=drum_channel)
        session, folder, space_ = start_session(settings, out)
        tell_seed_loops(seed_loops, session.spec, drum_map, drum_channel)

    tty = sys.stdin.isatty() and sys.stdout.isatty()
    try:
        player = open_player(output=output, midi_port=midi_port, no_audio=no_audio,
                             out_dir=out_dir or folder / "listen", owned=out_dir is None,
                             synth_name=synth_name, soundfont=soundfont, sr=sr,
                             sync=dict(clock=clock, clock_in=clock_in, link=link,
                                       bpm=session.settings.bpm), note_map=note_map)
    except EvodrumError:
        if not resume:
            with contextlib.suppress(OSError):
                folder.rmdir()  # the new session folder, still empty
        raise
    click.echo(f"session {folder} · seed {session.settings.seed} · {player.description}")
    with folder_lock(folder), player:  # one program at a time writes a session
        feel, swing_pct = typed_feel(feel_amount, swing)   # else the session's
        performer = session_performer(session, feel, scatter, swing_pct)
        controller = Controller(session, folder, space_, player,
                                Screen(str(folder), click.echo, tty, ascii), no_audio, performer,
                                note_map)
        ended = controller.run(_terminal_lines() if tty else sys.stdin, echo_input=not tty)
        favourites = finish_session(controller.saver, folder, performer, note_map)
    click.echo(f"{ended}: session saved in {folder / store.SESSION_FILE} "
               f"(continue: evodrum interactive --resume {folder})")
    click.echo(f"{len(favourites)} favourite{'s' * (len(favourites) != 1)} in "
               f"{folder / 'favourites'}; "
               f"summary in {folder / 'summary.md'}")


def _terminal_lines():
    """Lines typed at the prompt (with line editing) until end of input."""
    try:
        import readline  # noqa: F401  (arrow keys and history for input())
    except ImportError:
        pass
    while True:
        try:
            yield input("> ")
        except EOFError:
            return
