"""Drummers' own MIDI files, as their tools write them: metres other than 4/4 on a grid
that holds them, pickups and lone 2/4 bars kept on the file's bar lines, files cut
short, and what commands say about where a window or a whole-file take starts."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_runner import run
from click.testing import CliRunner
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

from evodrum import kit, midi
from evodrum.cli import main
from evodrum.grid import GridSpec, parse_spec
from evodrum.gridfile import read_file


@pytest.mark.parametrize("metre, grid, every", [
    ((3, 4), "4x3x4", 12), ((6, 8), "4x3x4", 12), ((5, 4), "4x5x4", 20),
    ((7, 8), "2x7x4", 14),           # two bars of 7/8 to a grid bar of 7 beats
])
def test_a_metre_other_than_four_four_reads_on_the_grid_the_error_names(
        tmp_path, metre, grid, every):
    """A waltz, a 6/8 groove, a 5/4 or 7/8 tune: refused on the 4/4 grid with the --grid
    that holds its bars, and read on that grid with a kick on every one of its bars."""
    path = metred_file(tmp_path / "odd metre.mid", [metre] * 8)
    with pytest.raises(midi.BadMidiFile, match=f"read it on a grid .* --grid {grid}"):
        read_file(path, GridSpec())
    loops = read_file(path, parse_spec(grid), to_last_bar=True)   # as groove, play, render
    steps = loops.spec.steps
    assert kick_steps(loops)[0] == list(range(0, steps, every))
    assert loops.whole() is not None and not loops.warnings


def test_a_four_four_file_is_not_cut_across_its_bar_lines_on_a_three_four_grid(tmp_path):
    """Before, 4/4 bars were chopped into grid bars of 3 beats (kicks drifting through
    the bar); now the file is refused, naming the grid that holds it."""
    path = metred_file(tmp_path / "four.mid", [(4, 4)] * 8)
    with pytest.raises(midi.BadMidiFile, match=r"a grid of 3/4 bars holds 3/8 \(in pairs\), "
                                               r"3/4 \(6/8\) and 6/4 bars; .*--grid 4x4x4"):
        read_file(path, GridSpec(beats_per_bar=3))


@pytest.mark.parametrize("metres, skipped", [
    ([(2, 4)] + [(4, 4)] * 8, "bar 1 (2/4, alone)"),              # a pickup of two beats
    ([(4, 4)] * 4 + [(2, 4)] + [(4, 4)] * 8, "bar 5 (2/4, alone)"),  # a bar of 2 in a song
    ([(2, 4)] * 3 + [(4, 4)] * 8, "bar 1 (2/4, alone)"),
    ([(2, 4)] * 2 + [(4, 4)] * 8, None),                          # a pair fills a grid bar
])
def test_a_lone_two_four_bar_is_left_out_so_grid_bars_keep_to_the_bar_lines(
        tmp_path, metres, skipped):
    """Before, a 2/4 bar without a partner shifted every later grid bar by two beats:
    the kick on beat 3, the backbeat on 1. Every window's kicks are on its downbeats."""
    path = metred_file(tmp_path / "pickup.mid", metres)
    loops = read_file(path, GridSpec())
    for steps in kick_steps(loops):      # every grid bar opens on a bar of the file
        assert {0, 16, 32, 48} <= set(steps) and not np.any(np.mod(steps, 8)), steps
    said = [w for w in loops.warnings if w.startswith("skipped")]
    assert (said[0].startswith(f"skipped {skipped}:") if skipped else not said), said


def test_a_file_cut_short_mid_event_gets_one_plain_warning(tmp_path):
    """A download cut off anywhere in its last events: one line saying the file ends
    early, not two, nor Python's 'index out of range'."""
    whole = drum_file(tmp_path / "whole.mid", basic_beat(4)).read_bytes()
    for cut in range(1, 9):
        (tmp_path / "cut.mid").write_bytes(whole[:-cut])
        hits = midi.read_drums(tmp_path / "cut.mid")
        assert hits.warnings == ["track 2 is cut short (the file ends early)"], cut


