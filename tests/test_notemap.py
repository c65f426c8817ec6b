"""Note maps: MIDI written and sent at a drum instrument's pitches (shipped maps cite
their source; a user's file is validated, with one-line errors)."""
from __future__ import annotations

import mido
import pytest
from click.testing import CliRunner

from evodrum import kit, notemap
from evodrum.cli import main
from evodrum.examples import path as example

GOOD = """name = "My kit"
[pitches]
BD = 35
SD = 40
CH = 44
OH = 26
RD = 59
CR = 57
LT = 43
MT = 45
HT = 48
"""


def pitches_in(path) -> set[int]:
    return {m.note for t in mido.MidiFile(path).tracks for m in t if m.type == "note_on"}


def test_shipped_maps_cite_a_source_and_gm_is_what_evodrum_writes():
    names = notemap.builtin_names()
    assert names[0] == "gm" and "roland-td" in names
    for name in names:
        m = notemap.load(name)
        assert len(m.pitches) == len(kit.ROWS) and m.source
    assert notemap.load("gm").pitches == tuple(kit.OUTPUT_PITCH[r] for r in kit.ROWS)
    td = notemap.load("roland-td")            # the pitches the Groove dataset's kit reads
    assert all(kit.row_of_pitch(p) == r for r, p in zip(kit.ROWS, td.pitches))


def test_convert_writes_a_user_maps_pitches_and_leaves_the_map_unchanged(tmp_path):
    mine = tmp_path / "mykit.toml"
    mine.write_text(GOOD)
    out = tmp_path / "rock-mine.mid"
    result = CliRunner().invoke(main, ["convert", str(example("rock")), str(out),
                                       "--note-map", str(mine)])
    assert result.exit_code == 0, result.output
    rock = pitches_in(example("rock"))
    mapping = dict(zip(notemap.load("gm").pitches, notemap.load(str(mine)).pitches))
    assert pitches_in(out) == {mapping[p] for p in rock}
    assert mine.read_text() == GOOD


@pytest.mark.parametrize("text, problem", [
    (GOOD.replace("BD = 35\n", ""), "[pitches] has no BD"),
    (GOOD + "XX = 3\n", "no drum row called 'XX'"),
    (GOOD.replace("SD = 40", "SD = 200"), "SD must be a MIDI pitch 0-127, got 200"),
    (GOOD.replace("SD = 40", "SD = true"), "SD must be a MIDI pitch 0-127, got True"),
    (GOOD.replace("SD = 40", 'SD = "snare"'), "SD must be a MIDI pitch 0-127"),
    ("BD = 36\n", "needs a [pitches] table"),
    ("[pitches\nBD = 1", "not a note map (TOML"),
    ("\x00\x01binary", "not a note map"),
])
def test_a_bad_note_map_is_one_line_naming_the_file(tmp_path, text, problem):
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    out = tmp_path / "out.mid"
    result = CliRunner().invoke(main, ["convert", str(example("rock")), str(out),
                                       "--note-map", str(bad)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: ") and problem in lines[0]
    assert not out.exists() and bad.read_text() == text


@pytest.mark.parametrize("given, problem", [("addictive", "no such map"),
                                             ("missing.toml", "no such note map file"),
                                             (".", "is a folder"),
                                             ("fifo.toml", "is a pipe")])
def test_unknown_names_missing_files_and_folders_are_one_line(given, problem, tmp_path,
                                                              monkeypatch):
    import os
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "fifo.toml")            # a pipe no one writes: read, it would hang
    result = CliRunner().invoke(main, ["convert", str(example("rock")),
                                       str(tmp_path / "o.mid"), "--note-map", given])
    assert result.exit_code == 1 and problem in result.output
    assert "Traceback" not in result.output


def test_interactive_writes_every_file_at_the_maps_pitches(tmp_path):
    folder = tmp_path / "session"
    result = CliRunner().invoke(main, ["interactive", "--no-audio", "--synth", "builtin",
                                       "--seed", "2", "--out", str(folder),
                                       "--note-map", "roland-td"], input="s 1\nf 2\nq\n")
    assert result.exit_code == 0, result.output
    files = [folder / "saved" / "loop-001.mid", *(folder / "favourites").glob("*.mid"),
             *(folder / "listen").glob("*.mid")]
    td, gm = notemap.load("roland-td"), notemap.load("gm")
    used = set().union(*(pitches_in(p) for p in files))
    assert used <= set(td.pitches) and not used & (set(gm.pitches) - set(td.pitches))
