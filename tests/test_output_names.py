"""Files named for what they are, counts that read right, the folder said once.

Runs the model commands on the shipped model and a shipped example loop, so it
needs no corpus.
"""
from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from evodrum import examples, gridfile, midi
from evodrum.cli import main
from evodrum.grid import DEFAULT_SPEC, quantize_velocity

FUNK, ROCK = str(examples.path("funk")), str(examples.path("rock"))


def run(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r.output


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_reconstruct_writes_original_and_reconstruction(tmp_path):
    out = run("reconstruct", FUNK, "--refine", "0", "--out", tmp_path)
    assert names(tmp_path) == ["original.mid", "reconstruction.mid", "reconstruction.npz"]
    np.testing.assert_array_equal(midi.read_loop(tmp_path / "original.mid"),
                                  examples.pattern("funk").grid())
    grids, _ = gridfile.load_grids(tmp_path / "reconstruction.npz", DEFAULT_SPEC)
    np.testing.assert_array_equal(midi.read_loop(tmp_path / "reconstruction.mid"),
                                  quantize_velocity(grids[1]))
    assert "original.mid: " in out and "reconstruction.mid: reconstruction by" in out
    assert (f"wrote 2 MIDI files (original.mid, reconstruction.mid) and reconstruction.npz "
            f"to {tmp_path}") in out
    assert out.count(str(tmp_path)) == 1


def test_interpolate_writes_one_series_by_default_and_names_both_paths_when_asked(tmp_path):
    out = run("interpolate", FUNK, ROCK, "--steps", "4", "--refine", "0", "--out", tmp_path / "a")
    assert names(tmp_path / "a") == sorted([f"interpolation_{i:02d}.mid" for i in range(1, 5)]
                                           + ["interpolation.npz"])
    assert "wrote 4 MIDI files" in out and "step 1 of 4: funk.mid -> rock.mid" in out
    out = run("interpolate", FUNK, ROCK, "--steps", "4", "--refine", "0", "--path", "both",
              "--out", tmp_path / "b")
    expected = [f"interpolation_{i:02d}_{m}.mid" for m in ("curved", "straight")
                for i in range(1, 5)]
    assert names(tmp_path / "b") == sorted(expected + ["interpolation.npz"])
    assert out.count(str(tmp_path / "b")) == 1 and "wrote 8 MIDI files" in out
    grids, _ = gridfile.load_grids(tmp_path / "b" / "interpolation.npz", DEFAULT_SPEC)
    np.testing.assert_array_equal(quantize_velocity(grids[4]),
                                  midi.read_loop(tmp_path / "b" / "interpolation_01_straight.mid"))


def test_vary_and_sample_count_in_words(tmp_path):
    out = run("vary", FUNK, "-n", "3", "--seed", "1", "--refine", "0", "--out", tmp_path / "v")
    assert names(tmp_path / "v") == ["variation_01.mid", "variation_02.mid", "variation_03.mid",
                                     "variations.npz"]
    assert "wrote 3 MIDI files (variation_01.mid, variation_02.mid, variation_03.mid)" in out
    out = run("sample", "-n", "1", "--seed", "1", "--out", tmp_path / "s")
    assert names(tmp_path / "s") == ["sample_01.mid", "samples.npz"]
    assert "wrote 1 MIDI file (sample_01.mid)" in out and "file(s)" not in out
    out = run("sample", "-n", "5", "--seed", "1", "--out", tmp_path / "five")
    assert "wrote 5 MIDI files (sample_01.mid ... sample_05.mid)" in out


def test_target_titles_loops_by_file_and_counts_them(tmp_path):
    out = run("target", "--like", FUNK, "-g", "2", "-p", "8", "--top", "2", "--out", tmp_path)
    assert "#1: best_01.mid" in out and "#2: best_02.mid" in out
    assert ("wrote 2 MIDI files (best_01.mid, best_02.mid), logbook.csv and summary.json "
            f"to {tmp_path}") in out
    # where the run goes (at the start), where it went, and how to hear (play, render)
    assert out.count(str(tmp_path)) == 4
