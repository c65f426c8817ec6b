"""`evodrum doctor`: one table of what works here, and what to install for the rest."""
from __future__ import annotations

import json
import textwrap

import click

from evodrum.cli import main


@main.command()
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON document {ok, audio_output, synth, sound, checks} instead.")
def doctor(as_json):
    """Check what works on this machine and say what to install for what does not.

    Tries the real thing for each part: the torch build and its threads, the
    shipped model (loads it and decodes a loop), the corpus cache, every audio
    output (plays a short silence on sounddevice, afplay, paplay, pw-play and
    aplay), FluidSynth and the soundfonts it can find (renders a loop), MIDI
    output ports and the optional extras. `play` and `interactive` run the same
    audio check when they start. Exits 1 only when something evodrum needs is
    broken (not for a missing optional part).

    \b
    Examples:
      evodrum doctor
      evodrum doctor --json
    """
    from evodrum.doctor import BROKEN, MISSING, diagnose
    from evodrum.text import count

    found = diagnose()
    if as_json:
        click.echo(json.dumps(found.to_dict(), indent=2))
        raise SystemExit(0 if found.ok else 1)
    rows = [(c.area, c.name, c.status, c.detail) for c in found.checks]
    widths = [max(len(r[i]) for r in rows + [("area", "check", "status", "")]) for i in range(3)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(("area", "check", "status"), widths))
               + "  detail")
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r[:3], widths)) + "  " + r[3])
    todo = [c for c in found.checks if c.status in (MISSING, BROKEN) and c.fix]
    if todo:
        click.echo(f"\nto fix ({count(len(todo), 'item')}):")
        for c in todo:
            click.echo(f"  {c.name}: {c.fix}")
    click.echo()
    click.echo(textwrap.fill(f"sound: {found.sound_advice}", width=100, subsequent_indent="  "))
    if not found.ok:
        click.echo("error: evodrum itself is not working here (see 'broken' above)", err=True)
        raise SystemExit(1)
