"""The README's quick start, run line by line as a new user would type it.

The commands come from the README itself, so the quick start cannot drift from
what works: no dataset, no sound card (`--no-audio`), only the shipped model
and example loops.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from evodrum import examples
from evodrum.audio import read_wav
from evodrum.cli import main
from evodrum.midi import read_loop

README = Path(__file__).resolve().parents[1] / "README.md"

#: Full tier: the quick start runs every kind of command (a search, an interactive
#: session rendering with FluidSynth): 9 s of CPU a run; each command is tested in
#: the fast tier on its own.
pytestmark = pytest.mark.slow


def quick_start() -> list[tuple[list[str], str]]:
    """(evodrum arguments, text typed at its prompt) for each command of the quick start."""
    section = README.read_text(encoding="utf-8").split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    steps: list[tuple[list[str], str]] = []
    for line in block.splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        if line.startswith("> "):
            args, typed = steps[-1]
            steps[-1] = (args, typed + line[2:] + "\n")
        elif line.startswith("evodrum "):
            steps.append((shlex.split(line)[1:], ""))
        else:
            assert line.startswith("pip install") or not line, line
    return steps


@pytest.fixture(scope="module")
def first_time(tmp_path_factory):
    """The quick start run once, as a new user would, in a folder of its own: (the
    folder, each step's result). Both tests below read this one run."""
    folder = tmp_path_factory.mktemp("quick-start")
    shipped = {n: examples.path(n).read_bytes() for n in examples.names()}
    results = []
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        for args, typed in quick_start():
            results.append((args, CliRunner().invoke(main, args, input=typed or None)))
    assert {n: examples.path(n).read_bytes() for n in shipped} == shipped
    return folder, results


def test_the_readme_quick_start_runs_offline_without_a_sound_card(first_time, monkeypatch):
    folder, results = first_time
    monkeypatch.chdir(folder)
    assert [a[0] for a, _ in results][:3] == ["doctor", "examples", "show"]
    for args, r in results:
        assert r.exit_code == 0, (args, r.output)
        assert not re.search(r"^error:|^! ", r.output, re.M), (args, r.output)

    assert sorted(p.stem for p in Path("loops").glob("*.mid")) == sorted(examples.names())
    audio, sr = read_wav("funk.wav")
    assert sr == 44100 and len(audio) > 4 * sr and abs(audio).max() > 0.05
    assert read_wav("listen/funk.wav")[0].size and read_loop("listen/funk.mid").any()
    assert read_loop("runs/like-funk/best_01.mid").any()
    assert len(list(Path("runs/funk-variations").glob("*.mid"))) >= 4
    favourites = list(Path("runs/my-session/favourites").glob("*.mid"))
    assert favourites and read_loop(favourites[0]).any()
    assert read_wav("my-loop.wav")[0].size


def test_the_quick_start_runs_twice_and_keeps_the_first_results(first_time, monkeypatch):
    """Pasting the block again never stops on an existing output and never replaces one:
    each second result goes beside the first (funk-2.wav, runs/like-funk-2, ...)."""
    folder, results = first_time
    monkeypatch.chdir(folder)
    assert all(r.exit_code == 0 for _, r in results)
    first = {p: p.read_bytes() for p in Path(".").rglob("*") if p.is_file() and ".lock" not in p.name}
    for args, typed in quick_start():
        if args[0] == "doctor":
            continue
        r = CliRunner().invoke(main, args, input=typed or None)
        assert r.exit_code == 0, (args, r.output)
        assert not re.search(r"^error:|^! ", r.output, re.M), (args, r.output)
    assert {p: p.read_bytes() for p in first} == first
    assert Path("funk-2.wav").is_file() and Path("my-loop-2.wav").is_file()
    assert read_loop("runs/like-funk-2/best_01.mid").any()
    assert list(Path("runs/my-session-2/favourites").glob("*.mid"))
