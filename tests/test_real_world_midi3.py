"""Round 3 of real-world MIDI (issue 22): running status across meta events, Seq66's extra
track, Magenta's real drum classes, e-kits on any channel, Latin percussion, triplets and
shuffle, per-window figures, tempo changes, 2/4 bars and tiling, each on files written the
way the tools that make them write them, and checked against an independent reading."""
from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path

import mido
import numpy as np
import pytest
from cli_runner import run
from midi_files import (
    basic_beat,
    conductor_track,
    drum_file,
    note_seq_file,
    raw_smf,
    running_status_track,
    seq66_extra_track,
)

from evodrum import gridfile, kit, midi, smf
from evodrum.grid import DEFAULT_SPEC, GridSpec

ROW = {name: i for i, name in enumerate(kit.ROWS)}


def hits_of(grid) -> set[tuple[str, int]]:
    rows, steps = np.nonzero(grid)
    return {(kit.ROWS[r], int(s)) for r, s in zip(rows, steps)}


def independent_grid(path: Path, spec: GridSpec = DEFAULT_SPEC, channel: int = 9,
                     drum_map: str = "groove") -> np.ndarray:
    """The first window read by pretty_midi (over mido), not by evodrum's reader: note
    starts in beats, nearest step, loudest hit per cell, velocities as MIDI levels."""
    import pretty_midi
    pm = pretty_midi.PrettyMIDI(str(path))
    table = kit.DRUM_MAPS[drum_map]
    grid = np.zeros(spec.shape, np.uint8)
    for inst in pm.instruments:
        for note in inst.notes:
            if (channel == 9) != inst.is_drum or table[note.pitch] < 0:
                continue
            step = round(pm.time_to_tick(note.start) / pm.resolution * spec.steps_per_beat)
            if step < spec.steps:
                grid[table[note.pitch], step] = max(grid[table[note.pitch], step], note.velocity)
    return grid


def midi_levels(grid: np.ndarray) -> np.ndarray:
    from evodrum.grid import to_midi_velocity
    return np.where(grid > 0, to_midi_velocity(grid), 0)


# --- files as tools write them -----------------------------------------------------

def fill_song() -> list[tuple[float, int, int]]:
    """4 bars of 4/4: a beat with a crash in bar 2 and a tom fill in bar 4 (52 hits)."""
    hits = basic_beat(3)
    hits += [(4, 49, 120)]
    hits += [(12 + b, p, v) for b, p, v in ((0, 36, 100), (1, 38, 110), (2, 36, 90))]
    hits += [(15 + i / 4, p, 100) for i, p in enumerate((50, 48, 45, 43))]
    hits += [(12 + e / 2, 42, 70) for e in range(6)]
    hits += [(3 + 0.75, 36, 60), (7.75, 36, 60), (11.75, 36, 60), (14.5, 38, 40),
             (2.5, 46, 80), (6.5, 46, 80), (10.5, 46, 80), (13.5, 38, 50), (15.75, 49, 127),
             (0.75, 38, 30), (4.75, 38, 30)]
    return hits


def ekit_performance(bars: int = 4, seed: int = 0) -> list[tuple[float, int, int]]:
    """An e-kit performance with articulations, as a Roland, Alesis or Medeli kit records
    it: hi-hat bow/edge/pedal, snare head/rim/cross-stick, cymbal edges and bells, toms
    with rims, and a few extra pads (37 distinct pitches)."""
    rng = np.random.default_rng(seed)
    hits = []
    hats, hat_p = (42, 22, 44, 46, 26), (0.55, 0.2, 0.1, 0.1, 0.05)
    for bar in range(bars):
        o = 4 * bar
        hits += [(o + e / 2, int(rng.choice(hats, p=hat_p)), int(rng.integers(50, 90)))
                 for e in range(8)]
        hits += [(o, 36, 110), (o + 2.5, 35, 90), (o + 2, 36, 100)]
        hits += [(o + 1, int(rng.choice((38, 40))), 110), (o + 3, int(rng.choice((38, 37))), 105)]
        hits += [(o + 1.75, 38, 30), (o + 3.25, 39, 40)]
        hits += [(o, (49, 55, 57, 52)[bar], 120), (o + 1.5, (51, 59, 53, 51)[bar], 80)]
    fill = (48, 50, 45, 47, 43, 58, 41, 27, 28, 31, 33, 34, 32, 29, 30, 75, 81, 54, 56)
    hits += [(4 * bars - 4 + 0.25 * i, p, 90) for i, p in enumerate(fill[:12])]
    hits += [(4 * (i % bars) + 0.25, p, 40) for i, p in enumerate(fill[12:])]
    return hits