def test_notes_after_an_early_end_of_track_are_read_and_said(tmp_path):
    """A broken exporter's track goes on past its End of Track: before, its last two bars
    were dropped without a word (mido reads them); now they are read, with a warning."""
    more = two_bars(b"\x00\xff\x2f\x00")[:-4]
    path = raw_midi(tmp_path / "after.mid", two_bars(vlq(420) + more[1:]
                                                            + b"\x00\xff\x2f\x00"))
    hits = midi.read_drums(path)
    assert len(hits.beats) == 16 and hits.beats.max() == pytest.approx(15)
    assert hits.warnings == [("track 1 goes on after its End of Track (at beat 7.125): "
                              "read its 8 notes after it")]
    padded = midi.read_drums(raw_midi(tmp_path / "padded.mid", two_bars(b"\0" * 8)))
    assert len(padded.beats) == 8 and not padded.warnings     # padding is passed over


def test_where_a_window_starts_is_said_in_the_file_bars_on_a_two_four_grid(tmp_path):
    """Before: 'bars 1-1 of 4/4' for a one-bar loop, and a window starting mid-bar
    named as if from its bar line."""
    one = read_file(drum_file(tmp_path / "one.mid", basic_beat(1)), GridSpec(beats_per_bar=2))
    assert one.describe(0) == "window 1 of 1, bar 1 of 4/4"
    six = read_file(drum_file(tmp_path / "six.mid", basic_beat(6)), GridSpec(beats_per_bar=2))
    assert six.describe(0) == "window 1 of 8, bars 1-2 of 4/4"
    assert six.describe(1) == "window 2 of 8, bars 1-3 of 4/4, from beat 3 of bar 1"


def test_a_whole_file_take_says_where_it_starts_and_whether_it_was_cut(tmp_path):
    """'all N bars' only when every bar from bar 1 plays."""
    countin = read_file(metred_file(tmp_path / "c.mid", [(3, 4)] + [(4, 4)] * 8),
                        GridSpec(), to_last_bar=True)
    assert countin.extent(countin.whole()) == "8 bars from bar 2"
    long = read_file(drum_file(tmp_path / "l.mid", basic_beat(70)), GridSpec(), to_last_bar=True)
    assert long.extent(long.whole()) == "the first 64 bars"
    eight = read_file(drum_file(tmp_path / "e.mid", basic_beat(8)), GridSpec(), to_last_bar=True)
    assert eight.extent(eight.whole()) == "all 8 bars"
    march = read_file(metred_file(tmp_path / "m.mid", [(2, 4)] * 16), GridSpec(),
                      to_last_bar=True)
    assert march.extent(march.whole()) == "all 16 bars of 2/4"     # the file's bars, not 8


def test_groove_refuses_a_grid_its_model_does_not_play_instead_of_ignoring_it(tmp_path):
    """Before, --grid 4x3x4 was silently replaced by the model's 4/4 grid, and the waltz
    refused with advice to use the very --grid given."""
    path = metred_file(tmp_path / "waltz.mid", [(3, 4)] * 8)
    r = run("groove", path, "--grid", "4x3x4", "-o", tmp_path / "out.mid")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.output.strip().splitlines() == [(
        "error: --grid: the model's feel plays grids of 4 bars of 4/4 at sixteenth notes "
        "(64 steps), not 4 bars of 3/4 at sixteenth notes (48 steps); play those with "
        "--swing PCT or --like OTHER.mid")]
    r = run("groove", path, "-o", tmp_path / "out.mid")      # the model's feel: 4/4 only
    assert r.exit_code == 1 and r.output.strip().endswith(
        "8/4 bars; the model's feel plays only its own grid: --swing PCT or --like "
        "OTHER.mid play it on a grid of 3/4 bars with --grid 4x3x4"), r.output
    with pytest.raises(midi.BadMidiFile, match="8/4 bars$"):  # a seed loop, on the model's grid
        midi.read_seed(path)
    r = run("groove", path, "--grid", "4x3x4", "--swing", 60, "-o", tmp_path / "out.mid")
    assert r.exit_code == 0, r.output
    back = read_file(tmp_path / "out.mid", GridSpec(bars=8, beats_per_bar=3))
    assert kick_steps(back)[0] == list(range(0, 96, 12))


