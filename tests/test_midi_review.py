"""Review findings on reading and playing users' MIDI files: a window's tempo changes
where the window has them, a short file after a pickup, notes past an early End of
Track, and the words commands use for them."""
from __future__ import annotations

import mido
from cli_runner import run
from midi_files import (
    basic_beat,
    drum_file,
    kick_steps,
    meta_events,
    metred_file,
    raw_midi,
    two_bars,
    vlq,
)

from evodrum import midi
from evodrum.grid import GridSpec
from evodrum.gridfile import read_file


def test_groove_of_one_window_writes_its_tempo_change_where_the_window_has_it(tmp_path):
    """A song at 100 BPM going to 110 at beat 6: window 2 (from beat 4) has the change at
    its beat 2, window 3 is at 110 throughout. Before, window 2 had it at beat 6 and
    window 3's take had no tempo at its start."""
    path = drum_file(tmp_path / "song.mid", basic_beat(8), tempo_bpm=100.0)
    song = mido.MidiFile(path)
    song.tracks[0].insert(-1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(110),
                                               time=6 * 480))
    song.save(path)
    r = run("groove", path, "--swing", 55, "--window", 2, "-o", tmp_path / "w2.mid")
    assert r.exit_code == 0, r.output
    assert meta_events(tmp_path / "w2.mid", "set_tempo") == [(0, 100), (2, 110)]
    assert "kept the file's tempo changes (1, to 110 BPM)" in r.output
    assert "the feel plays at 100 BPM" in r.output
    r = run("groove", path, "--swing", 55, "--window", 3, "-o", tmp_path / "w3.mid")
    assert r.exit_code == 0, r.output
    assert meta_events(tmp_path / "w3.mid", "set_tempo") == [(0, 110)]
    r = run("groove", path, "--swing", 55, "-o", tmp_path / "all.mid")
    assert meta_events(tmp_path / "all.mid", "set_tempo") == [(0, 100), (6, 110)]


def test_notes_after_an_early_end_of_track_are_read_up_to_damage_and_said(tmp_path):
    """8 notes after End of Track, then a stray 0xF4 byte or the track cut mid-event:
    before, all 8 were dropped without a word (only clean extra data was read)."""
    more = two_bars(b"")[:-4]               # the same 8 notes, without End of Track
    stray = two_bars(vlq(420) + more[1:] + b"\x00\xf4" + b"\x00\xff\x2f\x00")
    hits = midi.read_drums(raw_midi(tmp_path / "stray.mid", stray))
    assert len(hits.beats) == 16
    assert hits.warnings == [("track 1 goes on after its End of Track (at beat 7.125): read "
                              "its 8 notes after it; what follows them is damaged (a system "
                              "message 0xF4 that has no place in a file) at beat 15.125, "
                              "losing no notes")]
    cut = midi.read_drums(raw_midi(tmp_path / "cut.mid", two_bars(vlq(420) + more[1:-2])))
    assert len(cut.beats) == 16
    assert cut.warnings == [("track 1 goes on after its End of Track (at beat 7.125): read "
                             "its 8 notes after it; what follows them is cut short in the "
                             "middle of an event")]
    lost = two_bars(b"\x00\xf4" + vlq(420) + more[1:] + b"\x00\xff\x2f\x00")
    gone = midi.read_drums(raw_midi(tmp_path / "lost.mid", lost))
    assert len(gone.beats) == 8
    assert gone.warnings == [("track 1 goes on after its End of Track (at beat 7.125): its "
                              "notes there are lost; it is damaged (a system message 0xF4 "
                              "that has no place in a file) at beat 7.125, losing about 8 "
                              "notes after it")]