def ekit_file(path: Path, *, channel: int = 0, program: int | None = None) -> Path:
    """An e-kit recording: type 0, channel 1 (most e-kit modules' USB MIDI default), a
    program change first when the module sends one (the Medeli DD-11 sends program 80)."""
    drum_file(path, ekit_performance(), channel=channel, midi_type=0, length_beats=16)
    if program is not None:
        mid = mido.MidiFile(path)
        mid.tracks[0].insert(0, mido.Message("program_change", channel=channel, program=program))
        mid.save(path)
    return path


# --- running status across meta and sysex events --------------------------------------

@pytest.mark.parametrize("sysex", [False, True])
def test_running_status_across_meta_and_sysex_events_reads_every_hit(tmp_path, sysex):
    """The reported file: a text event each bar, running status continued across it; it
    was read as bar 1 repeated four times with 'track 1 is damaged'."""
    hits = fill_song()
    path = raw_smf(tmp_path / "rs.mid", [conductor_track(), running_status_track(
        hits, sysex=sysex)])
    song = smf.parse(path)
    assert len(song.notes) == len(hits) and song.warnings == []
    grid = midi.read_loop(path)
    if not sysex:  # mido (so pretty_midi) takes running status across meta events only
        assert len(hits) == sum(1 for m in mido.MidiFile(path).tracks[1]
                                if m.type == "note_on" and m.velocity)
        np.testing.assert_array_equal(midi_levels(grid), independent_grid(path))
    plain = drum_file(tmp_path / "plain.mid", hits, length_beats=16)
    np.testing.assert_array_equal(grid, midi.read_loop(plain))
    assert ("CR", 16) in hits_of(grid) and ("LT", 63) in hits_of(grid)
    r = run("show", path, "--ascii")
    assert r.exit_code == 0 and "damaged" not in r.output and "warning" not in r.stderr


def test_a_track_the_reader_cannot_finish_says_how_many_notes_were_lost(tmp_path):
    hits = fill_song()
    body = running_status_track(hits)
    cut = body.index(b"bar 2") + len(b"bar 2")  # after the text event at beat 4
    broken = body[:cut] + b"\x00\xf4" + body[cut:]  # an undefined system status byte
    path = raw_smf(tmp_path / "broken.mid", [conductor_track(), broken])
    song = smf.parse(path)
    assert len(song.notes) == sum(b < 4 for b, _, _ in hits)
    lost = len(hits) - len(song.notes)
    [warning] = song.warnings
    assert f"read up to beat 4, losing about {lost} notes after it" in warning
    r = run("show", path, "--ascii")
    assert r.exit_code == 0 and f"losing about {lost} notes" in r.stderr


# --- Seq66's extra track -------------------------------------------------------------

@pytest.mark.parametrize("wrapped", [True, False])
def test_seq66s_extra_track_is_skipped_with_a_plain_note(tmp_path, wrapped):
    tracks = [conductor_track(), running_status_track(basic_beat(4), meta_every_beats=None)]
    plain = raw_smf(tmp_path / "plain.mid", tracks)
    seq66 = raw_smf(tmp_path / "seq66.mid", tracks + [seq66_extra_track(wrapped=wrapped)],
                    header_tracks=2)
    song = smf.parse(seq66)
    assert song.warnings == []
    assert song.info == ["skipped track 3, beyond the 2 the header announces, which holds no "
                         "notes (a sequencer's own data, as Seq66 and Seq24 save)"]
    np.testing.assert_array_equal(midi.read_loop(seq66), midi.read_loop(plain))
    r = run("show", seq66, "--ascii")
    assert r.exit_code == 0 and "damaged" not in r.output and "warning" not in r.stderr
    assert "note: " in r.stderr and "Seq66" in r.stderr


