"""The shipped example loops: real MIDI files that read back as the notation they came from."""
from __future__ import annotations

import configparser
import json
from fnmatch import fnmatch
from pathlib import Path

import mido
import numpy as np
import pytest
from cli_runner import run

from evodrum import examples, midi
from evodrum.examples.patterns import PATTERNS, Pattern
from evodrum.grid import DEFAULT_SPEC

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("p", PATTERNS, ids=lambda p: p.name)
def test_every_example_reads_back_with_exactly_its_hits(p):
    path = examples.path(p.name)
    before = path.read_bytes()
    grids = midi.read_grids(path, DEFAULT_SPEC)
    assert grids.shape == (1, 9, 64)  # one 4-bar loop, not windows of a performance
    np.testing.assert_array_equal(grids[0], p.grid())
    velocities = np.rint(grids[0] * 127).astype(int)
    np.testing.assert_array_equal(velocities, p.midi_velocities())
    tempos = [m.tempo for m in mido.MidiFile(path) if m.type == "set_tempo"]
    assert [round(mido.tempo2bpm(t), 3) for t in tempos] == [p.bpm]
    assert 200 < len(before) < 4096 and path.read_bytes() == before


def test_shipped_files_are_exactly_what_the_patterns_write(tmp_path):
    written = examples.write_midi_files(tmp_path)
    assert [w.name for w in written] == [f"{n}.mid" for n in examples.names()]
    for w in written:
        assert w.read_bytes() == examples.path(w.stem).read_bytes(), w.name
    assert sorted(p.name for p in examples.FOLDER.glob("*.mid")) == sorted(w.name for w in written)


def test_examples_are_distinct_and_musical():
    grids = np.stack([p.grid() for p in PATTERNS])
    hits = grids > 0
    assert len({g.tobytes() for g in hits}) == len(PATTERNS)
    assert hits[:, 0].any(axis=1).all() and hits[:, 1].any(axis=1).all()  # kick and snare
    assert set(examples.names()) >= {"rock", "funk", "bossa", "hiphop", "breakbeat"}


def test_a_bad_pattern_is_refused_with_its_row():
    with pytest.raises(ValueError, match="row SD"):
        Pattern("x", "broken", 100, {"SD": "X---"}).grid()


def test_package_data_ships_the_midi_files():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    globs = cfg["options.package_data"]["evodrum"].split()
    for f in examples.FOLDER.glob("*.mid"):
        rel = f.relative_to(REPO / "evodrum").as_posix()
        assert any(fnmatch(rel, g) for g in globs), rel


def test_examples_command_lists_prints_paths_and_copies(tmp_path):
    r = run("examples")
    assert r.exit_code == 0
    for p in PATTERNS:
        assert p.name in r.output and f"{p.bpm:g} BPM" in r.output
    r = run("examples", "funk", "rock")
    assert r.output.split() == [str(examples.path("funk")), str(examples.path("rock"))]
    listed = json.loads(run("examples", "--json").output)
    assert [e["name"] for e in listed] == examples.names()
    assert all(Path(e["path"]).is_file() and set(e) == {"name", "style", "bpm", "path"}
               for e in listed)

    loops = tmp_path / "loops"
    r = run("examples", "--copy", loops)
    assert r.exit_code == 0 and "copied 6 example loops" in r.output
    for n in examples.names():
        assert (loops / f"{n}.mid").read_bytes() == examples.path(n).read_bytes()
    assert "already holds 6 example loops" in run("examples", "--copy", loops).output
    r = run("examples", "funk", "--copy", tmp_path / "one")
    assert "copied 1 example loop " in r.output and list((tmp_path / "one").iterdir())


def test_copy_never_replaces_a_users_file(tmp_path):
    mine = tmp_path / "funk.mid"
    mine.write_bytes(b"my own funk")
    r = run("examples", "--copy", tmp_path)
    assert r.exit_code == 1 and r.output.startswith(f"error: {mine}: exists")
    assert mine.read_bytes() == b"my own funk" and not (tmp_path / "rock.mid").exists()


def test_unknown_example_names_the_real_ones():
    r = run("examples", "polka")
    assert r.exit_code == 2 and r.output.startswith("error: ") and "'polka'" in r.output
    assert "bossa" in r.output.splitlines()[0]
