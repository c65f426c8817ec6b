"""`evodrum examples`: the example loops that ship with evodrum, to try it without a dataset."""
from __future__ import annotations

import json

import click

from evodrum import examples as E
from evodrum.cli import main
from evodrum.text import count


@main.command("examples")
@click.argument("names", nargs=-1, metavar="[NAME]...", type=click.Choice(E.names()))
@click.option("--copy", "copy_dir", type=click.Path(file_okay=False), default=None,
              metavar="DIR", help="Copy the loops (all, or the NAMEs) into DIR as NAME.mid.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of {name, style, bpm, path} instead of a table.")
def examples(names, copy_dir, as_json):
    """Example drum loops to try evodrum on, no dataset needed.

    Six 4-bar loops written by hand for evodrum (MIT licence, like the rest of
    it): rock, funk, bossa, hiphop, breakbeat and house, each a MIDI file at
    its own tempo. Without options, lists them; with NAMEs, prints just their
    paths (handy in $(...)); --copy DIR puts them in a folder of your own.

    \b
    Examples:
      evodrum examples                     # name, tempo, style, path
      evodrum examples --copy loops        # loops/rock.mid, loops/funk.mid, ...
      evodrum show "$(evodrum examples funk)"
      evodrum target --like loops/funk.mid
    """
    chosen = [E.pattern(n) for n in names] if names else list(E.PATTERNS)
    if copy_dir:
        copied, same = E.copy_to(copy_dir, [p.name for p in chosen])
        if copied:
            click.echo(f"copied {count(len(copied), 'example loop')} to {copy_dir}: "
                       + ", ".join(p.name for p in copied)
                       + (f" ({len(same)} already there)" if same else ""))
        else:
            click.echo(f"{copy_dir} already holds {count(len(same), 'example loop')}")
        return
    if as_json:
        click.echo(json.dumps([{"name": p.name, "style": p.style, "bpm": p.bpm,
                                "path": str(E.path(p.name))} for p in chosen], indent=2))
        return
    if names:
        for p in chosen:
            click.echo(E.path(p.name))
        return
    for p in chosen:
        click.echo(f"{p.name:<10} {p.bpm:>4g} BPM  {p.style}")
    click.echo(f"\nfiles in {E.FOLDER}; copy them with: evodrum examples --copy DIR")

