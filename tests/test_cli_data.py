"""The corpus and file commands as a user runs them."""
from __future__ import annotations

import re

import numpy as np
from click.testing import CliRunner
from midi_files import basic_beat, drum_file

from evodrum import midi
from evodrum.cli import main


def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def test_every_command_has_help():
    for args in ([], ["data"], ["data", "build"], ["data", "info"], ["show"], ["convert"], ["kit"]):
        r = run(*args, "--help")
        assert r.exit_code == 0 and "Usage:" in r.output, args


def test_build_and_info_on_a_user_folder(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    drum_file(lib / "a.mid", basic_beat(1), length_beats=4)
    drum_file(lib / "b.mid", basic_beat(8), length_beats=32)
    (lib / "bad.mid").write_bytes(b"MThd garbage")
    env = {"EVODRUM_CACHE": str(tmp_path / "cache")}
    r = run("data", "build", lib, "--list-skipped", env=env)
    assert r.exit_code == 0, r.output
    assert "files kept" in r.output and "1 file skipped" in r.output
    assert re.search(r"bad\.mid +the file is cut short inside its header", r.output)
    r = run("data", "build", lib, env=env)
    assert "reused cache" in r.output
    r = run("data", "info", "lib", env=env)
    assert r.exit_code == 0 and "6 windows" in r.output and "hit density" in r.output


def test_show_convert_round_trip(tmp_path):
    src = drum_file(tmp_path / "loop.mid", basic_beat(4), length_beats=16)
    r = run("show", src, "--ascii")
    assert r.exit_code == 0 and "BD  |X" in r.output.replace("o", "X").replace("O", "X")
    assert "window 1 of 1" in r.output and "quantising moved hits by 0.00 steps" in r.output
    assert run("convert", src, tmp_path / "loop.npz").exit_code == 0
    r = run("convert", tmp_path / "loop.npz", tmp_path / "back.mid", "--type", "0")
    assert r.exit_code == 0, r.output
    np.testing.assert_array_equal(midi.read_loop(tmp_path / "back.mid"), midi.read_loop(src))
    assert run("convert", src, tmp_path / "loop.npy").exit_code == 0
    assert np.load(tmp_path / "loop.npy").shape == (1, 9, 64)
    # grid to grid: a bare .npy gains its resolution in an .npz
    assert run("convert", tmp_path / "loop.npy", tmp_path / "again.NPZ").exit_code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "again.NPZ")["grids"],
                                  np.load(tmp_path / "loop.npy"))


def test_bad_input_is_one_line_and_nonzero(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi")
    for args in (["show", bad], ["convert", bad, tmp_path / "x.npy"],
                 ["convert", bad, tmp_path / "x.wav"], ["data", "info", "nosuchcorpus"]):
        r = run(*args, env={"EVODRUM_CACHE": str(tmp_path / "c")})
        assert r.exit_code == 1, (args, r.output)
        assert r.output.startswith("error: ") and r.output.count("\n") == 1, r.output
        assert "Traceback" not in r.output
    r = run("show", bad, "--grid", "nonsense")
    assert r.exit_code == 2 and "BARSxBEATSxSTEPS" in r.output


def test_groove_build_command(groove_path, cache_dir):
    r = run("data", "build", groove_path, "--cache-dir", cache_dir)
    assert r.exit_code == 0, r.output
    assert "windows: train" in r.output and "its bars are in 3/4" in r.output
