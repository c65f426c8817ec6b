"""How a command that writes files talks: plain words by default, research figures
with --verbose, one JSON document with --json, nothing but errors with --quiet.

A command decorated with `output_options` says things with `say` (and `detail` for
figures only researchers need) and records each file with `wrote`; with --json the
human text goes to stderr and stdout holds exactly one document:
`{command, folder, files: [{path, kind, ...}], ...}`.
"""
from __future__ import annotations

import contextlib
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import click

KEY = "evodrum.output"


@dataclass
class Output:
    """The current command's output mode and what it wrote."""

    as_json: bool = False
    quiet: bool = False
    verbose: bool = False
    folder: str | None = None
    files: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def document(self, command: str) -> dict:
        return {"command": command, "folder": self.folder, "files": self.files, **self.extra}


def current() -> Output:
    """The running command's Output (a plain one outside an `output_options` command)."""
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(KEY, Output()) if ctx is not None else Output()


def say(text: str = "", *, err: bool = False) -> None:
    """A line for the person (stderr with --json, nothing with --quiet)."""
    out = current()
    if not out.quiet:
        click.echo(text, err=err or out.as_json)


def detail(text: str) -> None:
    """A research figure: shown with --verbose only (it is in --json's document anyway)."""
    if current().verbose:
        say(text, err=True)


def wrote(path: str | Path, kind: str, **figures) -> None:
    """Record a file the command wrote, with what a script may want to know of it."""
    current().files.append({"path": str(path), "kind": kind, **figures})


def in_folder(folder: str | Path) -> None:
    """Record the run folder the command wrote into."""
    current().folder = str(folder)


def add(**fields) -> None:
    """Extra top-level fields of the --json document."""
    current().extra.update(fields)


@contextlib.contextmanager
def kept_on_interrupt(what_was_kept: str):
    """Ctrl-C inside the block ends the command with exit code 130 and one line on stderr
    saying what was kept and how to continue it."""
    try:
        yield
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: {what_was_kept}", err=True)
        raise SystemExit(130) from None


def output_options(command):
    """--json, --quiet and --verbose for a command that writes files."""
    @click.option("--json", "as_json", is_flag=True,
                  help="Print what was written as one JSON document on stdout "
                       "({command, folder, files: [{path, kind, ...}], ...}); the usual "
                       "text goes to stderr.")
    @click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
    @click.option("-v", "--verbose", is_flag=True,
                  help="Also print the research figures (fidelity, prior density, ...).")
    @functools.wraps(command)
    def run(*args, as_json, quiet, verbose, **kwargs):
        from evodrum.cli.options import refuse_together
        refuse_together("quiet", "verbose")
        ctx = click.get_current_context()
        out = ctx.meta[KEY] = Output(as_json=as_json, quiet=quiet, verbose=verbose)
        result = command(*args, **kwargs)
        if as_json:
            click.echo(json.dumps(out.document(ctx.info_name), indent=2))
        return result
    return run
