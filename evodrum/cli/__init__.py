"""The `evodrum` command line: parses options and calls the toolkit.

Each topic lives in its own module under `evodrum.cli` and adds its commands to
`main`; heavy imports (torch, deap) happen inside commands so `--help` is fast.
"""
from __future__ import annotations

import importlib
import logging
import os
import sys

import click

from evodrum import notes
from evodrum.errors import EvodrumError
from evodrum.infile import read_once

#: Modules that register commands on `main`, in the order `--help` lists them.
COMMAND_MODULES: tuple[str, ...] = ("examples", "data", "model", "steer", "features", "judge", "realism", "search", "listen", "feel",
                                    "interactive", "studio", "compare", "doctor")


def usage_error(e: click.UsageError) -> None:
    """Print a usage mistake as `error: ...` plus a one-line hint, and exit 2 (click's code)."""
    message = e.format_message()
    command = e.ctx.command_path if e.ctx else "evodrum"
    click.echo(f"error: {message[:1].lower()}{message[1:]}", err=True)
    click.echo(f"  (see: {command} --help)", err=True)
    sys.exit(e.exit_code)


class NoteLines(logging.Handler):
    """Prints the library's notes (`evodrum.notes`) as `note: ...` lines on stderr."""

    def emit(self, record):
        from evodrum.cli.output import current
        if not current().quiet:
            click.echo(f"note: {record.getMessage()}", err=True)


if not any(isinstance(h, NoteLines) for h in notes.LOGGER.handlers):
    notes.LOGGER.addHandler(NoteLines())
    notes.LOGGER.setLevel(logging.INFO)
    notes.LOGGER.propagate = False


def error_line(e: OSError) -> None:
    """A disk or file problem as one `error:` line; exit code 1."""
    where = f"{e.filename}: " if e.filename else ""
    click.echo(f"error: {where}{(e.strerror or str(e)).lower()}", err=True)
    sys.exit(1)


def stdout_closed() -> None:
    """The reader of stdout went away (`evodrum ... | head`): stop quietly, as `yes | head`
    does, with exit code 141 (128 + SIGPIPE); stdout goes to /dev/null so that Python's
    last flush cannot complain."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(141)


class EvodrumGroup(click.Group):
    """A click group that turns user-facing errors into one line and exit code 1
    (usage mistakes: an `error:` line and a hint, exit code 2)."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as e:  # an unknown or malformed option of `evodrum` itself
            usage_error(e)

    def invoke(self, ctx):
        try:
            with read_once():    # seed loops, a --drum-map note map: read once per command
                return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as e:  # unknown command, bad option value, missing argument
            usage_error(e)
        except EvodrumError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except BrokenPipeError as e:
            if e.filename:
                error_line(e)
            stdout_closed()
        except OSError as e:   # a disk or file problem no closer code put into words
            error_line(e)
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            sys.exit(130)

    def list_commands(self, ctx):
        return list(self.commands)  # registration order, grouped by topic


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=EvodrumGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="evodrum")
def main():
    """evodrum: search for drum loops instead of programming them.

    A drum loop is a grid of 9 drum rows x 64 steps. A variational autoencoder
    trained on real drumming maps 20 numbers to a well-formed loop; evodrum's
    searches (by feature targets, or by ear) move through those 20 numbers.

    \b
    Start here:
      evodrum examples --copy loops     six example loops to try things on
      evodrum sample -n 4               loops from the shipped model
      evodrum target --features density=0.3,syncopation=0.2
      evodrum interactive               rate loops by ear, breed the next ones
      evodrum studio                    the same in the browser, with steering sliders
      evodrum data build DIR            build a corpus from MIDI files
    """


for _name in COMMAND_MODULES:
    importlib.import_module(f"evodrum.cli.{_name}")
