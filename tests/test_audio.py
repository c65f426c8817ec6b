"""Listening: the rendered audio itself, WAV files, and every playback backend,
driven for real with no sound card (fake commands on PATH, a recording MIDI port)."""
from __future__ import annotations

import csv
import os
import shutil
import stat
import sys
import threading
import time
import wave

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import require_real_part
from midi_files import basic_beat, drum_file
from midi_out import ManualClock, RecordingPort
from scipy.ndimage import maximum_filter1d
from waiting import STUCK, wait_for

from evodrum import midi
from evodrum.audio import outputs, synth
from evodrum.audio.choose import open_player, open_renderer
from evodrum.audio.loudness import lufs, normalise
from evodrum.audio.midiport import ALL_NOTES_OFF, MidiPortPlayer
from evodrum.audio.outputs import CommandOutput, open_output
from evodrum.audio.players import AudioPlayer
from evodrum.audio.soundfont import FluidSynthRenderer, find_soundfont
from evodrum.audio.voices import one_shots
from evodrum.audio.wav import read_wav, write_wav
from evodrum.cli import main
from evodrum.errors import EvodrumError
from evodrum.grid import DEFAULT_SPEC, PAPER_SPEC, GridSpec, quantize_velocity
from evodrum.kit import ROWS

SR = 44100
BD, SD, CH, CR = (ROWS.index(r) for r in ("BD", "SD", "CH", "CR"))
ONE_BAR = GridSpec(bars=1)


def grid_with(row: int, steps, velocity: float = 1.0, spec: GridSpec = DEFAULT_SPEC):
    g = np.zeros(spec.shape, np.float32)
    g[row, steps] = velocity
    return g


def beat_grid(spec: GridSpec = DEFAULT_SPEC) -> np.ndarray:
    """Kick on every beat, snare on 2 and 4, hats on eighths, a crash on the last step."""
    g = grid_with(BD, slice(0, None, spec.steps_per_beat), 0.9, spec)
    g[SD, spec.steps_per_beat::2 * spec.steps_per_beat] = 0.8
    g[CH, ::2] = 0.5
    g[CR, -1] = 0.7
    return g


def onset_times(audio: np.ndarray, sr: int, threshold: float = 0.5) -> np.ndarray:
    """Seconds where the envelope (trailing 25 ms peak) rises through threshold * max."""
    env = maximum_filter1d(np.abs(audio), size=int(0.025 * sr), origin=int(0.0125 * sr) - 1)
    above = env > threshold * env.max()
    rising = np.flatnonzero(above & ~np.roll(above, 1))
    return rising / sr


def place_by_hand(grid, spec, bpm, sr):
    """Reference: each hit's one-shot added at its step, overhang folded onto the start."""
    n = synth.loop_samples(spec, bpm, sr)
    shots = one_shots(sr)
    passes = 2 + max(s.size for s in shots) // n
    out = np.zeros(passes * n, np.float64)
    for row, step in zip(*np.nonzero(grid)):
        start = step * n // spec.steps
        out[start:start + shots[row].size] += grid[row, step] ** 2 * shots[row]
    return out.reshape(passes, n).sum(axis=0)


