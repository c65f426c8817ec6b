"""Drum files as other tools write them (note_seq / pretty_midi, pattern apps, DAW song
exports, melodies by mistake, damaged and hostile files), read as a musician expects."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import mido
import numpy as np
import pytest
from click.testing import CliRunner
from midi_files import (
    basic_beat,
    beat_studio_pattern,
    drum_file,
    melody_file,
    mixed_metre_file,
    note_seq_file,
    raw_midi,
    song_file,
    strip_end_of_track,
)

from evodrum import gridfile, kit, midi
from evodrum.cli import main
from evodrum.grid import DEFAULT_SPEC
from evodrum.midi import BadMidiFile

ROW = {name: i for i, name in enumerate(kit.ROWS)}


def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def hits_of(grid) -> set[tuple[str, int]]:
    rows, steps = np.nonzero(grid)
    return {(kit.ROWS[r], int(s)) for r, s in zip(rows, steps)}


# --- loop length: End of Track at the last note ----------------------------------

TWO_BARS = [(0, 36, 100), (1, 38, 100), (2, 36, 100), (3, 38, 100), (4, 36, 100),
            (5.5, 38, 100)]  # bar 2 ends in rests: the last hit is at beat 5.5


@pytest.mark.parametrize("writer", ["mido", "note_seq"])
def test_a_loop_ending_at_its_last_note_keeps_its_silent_end(tmp_path, writer):
    """The reported defect: read as a 1-bar loop, bar 2 folded onto bar 1, a hit lost."""
    path = tmp_path / "loop.mid"
    if writer == "mido":
        drum_file(path, TWO_BARS, length_beats=5.7)
    else:
        note_seq_file(path, TWO_BARS)
    hits = midi.read_drums(path)
    assert hits.length_beats == 8  # rounded up to 2 whole bars
    grid = midi.read_loop(path)
    two_bar = {("BD", 0), ("SD", 4), ("BD", 8), ("SD", 12), ("BD", 16), ("SD", 22)}
    assert hits_of(grid) == two_bar | {(r, s + 32) for r, s in two_bar}  # tiled twice


def test_a_beat_studio_style_two_bar_pattern_reads_as_two_bars(tmp_path):
    path = beat_studio_pattern(tmp_path / "pattern.mid")
    _, windows = midi.read_windows(path)
    assert windows.loop_steps == 32
    g = windows.grids[0]
    assert g[ROW["SD"], 20] and g[ROW["CH"], 22] and g[ROW["CH"], 22 + 32]  # beat 5.5 kept
    assert (g[ROW["CH"]] > 0).sum() == 2 * 11
    assert windows.hits[0] == int((g[:, :32] > 0).sum())  # hits before tiling


def test_hits_are_counted_before_tiling_for_min_hits(tmp_path):
    """Two notes in 0.05 beats tile to 8 hits; --min-hits must see 2."""
    path = drum_file(tmp_path / "blip.mid", [(0, 36, 100), (0.05, 38, 100)])
    _, windows = midi.read_windows(path)
    assert windows.hits.tolist() == [2] and (windows.grids[0] > 0).sum() > 2
    lib = tmp_path / "lib"
    lib.mkdir()
    os.replace(path, lib / "blip.mid")
    drum_file(lib / "beat.mid", basic_beat(1), length_beats=4)
    r = run("data", "build", lib, "--cache-dir", tmp_path / "cache", "--workers", 1)
    assert r.exit_code == 0, r.output
    assert "blip.mid" in r.output and "fewer than 8 hits" in r.output


# --- which notes are drums -------------------------------------------------------

def test_a_type0_channel_one_kit_still_reads(tmp_path):
    hits = [(b, 36, 100) for b in (0, 2)] + [(b, 38, 100) for b in (1, 3)]
    hits += [(b / 2, 51, 80) for b in range(8)]
    path = drum_file(tmp_path / "kit.mid", hits, channel=0, midi_type=0, length_beats=4)
    g = midi.read_loop(path)
    assert {r for r, _ in hits_of(g)} == {"BD", "SD", "RD"}


@pytest.mark.parametrize("low,why", [(60, "looks like a melody"), (36, "looks like a melody")])
def test_melodies_are_not_read_as_drums(tmp_path, low, why):
    """A channel-1 scale in the kit's pitch range (C2 or middle C) is a melody."""
    path = melody_file(tmp_path / "tune.mid", low=low)
    with pytest.raises(BadMidiFile, match=f"no drums: track 1, channel 1, {why}"):
        midi.read_drums(path)


