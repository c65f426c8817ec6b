"""Each file a command is given is read and parsed once: a loop that plays as one window
in groove, render and play (read to its last bar, then cut as `show` counts windows),
seed loops (said, locked from, encoded, timed), and a note map file given as --drum-map
however many MIDI files are read through it. The next command reads them afresh: a
file edited between two runs (or while a command runs) is read as it is now."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from midi_files import basic_beat, drum_file, metred_file

from evodrum import infile, notemap, smf
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
    with infile.read_once():
        first = notemap.load(str(kit))
        assert notemap.load(str(kit)) is first
        kit.write_text(KIT.format(sd=40, lt=38) + "# edited in place\n")
        edited = notemap.load(str(kit))
        assert edited.pitches[1] == 40 and notemap.load(str(kit)) is edited
    assert notemap.load(str(kit)) is not notemap.load(str(kit))    # no block: no keeping


@pytest.mark.parametrize("command", [["groove", "--swing", "58", "-o", "{out}/g.mid"],
                                     ["render", "--synth", "builtin", "--sample-rate", "8000",
                                      "--raw", "-o", "{out}/r.wav"],
                                     ["play", "--no-audio", "--synth", "builtin",
                                      "--sample-rate", "8000", "--out-dir", "{out}/p"]])
def test_a_file_that_plays_as_one_window_is_parsed_once(tmp_path, monkeypatch, command):
    kit = tmp_path / "kit.toml"
    kit.write_text(KIT.format(sd=38, lt=43))
    loop = drum_file(tmp_path / "loop.mid", basic_beat(2))
    # a 3/4 bar between 4/4 ones: played from its first window alone, not whole
    odd = metred_file(tmp_path / "odd.mid", [(4, 4)] * 6 + [(3, 4)] + [(4, 4)] * 6)
    parsed, maps = [], []
    real, real_map = smf.parse, notemap.parse
    monkeypatch.setattr(smf, "parse", lambda path, *a: parsed.append(path) or real(path, *a))
    monkeypatch.setattr(notemap, "parse",
                        lambda text, where, key: maps.append(where) or real_map(text, where, key))
    for n, file in enumerate([loop, odd]):
        args = [a.format(out=tmp_path / f"out{n}") for a in command]
        output = run(command[0], file, *args[1:], "--drum-map", kit)
        assert parsed == [str(file)], output
        parsed.clear()
    assert maps == [str(kit)] * 2          # once per command


@pytest.mark.parametrize("command", [
    ["target", "-f", "density=0.4", "-g", 1, "-p", 8, "--space", "pca", "--lock", "BD"],
    ["map", "-g", 1, "-p", 4, "--cells", 3, "--space", "pca", "--lock", "BD"],
    ["interactive", "--no-audio", "--synth", "builtin", "--space", "grid", "--lock", "BD"]])
def test_seed_loops_are_parsed_once(tmp_path, monkeypatch, command):
    loops = [drum_file(tmp_path / f"{i}.mid", basic_beat(2), tempo_bpm=90 + i) for i in range(2)]
    parsed = []
    real = smf.parse
    monkeypatch.setattr(smf, "parse", lambda path, *a: parsed.append(path) or real(path, *a))
    seeds = [a for lp in loops for a in ("--seed-loops", lp)]
    r = CliRunner().invoke(main, [str(a) for a in [*command, *seeds, "--refine", 0,
                                                   "--out", tmp_path / "out"]], input="q\n")
    assert r.exit_code == 0, r.output
    assert sorted(parsed) == [str(lp) for lp in loops]


def test_a_block_keeps_the_last_files_read_and_never_a_failure(tmp_path):
    files = [tmp_path / f"{i}.txt" for i in range(infile.KEPT_FILES + 1)]
    for f in files:
        f.write_text(f.name)
    reads = []

    def read(f):
        reads.append(f)
        return f.read_text()

    with infile.read_once():
        for f in files:
            assert infile.once(f, "text", lambda f=f: read(f)) == f.name
        assert infile.once(files[-1], "text", lambda: read(files[-1])) == files[-1].name
        assert infile.once(files[-1], "other", lambda: "read otherwise") == "read otherwise"
        infile.once(files[0], "text", lambda: read(files[0]))     # the oldest, let go
        assert reads == [*files, files[0]]
        for _ in range(2):
            with pytest.raises(ValueError):
                infile.once(files[1], "bad", lambda: int("not a number"))