@pytest.mark.parametrize("command", [["show"], ["features", "--json"]])
def test_a_bad_file_among_several_is_skipped_and_the_rest_still_read(tmp_path, command):
    """Before, `show a.mid b.mid c.mid` or `features` stopped at the first file it could
    not read and showed nothing of the others."""
    good = drum_file(tmp_path / "good beat.mid", basic_beat(4))
    waltz = metred_file(tmp_path / "waltz.mid", [(3, 4)] * 8)
    text = tmp_path / "notes.mid"
    text.write_text("kick snare kick snare\n")
    before = {p: p.read_bytes() for p in (good, waltz, text)}
    r = CliRunner().invoke(main, [*command, str(waltz), str(good), str(text)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert str(good) in r.stdout and str(waltz) not in r.stdout
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert [e.split(": ")[1] for e in errors] == [str(waltz), str(text)]
    assert all(e.endswith("(skipped)") for e in errors)
    assert {p: p.read_bytes() for p in before} == before


def test_notes_on_pitches_no_row_reads_are_said_not_dropped_silently(tmp_path):
    """A drum plugin's hi-hat articulations on low pitches (8, 21): before, 70 hats
    vanished from the loop without a word; now a warning counts them, and a note map of
    the kit given to --drum-map reads them."""
    hits = [(b, 36, 100) for b in range(16)] + [(b / 2, 8, 70) for b in range(32)] \
        + [(b + 0.25, 21, 60) for b in range(6)]
    path = drum_file(tmp_path / "plugin.mid", hits)
    read = midi.read_drums(path)
    assert read.warnings == [("left out 38 notes on pitches no drum row reads: 8 (32), 21 (6) "
                              "(a note map of your kit, given to --drum-map, can place them)")]
    assert not read_file(path, GridSpec()).grids[0][kit.ROWS.index("CH")].any()
    mine = tmp_path / "my kit.toml"
    gm = (Path(midi.__file__).parent / "notemaps" / "gm.toml").read_text()
    mine.write_text(gm.replace("CH = 42", "CH = 8"))
    hats = read_file(path, GridSpec(), drum_map=str(mine)).grids[0][kit.ROWS.index("CH")]
    assert np.count_nonzero(hats) == 32


def test_a_tempo_and_metre_set_a_tick_in_are_the_files_own(tmp_path):
    """An exporter's conductor track with its tempo (90) and 3/4 at tick 1: before, the
    loop played at 120 BPM with a tempo-change warning, and bar 1 read as a sliver of
    4/4 that was skipped."""
    import mido
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90), time=1),
                           mido.MetaMessage("time_signature", numerator=3, denominator=4)])
    path = metred_file(tmp_path / "waltz.mid", [(3, 4)] * 8)
    song = mido.MidiFile(path)
    drums = mido.MidiTrack(m for m in song.tracks[0] if not m.is_meta or m.type == "end_of_track")
    mido.MidiFile(ticks_per_beat=song.ticks_per_beat, tracks=[meta, drums]).save(path)
    loops = read_file(path, GridSpec(beats_per_bar=3), to_last_bar=True)
    assert loops.bpm(0) == 90 and not loops.warnings and loops.start_bars[0] == 1
    assert kick_steps(loops)[0] == [0, 12, 24, 36]
    tempo_only = mido.MidiFile(ticks_per_beat=song.ticks_per_beat, tracks=[meta[:1], drums])
    tempo_only.save(tmp_path / "four.mid")
    assert midi.read_drums(tmp_path / "four.mid").bpm == 90      # was 120


@pytest.mark.parametrize("metre, grid", [((6, 8), "4x3x4"), ((2, 4), "default"),
                                         ((7, 8), "2x7x4")])
