"""Each file a command is given is read and parsed once: a note map file given as
--drum-map however many MIDI files are read through it. The next command reads it
afresh: a map edited between two runs (or while a command runs) is read as it is now."""
from __future__ import annotations

from click.testing import CliRunner
from midi_files import basic_beat, drum_file

from evodrum import notemap
from evodrum.cli import main

KIT = """name = "my kit"
[pitches]
BD = 36
SD = {sd}
CH = 42
OH = 46
RD = 51
CR = 49
LT = {lt}
MT = 45
HT = 48
"""


def run(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r.output


def rows_played(output: str) -> set[str]:
    """The rows of `show --ascii`'s grid that hold a hit."""
    return {line[:2] for line in output.splitlines()
            if line[2:5] == "  |" and set(line[5:]) - set("|.:")}


def test_a_drum_map_file_is_read_once_per_command_and_afresh_by_the_next(tmp_path,
                                                                        monkeypatch):
    kit = tmp_path / "kit.toml"
    kit.write_text(KIT.format(sd=38, lt=43))
    loops = [drum_file(tmp_path / f"{i}.mid", basic_beat(2)) for i in range(3)]
    parsed = []
    real = notemap.parse
    monkeypatch.setattr(notemap, "parse",
                        lambda text, where, key: parsed.append(where) or real(text, where, key))
    run("features", *loops, "--drum-map", kit)
    assert parsed == [str(kit)]            # checked as the option is read, then kept
    assert rows_played(run("show", loops[0], "--drum-map", kit, "--ascii")) == \
        {"BD", "SD", "CH"}
    kit.write_text(KIT.format(sd=40, lt=38))          # 38 is now the low tom
    assert rows_played(run("show", loops[0], "--drum-map", kit, "--ascii")) == \
        {"BD", "LT", "CH"}
    assert len(parsed) == 3                # once per command


def test_a_map_edited_while_a_command_runs_is_read_again_and_nothing_outlives_it(tmp_path):
    kit = tmp_path / "kit.toml"
    kit.write_text(KIT.format(sd=38, lt=43))
    with notemap.read_once():
        first = notemap.load(str(kit))
        assert notemap.load(str(kit)) is first
        kit.write_text(KIT.format(sd=40, lt=38) + "# edited in place\n")
        edited = notemap.load(str(kit))
        assert edited.pitches[1] == 40 and notemap.load(str(kit)) is edited
    assert notemap.load(str(kit)) is not notemap.load(str(kit))    # no block: no keeping