def test_a_named_or_programmed_instrument_is_not_drums(tmp_path):
    with pytest.raises(BadMidiFile, match="General MIDI program 34 .bass."):
        midi.read_drums(melody_file(tmp_path / "b.mid", low=36, program=33))
    with pytest.raises(BadMidiFile, match="named as a melodic instrument"):
        midi.read_drums(melody_file(tmp_path / "p.mid", low=36, name="Grand Piano"))


def test_a_named_drum_track_on_another_channel_reads(tmp_path):
    path = drum_file(tmp_path / "d.mid", basic_beat(1), channel=3, length_beats=4)
    mid = mido.MidiFile(path)
    mid.tracks[1].insert(0, mido.MetaMessage("track_name", name="Drum Kit"))
    mid.save(path)
    assert midi.read_loop(path)[ROW["BD"]].any()


# --- songs: intros, tempo changes, other parts -------------------------------------

def test_a_song_reads_its_drums_from_where_they_come_in(tmp_path):
    path = song_file(tmp_path / "song.mid")
    loops = gridfile.read_file(path, DEFAULT_SPEC)
    assert len(loops) == 13 and loops.hits[0] == 0  # a 4-bar silent intro
    i = loops.index(None)
    assert i == 4 and loops.describe(i) == "window 5 of 13, from bar 5"
    assert loops.bpm(4) == 96 and loops.bpm(8) == 100 and loops.bpm(12) == 90
    assert any("'Piano'" in w and "'Bass'" in w for w in loops.info)
    np.testing.assert_array_equal(midi.read_loop(path), loops.grids[4])


def test_show_and_features_say_which_window_they_used(tmp_path):
    path = song_file(tmp_path / "song.mid")
    r = run("show", path, "--ascii")
    assert r.exit_code == 0, r.stderr
    assert "window 5 of 13, from bar 5" in r.stdout and "96 BPM" in r.stdout
    r = run("features", path, "--json")
    assert r.exit_code == 0 and "using window 5 of 13" in r.stderr
    import json
    [entry] = json.loads(r.stdout)
    assert entry["window"] == 5 and entry["features"]["all.density"] > 0


def test_model_commands_keep_the_inputs_tempo(tmp_path):
    path = song_file(tmp_path / "song.mid")
    for args, stem in ((["reconstruct", path, "--refine", 0], "reconstruction"),
                       (["vary", path, "-n", 1, "--window", 9, "--refine", 0], "variation_01"),
                       (["interpolate", path, path, "--steps", 2, "--method", "lerp",
                         "--refine", 0], "interpolation_01")):
        out = tmp_path / stem
        r = run(*args, "--out", out)
        assert r.exit_code == 0, r.stderr
        written = out / f"{stem}.mid" if stem != "interpolation_01" else next(out.glob(
            "interpolation_01*.mid"))
        tempo = next(m.tempo for t in mido.MidiFile(written).tracks for m in t
                     if m.type == "set_tempo")
        assert mido.tempo2bpm(tempo) == pytest.approx(100 if "--window" in args else 96)
    r = run("reconstruct", path, "--refine", 0, "--bpm", 120, "--out", tmp_path / "fast")
    written = sorted((tmp_path / "fast").glob("*.mid"))[0]
    assert mido.tempo2bpm(next(m.tempo for t in mido.MidiFile(written).tracks for m in t
                               if m.type == "set_tempo")) == pytest.approx(120)


def test_target_like_takes_a_window_and_grid_files(tmp_path):
    path = song_file(tmp_path / "song.mid")
    loops = gridfile.read_file(path, DEFAULT_SPEC)
    grids = tmp_path / "song.npz"
    gridfile.save_grids(grids, loops.grids, DEFAULT_SPEC)
    for like, extra in ((path, []), (path, ["--window", 9]), (grids, ["--window", 5])):
        r = run("target", "--like", like, *extra, "-g", 1, "-p", 8, "--top", 1,
                "--out", tmp_path / f"run{len(extra)}{Path(like).suffix}")
        assert r.exit_code == 0, r.stderr
        assert "density" in r.stdout
    silent = run("target", "--like", path, "--window", 1, "-g", 1, "-p", 8, "--top", 1,
                 "--out", tmp_path / "silent")
    assert silent.exit_code == 0 and "window 1 has no hits" in silent.stderr


