"""Review findings on reading and playing users' MIDI files: a window's tempo changes
where the window has them, a short file after a pickup, notes past an early End of
Track, and the words commands use for them."""
from __future__ import annotations

import mido
from click.testing import CliRunner
from midi_files import basic_beat, drum_file

from evodrum.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def tempi(path) -> list[tuple[float, float]]:
    """(beat, BPM) of every tempo a MIDI file sets."""
    mid, out = mido.MidiFile(path), []
    for track in mid.tracks:
        tick = 0
        for m in track:
            tick += m.time
            if m.type == "set_tempo":
                out.append((tick / mid.ticks_per_beat, round(mido.tempo2bpm(m.tempo), 3)))
    return sorted(out)


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
    assert tempi(tmp_path / "w2.mid") == [(0, 100), (2, 110)]
    assert "kept the file's tempo changes (1, to 110 BPM)" in r.output
    assert "the feel plays at 100 BPM" in r.output
    r = run("groove", path, "--swing", 55, "--window", 3, "-o", tmp_path / "w3.mid")
    assert r.exit_code == 0, r.output
    assert tempi(tmp_path / "w3.mid") == [(0, 110)]
    r = run("groove", path, "--swing", 55, "-o", tmp_path / "all.mid")
    assert tempi(tmp_path / "all.mid") == [(0, 100), (6, 110)]
