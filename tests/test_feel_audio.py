"""A loop's feel is heard: rendered onsets sit where its MIDI says (built-in kit and FluidSynth)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import require_real_part
from scipy.ndimage import maximum_filter1d

from evodrum import midi
from evodrum.audio import synth
from evodrum.audio.soundfont import FluidSynthRenderer, find_soundfont
from evodrum.audio.wav import read_wav, write_wav
from evodrum.grid import DEFAULT_SPEC
from evodrum.kit import ROWS
from evodrum.loop import Loop

SR = 44100
BD, SD, LT, HT = (ROWS.index(r) for r in ("BD", "SD", "LT", "HT"))
#: One hit every half bar (far apart, so each onset is measured alone), pushed and pulled.
STEPS = np.arange(0, 64, 8)
ROWS_PLAYED = np.array([BD, SD, LT, HT, BD, SD, LT, HT])
OFFSETS = np.array([-0.4, 0.3, -0.15, 0.45, 0.2, -0.5, 0.1, -0.3], np.float32)


def sparse_loop(offsets) -> Loop:
    v = np.zeros((9, 64), np.float32)
    o = np.zeros((9, 64), np.float32)
    v[ROWS_PLAYED, STEPS] = 0.9
    o[ROWS_PLAYED, STEPS] = offsets
    return Loop(v, o)


def measured_onsets(audio: np.ndarray, sr: int, expected: np.ndarray) -> np.ndarray:
    """Seconds where the envelope first rises past a tenth of its peak near each expected
    onset (searched from 60 ms before it)."""
    env = maximum_filter1d(np.abs(audio), size=int(0.002 * sr), origin=int(0.001 * sr) - 1)
    found = []
    for t in expected:
        a = int((t - 0.06) * sr) % len(env)
        window = np.roll(env, -a)[:int(0.3 * sr)]
        found.append((a + np.argmax(window > 0.1 * window.max())) / sr)
    return np.array(found) % (len(audio) / sr)


def circular_error(a, b, period):
    d = (np.asarray(a) - np.asarray(b)) % period
    return np.minimum(d, period - d)


@pytest.mark.parametrize("bpm", [120, 87])
def test_builtin_kit_renders_every_onset_at_its_performed_time(tmp_path, bpm):
    loop = sparse_loop(OFFSETS)
    path = write_wav(tmp_path / "feel.wav", synth.render(loop, DEFAULT_SPEC, bpm, SR), SR)
    audio, rate = read_wav(path)
    played = loop.perform()
    expected = played.seconds(bpm)
    period = DEFAULT_SPEC.seconds(bpm)
    error = circular_error(measured_onsets(audio, rate, expected), expected, period)
    assert error.max() < 0.001                          # within a millisecond
    step = 60 / bpm / 4
    assert abs(expected[-1] - (period - 0.4 * step)) < 1e-6   # the early first kick wraps round


def test_feel_render_of_a_straight_loop_is_the_straight_render():
    rng = np.random.default_rng(0)
    grid = ((rng.random((9, 64)) < 0.3) * rng.uniform(0.1, 0.6, (9, 64))).astype(np.float32)
    n = synth.loop_samples(DEFAULT_SPEC, 117.3, SR)
    for tail in synth.TAILS:
        fast = synth.render(grid, DEFAULT_SPEC, 117.3, SR, tail)
        general = synth.soft_limit(synth.performed(Loop.straight(grid), n, SR, tail))
        np.testing.assert_allclose(general, fast, atol=1e-5)


def test_midi_and_audio_agree_on_where_each_hit_is(tmp_path):
    """The MIDI file and the WAV of one loop put every hit at the same time."""
    loop = sparse_loop(OFFSETS)
    back = midi.read_drums(midi.write_midi(tmp_path / "f.mid", loop, bpm=100))
    midi_seconds = np.sort(back.beats * 0.6)
    played = np.sort(loop.perform().seconds(100))
    np.testing.assert_allclose(midi_seconds, played, atol=60 / 100 / 480)


@pytest.mark.slow      # a real FluidSynth render: the full tier (the built-in kit's is tested here)
def test_real_fluidsynth_moves_each_onset_by_its_offset():
    require_real_part(bool(shutil.which("fluidsynth") and find_soundfont()),
                      "the fluidsynth program and a GM soundfont (apt install fluidsynth "
                      "fluid-soundfont-gm)")
    renderer = FluidSynthRenderer(find_soundfont())
    bpm, step = 100, 60 / 100 / 4
    straight = renderer(sparse_loop(0 * OFFSETS), DEFAULT_SPEC, bpm, SR, "wrap").mean(axis=1)
    felt = renderer(sparse_loop(OFFSETS), DEFAULT_SPEC, bpm, SR, "wrap").mean(axis=1)
    grid_times = STEPS * step
    on_grid = measured_onsets(straight, SR, grid_times)
    moved = measured_onsets(felt, SR, grid_times + OFFSETS * step)
    # the soundfont's own attack delay cancels: each hit moved by its offset, within 1 ms
    period = DEFAULT_SPEC.seconds(bpm)
    shift = (moved - on_grid + period / 2) % period - period / 2
    np.testing.assert_allclose(shift, OFFSETS * step, atol=0.001)


def test_the_midi_port_sends_each_hit_at_its_performed_beat():
    from evodrum.audio.midiport import timeline
    loop = sparse_loop(OFFSETS)
    sent = sorted(beat for beat, msg in timeline(loop, DEFAULT_SPEC, 100)
                  if msg.type == "note_on" and msg.velocity)
    played = np.sort(loop.perform().positions / DEFAULT_SPEC.steps_per_beat)
    np.testing.assert_allclose(sent, played, atol=1 / 480)