def test_a_short_file_after_a_pickup_plays_the_rest_as_a_loop(tmp_path):
    """2/4 then three bars of 4/4, or one: before, refused ('no stretch of bars that fit
    is as long as one window'); now the pickup is left out, said so, and the rest is
    tiled as a short loop is, bar 2's downbeat on the grid's first step."""
    three = metred_file(tmp_path / "pick3.mid", [(2, 4)] + [(4, 4)] * 3)
    loops = read_file(three, GridSpec(), to_last_bar=True)
    assert kick_steps(loops) == [[0, 16, 32]] and loops.start_bars.tolist() == [2]
    assert loops.warnings == [("skipped bar 1 (2/4, alone): a grid of 4/4 bars holds 2/4 (in "
                               "pairs), 4/4 and 8/4 bars (5 hits there are left out); bars 2-4 "
                               "are played as a loop")]
    one = read_file(metred_file(tmp_path / "pick1.mid", [(2, 4), (4, 4)]), GridSpec())
    assert kick_steps(one) == [[0, 16, 32, 48]] and one.warnings[0].endswith(
        "; bar 2 is played as a loop")
    r = run("groove", three, "--swing", 55, "-o", tmp_path / "out.mid")
    assert r.exit_code == 0, r.output


def test_a_lone_stretch_too_short_for_a_window_is_named_in_good_grammar(tmp_path):
    """'bar 6 between them are shorter': one bar is, and it need not be between."""
    path = metred_file(tmp_path / "song.mid", [(4, 4)] * 4 + [(2, 4), (4, 4)])
    assert read_file(path, GridSpec()).warnings[-1] == "bar 6 is shorter than one window"


def test_render_says_its_level_in_words_and_gives_the_figures_behind_verbose_and_json(
        tmp_path):
    """LUFS and dBTP are research figures: before, every render printed them."""
    import json
    src = drum_file(tmp_path / "beat.mid", basic_beat(4), length_beats=16)
    r = run("render", src, "-o", tmp_path / "a.wav", "--synth", "builtin")
    assert r.exit_code == 0, r.output
    assert "at the level every render shares" in r.output and "LUFS" not in r.output
    r = run("render", src, "-o", tmp_path / "b.wav", "--synth", "builtin", "--raw")
    assert "at the sound source's own level" in r.output and "dBTP" not in r.output
    r = run("render", src, "-o", tmp_path / "c.wav", "--synth", "builtin", "--verbose")
    assert "c.wav: -20 LUFS, true peak" in r.output
    r = run("render", src, "-o", tmp_path / "d.wav", "--synth", "builtin", "--json")
    written = json.loads(r.stdout)["files"][0]
    assert written["lufs"] == -20 and written["true_peak_dbtp"] <= -1


def test_a_take_that_runs_from_two_four_into_four_four_says_and_writes_both(tmp_path):
    """Four bars of 2/4, then four of 4/4: before, window 1 was 'bars 1-6 of 2/4', the
    take 'all 8 bars of 2/4', and groove and convert wrote 2/4 across the whole loop."""
    path = metred_file(tmp_path / "intro.mid", [(2, 4)] * 4 + [(4, 4)] * 4)
    loops = read_file(path, GridSpec(), to_last_bar=True)
    assert loops.describe(0) == "window 1 of 3, bars 1-6 (2/4, then 4/4)"
    assert loops.extent(loops.whole()) == "all 8 bars of 2/4 and 4/4"
    r = run("groove", path, "--swing", 55, "-o", tmp_path / "take.mid")
    assert r.exit_code == 0, r.output
    assert "played all 8 bars of 2/4 and 4/4" in r.output
    assert meta_events(tmp_path / "take.mid", "time_signature") == [(0, "2/4"), (8, "4/4")]
    r = run("convert", path, tmp_path / "w.mid")
    assert r.exit_code == 0, r.output
    assert meta_events(tmp_path / "w_001.mid", "time_signature") == [(0, "2/4"), (8, "4/4")]
    assert meta_events(tmp_path / "w_002.mid", "time_signature") == [(0, "2/4"), (4, "4/4")]


def test_eighth_note_metres_of_the_grids_length_read_on_the_four_four_grid(tmp_path):
    """8/8 is four beats, 4/8 two (in pairs), as README says: reader 4 refused both."""
    eight = read_file(metred_file(tmp_path / "8-8.mid", [(8, 8)] * 8), GridSpec(),
                      to_last_bar=True)
    assert kick_steps(eight)[0] == [0, 16, 32, 48] and not eight.warnings
    four = read_file(metred_file(tmp_path / "4-8.mid", [(4, 8)] * 8), GridSpec(),
                     to_last_bar=True)
    assert kick_steps(four)[0] == [0, 8, 16, 24, 32, 40, 48, 56] and not four.warnings


