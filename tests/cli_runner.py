"""Running evodrum's command line inside the test process, as a user would type it."""
from __future__ import annotations

from click.testing import CliRunner

from evodrum.cli import main


def run(*args, **kwargs):
    """`evodrum ARGS...` (each argument turned to text, so paths can be passed as they are);
    keyword arguments go to CliRunner.invoke (input=...)."""
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)