def test_groove_writes_the_files_own_time_signature(tmp_path, metre, grid):
    """Before, a 6/8 groove came back in 3/4 and a 2/4 march in 4/4: the grid's bars,
    not the drummer's."""
    import mido
    path = metred_file(tmp_path / "in.mid", [metre] * 8)
    r = run("groove", path, "--swing", 58, "--grid", grid, "-o", tmp_path / "out.mid")
    assert r.exit_code == 0, r.output
    written = [m for m in mido.MidiFile(tmp_path / "out.mid").tracks[0]
               if m.type == "time_signature"]
    assert [(m.numerator, m.denominator) for m in written] == [metre]
    seconds = 8 * 4 * metre[0] / metre[1] / 2            # 8 bars at 120 BPM
    assert mido.MidiFile(tmp_path / "out.mid").length == pytest.approx(seconds)
    r = run("convert", path, tmp_path / "window.mid", "--grid", grid)  # a window at a time
    assert r.exit_code == 0, r.output
    first = sorted(tmp_path.glob("window*.mid"))[0]
    assert [(m.numerator, m.denominator) for m in mido.MidiFile(first).tracks[0]
            if m.type == "time_signature"] == [metre]


def test_groove_and_convert_keep_the_files_tempo_changes(tmp_path):
    """A song at 100 BPM that moves to 110 at bar 5 and 96.5 at bar 7: before, groove and
    convert wrote it all at 100 BPM."""
    import mido
    path = drum_file(tmp_path / "song.mid", basic_beat(8), tempo_bpm=100.0)
    song = mido.MidiFile(path)
    song.tracks[0].insert(-1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(110), time=0))
    song.tracks[0].insert(-1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(96.5),
                                               time=8 * 480))
    song.tracks[0][-3].time = 16 * 480            # the first change at beat 16
    song.save(path)

    r = run("groove", path, "--swing", 55, "-o", tmp_path / "out.mid")
    assert r.exit_code == 0, r.output
    assert meta_events(tmp_path / "out.mid", "set_tempo") == [(0, 100), (16, 110), (24, 96.5)]
    assert "kept the file's tempo changes" in r.output
    r = run("groove", path, "--swing", 55, "--bpm", 90, "-o", tmp_path / "at90.mid")
    assert meta_events(tmp_path / "at90.mid", "set_tempo") == [(0, 90)]  # --bpm: one tempo
    r = run("convert", path, tmp_path / "w.mid")
    assert r.exit_code == 0, r.output
    assert meta_events(tmp_path / "w_004.mid", "set_tempo") == [  # bars 4-7
        (0, 100), (4, 110), (12, 96.5)]


def test_track_names_read_as_their_tool_wrote_them(tmp_path):
    """A DAW writes names in UTF-8, an older Windows tool in Windows-1252: before, 'Bässe'
    was named 'BÃ¤sse' in messages, and the dash a control character."""
    from midi_files import raw_smf

    def named(name: bytes, low: int) -> bytes:
        body = b"\x00\xff\x03" + vlq(len(name)) + name
        for i in range(16):      # a rising line on channel 1: not drums
            body += vlq(0 if i == 0 else 240) + bytes([0x90, low + i, 90]) + b"\x78" \
                + bytes([0x80, low + i, 0])
        return body + b"\x00\xff\x2f\x00"
    path = raw_smf(tmp_path / "band.mid", [named("Bässe".encode(), 40),
                                          named("Gitarre – clean".encode("cp1252"), 60)])
    with pytest.raises(midi.BadMidiFile) as e:
        midi.read_drums(path)
    assert "track 1 ('Bässe')" in str(e.value) and "track 2 ('Gitarre – clean')" in str(e.value)


def test_cut_time_reads_on_the_four_four_grid(tmp_path):
    """2/2 (alla breve, common in scores from MuseScore or Sibelius) is four beats a bar:
    before, it was refused as a metre the grid cannot hold."""
    path = metred_file(tmp_path / "march.mid", [(2, 2)] * 8)
    loops = read_file(path, GridSpec(), to_last_bar=True)
    assert kick_steps(loops)[0] == [0, 16, 32, 48] and not loops.warnings
    assert loops.describe(1) == "window 2 of 5, bars 2-5 of 2/2"


