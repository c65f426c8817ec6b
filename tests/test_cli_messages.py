"""What the command line says to a person: usage mistakes as one `error:` line (plus a
short hint), and shell completion scripts for bash, zsh and fish."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from evodrum.cli import main


@pytest.mark.parametrize("args, first", [
    (["--bogus"], "error: no such option '--bogus'"),
    (["bogus"], "error: no such command 'bogus'"),
    (["target", "--feature", "density=0.4"], "error: no such option '--feature'. (Did you "
                                             "mean one of: '--features', '--feel'?)"),
    (["show"], "error: missing argument 'FILES...'"),
    (["data", "build", "--bogus"], "error: no such option '--bogus'"),
    (["show", "x.mid", "--grid", "3x"], "error: invalid value for '--grid': unknown grid "
                                        "resolution '3x'"),
    (["sample", "-n", "zero"], "error: invalid value for '-n': 'zero' is not a valid integer"),
    (["render", "x.mid", "--tail", "long"], "error: invalid value for '--tail'"),
])
def test_usage_mistakes_start_with_error(args, first):
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2
    lines = r.output.splitlines()
    assert lines[0].startswith(first), r.output
    assert len(lines) == 2 and "--help" in lines[1] and "Usage:" not in r.output


def test_help_and_a_bare_group_still_show_help():
    for args in ([], ["data"], ["target", "--help"]):
        r = CliRunner().invoke(main, args, prog_name="evodrum")
        assert r.output.startswith("Usage: evodrum"), args


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o nosort -F _evodrum_completion"),
                                           ("zsh", "#compdef evodrum"),
                                           ("fish", "complete --no-files --command evodrum")])
def test_completion_scripts_are_produced(shell, marker):
    r = CliRunner().invoke(main, [], prog_name="evodrum",
                           env={"_EVODRUM_COMPLETE": f"{shell}_source"})
    assert r.exit_code == 0 and marker in r.output


@pytest.mark.parametrize("words, expected", [
    ("evodrum doc", ["doctor"]),
    ("evodrum target --space ", ["vae", "pca", "grid"]),
    ("evodrum examples f", ["funk"]),
])
def test_completion_answers_commands_choices_and_example_names(words, expected):
    env = {"_EVODRUM_COMPLETE": "bash_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
    r = CliRunner().invoke(main, [], prog_name="evodrum", env=env)
    assert [line.split(",", 1)[1] for line in r.output.splitlines()] == expected