def test_an_extra_track_with_notes_is_read_and_said(tmp_path):
    drums = running_status_track(basic_beat(4), meta_every_beats=None)
    path = raw_smf(tmp_path / "extra.mid", [conductor_track(), drums], header_tracks=1)
    song = smf.parse(path)
    assert song.info == ["read track 2, beyond the 1 the header announces, with its 48 notes"]
    assert len(song.notes) == 48 and not song.warnings


# --- Magenta's drum classes ------------------------------------------------------------

@pytest.mark.slow   # importing note_seq costs 1.5 s of CPU (bokeh, pandas): full tier
def test_the_magenta_map_is_note_seqs_drum_classes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydub's "no ffmpeg" on import
        from note_seq.drums_encoder_decoder import DEFAULT_DRUM_TYPE_PITCHES
    classes = np.full(128, -1)
    for i, pitches in enumerate(DEFAULT_DRUM_TYPE_PITCHES):
        classes[pitches] = i
    ours = kit.DRUM_MAPS["magenta"]
    as_magenta_class = np.where(ours >= 0, np.argsort(kit._TO_MAGENTA)[ours], -1)
    np.testing.assert_array_equal(as_magenta_class, classes)
    assert [kit.row_of_pitch(p) for p in (43, 45, 48, 50, 52, 58)] == [
        "LT", "MT", "HT", "HT", "CR", "LT"]  # the Groove reduction (GrooVAE's own files)


def test_drum_map_help_names_the_real_classes():
    r = run("show", "--help")
    text = " ".join(r.output.split())
    assert "43 and 45 low, 48 mid, 50 high tom, 58 crash" in text
    assert "45 low, 48 mid, 43 high" not in text
    assert "reads differently: 45 LT, 48 MT, 58 CR" in run("kit").output


def test_a_musicvae_file_reads_its_toms_in_magentas_rows(tmp_path):
    """note_seq writes drums through pretty_midi; its low tom 45 and crash 52/58."""
    hits = [(0, 45, 100), (1, 43, 100), (2, 48, 100), (3, 50, 100), (4, 52, 100),
            (5, 58, 100), (15.75, 36, 80)]
    path = note_seq_file(tmp_path / "musicvae.mid", hits)
    _, windows = midi.read_windows(path, drum_map="magenta")
    assert {("LT", 0), ("LT", 4), ("MT", 8), ("HT", 12), ("CR", 16), ("CR", 20)} <= hits_of(
        windows.grids[0])
    np.testing.assert_array_equal(windows.grids[0], independent_grid(path, drum_map="magenta"))


# --- e-kits on any channel -------------------------------------------------------------

def test_an_ekit_performance_with_articulations_on_channel_one_reads_as_drums(tmp_path):
    path = ekit_file(tmp_path / "td.mid")
    song = smf.parse(path)
    evidence = midi.kit_evidence(song.notes, kit.PITCH_TO_ROW)
    assert evidence.distinct == 37 and 0.6 <= evidence.core <= 0.75
    hits = midi.read_drums(path)
    assert len(hits.beats) == len(song.notes)  # every note is a drum hit
    on_ten = drum_file(tmp_path / "ten.mid", ekit_performance(), channel=9, length_beats=16)
    np.testing.assert_array_equal(midi.read_loop(path), midi.read_loop(on_ten))


def test_a_medeli_recording_with_program_80_is_a_kit_and_says_so(tmp_path):
    path = ekit_file(tmp_path / "dd11.mid", program=79)
    hits = midi.read_drums(path)
    assert any("program 80 (pipe) but plays a drum kit" in line for line in hits.info)
    r = run("show", path, "--ascii")
    assert r.exit_code == 0 and "plays a drum kit" in r.stderr


