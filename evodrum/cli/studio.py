"""`evodrum studio`: evolve, steer and audition loops in the browser."""
from __future__ import annotations

import html
import os
import secrets
import shutil
import socket
import tempfile
import threading
import webbrowser
from pathlib import Path

import click

from evodrum.cli import main
from evodrum.cli.feel import feel_options, session_performer, typed_feel
from evodrum.cli.inputs import drum_channel_option, drum_map_option, tell_seed_loops
from evodrum.cli.options import (
    OUT_FOLDER,
    SEED,
    given_options,
    lock_option,
    note_map_option,
    prior_option,
    refine_option,
    session_bpm_option,
    space_option,
)
from evodrum.errors import EvodrumError

HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def free_port() -> int:
    """A TCP port nobody listens on now, on the loopback interface."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def launch_file(url: str) -> Path:
    """A page that sends the browser to `url`, readable by this user only (as Jupyter
    opens its browser): the token stays out of the browser's command line, which every
    local user can read in `ps`."""
    folder = Path(tempfile.mkdtemp(prefix="evodrum-studio-"))   # mode 0700
    path = folder / "open-studio.html"
    target = html.escape(url, quote=True)
    page = (f'<!doctype html><html><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="0;url={target}"><title>evodrum studio</title>'
            f'</head><body><p>Opening <a href="{target}">evodrum studio</a>...</p></body></html>\n')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(page)
    return path


def _check_port(port: int) -> None:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            raise EvodrumError(f"port {port} is in use on {HOST}: give another with --port "
                               "(--port 0 picks a free one)") from None


@main.command()
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--no-browser", is_flag=True, help="Print the URL, do not open a browser.")
@click.option("--resume", type=click.Path(exists=True), default=None, metavar="SESSION",
              help="Continue a session (its folder or session.json), from the studio or "
                   "from `evodrum interactive`.")
@click.option("--out", type=OUT_FOLDER, default=None,
              help="Folder of a new session [default: runs/interactive-DATE-TIME].")
@click.option("--model", type=click.Path(exists=True), default=None,
              help="VAE model file or training run folder [default: the shipped model].")
@space_option
@prior_option
@click.option("--loops", "-n", type=click.IntRange(2, 16), default=8, show_default=True,
              help="Loops per generation (new sessions).")
@click.option("--seed", type=SEED, default=None, help="Random seed of a new session.")
@click.option("--seed-loops", multiple=True, type=click.Path(exists=True, dir_okay=False),
              metavar="FILE.mid", help="Start from your own loops (repeat for several).")
@drum_map_option
@drum_channel_option
@lock_option("the first --seed-loops file (lock and unlock rows on the page too)")
@refine_option
@session_bpm_option
@feel_options()
@note_map_option
def studio(port, no_browser, resume, out, model, space, prior, loops, seed, seed_loops,
           drum_map, drum_channel, lock_rows, refine_steps, bpm, feel_amount, scatter, swing,
           note_map):
    """Evolve, steer and audition drum loops in the browser.

    Starts a local web app and opens it: the population side by side as
    step-sequencer grids (click or press a number to hear a loop; the next
    one starts on the bar line), star ratings, favourites and breeding
    (Evolve); tempo, per-row mute and solo, A/B and loudness-matched
    playback (Listen); latent and attribute sliders, a four-corner blending
    palette and cell editing (Steer); feature goals searched with live
    progress (Target); the space's MAP-Elites atlas as a clickable heat map
    (Map, needs the qd extra); MIDI and WAV downloads (Export). The tempo
    field is the session's tempo (saved; every export uses it); loops can
    play through any MIDI output (Web MIDI) at a drum plugin's note map,
    and a card dragged out arrives as a .mid file. Beside a DAW, the page
    follows its MIDI clock (tempo, Start, Stop, Song Position) or an
    Ableton Link session (the link extra), or sends MIDI clock so the DAW
    follows the studio; a tempo that comes from the DAW or Link becomes the
    session's. The feel and swing sliders are saved with the session.

    The session is an `evodrum interactive` session folder, saved after
    every rating: start here and continue in the terminal, or the other way
    round. The server listens on 127.0.0.1 only and answers only requests
    carrying the token in the printed URL. Ctrl-C stops it and writes the
    favourites and summary, as quitting `evodrum interactive` does.

    \b
    Examples:
      evodrum studio
      evodrum studio --resume runs/interactive-20261201-101500
      evodrum studio --no-browser --port 0
      evodrum studio --seed-loops mine.mid --space pca
      evodrum studio --seed-loops mine.mid --lock BD,SD   # evolve around your kick, snare
      evodrum studio --bpm 93 --note-map roland-td
    """
    try:
        import uvicorn

        from evodrum.studio.api import make_app
    except ImportError:
        raise EvodrumError("evodrum studio needs its web server: pip install "
                           "'evodrum[studio]' (starlette and uvicorn)") from None
    from evodrum.interactive import store
    from evodrum.interactive.lifecycle import (
        finish_session,
        resume_session,
        start_session,
    )
    from evodrum.interactive.session import Settings
    from evodrum.runs import folder_lock
    from evodrum.runtime import single_thread
    from evodrum.studio.state import Studio, directions_of

    single_thread()   # a click decodes a few loops: a second BLAS thread only stalls it
    if port:
        _check_port(port)
    if resume:   # the options that make a session are the session's own, as in the terminal
        from evodrum.cli.interactive import SESSION_OPTIONS
        from evodrum.resume import refuse_changed_options
        mine = {p.name for p in click.get_current_context().command.params}
        refuse_changed_options(given_options([n for n in SESSION_OPTIONS if n in mine]),
                               "session")
        session, folder, space_ = resume_session(resume, bpm)
    else:
        settings = Settings(space=space, model=str(Path(model).resolve()) if model else None,
                            loops=loops, seed_loops=tuple(seed_loops), refine=refine_steps, bpm=bpm,
                            seed=secrets.randbelow(1_000_000) if seed is None else seed,
                            prior=prior, drum_map=drum_map, drum_channel=drum_channel,
                            lock=lock_rows)
        session, folder, space_ = start_session(settings, out)
        tell_seed_loops(seed_loops, session.spec, drum_map, drum_channel)
    port = port or free_port()
    token = secrets.token_urlsafe(24)
    url = f"http://{HOST}:{port}/?token={token}"
    with folder_lock(folder):
        feel, swing_pct = typed_feel(feel_amount, swing)   # else the session's
        performer = session_performer(session, feel, scatter, swing_pct,
                                      adjustable=True)
        the_studio = Studio(session, folder, space_, directions_of(space_, session.settings.model),
                            performer, note_map)
        app = make_app(the_studio, token, {f"{HOST}:{port}", f"localhost:{port}"})
        # log_config=None: uvicorn's own dictConfig would close every logging handler the
        # process has (evodrum's notes, a test runner's) before installing its own
        server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning",
                                               access_log=False, log_config=None))
        click.echo(f"evodrum studio: session {folder}")
        click.echo(f"open {url}")
        click.echo("Ctrl-C stops the studio (the session is saved after every change)")
        launcher = None if no_browser else launch_file(url)
        if launcher is not None:   # the browser's command line names a file, never the token
            threading.Timer(1.0, webbrowser.open, (launcher.as_uri(),)).start()
        try:
            server.run()
        except KeyboardInterrupt:  # uvicorn shuts down cleanly, then re-raises Ctrl-C
            pass
        finally:
            the_studio.close()
            if launcher is not None:
                shutil.rmtree(launcher.parent, ignore_errors=True)
        favourites = finish_session(the_studio.saver, folder, the_studio.performer,
                                    note_map=note_map)
    click.echo(f"session saved in {folder / store.SESSION_FILE} (continue: evodrum studio "
               f"--resume {folder}, or evodrum interactive --resume {folder})")
    click.echo(f"{len(favourites)} favourite{'s' * (len(favourites) != 1)} in "
               f"{folder / 'favourites'}; summary in {folder / 'summary.md'}")
