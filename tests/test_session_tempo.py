"""A session has one tempo: the seed loop's unless set, saved, restored on resume, and
used by every file it writes (MIDI tempo, WAV length) and by playback."""
from __future__ import annotations

import mido
import numpy as np
from click.testing import CliRunner

from evodrum import midi
from evodrum.audio.synth import loop_samples
from evodrum.audio.wav import read_wav
from evodrum.cli import main
from evodrum.examples import pattern
from evodrum.interactive import store


def tempo_of(path) -> float:
    tempos = [m.tempo for t in mido.MidiFile(path).tracks for m in t if m.type == "set_tempo"]
    assert len(tempos) == 1, tempos
    return round(mido.tempo2bpm(tempos[0]), 3)


def funk_at_98(folder):
    """The funk example written at 98 BPM, as a musician's own file would be."""
    return midi.write_midi(folder / "funk98.mid", pattern("funk").grid(), midi.DEFAULT_SPEC,
                           98.0)


def run(args, lines):
    seed = [] if "--resume" in args else ["--seed", "3"]
    result = CliRunner().invoke(main, ["interactive", "--no-audio", "--synth", "builtin",
                                       *seed, *args], input=lines)
    assert result.exit_code == 0, result.output
    return result.output


def test_seed_loop_tempo_is_the_sessions_and_every_export_uses_it(tmp_path):
    seed, folder = funk_at_98(tmp_path), tmp_path / "session"
    out = run(["--seed-loops", str(seed), "--out", str(folder)], "s 1\nf 2\nq\n")
    assert "98 BPM" in out
    assert store.load(folder).settings.bpm == 98.0
    written = [folder / "saved" / "loop-001.mid", *sorted((folder / "favourites").glob("*.mid")),
               *sorted((folder / "listen").glob("*.mid"))]
    assert len(written) >= 3
    assert {tempo_of(p) for p in written} == {98.0}
    audio, sr = read_wav(folder / "listen" / "loop1.wav")
    assert len(audio) == loop_samples(midi.DEFAULT_SPEC, 98.0, sr)   # 9.80 s, not 8.0 s
    assert abs(len(audio) / sr - 16 * 60 / 98) < 1e-3


def test_tempo_set_in_the_session_is_saved_restored_and_exported(tmp_path):
    folder = tmp_path / "session"
    out = run(["--bpm", "104", "--out", str(folder)], "t 93\ns 2\nq\n")
    assert "tempo 93 BPM" in out
    assert store.load(folder).settings.bpm == 93.0
    assert tempo_of(folder / "saved" / "loop-002.mid") == 93.0
    assert {tempo_of(p) for p in (folder / "listen").glob("*.mid")} == {93.0}
    resumed = run(["--resume", str(folder)], "s 3\nq\n")       # restored on resume
    assert "93 BPM" in resumed
    assert tempo_of(folder / "saved" / "loop-003.mid") == 93.0
    run(["--resume", str(folder), "--bpm", "120"], "s 4\nq\n")  # --bpm on resume changes it
    assert tempo_of(folder / "saved" / "loop-004.mid") == 120.0
    assert store.load(folder).settings.bpm == 120.0


def test_a_bad_tempo_is_refused_in_one_line_and_changes_nothing(tmp_path):
    folder = tmp_path / "session"
    out = run(["--out", str(folder)], "t 9000\nt fast\nq\n")
    assert out.count("tempo is 20 to 400 BPM") == 2
    assert store.load(folder).settings.bpm == 120.0


def test_a_damaged_tempo_in_a_session_file_is_one_error(tmp_path):
    folder = tmp_path / "session"
    run(["--out", str(folder)], "q\n")
    path = folder / store.SESSION_FILE
    path.write_text(path.read_text().replace('"bpm": 120.0', '"bpm": "fast"'))
    result = CliRunner().invoke(main, ["interactive", "--no-audio", "--resume", str(folder)],
                                input="q\n")
    assert result.exit_code != 0 and "damaged session file" in result.output
    assert "Traceback" not in result.output
    np.testing.assert_equal(path.read_text().count('"bpm": "fast"'), 1)


def test_a_sessions_feel_and_swing_are_saved_and_played_again_on_resume(tmp_path):
    """--feel 0 --swing 66 is the session's: saved, and a resume without the options plays
    (and writes) with them; options typed on resume replace them."""
    from evodrum.gridfile import read_file
    folder = tmp_path / "session"
    run(["--out", str(folder), "--feel", "0", "--swing", "66"], "q\n")
    saved = store.load(folder).settings
    assert (saved.feel, saved.swing) == (0.0, 66.0)
    run(["--resume", str(folder)], "s 2\nq\n")                 # no options: the saved feel
    loop = read_file(folder / "saved" / "loop-002.mid", midi.DEFAULT_SPEC).loop(0)
    odd = loop.hits & (np.arange(64) % 2 == 1)
    assert odd.any() and np.allclose(loop.offsets[odd], 0.32, atol=1 / 120)   # 66% swing
    assert not loop.offsets[loop.hits & ~odd].any()                          # feel 0
    assert (store.load(folder).settings.feel, store.load(folder).settings.swing) == (0.0, 66.0)
    run(["--resume", str(folder), "--swing", "50"], "q\n")
    assert (store.load(folder).settings.feel, store.load(folder).settings.swing) == (0.0, 50.0)