@pytest.mark.parametrize("kind", ["scale", "bass", "arpeggio", "walk"])
def test_melodies_with_programs_are_still_refused(tmp_path, kind):
    rng = np.random.default_rng(1)
    notes = {"scale": [36 + s for s in (0, 2, 4, 5, 7, 9, 11, 12) * 4],
             "bass": [36, 36, 43, 36, 38, 38, 45, 38, 40, 40, 47, 40, 41, 43, 45, 47] * 2,
             "arpeggio": [36, 40, 43, 48, 43, 40] * 5,
             "walk": list(40 + np.cumsum(rng.choice([-2, -1, 1, 2], 32)))}[kind]
    hits = [(i / 2, int(p), 90) for i, p in enumerate(notes)]
    path = drum_file(tmp_path / "tune.mid", hits, channel=0, midi_type=0, length_beats=16)
    mid = mido.MidiFile(path)
    mid.tracks[0].insert(0, mido.Message("program_change", channel=0, program=33))
    mid.save(path)
    with pytest.raises(midi.BadMidiFile, match="program 34 .bass., an instrument"):
        midi.read_drums(path)
    r = run("show", path)
    assert r.exit_code == 1 and "--drum-channel 1" in r.stderr


def test_pitches_outside_the_kit_are_named_in_a_whole_sentence(tmp_path):
    path = drum_file(tmp_path / "low.mid", [(i / 2, i % 3, 90) for i in range(16)],
                     channel=0, midi_type=0)
    with pytest.raises(midi.BadMidiFile) as e:
        midi.read_drums(path)
    assert e.value.reason.endswith("plays pitches 0-2, 100% of its notes outside the drum "
                                   f"kit's pitches ({kit.PITCH_MIN}-{kit.PITCH_MAX})")


def test_drum_channel_reads_the_channel_you_name_and_nothing_else(tmp_path):
    """A keyboard's drum part on channel 3, an arpeggio on channel 10 (it happens)."""
    drums = [(b, p, v) for b, p, v in basic_beat(4)]
    path = drum_file(tmp_path / "kbd.mid", drums, channel=2, length_beats=16)
    mid = mido.MidiFile(path)
    arp = mido.MidiTrack([mido.Message("note_on", channel=9, note=60 + i % 5, velocity=80,
                                       time=240) for i in range(16)])
    mid.tracks.append(arp)
    mid.save(path)
    default = hits_of(midi.read_loop(path))
    assert ("BD", 0) not in default  # channel 10 wins without the option
    hits, windows = midi.read_windows(path, drum_channel=3)
    assert hits_of(windows.grids[0]) == hits_of(midi.read_loop(drum_file(
        tmp_path / "ref.mid", drums, length_beats=16)))
    assert any("chosen with --drum-channel (3)" in n for n in hits.notes)
    with pytest.raises(midi.BadMidiFile, match="nothing is played on channel 5"):
        midi.read_drums(path, drum_channel=5)
    for command in (["show", path, "--ascii"], ["features", path],
                    ["convert", path, tmp_path / "out.npy"],
                    ["render", path, "--synth", "builtin", "-o", tmp_path / "o.wav"],
                    ["reconstruct", path, "--refine", 0, "--out", tmp_path / "rec"]):
        r = run(*command, "--drum-channel", 3)
        assert r.exit_code == 0, (command, r.output)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy")[0],
                                  midi.read_loop(path.parent / "ref.mid"))


