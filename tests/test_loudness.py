"""One loudness for every render: ITU-R BS.1770 integrated loudness (pyloudnorm, or
evodrum's own meter without it) at -20 LUFS, true peaks (4x oversampled) at most
-1 dBTP, for the built-in kit and FluidSynth alike."""
from __future__ import annotations

import shutil
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import require_real_part

from evodrum.audio import synth
from evodrum.audio.loudness import (
    CEILING_DBTP,
    MAX_GAIN_DB,
    TARGET_LUFS,
    bs1770,
    gain_db,
    limit,
    lufs,
    normalise,
    true_peak_db,
)
from evodrum.audio.soundfont import find_soundfont
from evodrum.audio.wav import read_wav
from evodrum.cli import main
from evodrum.examples import names, path, pattern
from evodrum.grid import DEFAULT_SPEC

SR = 44100


def example_audio():
    return [(n, synth.render(pattern(n).grid(), DEFAULT_SPEC, pattern(n).bpm, SR))
            for n in names()]


def test_pyloudnorm_and_evodrums_meter_agree():
    pytest.importorskip("pyloudnorm")
    for name, audio in example_audio():
        assert lufs(audio, SR) == pytest.approx(bs1770(audio, SR), abs=0.1), name


def test_true_peak_sees_the_peak_between_samples():
    """A sine at a quarter of the rate, sampled 45 degrees off its crests: every sample
    is at 0.707 (-3 dB) while the wave itself reaches 1.0 (0 dBTP)."""
    n = np.arange(SR)
    tone = np.sin(np.pi / 2 * n + np.pi / 4)
    assert 20 * np.log10(np.abs(tone).max()) == pytest.approx(-3.01, abs=0.01)
    assert true_peak_db(tone) == pytest.approx(0.0, abs=0.2)   # the interpolator ripples


@pytest.mark.parametrize("chunk", [None, 997])
def test_true_peaks_are_measured_exactly_wherever_they_could_reach_the_floor(chunk, monkeypatch):
    """Only the stretches around loud samples are oversampled: wherever a sample's true
    peak (from oversampling the whole signal) is above the floor, the value is that
    one to the bit; elsewhere it stays at or below the floor. Stereo, mono, and loud
    samples at both ends of the signal; in one chunk and in chunks of 997 frames
    (stretches then reach across chunk edges)."""
    from scipy import signal

    from evodrum.audio import loudness
    from evodrum.audio.loudness import OVERSAMPLE, _true_peaks
    if chunk:
        monkeypatch.setattr(loudness, "CHUNK", chunk)
    rng = np.random.default_rng(5)
    mono = synth.render(pattern("funk").grid(), DEFAULT_SPEC, 100.0, SR, "wrap") * 3
    stereo = np.stack([mono, 0.8 * np.roll(mono, 7)], axis=1)
    edges = rng.standard_normal(20_000) * 0.05
    edges[[0, 3, -1]] = 1.0
    for x in (stereo, mono, edges):
        x = np.asarray(x, np.float64)
        whole = np.abs(signal.resample_poly(x, OVERSAMPLE, 1, axis=0)).reshape(len(x), -1)
        whole = whole.max(axis=1)
        for floor in (0.3, 0.9 * whole.max()):
            loud, found = _true_peaks(x, floor)
            peaks = np.abs(x) if x.ndim == 1 else np.abs(x).max(axis=1)
            peaks[loud] = found
            above = whole > floor
            assert 0 < above.sum() < len(x)
            np.testing.assert_array_equal(peaks[above], whole[above])
            assert (peaks[~above] <= floor).all()
        assert true_peak_db(x) == 20 * np.log10(whole.max())


@pytest.mark.parametrize("spacing", [3000, 200])
def test_the_limiters_gain_is_computed_near_peaks_only_as_over_the_whole_loop(spacing):
    """The limiter's gain is filtered only around the peaks over the floor (stretches
    laid end to end); it equals filtering the whole loop with wraparound: peaks at
    both ends of the loop (the dip wraps), far apart and (spacing 200) all over it."""
    from scipy import ndimage

    from evodrum.audio.loudness import _dips
    rng = np.random.default_rng(7)
    n, width, floor = 100_000, 88, 0.88
    peaks = rng.uniform(0, floor, n)
    over = np.r_[0, 5, np.arange(spacing, n - 50, spacing) + rng.integers(0, 40), n - 3]
    peaks[over] = rng.uniform(floor, 1.5, over.size)
    need = np.minimum(1.0, floor / peaks)
    whole = ndimage.minimum_filter1d(need, 2 * width + 1, mode="wrap")
    whole = ndimage.uniform_filter1d(whole, width + 1, mode="wrap")
    where, gain = _dips(np.arange(n), peaks, n, floor, width)
    assert np.unique(where).size == where.size
    np.testing.assert_allclose(gain, whole[where], rtol=0, atol=1e-12)
    elsewhere = np.ones(n, bool)
    elsewhere[where] = False
    np.testing.assert_allclose(whole[elsewhere], 1.0, rtol=0, atol=1e-12)
    assert (whole[over] < 1).all() and (whole[:width] < 1).all()     # it wraps
    if spacing > 1000:
        assert where.size < n / 2                                   # near peaks only


