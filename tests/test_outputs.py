"""No command writes over its inputs or over a file it did not create, even one the
user named with -o: a taken name moves on to the next free one, and a run folder that
holds files gives way to the next free folder. Every command that writes is run here
into a folder that already holds files with the names it would choose."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from midi_files import basic_beat, drum_file

from evodrum import midi
from evodrum.audio.wav import read_wav
from evodrum.cli import main
from evodrum.outpaths import Outputs


def run(*args, cwd=None):
    old = os.getcwd()
    try:
        if cwd:
            os.chdir(cwd)
        return CliRunner().invoke(main, [str(a) for a in args])
    finally:
        os.chdir(old)


def checksums(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def squatted(folder: Path, names) -> dict[str, str]:
    """Fill `folder` with files the command did not make, named as it would name its own."""
    folder.mkdir(exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"the user's own file " + n.encode())
    return checksums(folder)


def kept(before: dict[str, str], folder: Path) -> None:
    after = checksums(folder)
    assert {k: after.get(k) for k in before} == before


@pytest.fixture
def beat(tmp_path):
    return drum_file(tmp_path / "funk.mid", basic_beat(4), length_beats=16)


# --- the rule itself -----------------------------------------------------------------

def test_derived_names_skip_existing_files_but_reuse_their_own(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"x")
    out = Outputs()
    first = out.derived(tmp_path / "a.wav")
    assert first == tmp_path / "a-2.wav"
    first.write_bytes(b"mine")
    assert out.derived(tmp_path / "a.wav") == tmp_path / "a-2.wav"  # made by this run
    assert Outputs().derived(tmp_path / "a.wav") == tmp_path / "a-3.wav"  # a later run
    mid, wav = Outputs().derived_set(tmp_path, "a", [".mid", ".wav"])
    assert (mid.name, wav.name) == ("a-3.mid", "a-3.wav")  # one stem for the pair


def test_explicit_path_moves_on_from_a_taken_name_and_never_takes_an_input(tmp_path, beat):
    other = tmp_path / "other.wav"
    other.write_bytes(b"x")
    assert Outputs([beat]).explicit(other) == tmp_path / "other-2.wav"
    assert Outputs([beat]).explicit(tmp_path / "new.wav") == tmp_path / "new.wav"
    assert Outputs().explicit("/dev/null") == Path("/dev/null")   # a stream, written through
    with pytest.raises(Exception, match="input of this command"):
        Outputs([beat]).explicit(tmp_path / "." / "funk.mid")


# --- every command that writes -------------------------------------------------------

def test_play_no_audio_in_the_input_folder_never_replaces_the_input(tmp_path, beat):
    """The reported defect: play FILE --no-audio replaced FILE with a 4-bar loop."""
    before = squatted(tmp_path, ["funk.wav"])
    r = run("play", beat.name, "--no-audio", "--synth", "builtin", "--out-dir", ".",
            cwd=tmp_path)
    assert r.exit_code == 0, r.output
    kept(before, tmp_path)
    assert (tmp_path / "funk-2.mid").is_file() and (tmp_path / "funk-2.wav").is_file()
    assert "funk-2.mid" in r.output


def test_play_no_audio_defaults_to_a_run_folder(tmp_path, beat):
    before = checksums(tmp_path)
    r = run("play", beat.name, "--no-audio", "--synth", "builtin", cwd=tmp_path)
    assert r.exit_code == 0, r.output
    kept(before, tmp_path)
    runs = Path(os.environ["EVODRUM_RUNS"])
    written = [p for p in runs.glob("play-*/funk.mid")]
    assert written, r.output
    np.testing.assert_array_equal(midi.read_loop(written[-1]), midi.read_loop(beat))


def test_render_default_name_never_replaces_an_existing_file(tmp_path, beat):
    before = squatted(tmp_path, ["funk.wav", "funk-2.wav"])
    r = run("render", beat, "--synth", "builtin")
    assert r.exit_code == 0, r.output
    kept(before, tmp_path)
    assert read_wav(tmp_path / "funk-3.wav")[1] == 44100


def test_render_explicit_out_keeps_a_file_it_did_not_make_and_says_so(tmp_path, beat):
    before = squatted(tmp_path, ["take.wav"])
    r = run("render", beat, "-o", tmp_path / "take.wav", "--synth", "builtin")
    assert r.exit_code == 0, r.output
    kept(before, tmp_path)
    assert read_wav(tmp_path / "take-2.wav")[1] == 44100
    assert "take.wav already exists, so this writes take-2.wav" in r.stderr
    r = run("render", beat, "-o", tmp_path / "new" / "folder" / "take.wav", "--synth", "builtin")
    assert r.exit_code == 0 and "making the folder" in r.stderr
    grid_file = tmp_path / "loop.npy"
    np.save(grid_file, midi.read_grids(beat))
    for target in (beat, grid_file):
        before = checksums(tmp_path)
        r = run("render", target, "-o", target, "--synth", "builtin")
        assert r.exit_code == 1 and r.output.startswith("error: ")
        kept(before, tmp_path)


def test_an_output_name_that_is_a_link_is_never_written_through(tmp_path, beat):
    (tmp_path / "victim.npy").write_bytes(b"someone's file")
    (tmp_path / "out.npy").symlink_to("victim.npy")
    (tmp_path / "a.npy").symlink_to("b.npy")
    (tmp_path / "b.npy").symlink_to("a.npy")
    for name in ("out.npy", "a.npy"):
        r = run("convert", beat, tmp_path / name)
        assert r.exit_code == 0, r.output
        assert np.load(tmp_path / name.replace(".npy", "-2.npy")).any()
    assert (tmp_path / "victim.npy").read_bytes() == b"someone's file"


@pytest.mark.parametrize("suffix,fmt", [(".flac", "FLAC"), (".ogg", "OGG"), (".WAV", "WAV")])
def test_render_writes_the_format_its_suffix_names(tmp_path, beat, suffix, fmt):
    import soundfile
    out = tmp_path / f"loop{suffix}"
    r = run("render", beat, "-o", out, "--synth", "builtin")
    assert r.exit_code == 0, r.output
    info = soundfile.info(str(out))
    assert info.format == fmt and info.samplerate == 44100
    assert info.frames == pytest.approx(8 * 44100, abs=2048 if fmt == "OGG" else 0)


@pytest.mark.parametrize("name", ["loop.mp3", "loop", "loop.aiff"])
def test_render_refuses_a_format_it_cannot_write_in_one_line(tmp_path, beat, name):
    r = run("render", beat, "-o", tmp_path / name, "--synth", "builtin")
    assert r.exit_code == 1 and r.output.startswith("error: ") and ".wav, .flac, .ogg" in r.output
    assert len(r.output.strip().splitlines()) == 1 and not (tmp_path / name).exists()


def test_convert_keeps_its_source_and_files_it_did_not_make(tmp_path):
    long = drum_file(tmp_path / "song.mid", basic_beat(6), length_beats=24)
    before = squatted(tmp_path, ["out_001.mid"])
    r = run("convert", long, tmp_path / "out.mid")
    assert r.exit_code == 0, r.output
    kept(before, tmp_path)
    assert (tmp_path / "out_001-2.mid").is_file() and (tmp_path / "out_003.mid").is_file()
    loop = drum_file(tmp_path / "loop.mid", basic_beat(1), length_beats=4)
    before = checksums(tmp_path)
    r = run("convert", loop, loop)
    assert r.exit_code == 1 and "input of this command" in r.output
    kept(before, tmp_path)


@pytest.mark.parametrize("command,first,grids", [
    (["sample", "-n", "2"], "sample_01", "samples"),
    (["reconstruct", "{beat}"], "original", "reconstruction"),
    (["vary", "{beat}", "-n", "2"], "variation_01", "variations"),
    (["interpolate", "{beat}", "{beat}", "--steps", "2", "--path", "straight"],
     "interpolation_01", "interpolation"),
])
def test_model_commands_write_beside_an_out_folder_that_holds_files(tmp_path, beat, command,
                                                                    first, grids):
    out = tmp_path / "out"
    before = squatted(out, [f"{first}.mid", f"{grids}.npz"])
    args = [a.format(beat=beat) for a in command]
    r = run(*args, "--out", out)
    assert r.exit_code == 0, r.output
    kept(before, out)
    kept({"funk.mid": checksums(tmp_path)["funk.mid"]}, tmp_path)
    moved = tmp_path / "out-2"
    assert (moved / f"{first}.mid").is_file() and (moved / f"{grids}.npz").is_file()
    assert midi.read_loop(moved / f"{first}.mid").any()
    assert f"{out} holds an earlier run, so this run writes to {moved}" in r.stderr


def test_interactive_no_audio_out_dir_keeps_files_it_did_not_write(tmp_path):
    listen = tmp_path / "listen"
    before = squatted(listen, ["loop1.mid", "loop1.wav"])
    r = CliRunner().invoke(main, ["interactive", "--no-audio", "--synth", "builtin",
                                  "--seed", "1", "--out", str(tmp_path / "session"),
                                  "--out-dir", str(listen)], input="1\nq\n")
    assert r.exit_code == 0, r.output
    kept(before, listen)
    assert (listen / "loop1-2.wav").is_file() and "loop1-2.wav" in r.output