def test_data_build_takes_drum_channel(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    ekit_file(lib / "a.mid")
    drum_file(lib / "b.mid", basic_beat(4), channel=0, midi_type=0, length_beats=16)
    r = run("data", "build", lib, "--drum-channel", 1, "--cache-dir", tmp_path / "c",
            "--workers", 1)
    assert r.exit_code == 0, r.output
    assert re.search(r"files kept\s+2\n", r.stdout), r.stdout


# --- Latin percussion --------------------------------------------------------------------

def test_latin_percussion_folded_into_kit_rows_is_said_once_per_file(tmp_path):
    hits = basic_beat(4) + [(b / 2, (62, 63, 64)[b % 3], 80) for b in range(32)]
    hits += [(b / 4, 82, 50) for b in range(64)] + [(b, 73, 60) for b in range(16)]
    path = drum_file(tmp_path / "salsa.mid", hits, length_beats=16)
    r = run("show", path, "--ascii", "--all")
    assert r.exit_code == 0
    lines = [line for line in r.stderr.splitlines() if "congas" in line]
    assert len(lines) == 1
    assert "64 shaker as RD" in lines[0] and "32 congas as LT/MT/HT" in lines[0]
    assert "16 guiro as CH" in lines[0] and lines[0].startswith("note: ")
    plain = drum_file(tmp_path / "plain.mid", basic_beat(4), length_beats=16)
    assert "percussion" not in run("show", plain, "--ascii").stderr


# --- triplets and shuffle ---------------------------------------------------------------

def triplet_eighths() -> list[tuple[float, int, int]]:
    hits = [(b + t / 3, 42, 80) for b in range(16) for t in range(3)]
    return hits + [(b, 36, 100) for b in range(0, 16, 2)] + [(b, 38, 100) for b in range(1, 16, 2)]


def blues_shuffle() -> list[tuple[float, int, int]]:
    hits = [(b + t, 42, 80) for b in range(16) for t in (0, 2 / 3)]
    return hits + [(b, 36, 100) for b in range(0, 16, 2)] + [(b, 38, 100) for b in range(1, 16, 2)]


@pytest.mark.parametrize("make,kind", [(triplet_eighths, "triplet eighths"),
                                       (blues_shuffle, "a shuffle (swung eighths)")])
def test_triplets_and_shuffle_are_named_and_a_triplet_grid_is_offered(tmp_path, make, kind):
    path = drum_file(tmp_path / "t.mid", make(), length_beats=16)
    r = run("show", path, "--ascii")
    assert r.exit_code == 0
    [line] = [x for x in r.stderr.splitlines() if "triplet position" in x]
    assert f"plays {kind}" in line and "--grid 4x4x3" in line
    r = run("show", path, "--ascii", "--grid", "4x4x3")
    assert r.exit_code == 0 and "kept on this grid" in r.stderr
    grid = midi.read_loop(path, GridSpec(4, 4, 3))
    exact = {("CH", round(b * 3)) for b, p, _ in make() if p == 42}
    assert {h for h in hits_of(grid) if h[0] == "CH"} == exact  # nothing merged or moved
    q = midi.read_windows(path, GridSpec(4, 4, 3))[1].quantised
    assert q.max_shift < 1e-6 and q.collisions == 0
    r = run("convert", path, tmp_path / "t.npz", "--grid", "4x4x3")
    assert r.exit_code == 0 and gridfile.load_grids(tmp_path / "t.npz", DEFAULT_SPEC)[1] == \
        GridSpec(4, 4, 3)
    r = run("reconstruct", path, "--refine", 0, "--out", tmp_path / "rec")
    assert r.exit_code == 0 and "cannot take a triplet grid" in r.stderr


def test_straight_files_say_nothing_about_triplets(tmp_path):
    path = drum_file(tmp_path / "s.mid", basic_beat(4) + [(b / 4, 42, 60) for b in range(64)],
                     length_beats=16)
    assert midi.read_drums(path).triplets is None
    assert "triplet" not in run("show", path, "--ascii").stderr


# --- per-window figures, tempo changes, 2/4 bars, tiling ---------------------------------

def test_each_window_shows_its_own_quantising_figure(tmp_path):
    rng = np.random.default_rng(0)
    hits = basic_beat(4) + [(16 + b + rng.uniform(-0.1, 0.1), p, v)
                            for b, p, v in basic_beat(4)]
    path = drum_file(tmp_path / "perf.mid", hits, length_beats=32)
    r = run("show", path, "--ascii", "--all")
    figures = [line for line in r.stdout.splitlines() if "quantising moved" in line]
    assert len(figures) == 5
    assert "by 0.00 steps on average (max 0.00)" in figures[0]
    assert "by 0.00 steps" not in figures[-1]
    loops = gridfile.read_file(path, DEFAULT_SPEC)
    assert loops.moved[0].mean_shift == 0 and loops.moved[4].mean_shift > 0.1


def ramp_file(path: Path) -> Path:
    """A tempo ramp as a DAW writes an automation curve: 160 to 130 BPM, a tempo event
    every beat of the ramp, over a 4-bar beat repeated to 12 bars."""
    ramp = [(8 + i, 160 - 30 * i / 24) for i in range(25)]
    tracks = [conductor_track(bpm=160, tempo_changes=ramp),
              running_status_track(basic_beat(12), meta_every_beats=None)]
    return raw_smf(path, tracks)


def test_tempo_changes_inside_a_window_are_warned_and_kept_in_original_mid(tmp_path):
    path = ramp_file(tmp_path / "ramp.mid")
    r = run("show", path, "--ascii", "--all")
    [line] = [x for x in r.stderr.splitlines() if "tempo changes" in x]
    assert line.startswith("warning: ") and "130 to 160 BPM" in line
    out = tmp_path / "rec"
    r = run("reconstruct", path, "--refine", 0, "--window", 2, "--out", out)
    assert r.exit_code == 0, r.stderr
    written = [m for t in mido.MidiFile(out / "original.mid").tracks for m in t
               if m.type == "set_tempo"]
    assert len(written) == 1 + 11  # the tempo at bar 2 and its changes in the window (9-19)
    assert mido.tempo2bpm(written[0].tempo) == pytest.approx(160)
    assert mido.tempo2bpm(written[-1].tempo) == pytest.approx(160 - 30 * 11 / 24, abs=0.01)
    recon = [m for t in mido.MidiFile(out / "reconstruction.mid").tracks for m in t
             if m.type == "set_tempo"]
    assert len(recon) == 1
    np.testing.assert_array_equal(midi.read_loop(out / "original.mid"),
                                  gridfile.read_file(path, DEFAULT_SPEC).grids[1])


def test_a_two_four_file_counts_bars_as_it_does(tmp_path):
    hits = [(b, 36, 100) for b in range(0, 40, 2)] + [(b, 38, 90) for b in range(1, 40, 2)]
    path = drum_file(tmp_path / "march.mid", hits, time_signature=(2, 4), length_beats=40)
    loops = gridfile.read_file(path, DEFAULT_SPEC)
    assert loops.describe(1) == "window 2 of 7, bars 3-10 of 2/4"
    r = run("show", path, "--ascii", "--window", 2)
    assert "bars 3-10 of 2/4" in r.stdout


@pytest.mark.parametrize("bars,said", [
    (1, "a 1-bar loop, repeated 4 times to fill the grid's 4 bars of 4/4"),
    (2, "a 2-bar loop, repeated 2 times to fill the grid's 4 bars of 4/4"),
    (3, "a 3-bar loop, with 4 silent beats added at its end to fill the grid's 4 bars of 4/4"),
    (4, None)])
def test_tiling_is_said(tmp_path, bars, said):
    path = drum_file(tmp_path / "blast.mid", basic_beat(bars), length_beats=4 * bars)
    r = run("show", path, "--ascii")
    notes = [x for x in r.stderr.splitlines() if "-bar loop" in x]
    assert notes == ([f"note: {path}: {said}"] if said else [])


# --- ordinary drum files: every command agrees with an independent reading ----------------

def ordinary_files(folder: Path) -> list[Path]:
    """Drum files as the usual tools write them, 4 bars each."""
    folder.mkdir()
    rng = np.random.default_rng(7)
    groove = [(max(0.0, b + rng.uniform(-0.08, 0.08)), p, v) for b, p, v in basic_beat(4)] + [
        (0, 49, 120), (15.5, 46, 90)]
    return [drum_file(folder / "daw.mid", groove, length_beats=16),
            drum_file(folder / "type0.mid", basic_beat(4), midi_type=0, tpb=96, length_beats=16),
            note_seq_file(folder / "note_seq.mid", groove),
            raw_smf(folder / "compact.mid", [conductor_track(), running_status_track(
                fill_song())])]


def test_every_reading_command_agrees_with_pretty_midi(tmp_path):
    files = ordinary_files(tmp_path / "lib")
    for path in files:
        expected = independent_grid(path)
        out = tmp_path / f"{path.stem}.npy"
        assert run("convert", path, out).exit_code == 0
        np.testing.assert_array_equal(midi_levels(np.load(out)[0]), expected, path.name)
        rec = tmp_path / f"rec-{path.stem}"
        assert run("reconstruct", path, "--refine", 0, "--out", rec).exit_code == 0
        np.testing.assert_array_equal(independent_grid(rec / "original.mid"), expected)
        played = tmp_path / f"play-{path.stem}"
        r = run("play", path, "--no-audio", "--synth", "builtin", "--out-dir", played)
        assert r.exit_code == 0, r.stderr
        np.testing.assert_array_equal(independent_grid(next(played.glob("*.mid"))), expected)
    r = run("data", "build", tmp_path / "lib", "--cache-dir", tmp_path / "cache", "--workers", 1,
            "--min-hits", 0)
    assert r.exit_code == 0 and "files kept" in r.stdout
    from evodrum.corpus import load_corpus
    corpus = load_corpus(next((tmp_path / "cache" / "corpora").iterdir()))
    built = {tuple(map(tuple, midi_levels(g))) for g in corpus.grids}
    assert built == {tuple(map(tuple, independent_grid(p))) for p in files}


def test_every_command_leaves_round_three_files_unchanged(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    made = [ekit_file(lib / "dd11.mid", program=79), ramp_file(lib / "ramp.mid"),
            drum_file(lib / "shuffle.mid", blues_shuffle(), length_beats=16),
            raw_smf(lib / "seq66.mid", [conductor_track(), running_status_track(
                basic_beat(4))] + [seq66_extra_track(wrapped=False)], header_tracks=2)]
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in made}
    out = tmp_path / "out"
    for path in made:
        for args in (["show", path, "--all", "--ascii"], ["features", path],
                     ["convert", path, out / f"{path.stem}.npy", "--grid", "4x4x3"],
                     ["render", path, "--synth", "builtin", "-o", out / f"{path.stem}.wav"],
                     ["reconstruct", path, "--refine", 0, "--out", out / f"r-{path.stem}"],
                     ["show", path, "--drum-channel", 1 if "dd11" in path.name else 10]):
            r = run(*args)
            assert r.exit_code == 0, (args, r.output)
    r = run("data", "build", lib, "--cache-dir", tmp_path / "cache", "--workers", 1)
    assert r.exit_code == 0, r.output
    assert "read with a note" in r.stdout
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in made} == before


