"""The rule every `--resume` follows: a resumed run (target, map, interactive session)
continues with the settings it was started with, so options that define a run are
refused rather than silently ignored or half applied."""
from __future__ import annotations

from collections.abc import Iterable

from evodrum.errors import EvodrumError


def refuse_changed_options(given: Iterable[str], what: str = "run", hint: str = "") -> None:
    """EvodrumError naming the run-defining options the user gave with --resume."""
    flags = [f"--{name.replace('_', '-')}" for name in given]
    if flags:
        raise EvodrumError(f"--resume continues with the {what}'s own settings: drop "
                           f"{', '.join(flags)}{hint}")
