"""Click options shared by several commands, defined once."""
from __future__ import annotations

import click

from evodrum import checks
from evodrum.errors import EvodrumError
from evodrum.grid import PRESETS, parse_spec


class Number(click.FloatRange):
    """A finite number within bounds (nan and inf refused: click's FloatRange lets nan
    through every bound), checked by evodrum.checks; --help shows the range as click
    shows an IntRange's."""

    name = "number"

    def __init__(self, low=None, high=None, *, low_open=False, high_open=False):
        super().__init__(low, high, min_open=low_open, max_open=high_open)
        self.bounds = dict(low=low, high=high, low_open=low_open, high_open=high_open)

    def convert(self, value, param, ctx):
        try:
            value = float(value) if isinstance(value, str) else value
            return checks.number(value, "value", **self.bounds)
        except ValueError:
            self.fail(f"{value!r} is not a number", param, ctx)
        except EvodrumError as e:
            self.fail(str(e).removeprefix("value "), param, ctx)


class OutPath(click.Path):
    """A path to write to: an empty name (which would mean the current folder) is refused."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("is empty; give a folder or file name", param, ctx)
        return super().convert(value, param, ctx)


#: `--out FOLDER` and `-o FILE` of the commands that write.
OUT_FOLDER = OutPath(file_okay=False)
OUT_FILE = OutPath(dir_okay=False)


class Seed(click.ParamType):
    """A random seed: a whole number from 0 to 2^64 - 1 (what numpy and torch take)."""

    name = "seed"

    def convert(self, value, param, ctx):
        try:
            return checks.seed(int(value) if isinstance(value, str) else value, "value")
        except ValueError:
            self.fail(f"{value!r} is not a whole number", param, ctx)
        except EvodrumError as e:
            self.fail(str(e).removeprefix("value "), param, ctx)


SEED = Seed()


def _spec(ctx, param, value):
    try:
        return parse_spec(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


grid_option = click.option(
    "--grid", "spec", default="default", show_default=True, callback=_spec,
    help=f"Grid resolution: {' or '.join(PRESETS)} (the paper's 8 bars of eighth notes), "
         "or BARSxBEATSxSTEPS such as 4x4x4.")

def _space_help() -> str:
    from evodrum import genotypes
    return "Genotype space: " + "; ".join(f"{e.name}: {e.help}" for e in genotypes.SPACES.values())


def space_choice() -> click.Choice:
    from evodrum import genotypes
    return click.Choice(genotypes.names())


space_option = click.option(
    "--space", type=space_choice(), default="vae", show_default=True, help=_space_help())


def _algorithm_help() -> str:
    from evodrum.search import algorithms
    return "Search algorithm: " + "; ".join(f"{e.name}: {e.help}"
                                            for e in algorithms.ALGORITHMS.values())


def _algorithm_choice() -> click.Choice:
    from evodrum.search import algorithms
    return click.Choice(algorithms.names())


algorithm_option = click.option(
    "--algorithm", type=_algorithm_choice(), default="ga", show_default=True,
    help=_algorithm_help())

def given_options(names) -> list[str]:
    """Which of the current command's options `names` the user typed (rather than
    their defaults), in the given order."""
    ctx = click.get_current_context()
    return [n for n in names
            if ctx.get_parameter_source(n) is click.core.ParameterSource.COMMANDLINE]


def refuse_together(*names: str) -> None:
    """A usage error when the user typed more than one of these options (by parameter
    name): they ask for different things, and one would be silently ignored."""
    typed = given_options(names)
    if len(typed) > 1:
        raise click.UsageError(" and ".join(spelled(typed))
                               + " ask for different things: give one of them",
                               click.get_current_context())


def spelled(names) -> list[str]:
    """How the user types each of the current command's parameters `names` (parameter
    names): an option's long flag (else its short one), an argument's metavar (CONFIG)."""
    params = {p.name: p for p in click.get_current_context().command.params}
    return [(p.metavar or p.name.upper()).strip("[]") if isinstance(p, click.Argument)
            else next((o for o in p.opts if o.startswith("--")), p.opts[0])
            for p in (params[n] for n in names)]


ascii_option = click.option(
    "--ascii", is_flag=True, help="Draw grids with plain ASCII glyphs.")

def tempo_option(help: str, default: float | None = None):
    """--bpm, every command's tempo option: 20-400 quarter-note beats per minute; a
    `default` of None lets the command find it (a file's tempo, a resumed run's)."""
    return click.option("--bpm", type=Number(20, 400), default=default,
                        show_default=default is not None, help=help)


bpm_option = tempo_option("Tempo in quarter-note beats per minute.", default=120.0)


def run_bpm_option(default: str):
    """--bpm of a run that --resume continues: its loops' tempo, kept in its job file
    (`default`: where the tempo of a new run comes from)."""
    return tempo_option(f"Tempo of the loops written, in quarter-note beats per minute "
                        f"[default: {default}; with --resume: the run's own].")


def _note_map(ctx, param, value):
    from evodrum.notemap import load
    return None if value is None else load(value)


note_map_option = click.option(
    "--note-map", default=None, metavar="NAME|FILE", callback=_note_map,
    help="Which MIDI pitch each drum is written and sent as, for your drum instrument: "
         "gm (General MIDI: Logic's Drum Kit Designer, an Ableton Drum Rack, Stylus RMX, "
         "any GM kit), roland-td (V-Drums, the Groove dataset's pitches; a plugin's V-Drums "
         "preset), drskit-sfz (DrumGizmo's DRSKit as SFZ) or your own .toml file "
         "[default: gm].")

session_bpm_option = tempo_option(
    "The session's tempo in quarter-note beats per minute: playback and every export use "
    "it (change it inside the session; it is saved) [default: the first seed loop's tempo, "
    "else 120; with --resume: the session's].")

refine_option = click.option(
    "--refine", "refine_steps", type=click.IntRange(0, 10_000), default=50, show_default=True,
    help="Adam steps refining each loop's latent code so that it decodes to your loop as "
         "you wrote it, from 10 starting points, then a short search that checks every "
         "hit (never less faithful than the encoder's guess; about 20 ms a loop). "
         "0: the encoder's mean.")


def _lock_rows(ctx, param, value):
    if value is None:
        return ()
    from evodrum.lock import parse_rows
    try:
        return parse_rows(value)
    except EvodrumError as e:
        raise click.BadParameter(str(e).removeprefix(f"--lock {value}: ")) from None


def lock_option(source: str):
    """--lock ROWS: rows kept exactly as in `source` (which loop, said in the help)."""
    from evodrum.lock import LOCK_HELP
    return click.option("--lock", "lock_rows", metavar="ROWS", default=None, callback=_lock_rows,
                        help=f"{LOCK_HELP} The rows come from {source}.")


prior_option = click.option(
    "--prior", type=click.Choice(["learned", "normal"]), default="learned", show_default=True,
    help="Where fresh loops come from: learned (a mixture fitted to where the training loops "
         "lie in the model's space: loops that read like drumming) or normal (the VAE's "
         "standard normal: wider, wilder). Models without a learned prior use normal.")