def script(bin_dir, name: str, body: str):
    """An executable Python script called `name` in bin_dir (a fake system program)."""
    path = bin_dir / name
    path.write_text(f"#!{sys.executable}\nimport os, shutil, sys, time, wave\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def fake_bin(tmp_path, monkeypatch):
    """A PATH holding only a temporary bin folder (plus Python), and no sounddevice."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(outputs, "_load_sounddevice", lambda: (None, "disabled for the test"))
    # the fake commands are Python scripts, slow to start on a loaded machine: the probe
    # waits for them as long as it takes (test_a_hanging_output_* shortens it again)
    monkeypatch.setattr(outputs, "PROBE_TIMEOUT", STUCK)
    return bin_dir


@pytest.fixture
def fake_aplay(fake_bin, tmp_path):
    """An `aplay` that logs its argv, keeps a copy of each WAV and 'plays' for $PLAY_SECONDS
    (the test sound played when an output is opened is not logged: see test_probe_*)."""
    log = tmp_path / "aplay.log"
    script(fake_bin, "aplay", f"""
if sys.argv[-1].endswith("probe.wav"):
    sys.exit(0)
with open({str(log)!r}, "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\\n")
n = sum(1 for _ in open({str(log)!r}))
shutil.copy(sys.argv[-1], {str(tmp_path)!r} + f"/played-{{n}}.wav")
time.sleep(float(os.environ.get("PLAY_SECONDS", "0.05")))
""")
    return log


# --- the synthesiser ------------------------------------------------------------------

@pytest.mark.parametrize("bpm, seconds", [(120, 8.0), (60, 16.0), (200, 4.8)])
def test_four_bars_render_to_exactly_spec_seconds(bpm, seconds):
    audio = synth.render(beat_grid(), DEFAULT_SPEC, bpm, SR)
    assert audio.dtype == np.float32 and audio.shape == (round(seconds * SR),)
    assert np.sqrt(np.mean(audio ** 2)) > 0.02
    assert np.abs(audio).max() <= 1.0


@pytest.mark.parametrize("bpm", [120, 60])
def test_kicks_on_beats_give_onsets_on_the_beat_times(bpm):
    audio = synth.render(grid_with(BD, slice(0, None, 4)), DEFAULT_SPEC, bpm, SR)
    beat = 60.0 / bpm
    np.testing.assert_allclose(onset_times(audio, SR), np.arange(16) * beat, atol=0.002)


def test_snares_on_two_and_four_at_paper_resolution():
    grid = grid_with(SD, slice(2, None, 4), spec=PAPER_SPEC)  # eighth notes: beat 2 = step 2
    audio = synth.render(grid, PAPER_SPEC, 100, SR)
    assert len(audio) == round(PAPER_SPEC.seconds(100) * SR)
    np.testing.assert_allclose(onset_times(audio, SR), 0.6 + np.arange(16) * 1.2, atol=0.002)


@pytest.mark.parametrize("row", range(len(ROWS)))
def test_louder_velocity_gives_louder_peak_on_every_voice(row):
    velocities = [0.1, 0.3, 0.5, 0.7, 0.9, 1.0]
    peaks = [np.abs(synth.render(grid_with(row, 8, v), tail="cut")).max() for v in velocities]
    assert np.all(np.diff(peaks) > 0), (ROWS[row], peaks)
    # Below the limiter the General MIDI curve holds exactly: amplitude ~ velocity^2.
    assert peaks[1] / peaks[0] == pytest.approx(9.0, rel=1e-4)


def test_each_voice_sounds_like_its_drum():
    """Kick lowest, toms rising low->high, snare and cymbals bright; closed hat short."""
    freqs = np.fft.rfftfreq(SR // 10, 1 / SR)
    shots = dict(zip(ROWS, one_shots(SR)))
    power = {r: np.abs(np.fft.rfft(s[:SR // 10])) ** 2 for r, s in shots.items()}
    pitch = {r: freqs[p.argmax()] for r, p in power.items()}
    centroid = {r: (freqs * p).sum() / p.sum() for r, p in power.items()}
    assert pitch["BD"] < pitch["LT"] < pitch["MT"] < pitch["HT"] < 400
    assert centroid["SD"] > 2000 and min(centroid[r] for r in ("CH", "OH", "RD", "CR")) > 5000
    assert shots["CH"].size < shots["OH"].size < shots["CR"].size
    assert one_shots(SR) is one_shots(SR)  # cached per sample rate
    assert one_shots(22050)[0].size == shots["BD"].size // 2


def test_silent_grid_is_exactly_silent():
    audio = synth.render(np.zeros(DEFAULT_SPEC.shape, np.float32))
    assert len(audio) == 8 * SR and not audio.any()


def test_decays_wrap_onto_the_start_only_when_looping():
    crash_last = grid_with(CR, 63, 0.6)
    wrap, cut, ring = (synth.render(crash_last, tail=t) for t in synth.TAILS)
    n = 8 * SR
    assert len(wrap) == len(cut) == n and len(ring) == 63 * n // 64 + one_shots(SR)[CR].size
    assert not cut[:n // 2].any() and np.abs(wrap[:SR // 10]).max() > 0.02
    np.testing.assert_allclose(wrap[:len(ring) - n], cut[:len(ring) - n] + ring[n:], atol=1e-6)
    np.testing.assert_array_equal(ring[:n], cut)


@pytest.mark.parametrize("spec, bpm, sr", [(DEFAULT_SPEC, 117.3, 44100), (PAPER_SPEC, 95, 48000),
                                           (ONE_BAR, 300, 22050)])
def test_vectorised_render_equals_placing_each_hit_by_hand(spec, bpm, sr):
    rng = np.random.default_rng(3)
    grid = ((rng.random(spec.shape) < 0.3) * rng.uniform(0.1, 0.6, spec.shape)).astype(np.float32)
    expected = place_by_hand(grid, spec, bpm, sr)
    assert np.abs(expected).max() < synth.LIMIT_KNEE  # quiet enough to bypass the limiter
    np.testing.assert_allclose(synth.render(grid, spec, bpm, sr), expected, atol=1e-5)


def test_real_groove_loops_render_every_hit_at_its_recorded_tempo(groove_path):
    with open(groove_path / "info.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["beat_type"] == "beat"
                and r["time_signature"] == "4-4" and r["split"] == "test"][:4]
    for row in rows:
        grid, bpm = midi.read_loop(groove_path / row["midi_filename"]), float(row["bpm"])
        audio = synth.render(grid, DEFAULT_SPEC, bpm, SR)
        assert len(audio) == round(DEFAULT_SPEC.seconds(bpm) * SR)
        assert 0.1 < np.abs(audio).max() <= 1.0
        quiet = grid * 0.5  # below the limiter, so the reference comparison is exact
        np.testing.assert_allclose(synth.render(quiet, DEFAULT_SPEC, bpm, SR),
                                   place_by_hand(quiet, DEFAULT_SPEC, bpm, SR), atol=1e-5)


def test_bad_render_arguments_are_refused():
    with pytest.raises(ValueError, match="tail"):
        synth.render(beat_grid(), tail="loop")
    with pytest.raises(ValueError, match="tempo"):
        synth.render(beat_grid(), bpm=0)
    with pytest.raises(ValueError, match="shape"):
        synth.render(np.zeros((9, 32), np.float32))


# --- WAV files ------------------------------------------------------------------------

def test_wav_is_written_atomically_and_reads_back_with_wave(tmp_path):
    audio = synth.render(beat_grid())
    path = write_wav(tmp_path / "loop.wav", audio, SR)
    assert os.listdir(tmp_path) == ["loop.wav"]
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == \
               (1, 2, SR, 8 * SR)
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    np.testing.assert_array_equal(pcm, np.rint(audio * 32767).astype(np.int16))
    back, sr = read_wav(path)
    assert sr == SR and np.abs(back - audio).max() < 1e-4


def test_stereo_wav_round_trips_and_clips(tmp_path):
    audio = np.stack([np.linspace(-1.5, 1.5, 1000), np.zeros(1000)], axis=1)
    back, sr = read_wav(write_wav(tmp_path / "s.wav", audio, 22050))
    assert sr == 22050 and back.shape == (1000, 2)
    assert back[:, 0].min() == pytest.approx(-1, abs=1e-4) and back[:, 0].max() < 1.0


def test_in_memory_wav_is_the_same_file_as_write_wav(tmp_path):
    """The studio serves `wav_bytes`: byte for byte what `write_wav` puts on disk,
    stereo included (one writer serves both)."""
    from evodrum.audio.wav import wav_bytes
    for audio in (synth.render(beat_grid()),
                  np.stack([np.linspace(-1.5, 1.5, 1000), np.zeros(1000)], axis=1)):
        on_disk = write_wav(tmp_path / "loop.wav", audio, 22050).read_bytes()
        assert wav_bytes(audio, 22050) == on_disk


def test_unreadable_wav_names_the_file(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF nonsense")
    with pytest.raises(EvodrumError, match="bad.wav"):
        read_wav(bad)


# --- MIDI port ------------------------------------------------------------------------

def notes_on(sent, note=None):
    """(time, message) of the note-ons recorded, of one pitch or all."""
    return [(t, m) for t, m in list(sent) if m.type == "note_on" and note in (None, m.note)]


def test_midi_port_sends_each_note_at_its_beat_and_loops_until_stopped():
    """On a hand-wound clock (exact, whatever the load): a bar of kicks on the beats and
    snares on 2 and 4, looped; stopping between beats sends nothing more, ends every
    sounding note and sends All Notes Off."""
    clock = ManualClock()
    port = RecordingPort(now=lambda: clock.beat)
    player = MidiPortPlayer(port, timebase=clock)
    grid = grid_with(BD, slice(0, None, 4), spec=ONE_BAR)
    grid[SD, [4, 12]] = 0.5
    player.play(grid, ONE_BAR, bpm=240)
    clock.run_to(10.5, player)                  # two and a half bars
    assert player.is_playing
    player.stop()
    assert not player.is_playing
    assert [t for t, _ in notes_on(port.sent, 36)] == list(range(11))        # it loops
    assert [t for t, _ in notes_on(port.sent, 38)] == [1, 3, 5, 7, 9]
    assert {m.velocity for _, m in notes_on(port.sent, 38)} == {64}
    assert all(m.channel == 9 for _, m in port.sent)
    assert all(t <= 10.5 for t, _ in port.sent)   # stopped: nothing for beat 11
    last = port.sent[-1][1]
    assert last.type == "control_change" and last.control == ALL_NOTES_OFF
    sounding = {m.note for _, m in port.sent if m.type == "note_on"} - {
        m.note for _, m in port.sent if m.type == "note_off"}
    assert not sounding


def test_midi_port_notes_are_on_time_on_the_wall_clock_whatever_the_load():
    """On the player's own clock (the wall clock, 240 BPM), for real: no note before its
    beat's time, and each late by about what this machine makes any waiting thread late
    at that instant: the test's thread waits for the same instants beside the player's,
    so a loaded machine widens the tolerance as much as it delays threads, while a clock
    running slow (later and later) fails."""
    port = RecordingPort()
    player = MidiPortPlayer(port)
    player.play(grid_with(BD, slice(0, None, 4), spec=ONE_BAR), ONE_BAR, bpm=240)
    beats = 12
    try:
        wait_for(lambda: port.sent, "the first note")
        start = player.timebase._time_of(0)                      # when its clock started
        due = start + np.arange(beats) * 60 / 240                # each beat at 240 BPM
        probe_late = []
        stop = threading.Event()
        for at in due[1:]:                       # waits as the player's thread does
            stop.wait(max(0.0, at - time.perf_counter()))
            probe_late.append(time.perf_counter() - at)
        wait_for(lambda: len(notes_on(port.sent, 36)) >= beats, "three bars of kicks")
    finally:
        player.stop()
    sent = np.array([t for t, _ in notes_on(port.sent, 36)][:beats])
    late = sent - due
    assert (late > -0.001).all(), late            # never early (1 ms: clock rounding)
    beside = late[1:] - np.array(probe_late)      # later than the probe, at each instant
    print(f"MIDI port notes late by {1000 * np.median(late):.2f} ms (median; largest "
          f"{1000 * late.max():.1f} ms), the test's thread by {1000 * np.median(probe_late):.2f}"
          f" ms; the notes later than it by {1000 * np.median(beside):.2f} ms (largest "
          f"{1000 * beside.max():.1f} ms)")
    assert np.median(beside) < 0.02 and beside.max() < 0.125, (late, probe_late)


def test_midi_port_plays_once_and_ends_by_itself():
    clock = ManualClock()
    port = RecordingPort(now=lambda: clock.beat)
    with MidiPortPlayer(port, timebase=clock) as player:
        player.play(grid_with(BD, [0, 8], spec=ONE_BAR), ONE_BAR, bpm=240, loop=False)
        clock.run_to(100, player)
        assert player.wait(timeout=STUCK)
        assert [t for t, _ in notes_on(port.sent)] == [0, 2]
        assert clock.beat < 100                   # it ended by itself, after bar 1


def test_a_new_loop_on_the_port_starts_on_the_next_bar_line():
    """Like a DAW's clip launch: the playing loop finishes its bar, then the new one
    starts from its first step, after the old notes are ended; a new tempo starts there."""
    clock = ManualClock()
    port = RecordingPort(now=lambda: clock.beat)
    two_bars = GridSpec(bars=2, beats_per_bar=4, steps_per_beat=4)
    with MidiPortPlayer(port, timebase=clock) as player:
        player.play(grid_with(BD, [0, 8, 16, 24], spec=two_bars), two_bars, bpm=240)
        clock.run_to(1.2, player)                # 0.3 s into the first bar
        player.play(grid_with(SD, [0], spec=two_bars), two_bars, bpm=180)
        clock.run_to(12, player)
    types = [(m.type, getattr(m, "note", None)) for _, m in port.sent]
    first_cc = types.index(("control_change", None))
    assert ("note_on", 36) in types[:first_cc] and ("note_on", 38) in types[first_cc:]
    assert ("note_on", 36) not in types[first_cc:]
    assert [t for t, _ in notes_on(port.sent, 36)] == [0, 2]  # the rest of its bar
    assert [t for t, _ in notes_on(port.sent, 38)] == [4, 12]  # from the bar line, looped
    assert clock.tempos == [(180.0, 4.0)]


# --- speakers through a system command --------------------------------------------------

def test_command_player_plays_a_wav_once_with_the_right_arguments(fake_aplay, tmp_path):
    assert outputs.available_outputs() == ["aplay"]
    with open_player(synth_name="builtin") as player:
        assert player.description == "built-in kit through aplay"
        player.play(beat_grid(), DEFAULT_SPEC, 120, loop=False)
        assert player.wait(timeout=STUCK)
    argv = fake_aplay.read_text().splitlines()
    assert len(argv) == 1 and argv[0].startswith("-q ") and argv[0].endswith(".wav")
    audio, sr = read_wav(tmp_path / "played-1.wav")
    assert sr == SR and len(audio) == len(synth.render(beat_grid(), tail="ring"))


def test_command_player_loops_until_stopped(fake_aplay, tmp_path, monkeypatch):
    monkeypatch.setenv("PLAY_SECONDS", "0.1")
    output = CommandOutput(outputs.COMMANDS["aplay"], repeat_seconds=20)
    player = AudioPlayer(output)
    player.play(grid_with(BD, [0]), DEFAULT_SPEC, 120)
    wait_for(lambda: fake_aplay.exists() and len(fake_aplay.read_text().splitlines()) >= 3,
             "aplay started a third time")                 # it is run again and again
    assert player.is_playing
    player.stop()
    assert not player.is_playing
    # the thread that restarts it has ended and so has the last command it ran: nothing
    # can start again
    assert output._proc.poll() is not None
    runs = len(fake_aplay.read_text().splitlines())
    audio, _ = read_wav(tmp_path / "played-1.wav")
    loop = synth.render(grid_with(BD, [0]))
    assert len(audio) == 3 * len(loop)  # repeated to >= 20 s of whole loops
    np.testing.assert_allclose(audio[len(loop):2 * len(loop)], loop, atol=1e-4)
    assert len(fake_aplay.read_text().splitlines()) == runs  # nothing restarted after stop
    player.close()


def test_stop_ends_a_long_running_command_at_once(fake_aplay, monkeypatch):
    """The command would play for 10 minutes: stop ends it instead of waiting for it."""
    monkeypatch.setenv("PLAY_SECONDS", "600")
    with open_player(output="aplay", synth_name="builtin") as player:
        player.play(beat_grid(), DEFAULT_SPEC, 120)
        wait_for(fake_aplay.exists, "aplay to play")
        started = time.perf_counter()
        player.stop()
        assert time.perf_counter() - started < 300 and not player.is_playing
        assert player.output._proc.poll() is not None


def test_failing_command_is_reported_in_one_line(fake_bin):
    """A player that worked when opened but fails later (the device went away)."""
    script(fake_bin, "paplay", "if not sys.argv[-1].endswith('probe.wav'):\n"
                               "    print('Connection refused', file=sys.stderr); sys.exit(1)")
    with open_player(synth_name="builtin") as player:
        player.play(beat_grid(), loop=False)
        with pytest.raises(EvodrumError, match="paplay failed .*Connection refused"):
            player.wait(timeout=STUCK)


def test_probe_plays_a_short_silence_through_the_real_command(fake_bin, tmp_path):
    script(fake_bin, "aplay", f"shutil.copy(sys.argv[-1], {str(tmp_path / 'probe.wav')!r})")
    assert outputs.probe("aplay") is None
    audio, sr = read_wav(tmp_path / "probe.wav")
    assert sr == outputs.PROBE_SR and 0 < len(audio) <= sr and not audio.any()
    assert outputs.probe("paplay") == "paplay is not installed"


def test_an_output_that_cannot_open_a_device_fails_at_start(fake_bin, tmp_path, monkeypatch):
    """Installed but no sound card: the error comes before anything says "playing"
    (for interactive, before the model is even loaded)."""
    from evodrum import genotypes

    def no_model_needed(*_, **__):
        raise AssertionError("the model was loaded before the sound check")
    monkeypatch.setattr(genotypes, "open_space", no_model_needed)  # looked up at each call
    script(fake_bin, "aplay", "print('aplay: main:850: audio open error: No such file or "
                              "directory', file=sys.stderr); sys.exit(1)")
    with pytest.raises(EvodrumError, match="no audio output works here: aplay cannot play "
                                           r"here \(aplay: main:850: audio open error.*--no-audio"):
        open_player(synth_name="builtin")
    # 4 bars: a shorter loop's "repeated to fill the grid" note would come first
    src = drum_file(tmp_path / "beat.mid", basic_beat(4), length_beats=16)
    for args in (["play", src], ["interactive", "--out", tmp_path / "session"]):
        r = run(*args, "--synth", "builtin")
        assert r.exit_code == 1 and r.output.startswith("error: no audio output works here")
        assert "--no-audio" in r.output and r.output.count("\n") == 1, r.output
        assert "playing" not in r.output
    assert not (tmp_path / "session").exists()


def test_auto_takes_the_first_output_that_really_plays(fake_bin, fake_aplay):
    script(fake_bin, "paplay", "print('Connection refused', file=sys.stderr); sys.exit(1)")
    with open_player(synth_name="builtin") as player:
        assert player.description == "built-in kit through aplay"
    with pytest.raises(EvodrumError, match="paplay cannot play here .Connection refused"):
        open_player(output="paplay", synth_name="builtin")


def test_a_hanging_output_is_given_up_on(fake_bin, monkeypatch):
    """A command that would take 10 minutes is given up on after PROBE_TIMEOUT."""
    monkeypatch.setattr(outputs, "PROBE_TIMEOUT", 0.3)
    script(fake_bin, "pw-play", "time.sleep(600)")
    started = time.perf_counter()
    assert "did not play" in outputs.probe("pw-play")
    assert time.perf_counter() - started < 300


def test_no_audio_output_is_a_clear_error(fake_bin):
    with pytest.raises(EvodrumError, match="no audio output found.*--no-audio"):
        open_player(synth_name="builtin")
    with pytest.raises(EvodrumError, match="'afplay' is not installed"):
        open_output("afplay")


# --- FluidSynth -----------------------------------------------------------------------

def test_fluidsynth_command_line_and_tail_folding(fake_bin, tmp_path):
    """A fake fluidsynth checks evodrum's command line and returns a loop plus 1 s of tail."""
    log = tmp_path / "fluidsynth.args"
    script(fake_bin, "fluidsynth", f"""
args = sys.argv[1:]
open({str(log)!r}, "w").write("\\n".join(args))
shutil.copy(args[-1], {str(tmp_path / "rendered.mid")!r})
rate = int(args[args.index("-r") + 1])
frames = bytearray(2 * 2 * (9 * rate))          # 9 s of stereo silence...
frames[0:4] = frames[-4:] = (1000).to_bytes(2, "little", signed=True) * 2  # ...two clicks
with wave.open(args[args.index("-F") + 1], "wb") as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(rate); w.writeframes(bytes(frames))
""")
    font = tmp_path / "gm.sf2"
    font.write_bytes(b"sfbk")
    renderer, described = open_renderer("auto", font)
    assert described == "FluidSynth (gm.sf2)"
    grid = beat_grid()
    audio = renderer(grid, DEFAULT_SPEC, 120, 22050, "wrap")
    args = log.read_text().splitlines()
    assert args[:1] == ["-ni"] and args[args.index("-r") + 1] == "22050"
    assert args[-2] == str(font) and args[-1].endswith(".mid")
    np.testing.assert_array_equal(midi.read_loop(tmp_path / "rendered.mid"),
                                  quantize_velocity(grid))
    assert audio.shape == (8 * 22050, 2)
    click = 1000 / 32768
    # the click at 9 s - 1 sample folds back onto 1 s - 1 sample; the one at 0 stays
    assert audio[0, 0] == pytest.approx(click) and audio[22050 - 1, 0] == pytest.approx(click)
    assert np.count_nonzero(audio[:, 0]) == 2
    assert renderer(grid, DEFAULT_SPEC, 120, 22050, "ring").shape == (9 * 22050, 2)


def test_fluidsynth_missing_is_a_clear_error(fake_bin, tmp_path):
    font = tmp_path / "gm.sf2"
    font.write_bytes(b"sfbk")
    with pytest.raises(EvodrumError, match="needs the fluidsynth program"):
        open_renderer("fluidsynth", font)
    assert open_renderer("auto")[1] == "built-in kit"  # nothing asked for, nothing installed


@pytest.mark.slow      # a real FluidSynth render: the full tier (its command line is tested here)
def test_real_fluidsynth_puts_kicks_on_the_beats():
    require_real_part(bool(shutil.which("fluidsynth") and find_soundfont()),
                      "the fluidsynth program and a GM soundfont (apt install fluidsynth fluid-soundfont-gm)")
    renderer = FluidSynthRenderer(find_soundfont())
    audio = renderer(grid_with(BD, slice(0, None, 4)), DEFAULT_SPEC, 120, SR, "wrap")
    assert audio.shape[0] == 8 * SR
    np.testing.assert_allclose(onset_times(audio.mean(axis=1), SR), np.arange(16) * 0.5,
                               atol=0.01)


# --- files for the user's own player ----------------------------------------------------

def test_no_audio_player_writes_numbered_or_named_loops(tmp_path):
    reports = []
    with open_player(no_audio=True, out_dir=tmp_path / "out", synth_name="builtin",
                     report=reports.append) as player:
        assert player.description == f"files in {tmp_path / 'out'}"
        player.play(beat_grid(), DEFAULT_SPEC, 100)
        player.play(grid_with(SD, [4, 12], spec=ONE_BAR), ONE_BAR, 100, name="take.2")
        assert not player.is_playing
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["loop-001.mid", "loop-001.wav", "take.2.mid", "take.2.wav"]
    assert len(reports) == 2 and "take.2.wav" in reports[1]
    np.testing.assert_array_equal(midi.read_loop(tmp_path / "out" / "loop-001.mid"),
                                  quantize_velocity(beat_grid()))
    audio, _ = read_wav(tmp_path / "out" / "take.2.wav")
    assert len(audio) == round(ONE_BAR.seconds(100) * SR)


# --- command line ---------------------------------------------------------------------

def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def test_listen_commands_have_help():
    for cmd in ("play", "render"):
        r = run(cmd, "--help")
        assert r.exit_code == 0 and "Example" in r.output


def test_render_command_writes_the_loop_as_wav(tmp_path):
    src = drum_file(tmp_path / "beat.mid", basic_beat(4), length_beats=16)
    r = run("render", src, "-o", tmp_path / "beat.wav", "--synth", "builtin")
    assert r.exit_code == 0, r.output
    assert "8.00 s at 44100 Hz" in r.output
    audio, sr = read_wav(tmp_path / "beat.wav")
    assert sr == SR and len(audio) == 8 * SR
    heard = normalise(synth.render(midi.read_loop(src)), SR)    # at -20 LUFS, -1 dBTP
    np.testing.assert_allclose(audio, heard, atol=1e-4)
    assert "level every render shares" in r.output and "LUFS" not in r.output  # figures:
    # --verbose and --json (tests/test_midi_review.py)
    r = run("render", src, "--bpm", 60, "--sample-rate", 22050, "--synth", "builtin")
    assert r.exit_code == 0, r.output
    assert "beat-2.wav" in r.output  # beat.wav was not made by this run: kept
    assert read_wav(tmp_path / "beat.wav")[1] == SR
    audio, sr = read_wav(tmp_path / "beat-2.wav")
    assert sr == 22050 and len(audio) == 16 * 22050
    r = run("render", src, "--loudness", -14, "--synth", "builtin")   # a level the user gave
    assert r.exit_code == 0 and "at -14 LUFS, the level you gave" in r.output, r.output
    audio, sr = read_wav(tmp_path / "beat-3.wav")
    assert lufs(audio, sr) == pytest.approx(-14, abs=0.2)


def test_render_command_bad_file_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd garbage")
    r = run("render", bad, "--synth", "builtin")
    assert r.exit_code == 1 and r.output.startswith("error: ") and "bad.mid" in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1


def test_play_no_audio_writes_midi_and_wav(tmp_path):
    src = drum_file(tmp_path / "beat.mid", basic_beat(1), length_beats=4)
    r = run("play", src, "--no-audio", "--out-dir", tmp_path / "out", "--synth", "builtin")
    assert r.exit_code == 0, r.output
    assert "wrote" in r.output
    np.testing.assert_array_equal(midi.read_loop(tmp_path / "out" / "beat.mid"),
                                  midi.read_loop(src))
    audio, _ = read_wav(tmp_path / "out" / "beat.wav")
    assert len(audio) == 8 * SR and np.abs(audio).max() > 0.1


def test_play_command_once_through_a_system_player(fake_aplay, tmp_path):
    src = drum_file(tmp_path / "beat.mid", basic_beat(1), length_beats=4)
    r = run("play", src, "--once", "--synth", "builtin", "--ascii", "--bpm", 240)
    assert r.exit_code == 0, r.output
    assert "playing at 240 BPM with built-in kit through aplay, once" in r.output
    assert "BD" in r.output and len(fake_aplay.read_text().splitlines()) == 1
    audio, _ = read_wav(tmp_path / "played-1.wav")
    assert len(audio) >= 4 * SR


def test_play_without_any_output_suggests_no_audio(fake_bin, tmp_path):
    src = drum_file(tmp_path / "beat.mid", basic_beat(1), length_beats=4)
    r = run("play", src, "--synth", "builtin")
    assert r.exit_code == 1 and "--no-audio" in r.output and "Traceback" not in r.output


def test_soft_limiter_bends_every_loud_sample_of_mono_and_stereo_alike():
    """Regression: flat indices of a (n, 2) array were used as row indices."""
    rng = np.random.default_rng(0)
    stereo = rng.uniform(-2, 2, (1000, 2)).astype(np.float32)
    limited = synth.soft_limit(stereo)
    assert limited.shape == stereo.shape and np.abs(limited).max() < 1
    quiet = np.abs(stereo) <= synth.LIMIT_KNEE
    np.testing.assert_array_equal(limited[quiet], stereo[quiet])
    assert (np.abs(limited[~quiet]) > synth.LIMIT_KNEE).all()
    np.testing.assert_array_equal(np.sign(limited), np.sign(stereo))
    for channel in range(2):  # each channel limits exactly as mono would
        np.testing.assert_array_equal(limited[:, channel], synth.soft_limit(stereo[:, channel]))


@pytest.mark.slow      # FluidSynth renders three dense loops: 3 s of CPU
def test_real_fluidsynth_renders_a_loud_dense_loop_without_clipping(tmp_path):
    """A full grid at velocity 127 drives FluidSynth past full scale: the limiter
    must bend it (it crashed with an IndexError on the stereo array)."""
    require_real_part(bool(shutil.which("fluidsynth") and find_soundfont()),
                      "the fluidsynth program and a GM soundfont (apt install fluidsynth fluid-soundfont-gm)")
    loud = np.ones((9, 64), np.float32)
    renderer = FluidSynthRenderer(find_soundfont())
    for tail in ("wrap", "ring"):
        audio = renderer(loud, DEFAULT_SPEC, 120, SR, tail)
        assert audio.ndim == 2 and audio.shape[1] == 2
        assert synth.LIMIT_KNEE < np.abs(audio).max() < 1.0
    src = drum_file(tmp_path / "loud.mid", [(s / 4, p, 127) for s in range(64)
                                            for p in (36, 38, 42, 49, 51, 45, 48, 50)],
                    length_beats=16)
    r = run("render", src, "-o", tmp_path / "loud.wav", "--synth", "fluidsynth")
    assert r.exit_code == 0, r.output
    written, _ = read_wav(tmp_path / "loud.wav")
    assert written.shape == (8 * SR, 2) and np.abs(written).max() < 1.0


# --- auditions: same loudness, rendered once ----------------------------------------------

def test_auditions_are_normalised_to_one_loudness():
    """Sparse soft loops and dense loud ones differ by > 10 dB raw; auditioned, < 1 LU."""
    from evodrum.audio.audition import Audition
    from evodrum.audio.loudness import TARGET_LUFS
    soft = grid_with(CH, slice(0, None, 4), velocity=0.3)
    soft[BD, ::32] = soft[SD, 16::32] = 0.4
    loud = grid_with(BD, slice(0, None, 2))
    loud[SD, 4::8] = 1.0
    loud[CR, ::16] = 1.0
    raw = [lufs(synth.render(g), 44100) for g in (soft, loud)]
    assert raw[1] - raw[0] > 10
    audition = Audition(synth.render)
    heard = [lufs(audition(g, DEFAULT_SPEC, 120.0, 44100, "wrap"), 44100) for g in (soft, loud)]
    assert abs(heard[1] - heard[0]) < 1.0 and abs(heard[1] - TARGET_LUFS) < 1.0
    assert not audition(np.zeros(DEFAULT_SPEC.shape, np.float32), DEFAULT_SPEC, 120.0, 44100,
                        "wrap").any()


def test_loudness_meter_reads_the_standards_reference_tone():
    from evodrum.audio.loudness import lufs
    t = np.arange(48000 * 3) / 48000
    assert lufs(np.sin(2 * np.pi * 997 * t), 48000) == pytest.approx(-3.01, abs=0.05)
    assert lufs(np.zeros(48000), 48000) < -100


def test_a_prefetched_render_is_served_from_the_cache():
    from evodrum.audio.audition import Audition
    calls = []

    def slow(grid, spec, bpm, sr, tail):
        calls.append(grid)
        time.sleep(0.2)
        return synth.render(grid, spec, bpm, sr, tail)
    audition = Audition(slow)
    grids = [grid_with(BD, [0, 8]), grid_with(SD, [4, 12])]
    audition.prefetch(grids, DEFAULT_SPEC, 120.0, 44100)
    first = audition(grids[0], DEFAULT_SPEC, 120.0, 44100, "wrap")   # waits for the worker
    wait_for(lambda: audition.cached(grids[1], DEFAULT_SPEC, 120.0, 44100, "wrap"),
             "the worker to render the second one ahead")
    second = audition(grids[1], DEFAULT_SPEC, 120.0, 44100, "wrap")
    assert second is audition(grids[1], DEFAULT_SPEC, 120.0, 44100, "wrap")  # from memory
    assert len(calls) == 2
    assert audition.cached(grids[0], DEFAULT_SPEC, 120.0, 44100, "wrap")
    assert first.shape == second.shape and not second.flags.writeable
    audition.close()