@pytest.mark.parametrize("meter", ["pyloudnorm", "fallback"])
def test_normalised_renders_sit_at_one_loudness_under_the_ceiling(meter, monkeypatch):
    if meter == "fallback":
        monkeypatch.setitem(sys.modules, "pyloudnorm", None)   # import fails: own meter
    dense = np.ones(DEFAULT_SPEC.shape, np.float32)             # every cell: the loudest
    soft = np.zeros(DEFAULT_SPEC.shape, np.float32)
    soft[2, ::4] = 0.3                         # quiet hats only: lifted by MAX_GAIN_DB at most
    loops = example_audio() + [("dense", synth.render(dense, DEFAULT_SPEC, 120.0, SR)),
                               ("soft", synth.render(soft, DEFAULT_SPEC, 120.0, SR))]
    for name, audio in loops:
        out = normalise(audio, SR)
        assert len(out) == len(audio) and out.dtype == np.float32
        wanted = TARGET_LUFS if name != "soft" else lufs(audio, SR) + MAX_GAIN_DB
        assert lufs(out, SR) == pytest.approx(wanted, abs=0.1), name
        assert true_peak_db(out) <= CEILING_DBTP + 1e-6, name


def test_normalise_gives_what_measuring_after_every_limiter_pass_gives():
    """normalise measures a render once and again only when the limiter turned a peak
    down: on real renders of synthetic grids (sparse and busy, accents over soft hats,
    at several tempos, mono and stereo) it matches the full re-measure within 0.05 LU,
    to the bit where nothing was limited, and stays under the ceiling."""
    rng = np.random.default_rng(23)
    renders = []
    for density in (0.05, 0.1, 0.2, 0.4):
        grid = (rng.random(DEFAULT_SPEC.shape) < density) * rng.uniform(
            0.2, 1, DEFAULT_SPEC.shape)
        renders.append(synth.render(grid.astype(np.float32), DEFAULT_SPEC,
                                    float(rng.uniform(80, 160)), SR))
    for accent in (1, 5):                     # snare or crash on every bar, soft hats
        grid = np.zeros(DEFAULT_SPEC.shape, np.float32)
        grid[accent, ::16], grid[2, ::2] = 1.0, 0.3
        renders.append(synth.render(grid, DEFAULT_SPEC, 120.0, SR))
    renders.append(np.stack([renders[-1], 0.7 * np.roll(renders[0][:len(renders[-1])], 99)],
                            axis=1))
    limited = 0
    for audio in renders:
        fast, plain = normalise(audio, SR), normalise(audio, SR, remeasure=True)
        assert fast.dtype == np.float32 and fast.shape == audio.shape
        scaled = audio.astype(np.float64) * 10 ** (gain_db(audio, SR) / 20)
        level = lufs(fast, SR)
        if np.array_equal(limit(scaled, SR), scaled):
            np.testing.assert_array_equal(fast, plain)
        else:
            limited += 1
            assert level == pytest.approx(lufs(plain, SR), abs=0.05)
        assert abs(level - TARGET_LUFS) < 0.1
        assert true_peak_db(fast) <= CEILING_DBTP + 1e-6
    assert 2 <= limited <= len(renders) - 2       # both paths were taken


def test_a_gain_that_carries_blocks_across_the_absolute_gate_is_measured_again():
    """A quiet burst over a noise floor just under -70 LUFS: the gain lifts the floor's
    blocks over the gate, so they join the average and the level does not move by the
    gain. normalise measures again there, as the full re-measure does."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SR * 32) * 10 ** (-73.5 / 20)
    x[:int(0.4 * SR)] += rng.standard_normal(int(0.4 * SR)) * 10 ** (-43.6 / 20)
    gain = gain_db(x, SR)
    assert gain < MAX_GAIN_DB
    moved = lufs(x * 10 ** (gain / 20), SR)
    assert abs(moved - TARGET_LUFS) > 0.5          # the plain shift misses the target
    np.testing.assert_array_equal(normalise(x, SR), normalise(x, SR, remeasure=True))


@pytest.mark.slow      # real FluidSynth renders: full tier (the built-in kit's: fast tier)
def test_render_brings_the_builtin_kit_and_fluidsynth_to_one_level(tmp_path):
    """The issue's 10 dB between the two sound sources, gone: the same loops rendered by
    both differ by under 0.3 LU, each at -20 LUFS, true peaks under -1 dBTP."""
    require_real_part(bool(shutil.which("fluidsynth") and find_soundfont()),
                      "FluidSynth with a GM soundfont")
    levels = {}
    for synth_name in ("builtin", "fluidsynth"):
        for name in ("rock", "bossa"):
            out = tmp_path / f"{name}-{synth_name}.wav"
            result = CliRunner().invoke(main, ["render", str(path(name)), "-o", str(out),
                                               "--synth", synth_name, "--verbose"])
            assert result.exit_code == 0, result.output
            assert "-20 LUFS" in result.output      # the figure, shown with --verbose
            audio, sr = read_wav(out)
            levels[synth_name, name] = (lufs(audio, sr), true_peak_db(audio))
    for name in ("rock", "bossa"):
        b, f = levels["builtin", name], levels["fluidsynth", name]
        assert abs(b[0] - f[0]) < 0.3 and abs(b[0] - TARGET_LUFS) < 0.2
        assert max(b[1], f[1]) <= CEILING_DBTP + 0.05               # 16-bit rounding
    raw = tmp_path / "raw.wav"
    result = CliRunner().invoke(main, ["render", str(path("bossa")), "-o", str(raw),
                                       "--synth", "fluidsynth", "--raw"])
    assert result.exit_code == 0
    assert abs(lufs(read_wav(raw)[0], SR) - TARGET_LUFS) > 1             # --raw: its own level
