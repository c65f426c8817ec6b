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


def _small_corpus(tmp_path) -> dict:
    """A corpus of 20 one-file loops (80/10/10 by file, so every split has some), and the
    environment that finds it by name."""
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(20):
        hits = basic_beat(4) + [(i / 4 + 0.25, 42, 70), (15.5 - i / 8, 38, 60)]
        drum_file(lib / f"loop{i:02d}.mid", hits, length_beats=16)
    env = {"EVODRUM_CACHE": str(tmp_path / "cache")}
    assert run("data", "build", lib, "--name", "small", "--workers", 1, env=env).exit_code == 0
    return env


def test_data_reference_never_writes_over_or_through_a_file(tmp_path):
    """-o names a link to someone's file, and a taken scan-order name: both stay as they
    were, the reference goes to the next free name, said."""
    env = _small_corpus(tmp_path)
    theirs = tmp_path / "theirs.txt"
    theirs.write_text("someone's file")
    (tmp_path / "ref.npz").symlink_to(theirs)
    r = run("data", "reference", "small", "-o", tmp_path / "ref.npz", env=env)
    assert r.exit_code == 0, r.output
    assert theirs.read_text() == "someone's file" and (tmp_path / "ref.npz").is_symlink()
    assert "ref.npz (or a file beside it) already exists, so this writes ref-2.npz" in r.output
    assert (tmp_path / "ref-2.npz").is_file() and (tmp_path / "ref-2.order.npy").is_file()
    (tmp_path / "new.order.npy").write_text("a file of the same name")
    r = run("data", "reference", "small", "-o", tmp_path / "new.npz", env=env)
    assert r.exit_code == 0 and not (tmp_path / "new.npz").exists(), r.output
    assert (tmp_path / "new.order.npy").read_text() == "a file of the same name"
    assert (tmp_path / "new-2.npz").is_file() and (tmp_path / "new-2.order.npy").is_file()


def test_data_judges_never_writes_through_a_link_nor_over_a_card(tmp_path):
    """Refused before the corpus is read: a card (.json) already there, or a judge file
    that is a link (even with --force)."""
    out = tmp_path / "model"
    out.mkdir()
    (out / "judge-markov.json").write_text("my notes")
    r = run("data", "judges", "nonexistent-corpus", "-o", out)
    assert r.exit_code == 1
    assert r.output.strip() == (f"error: {out / 'judge-markov.json'}: already exists; give "
                                "--force to replace it")
    (out / "judge-markov.json").unlink()
    theirs = tmp_path / "theirs.npz"
    theirs.write_text("someone's file")
    (out / "judge-classifier.npz").symlink_to(theirs)
    for force in ([], ["--force"]):
        r = run("data", "judges", "nonexistent-corpus", "-o", out, *force)
        assert r.exit_code == 1 and "is a symbolic link; evodrum never writes through" \
            in r.output, r.output
    assert theirs.read_text() == "someone's file"