def test_play_and_render_index_counts_from_one(tmp_path):
    path = song_file(tmp_path / "song.mid")
    r = run("render", path, "--index", 1, "--synth", "builtin", "-o", tmp_path / "a.wav")
    assert r.exit_code == 0, r.stderr
    r = run("render", path, "--index", 14, "--synth", "builtin", "-o", tmp_path / "b.wav")
    assert r.exit_code == 1 and "has 13 windows (numbered from 1), not 14" in r.stderr
    r = run("render", path, "--index", 0, "--synth", "builtin", "-o", tmp_path / "c.wav")
    assert r.exit_code != 0 and "Traceback" not in r.output


# --- mixed metre -------------------------------------------------------------------

def test_mixed_metre_keeps_its_four_four_windows_and_reports_the_skipped_bar(tmp_path):
    path = mixed_metre_file(tmp_path / "mixed.mid")
    hits, windows = midi.read_windows(path)
    assert hits.bars.skipped() == ["bar 86 (9/8)"]
    assert len(windows) == (85 - 3) + (6 - 3)  # every 4-bar window of each 4/4 stretch
    assert windows.start_bars.tolist()[:2] == [1, 2] and windows.start_bars[-1] == 87 + 2
    assert any("skipped bar 86 (9/8)" in n and "9 hits there are left out" in n
               for n in windows.notes)
    # the windows after the 9/8 bar start on their own downbeats
    np.testing.assert_array_equal(windows.grids[-1], windows.grids[0])


def test_a_file_only_in_an_odd_metre_is_refused_in_plain_words(tmp_path):
    path = drum_file(tmp_path / "waltz.mid", basic_beat(8), time_signature=(3, 4))
    with pytest.raises(BadMidiFile, match=r"its bars are in 3/4: a grid of 4/4 bars "
                       r"holds 2/4 \(in pairs\), 4/4 and 8/4"):
        midi.read_grids(path)


# --- Magenta's drum map ----------------------------------------------------------

MAGENTA_TOMS = [(0, 45, 100), (1, 48, 100), (2, 50, 100), (3, 58, 100), (3.5, 43, 90)]


def test_magenta_written_toms_read_right_with_the_magenta_map(tmp_path):
    path = note_seq_file(tmp_path / "groovae.mid", MAGENTA_TOMS + [(15.75, 36, 80)])
    groove = hits_of(midi.read_loop(path))
    assert {("MT", 0), ("HT", 4), ("HT", 8), ("LT", 12), ("LT", 14)} <= groove
    _, windows = midi.read_windows(path, drum_map="magenta")
    magenta = hits_of(windows.grids[0])
    assert {("LT", 0), ("MT", 4), ("HT", 8), ("CR", 12), ("LT", 14)} <= magenta  # note_seq 0.0.5
    r = run("show", path, "--drum-map", "magenta", "--ascii")
    assert r.exit_code == 0, r.stderr


def test_what_evodrum_writes_reads_the_same_with_either_map(tmp_path):
    rng = np.random.default_rng(3)
    grid = (rng.random((9, 64)) < 0.2) * 0.8
    path = midi.write_midi(tmp_path / "out.mid", grid)
    for drum_map in kit.DRUM_MAPS:
        _, windows = midi.read_windows(path, drum_map=drum_map)
        assert hits_of(windows.grids[0]) == hits_of(grid), drum_map


# --- written loops last their full length in pretty_midi and note_seq ------------------

def test_written_loops_end_at_their_full_length_in_pretty_midi(tmp_path):
    import pretty_midi
    grid = np.zeros((9, 64), np.float32)
    grid[ROW["BD"], [0, 16, 32, 40]] = 0.8   # the last hit is at step 40: 24 silent steps
    path = midi.write_midi(tmp_path / "loop.mid", grid, bpm=120)
    pm = pretty_midi.PrettyMIDI(str(path))
    assert pm.get_end_time() == pytest.approx(8.0)
    notes = pm.instruments[0].notes
    assert max(n.end for n in notes) == pytest.approx(8.0)  # note_seq's total_time
    assert len(notes) == 4 and all(n.velocity > 0 for n in notes)  # no extra note
    assert hits_of(midi.read_loop(path)) == hits_of(grid)


# --- damaged and hostile files ------------------------------------------------------