# --- real e-kit recordings: the Groove corpus (Roland TD-11) moved to channel 1 -----------

def test_groove_recordings_on_channel_one_read_as_kits(groove_path, tmp_path):
    """The Groove corpus is e-kit recordings with articulations. Moved to channel 1 (as
    many e-kit modules send), its beats must read as drums, with or without a program."""
    import csv
    rows = list(csv.DictReader(open(groove_path / "info.csv")))
    beats = [r for r in rows if r["beat_type"] == "beat"]
    evidence = [midi.kit_evidence(smf.parse(groove_path / r["midi_filename"]).notes,
                                  kit.PITCH_TO_ROW) for r in beats]
    assert np.mean([e.is_kit for e in evidence]) >= 0.94  # 94.6% measured
    assert np.mean([e.is_full_kit for e in evidence]) >= 0.91  # 91.7% measured
    chosen = [r for r, e in zip(beats, evidence) if e.is_full_kit][::80]
    for r in chosen:
        source = groove_path / r["midi_filename"]
        mid = mido.MidiFile(source)
        for track in mid.tracks:
            for i, msg in enumerate(track):
                if hasattr(msg, "channel"):
                    track[i] = msg.copy(channel=0)
        mid.tracks[-1].insert(0, mido.Message("program_change", channel=0, program=79))
        moved = tmp_path / "moved.mid"
        mid.save(moved)
        _, ours = midi.read_windows(moved)
        _, ref = midi.read_windows(source)
        np.testing.assert_array_equal(ours.grids, ref.grids, r["midi_filename"])
