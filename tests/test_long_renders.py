"""Long renders in bounded memory: a whole file is synthesised, measured, limited and
written a chunk at a time, and the file that comes out is the one the one-buffer path
writes, to the byte; a render too long to hold is one `error:` line naming the file."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import require_real_part

from evodrum import memory
from evodrum.audio import loudness, soundfont, synth, wav
from evodrum.audio.soundfont import find_soundfont
from evodrum.cli import main
from evodrum.grid import GridSpec
from evodrum.loop import Loop
from evodrum.midi import write_midi

#: An 8-bar performance at 120 BPM: 16 s, more than one of loudness's chunks at 44.1 kHz.
SPEC = GridSpec(bars=8)


def performance(tmp_path):
    """A MIDI file of 8 bars with timing offsets (hits off the grid, crashes ringing
    across the loop's end), written and read back as a user's file is."""
    rng = np.random.default_rng(11)
    hits = ((rng.random(SPEC.shape) < 0.25) * rng.uniform(0.3, 1, SPEC.shape)).astype(np.float32)
    hits[0, ::8], hits[1, 4::8], hits[2, ::2], hits[5, ::32] = 0.9, 0.8, 0.6, 1.0
    offsets = rng.uniform(-0.2, 0.2, SPEC.shape) * (hits > 0)
    offsets[:, [0, -1]] = 0                  # no hit before the file starts or after it ends
    return write_midi(tmp_path / "long.mid", Loop(hits, offsets, SPEC), SPEC, 120.0)


def chunked(monkeypatch, frames: int | None) -> None:
    """Work `frames` at a time everywhere (odd sizes, so chunk edges fall mid-block and
    mid-stretch), or None: everything in one piece, the one-buffer path."""
    whole = 1 << 40
    monkeypatch.setattr(loudness, "CHUNK", frames or whole)
    monkeypatch.setattr(wav, "CHUNK", frames or whole)
    monkeypatch.setattr(synth, "CHUNK", frames or whole)
    monkeypatch.setattr(synth, "PRODUCT_SAMPLES", frames or whole)


def render(tmp_path, name, *options):
    out = tmp_path / name
    result = CliRunner().invoke(main, ["render", str(tmp_path / "long.mid"), "-o", str(out),
                                       *options])
    assert result.exit_code == 0, result.output
    return out.read_bytes()


@pytest.mark.parametrize("synth_name", [
    pytest.param("fluidsynth", marks=pytest.mark.slow),   # two FluidSynth runs: ~9 s wall
    "builtin"])
def test_a_render_in_chunks_is_the_one_buffer_render_to_the_byte(synth_name, tmp_path,
                                                                 monkeypatch):
    """Rendered, normalised (-20 LUFS, true peaks limited to -1 dBTP) and written in one
    piece, in chunks of 4,099 frames and (the built-in kit) in the shipped chunks (16 s
    is two of loudness's): the same WAV bytes, with FluidSynth (stereo) and the
    built-in kit (mono). 16 s is longer than pyloudnorm measures, so evodrum's own meter
    reads it however it is cut."""
    if synth_name == "fluidsynth":
        require_real_part(bool(shutil.which("fluidsynth") and find_soundfont()),
                          "FluidSynth with a GM soundfont")
    performance(tmp_path)
    # pyloudnorm measures renders up to 2^21 frames; from 2^19 here, so this 16 s
    # render is evodrum's own meter's, whichever way it is cut
    monkeypatch.setattr(loudness, "PYLOUDNORM_FRAMES", 1 << 19)
    # FluidSynth takes a second a run: its shipped chunks are the built-in kit's
    shipped = render(tmp_path, "shipped.wav", "--synth", synth_name) \
        if synth_name == "builtin" else None
    chunked(monkeypatch, None)
    whole = render(tmp_path, "whole.wav", "--synth", synth_name)
    chunked(monkeypatch, 4099)
    pieces = render(tmp_path, "pieces.wav", "--synth", synth_name)
    assert len(whole) >= 44 + 2 * 16 * 44100       # 16 s of 16-bit audio, and a header
    assert pieces == whole and shipped in (None, whole)
    audio, sr = wav.read_wav(tmp_path / "whole.wav")
    assert len(audio) > loudness.PYLOUDNORM_FRAMES
    assert loudness.true_peak_db(audio) < loudness.CEILING_DBTP + 0.05
    assert loudness.lufs(audio, sr) == pytest.approx(loudness.TARGET_LUFS, abs=0.2)


def long_render():
    """16 s of the built-in kit at 97 BPM (a crash ringing past the end), mono and as a
    stereo pair: longer than pyloudnorm measures."""
    hits = np.zeros(SPEC.shape, np.float32)
    hits[0, ::4], hits[1, 4::8], hits[2, ::2], hits[6, 60] = 1.0, 0.7, 0.4, 0.9
    mono = synth.render(hits, SPEC, 97.0, 44100, "ring")
    return mono, np.stack([mono, 0.6 * np.roll(mono, 31)], axis=1)


def test_the_own_meter_in_chunks_gives_its_one_buffer_figure_to_the_bit(monkeypatch):
    """evodrum's meter reading a render in chunks of 4,099 frames (blocks and filter
    state across chunk edges) gives the figure it gives reading it in one piece."""
    mono, stereo = long_render()
    for audio in (mono, stereo, mono[:20_000]):     # the last: one block of 400 ms
        monkeypatch.setattr(loudness, "CHUNK", 1 << 40)
        whole = loudness.bs1770(audio, 44100)
        monkeypatch.setattr(loudness, "CHUNK", 4099)
        assert loudness.bs1770(audio, 44100) == whole and whole > loudness.SILENCE


def test_long_renders_are_measured_within_a_tenth_of_a_lu_of_pyloudnorm(monkeypatch):
    """Beside pyloudnorm, a render longer than it measures is read by evodrum's meter
    a chunk at a time: within 0.1 LU of pyloudnorm's figure for the whole render. A
    render it measures gets its figure exactly (its public meter, nothing else)."""
    require_real_part(loudness._pyloudnorm() is not None, "pyloudnorm (the test extra)")
    import pyloudnorm
    for audio in long_render():   # 16 s (a 4-bar loop at 60 BPM): pyloudnorm's, exactly
        assert len(audio) < loudness.PYLOUDNORM_FRAMES
        assert loudness.lufs(audio, 44100) == pyloudnorm.Meter(44100).integrated_loudness(
            audio.astype(np.float64))
    monkeypatch.setattr(loudness, "PYLOUDNORM_FRAMES", 1 << 19)   # now beyond it
    for audio in long_render():
        assert len(audio) > loudness.PYLOUDNORM_FRAMES
        expected = pyloudnorm.Meter(44100).integrated_loudness(audio.astype(np.float64))
        level = loudness.lufs(audio, 44100)
        assert level == loudness.bs1770(audio, 44100)
        assert level == pytest.approx(expected, abs=0.1)
        loop = audio[:loudness.PYLOUDNORM_FRAMES]
        assert loudness.lufs(loop, 44100) == pyloudnorm.Meter(44100).integrated_loudness(
            loop.astype(np.float64))


def test_fluidsynths_overhang_folds_in_place_as_before():
    """FluidSynth's audio runs on past the loop (decays); folding it onto the start in
    place gives each pass added in order, and short audio is padded with silence."""
    rng = np.random.default_rng(2)
    for frames, channels in ((1000, ()), (1000, (2,)), (777, (2,)), (250, ())):
        audio = rng.standard_normal((frames, *channels)).astype(np.float32)
        passes = [audio[start:start + 300] for start in range(0, frames, 300)]
        expected = np.zeros((300, *channels), np.float32)
        for part in passes:
            expected[:len(part)] += part
        assert np.array_equal(soundfont.fit_loop(audio.copy(), 300, "wrap"), expected)
        assert np.array_equal(soundfont.fit_loop(audio.copy(), 300, "cut"),
                              expected if frames < 300 else audio[:300])


def test_a_render_too_long_to_hold_is_one_error_line_naming_the_file(tmp_path, monkeypatch):
    """With 8 MB to spend, 16 s at 192 kHz (12 MB mono) is refused before anything is
    rendered: one line naming the file, the figures and what to change; nothing written.
    A MemoryError the estimate missed is worded the same way, never a traceback."""
    source = performance(tmp_path)
    before = source.read_bytes()
    monkeypatch.setattr(memory, "memory_limit", lambda: 8 << 20)
    out = tmp_path / "long.wav"
    for synth_name in ("builtin", "fluidsynth"):
        result = CliRunner().invoke(main, ["render", str(source), "-o", str(out),
                                           "--synth", synth_name, "--sample-rate", "192000"])
        if synth_name == "fluidsynth":
            require_real_part(bool(shutil.which("fluidsynth") and find_soundfont()),
                              "FluidSynth with a GM soundfont")
        assert result.exit_code == 1
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {source}: a 16 s render at "
                                                       "192000 Hz would need"), lines
        assert "--sample-rate" in lines[0] and result.exception.__class__ is SystemExit
        assert not out.exists()
    monkeypatch.setattr(memory, "memory_limit", lambda: 1 << 40)

    def no_memory(*args, **kwargs):
        raise MemoryError
    monkeypatch.setattr(loudness, "normalise", no_memory)
    result = CliRunner().invoke(main, ["render", str(source), "-o", str(out), "--synth",
                                       "builtin"])
    assert result.exit_code == 1 and result.exception.__class__ is SystemExit
    assert result.output.strip() == (f"error: {source}: not enough memory to render it: give "
                                     "a lower --sample-rate, a faster --bpm or --window N "
                                     "(one window of the file)")
    assert not out.exists() and source.read_bytes() == before


def test_play_names_its_file_when_the_loop_is_too_long_to_hold(tmp_path, monkeypatch):
    """`play --no-audio` (files for the user's player) renders the whole file: too long
    to hold, it is one line naming the file, and nothing is half-written."""
    source = performance(tmp_path)
    monkeypatch.setattr(memory, "memory_limit", lambda: 1 << 20)
    out_dir = tmp_path / "listen"
    result = CliRunner().invoke(main, ["play", str(source), "--no-audio", "--out-dir",
                                       str(out_dir), "--synth", "builtin"])
    assert result.exit_code == 1 and result.exception.__class__ is SystemExit
    assert result.output.strip().splitlines()[-1].startswith(f"error: {source}: a 16 s render")
    assert not list(out_dir.glob("*.wav"))


def test_groove_names_its_file_when_the_wav_is_too_long_and_keeps_the_midi(tmp_path,
                                                                          monkeypatch):
    """`groove --wav` writes the MIDI first; a WAV too long to hold is refused in one
    line naming the input, and the MIDI stays."""
    source = performance(tmp_path)
    monkeypatch.setattr(memory, "memory_limit", lambda: 1 << 20)
    result = CliRunner().invoke(main, ["groove", str(source), "--swing", "60", "--wav"])
    assert result.exit_code == 1, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith(f"error: {source}: a 16 s render at 44100 Hz")
    assert line.endswith(": give a faster --bpm or --window N (one window of the file)")
    assert "--sample-rate" not in line                   # groove has no such option
    assert (tmp_path / "long-groove.mid").is_file()
    assert not (tmp_path / "long-groove.wav").exists()


def test_a_wav_whose_header_claims_more_than_the_file_holds_is_read_as_far_as_it_goes(
        tmp_path):
    """A cut-off WAV (its header says 10 s, the file holds 0.1 s and half a sample) reads
    as the whole samples it has, without reserving memory for 10 s."""
    audio = np.linspace(-0.5, 0.5, 4410, dtype=np.float32)
    path = wav.write_wav(tmp_path / "cut.wav", np.tile(audio, 100), 44100)
    path.write_bytes(path.read_bytes()[:44 + 2 * 4410 + 1])
    back, sr = wav.read_wav(path)
    assert sr == 44100 and np.abs(back - audio).max() < 1 / 32767


def test_interactive_names_the_loop_too_long_to_hold_in_one_line(tmp_path, monkeypatch):
    """A session whose loops are too long to hold says so in one line naming the loop and
    what its own options change: at the start (its files, --no-audio) the session ends
    with it; after a tempo change it is a line on screen and the session goes on."""
    monkeypatch.setattr(memory, "memory_limit", lambda: 1 << 20)    # 8 s of mono: 1.3 MB and more
    args = ["interactive", "--no-audio", "--synth", "builtin", "--seed", "5"]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "a")], input="q\n")
    assert result.exit_code == 1 and result.exception.__class__ is SystemExit
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("error: loop 1 (#1): a 8 s render at 44100 Hz would need ")
    assert line.endswith(": give a faster tempo ('t BPM') or a lower --sample-rate when "
                         "the session starts")
    monkeypatch.setattr(memory, "memory_limit", lambda: 3 << 20)    # 8 s fit, 24 s do not
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "b")],
                                input="t 40\nq\n")
    assert result.exit_code == 0, result.output
    assert "! loop 1 (#1): a 24 s render at 44100 Hz would need" in result.output
    assert "Traceback" not in result.output


def test_a_memory_error_while_playing_is_one_line_naming_the_loop(tmp_path, monkeypatch):
    """A MemoryError the estimate missed, in a player (here in the audition's loudness
    pass), is the same one line naming the file (`play`) or the loop (`interactive`)."""
    from evodrum.audio import audition

    def no_memory(*args, **kwargs):
        raise MemoryError
    monkeypatch.setattr(audition, "normalise", no_memory)
    source = performance(tmp_path)
    result = CliRunner().invoke(main, ["play", str(source), "--no-audio", "--out-dir",
                                       str(tmp_path / "listen"), "--synth", "builtin"])
    assert result.exit_code == 1 and result.exception.__class__ is SystemExit
    assert result.output.strip().splitlines()[-1].startswith(
        f"error: {source}: not enough memory to render it: give a lower --sample-rate")
    result = CliRunner().invoke(main, ["interactive", "--no-audio", "--synth", "builtin",
                                       "--seed", "5", "--out", str(tmp_path / "run")],
                                input="q\n")
    assert result.exit_code == 1 and result.exception.__class__ is SystemExit
    assert result.output.strip().splitlines()[-1].startswith(
        "error: loop 1 (#1): not enough memory to render it: give a faster tempo")


def test_a_stereo_render_is_normalised_and_written_in_chunks_as_in_one_piece(tmp_path,
                                                                             monkeypatch):
    """FluidSynth's shape (stereo, a crash ringing across chunk edges) without its cost
    (its case above is in the full tier): 16 s normalised, its peaks limited, and written
    in one piece and in chunks of 4,099 frames give the same WAV bytes."""
    _, stereo = long_render()
    stereo *= 0.1                            # brought up by ~15 dB, and
    stereo[300_001, 1] = 0.5                 # a click the limiter must turn down
    gain = loudness.gain_db(stereo, 44100)
    assert loudness.true_peak_db(stereo) + gain > loudness.CEILING_DBTP + 3
    written = []
    for frames in (None, 4099):
        chunked(monkeypatch, frames)
        audio = loudness.normalise(stereo, 44100)
        written.append(wav.write_wav(tmp_path / f"{frames}.wav", audio, 44100).read_bytes())
    assert written[0] == written[1] and len(written[0]) >= 44 + 4 * len(stereo)
    assert loudness.true_peak_db(audio) < loudness.CEILING_DBTP + 0.05