def test_files_without_end_of_track_or_with_junk_read_with_one_warning(tmp_path):
    ref = midi.read_loop(drum_file(tmp_path / "ok.mid", basic_beat(4), length_beats=16))
    no_end = strip_end_of_track(drum_file(tmp_path / "no_end.mid", basic_beat(4)))
    junk = drum_file(tmp_path / "junk.mid", basic_beat(4), length_beats=16)
    junk.write_bytes(junk.read_bytes() + b"\x00\x00garbage after the last track")
    cut = drum_file(tmp_path / "cut.mid", basic_beat(4), length_beats=16)
    cut.write_bytes(cut.read_bytes()[:-40])
    for path, warning in ((no_end, "has no End of Track"), (junk, "bytes of junk"),
                          (cut, "cut short")):
        hits = midi.read_drums(path)
        assert any(warning in w for w in hits.warnings), hits.warnings
        r = run("show", path, "--ascii")
        assert r.exit_code == 0 and f"warning: {path}:" in r.stderr
    np.testing.assert_array_equal(midi.read_loop(no_end), ref)
    np.testing.assert_array_equal(midi.read_loop(junk), ref)


def _wav(path: Path) -> Path:
    from evodrum.audio.wav import write_wav
    return write_wav(path, np.zeros(100, np.float32))


def _text(path: Path) -> Path:
    path.write_text("kick snare kick snare\n")
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _cut(path: Path) -> Path:
    data = drum_file(path, basic_beat(4), length_beats=16).read_bytes()
    path.write_bytes(data[:30])
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("make,reason", [
    (_empty, "the file is empty"), (_wav, "this is a WAV audio file, not MIDI"),
    (_text, "this is a text file, not MIDI"), (_folder, "is a folder"),
    (_fifo, "is a pipe, not a regular file"), (_cut, "contains no notes (track 1 is cut short"),
])
def test_unreadable_inputs_are_one_plain_line(tmp_path, make, reason):
    path = make(tmp_path / "input.mid")
    r = run("show", path)
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and reason in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Error" not in r.stderr


def test_hostile_midi_costs_are_bounded_and_named(tmp_path, monkeypatch):
    note = b"\x00\x99\x24\x64"
    cases = {
        "vlq.mid": (raw_midi(tmp_path / "vlq.mid", note + b"\xff\xff\xff\xff\xff\xff\xff\xff\x7f"
                             b"\x89\x24\x00"), "longer than the 4 bytes MIDI allows"),
        # ticks per beat 1 and four of the longest deltas: a billion beats
        "huge.mid": (raw_midi(tmp_path / "huge.mid", note + b"\xff\xff\xff\x7f\x89\x24\x00" * 4
                              + b"\x00\xff\x2f\x00", tpb=1), "EVODRUM_MAX_BARS"),
    }
    for path, reason in cases.values():
        with pytest.raises(BadMidiFile, match=reason):
            midi.read_windows(path)
        r = run("show", path)
        assert r.exit_code == 1 and reason in r.stderr and "Error" not in r.stderr
    monkeypatch.setenv("EVODRUM_MAX_NOTES", "10")
    with pytest.raises(BadMidiFile, match="note count .* raise it with EVODRUM_MAX_NOTES"):
        midi.read_drums(drum_file(tmp_path / "many.mid", basic_beat(4)))


def test_tempo_zero_is_ignored_with_a_warning(tmp_path):
    body = (b"\x00\xff\x51\x03\x00\x00\x00" + b"\x00\x99\x24\x64\x83\x60\x89\x24\x00"
            + b"\x00\xff\x2f\x00")
    hits = midi.read_drums(raw_midi(tmp_path / "t0.mid", body))
    assert hits.bpm == 120 and any("tempo of 0" in w for w in hits.warnings)