def test_the_groove_corpus_waltzes_and_odd_metres_read_on_the_grid_their_refusal_names(
        groove_path):
    """Groove's drummers in 3/4, 6/8, 5/4 and 5/8: each is refused on the 4/4 grid with a
    --grid, and on that grid every window starts on one of its bar lines and holds hits."""
    import csv
    with open(groove_path / "info.csv") as f:
        odd = [r for r in csv.DictReader(f)
               if r["time_signature"] in ("3-4", "6-8", "5-4", "5-8")]
    assert len(odd) >= 10
    for row in odd:
        path = groove_path / row["midi_filename"]
        with pytest.raises(midi.BadMidiFile) as refused:
            read_file(path, GridSpec())
        grid = str(refused.value).split("--grid ")[1].split()[0]
        loops = read_file(path, parse_spec(grid))
        num, den = (int(x) for x in row["time_signature"].split("-"))
        bar = num * 4 / den
        assert np.allclose(np.mod(loops.start_beats, bar), 0), path
        assert loops.hits.min() > 0 and set(loops.metres) == {f"{num}/{den}"}, path


def test_a_short_loops_tempo_change_repeats_with_the_loop(tmp_path):
    """A 2-bar loop at 100 BPM with its second bar at 110 fills the grid's 4 bars by
    repeating, tempo and all: before, bars 3 and 4 stayed at 110."""
    import mido
    path = drum_file(tmp_path / "loop.mid", basic_beat(2), tempo_bpm=100.0, length_beats=8)
    song = mido.MidiFile(path)
    song.tracks[0].insert(-1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(110),
                                               time=4 * 480))
    song.save(path)
    loops = read_file(path, GridSpec())
    assert loops.tempo_maps == [[(0.0, 100.0), (4.0, 110.0), (8.0, 100.0), (12.0, 110.0)]]


def test_a_folder_of_karaoke_and_riff_midi_files_is_read(tmp_path):
    """.kar (karaoke MIDI) and .rmi (MIDI in a RIFF wrapper) read one at a time, but a
    folder of them was 'no MIDI or grid files' to render, judge and data build."""
    from evodrum.judging import loop_files
    beat = drum_file(tmp_path / "beat.mid", basic_beat(4)).read_bytes()
    folder = tmp_path / "backing tracks"
    folder.mkdir()
    (folder / "song.kar").write_bytes(beat)
    riff = b"RMID" + b"data" + len(beat).to_bytes(4, "little") + beat
    (folder / "song.rmi").write_bytes(b"RIFF" + len(riff).to_bytes(4, "little") + riff)
    files, problems = loop_files([folder])
    assert [f.name for f in files] == ["song.kar", "song.rmi"] and not problems
    assert all(len(read_file(f, GridSpec())) == 1 for f in files)


@pytest.mark.parametrize("command", [["interactive", "--no-audio"], ["studio", "--no-browser"],
                                     ["judge"]])
def test_commands_on_a_models_grid_offer_no_grid_option_they_lack(tmp_path, command):
    """A waltz as a seed loop or to judge: before, the refusal said 'read it with --grid
    4x3x4', an option these commands do not have."""
    path = metred_file(tmp_path / "waltz.mid", [(3, 4)] * 8)
    args = [*command, "--seed-loops", path] if command[0] != "judge" else [*command, path]
    r = CliRunner().invoke(main, [str(a) for a in args], input="q\n")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "its bars are in 3/4" in r.output and "--grid" not in r.output, r.output


def test_a_damaged_track_with_a_runaway_delta_time_after_the_damage_does_not_hang(tmp_path):
    """A track damaged mid-event, with a delta time of more than 4 bytes where reading
    resumes to count what was lost: before, counting went back to an earlier event and
    looped for ever (every command on the file hung). A thread guards the test against
    hanging; the read takes milliseconds."""
    import threading
    note = b"\x00\x99\x24\x64\x78\x89\x24\x00"
    body = note * 4 + b"\x00\x99\x90" + b"\x81" * 5 + b"\x00" + note * 4 + b"\x00\xff\x2f\x00"
    path = raw_midi(tmp_path / "damaged.mid", body)
    read = []
    reader = threading.Thread(target=lambda: read.append(midi.read_drums(path)), daemon=True)
    reader.start()
    reader.join(120)
    assert not reader.is_alive(), "reading the file hung"
    assert len(read[0].beats) == 4
    assert read[0].warnings == [("track 1 is damaged (a status byte where data should be); "
                                 "read up to beat 1, losing about 4 notes after it")]