def test_a_short_loop_of_two_metres_names_both_once(tmp_path):
    """Two bars of 2/4 and one of 4/4, tiled twice: before, 'a 3-bar loop of 2/4'."""
    path = metred_file(tmp_path / "loop.mid", [(2, 4), (2, 4), (4, 4)])
    loops = read_file(path, GridSpec(), to_last_bar=True)
    assert loops.describe(0) == "window 1 of 1, bars 1-3 (2/4, then 4/4)"
    assert loops.info == [("a 3-bar loop of 2/4 and 4/4, repeated 2 times to fill the grid's "
                           "4 bars of 4/4")]


def test_a_window_that_returns_to_its_first_metre_says_every_change_in_order(tmp_path):
    """Bars of 4/4 x3, 2/4 x2, 4/4 x3: window 2 plays 4/4, 2/4, 4/4. Before, it said
    '(4/4, then 2/4)' (each metre named once), dropping the return to 4/4."""
    path = metred_file(tmp_path / "mix.mid", [(4, 4)] * 3 + [(2, 4)] * 2 + [(4, 4)] * 3)
    loops = read_file(path, GridSpec())
    assert loops.describe(0) == "window 1 of 3, bars 1-5 (4/4, then 2/4)"
    assert loops.describe(1) == "window 2 of 3, bars 2-6 (4/4, then 2/4, then 4/4)"
    r = run("show", path, "--ascii", "--window", 2)
    assert r.exit_code == 0, r.output
    assert "bars 2-6 (4/4, then 2/4, then 4/4)" in r.output


def test_a_tiled_loop_names_its_metres_once_not_each_repeat(tmp_path):
    """A 2-bar loop of 4/4 then 2/4 tiled to the grid: its own two metres, in order."""
    loops = read_file(metred_file(tmp_path / "loop.mid", [(4, 4), (2, 4)]), GridSpec())
    assert loops.describe(0) == "window 1 of 1, bars 1-2 (4/4, then 2/4)"


def test_a_tiled_loop_whose_tempo_changes_once_counts_one_change(tmp_path):
    """A 2-bar loop at 120 BPM going to 140 at bar 2, tiled twice to fill the grid: before,
    'the tempo changes 3 times inside window 1' (the change the file has, counted with
    the ones tiling adds)."""
    path = drum_file(tmp_path / "loop.mid", basic_beat(2), length_beats=8)
    song = mido.MidiFile(path)
    song.tracks[0].insert(-1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(140),
                                               time=4 * 480))
    song.save(path)
    loops = read_file(path, GridSpec())
    assert loops.tempo_changes().startswith(
        "the tempo changes once inside window 1, and back where the loop repeats "
        "(120 to 140 BPM)")
    r = run("show", path, "--ascii")
    assert r.exit_code == 0, r.output
    assert "changes once inside window 1" in r.stderr


def test_a_short_file_with_an_odd_bar_in_the_middle_is_refused_saying_why(tmp_path):
    """4/4, 3/4, 4/4: bars 1 and 3 are not next to each other in the music, so they are
    not spliced into a loop; the one line says so, and names the window's length in
    plain order (before: 'as long as one 4 bars of 4/4 ... window')."""
    path = metred_file(tmp_path / "odd.mid", [(4, 4), (3, 4), (4, 4)])
    before = path.read_bytes()
    r = run("show", path, "--ascii")
    assert r.exit_code != 0 and "Traceback" not in r.output
    [line] = r.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}: no stretch of bars that fit is as long as one "
                           "window (4 bars of 4/4 at sixteenth notes (64 steps)); bars on "
                           "either side of one the grid cannot hold are not looped together")
    assert "skipped bar 2 (3/4)" in line
    assert path.read_bytes() == before