def test_grid_file_headers_claiming_huge_arrays_are_refused(tmp_path):
    import io
    import zipfile
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (10 ** 13 // 576, 9, 64)})
    (tmp_path / "huge.npy").write_bytes(header.getvalue())
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as z:
        z.writestr("grids.npy", header.getvalue())
    for name in ("huge.npy", "huge.npz"):
        r = run("show", tmp_path / name)
        assert r.exit_code == 1 and "EVODRUM_MAX_GRID_CELLS" in r.stderr, r.stderr


# --- a folder of such files, and nothing changed --------------------------------------

def _library(folder: Path) -> Path:
    folder.mkdir()
    drum_file(folder / "note_seq_loop.mid", TWO_BARS, length_beats=5.7)
    beat_studio_pattern(folder / "pattern.mid")
    drum_file(folder / "kit_ch1.mid", basic_beat(2), channel=0, midi_type=0, length_beats=8)
    melody_file(folder / "melody.mid")
    song_file(folder / "song.mid")
    mixed_metre_file(folder / "mixed.mid")
    strip_end_of_track(drum_file(folder / "no_end.mid", basic_beat(4)))
    _wav(folder / "audio.mid")
    (folder / "empty.mid").write_bytes(b"")
    return folder


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.is_file()}


def test_data_build_on_a_folder_of_real_world_files_prints_plain_reasons(tmp_path):
    lib = _library(tmp_path / "lib")
    before = digests(lib)
    r = run("data", "build", lib, "--cache-dir", tmp_path / "cache", "--workers", 1)
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "files kept" in out and "Traceback" not in r.output and "Error" not in out
    for name, reason in (("melody.mid", "looks like a melody"),
                         ("audio.mid", "this is a WAV audio file, not MIDI"),
                         ("empty.mid", "the file is empty")):
        assert any(name in line and reason in line for line in out.splitlines()), out
    assert any("mixed.mid" in line and "skipped bar 86 (9/8)" in line for line in out.splitlines())
    assert any("no_end.mid" in line and "End of Track" in line for line in out.splitlines())
    assert digests(lib) == before


def test_every_command_that_reads_a_file_leaves_it_unchanged(tmp_path):
    lib = _library(tmp_path / "lib")
    song, loop = lib / "song.mid", lib / "note_seq_loop.mid"
    grids = tmp_path / "grids.npz"
    assert run("convert", song, grids).exit_code == 0
    before = {**digests(lib), "grids.npz": digests(tmp_path)["grids.npz"]}
    out = tmp_path / "out"
    commands = [
        ["show", song], ["show", grids, "--all"], ["features", song, loop, "--all"],
        ["convert", song, out / "song.npy"], ["convert", grids, out / "g.mid"],
        ["play", loop, "--no-audio", "--synth", "builtin", "--out-dir", lib],
        ["render", loop, "--synth", "builtin"], ["render", grids, "--synth", "builtin"],
        ["encode", song, "--all", "--refine", 0],
        ["reconstruct", song, "--refine", 0, "--out", out / "r"],
        ["vary", grids, "-n", 2, "--refine", 0, "--out", out / "v"],
        ["interpolate", song, loop, "--steps", 2, "--refine", 0, "--out", out / "i"],
        ["target", "--like", song, "-g", 1, "-p", 8, "--seed-loops", loop, "--out", out / "t"],
        ["data", "build", lib, "--cache-dir", tmp_path / "cache", "--workers", 1],
    ]
    for args in commands:
        r = run(*args)
        assert r.exit_code == 0, (args, r.stderr)
        now = {**digests(lib), "grids.npz": digests(tmp_path)["grids.npz"]}
        assert {k: now.get(k) for k in before} == before, args


def test_a_midi_file_given_as_model_is_named_as_such(tmp_path):
    """Never torch's or numpy's advice to load unsafely (weights_only=False, allow_pickle)."""
    loop = drum_file(tmp_path / "loop.mid", basic_beat(1), length_beats=4)
    as_npz = tmp_path / "model.npz"
    as_npz.write_bytes(loop.read_bytes())
    text = tmp_path / "model.pt"
    text.write_text("a note, not a model\n")
    for model, reason in ((loop, "this is a MIDI file, not a model"),
                          (as_npz, "this is a MIDI file, not a model"),
                          (text, "not a model file: this is a text file")):
        r = run("reconstruct", loop, "--model", model)
        assert r.exit_code == 1 and reason in r.stderr, r.stderr
        assert "weights_only" not in r.stderr and "pickle" not in r.stderr


def test_a_midi_file_over_the_size_limit_is_refused_by_name(tmp_path, monkeypatch):
    path = drum_file(tmp_path / "big.mid", basic_beat(8))
    monkeypatch.setenv("EVODRUM_MAX_MIDI_BYTES", "100")
    with pytest.raises(BadMidiFile, match="file's size .* EVODRUM_MAX_MIDI_BYTES"):
        midi.read_drums(path)
