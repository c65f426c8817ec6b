"""The loop with feel (evodrum.loop): the type, the one quantiser, the one performer,
MIDI files read and written with their timing, and the Groove corpus's offsets."""
from __future__ import annotations

import mido
import numpy as np
import pytest
from midi_files import drum_file

from evodrum import kit, midi
from evodrum.grid import DEFAULT_SPEC, PAPER_SPEC, GridSpec, quantize_velocity
from evodrum.gridfile import read_file
from evodrum.loop import Loop, as_loop, clip_offsets, offset_seconds, quantise

BD, SD, CH = (kit.ROWS.index(r) for r in ("BD", "SD", "CH"))


def random_loops(n: int, seed: int = 0, spec: GridSpec = DEFAULT_SPEC) -> Loop:
    rng = np.random.default_rng(seed)
    hits = rng.random((n, *spec.shape)) < 0.2
    velocities = quantize_velocity(np.where(hits, rng.uniform(0.05, 1, hits.shape), 0))
    return Loop(velocities, rng.uniform(-0.5, 0.5, hits.shape), spec)


# --- the type ------------------------------------------------------------------------

def test_loop_carries_velocities_offsets_and_spec_for_one_loop_and_a_batch():
    loops = random_loops(5)
    assert loops.is_batch and len(loops) == 5 and loops.spec == DEFAULT_SPEC
    assert loops.velocities.dtype == loops.offsets.dtype == np.float32
    np.testing.assert_array_equal(loops.hits, loops.velocities > 0)
    assert not loops.offsets[~loops.hits].any()          # no timing without a hit
    assert loops.offsets[loops.hits].std() > 0.2
    one = loops[2]
    assert not one.is_batch and one.velocities.shape == (9, 64)
    np.testing.assert_array_equal(one.offsets, loops.offsets[2])
    picked = loops[np.array([True, False, True, False, True])]
    assert len(picked) == 3
    np.testing.assert_array_equal(Loop.stack(list(loops)).offsets, loops.offsets)
    assert one.batch().velocities.shape == (1, 9, 64)


def test_offsets_on_empty_cells_are_dropped_and_bad_offsets_refused():
    v = np.zeros((9, 64), np.float32)
    v[BD, 0] = 1
    loop = Loop(v, np.full((9, 64), 0.25, np.float32))
    assert loop.offsets[BD, 0] == 0.25 and np.count_nonzero(loop.offsets) == 1
    for bad in (0.5, -0.51, np.nan):
        with pytest.raises(ValueError, match="offsets"):
            Loop(v, np.full((9, 64), bad, np.float32))
    with pytest.raises(ValueError, match="shape"):
        Loop(v, np.zeros((9, 32)))
    with pytest.raises(ValueError):
        Loop(v[:, :32], np.zeros((9, 32)))               # not the spec's 64 steps
    assert clip_offsets(np.array([0.5, -0.7])).max() < 0.5


def test_straight_blend_and_as_loop():
    loops = random_loops(3, seed=1)
    straight = loops.straightened()
    np.testing.assert_array_equal(straight.velocities, loops.velocities)
    assert not straight.offsets.any()
    half = straight.blend(loops, 0.5)
    np.testing.assert_allclose(half.offsets, loops.offsets / 2, atol=1e-6)
    np.testing.assert_array_equal(half.hits, loops.hits)
    assert as_loop(loops) is loops
    assert not as_loop(loops.velocities[0]).offsets.any()


# --- the one quantiser ------------------------------------------------------------------

def test_quantise_gives_nearest_cell_and_signed_offset_keeping_the_loudest():
    rows = np.array([BD, SD, SD, CH, CH])
    positions = np.array([0.2, 4.5, 4.6, 63.7, 10.0])      # 63.7 wraps round to cell 0
    velocities = np.array([100, 60, 90, 70, 50], np.uint8)
    out, offsets, collisions = quantise(rows, positions, velocities, 64)
    assert out[BD, 0] == 100 and offsets[BD, 0] == pytest.approx(0.2)
    # 4.5 is half a step late for 4, so it belongs to 5 (offset -0.5); 4.6 is louder there
    assert out[SD, 5] == 90 and offsets[SD, 5] == pytest.approx(-0.4) and collisions == 1
    assert out[CH, 0] == 70 and offsets[CH, 0] == pytest.approx(-0.3)
    assert offsets[CH, 10] == 0 and out.dtype == np.uint8


def test_swing_and_triplets_are_sixteenths_with_offsets(tmp_path):
    """An off-beat at 2/3 of a beat is the third 16th played a third of a step early."""
    hits = [(b + f, 42, 80) for b in range(4) for f in (0, 1 / 3, 2 / 3)]
    loop = read_file(drum_file(tmp_path / "trip.mid", hits, length_beats=4), DEFAULT_SPEC).loop(0)
    assert np.flatnonzero(loop.velocities[CH][:16]).tolist() == [0, 1, 3, 4, 5, 7, 8, 9, 11,
                                                                 12, 13, 15]
    np.testing.assert_allclose(loop.offsets[CH, [0, 1, 3]], [0, 1 / 3, -1 / 3], atol=1e-6)


# --- MIDI read and written with feel --------------------------------------------------

def test_midi_with_known_off_grid_onsets_reads_back_its_offsets_exactly(tmp_path):
    # 480 ticks per beat: 120 a step; onsets 13 ticks late, 30 early, 59 late, 60 early
    hits = [(0 + 13 / 480, 36, 100), (1 - 30 / 480, 38, 90), (2.5 + 59 / 480, 42, 70),
            (3.75 - 60 / 480, 42, 60)]
    loop = read_file(drum_file(tmp_path / "feel.mid", hits, length_beats=4), DEFAULT_SPEC).loop(0)
    assert loop.offsets[BD, 0] == np.float32(13 / 120)
    assert loop.offsets[SD, 4] == np.float32(-30 / 120)
    assert loop.offsets[CH, 10] == np.float32(59 / 120)
    assert loop.offsets[CH, 15] == np.float32(-0.5)       # exactly half early stays in its cell
    assert np.count_nonzero(loop.offsets) == 4 * 4        # a 1-bar loop tiled to 4 bars


@pytest.mark.parametrize("spec", [DEFAULT_SPEC, PAPER_SPEC, GridSpec(2, 4, 3)])
def test_written_and_read_loop_is_the_same_within_a_tick(tmp_path, spec):
    loops = random_loops(4, seed=3, spec=spec)
    for i, loop in enumerate(loops):
        path = midi.write_midi(tmp_path / f"{i}.mid", loop, bpm=97)
        back = read_file(path, spec).loop(0)
        np.testing.assert_array_equal(back.velocities, loop.velocities)
        tick = spec.steps_per_beat / midi.WRITE_TICKS_PER_BEAT
        assert np.abs(back.offsets - loop.offsets).max() <= tick + 1e-6  # within a tick
        assert mido.MidiFile(path).ticks_per_beat >= 480


def test_performed_notes_sit_off_grid_never_overlap_and_the_file_lasts_the_loop(tmp_path):
    v = np.zeros((9, 64), np.float32)
    v[CH, :] = 0.5                                          # a hat on every step
    offsets = np.zeros((9, 64), np.float32)
    offsets[CH, 1::2] = 0.45                                # heavy swing: late off-beats
    offsets[CH, 0] = -0.2                                   # the first hat is early: wraps round
    path = midi.write_midi(tmp_path / "swing.mid", Loop(v, offsets), bpm=120)
    mid = mido.MidiFile(path)
    assert mid.length == pytest.approx(8.0)
    t, on, spans = 0, {}, []
    for msg in mid.tracks[1]:
        t += msg.time
        if msg.type == "note_on" and msg.velocity:
            assert msg.note not in on                      # never two of one drum at once
            on[msg.note] = t
        elif msg.type in ("note_off", "note_on"):
            spans.append((on.pop(msg.note), t))
    starts = sorted(s for s, _ in spans)
    assert starts[:2] == [120 + 54, 240]                   # step 1: 0.45 of 120 ticks late
    assert starts[-1] == 7680 - 24                         # hat 0 played 24 ticks early


# --- performing ------------------------------------------------------------------------

def test_perform_orders_hits_in_time_and_converts_units():
    v = np.zeros((9, 64), np.float32)
    v[BD, 0] = v[SD, 4] = 1
    offsets = np.zeros((9, 64), np.float32)
    offsets[BD, 0], offsets[SD, 4] = -0.25, 0.25
    played = Loop(v, offsets).perform()
    assert played.rows.tolist() == [SD, BD]                 # the early kick sounds at the end
    np.testing.assert_allclose(played.seconds(120), [4.25 * 0.125, 63.75 * 0.125])
    assert played.ticks(480).tolist() == [4 * 120 + 30, 7680 - 30]
    assert played.samples(64_000).tolist() == [4250, 63750]
    np.testing.assert_allclose(offset_seconds(np.array([[0.08]]), np.array([100.0]),
                                              DEFAULT_SPEC), [[0.08 * 0.15]])


# --- the Groove corpus keeps its timing ------------------------------------------------

def test_groove_corpus_keeps_offsets_aligned_with_grids(groove_corpus):
    c = groove_corpus
    assert c.offsets.shape == c.grids.shape and c.bpm.shape == (len(c),)
    hits = c.grids > 0
    assert not c.offsets[~hits].any()
    played = c.offsets[hits]
    assert played.min() >= -0.5 and played.max() < 0.5
    assert (played != 0).mean() > 0.9                      # recorded drumming is off the grid
    test = c.loops("test")
    assert len(test) == int((c.split == "test").sum())
    np.testing.assert_array_equal(test.velocities, c.split_grids("test"))
    assert 50 <= c.bpm.min() and c.bpm.max() <= 300


def test_groove_drummers_play_about_ten_ms_early_on_the_test_split(groove_corpus):
    """Known from the data: mean timing of test-split hits is about 10 ms ahead of the grid."""
    c = groove_corpus
    mask = c.split_mask("test")
    ms = offset_seconds(c.offsets[mask], c.bpm[mask], c.spec) * 1000
    hit_ms = ms[c.grids[mask] > 0]
    assert -14 < hit_ms.mean() < -6
    assert 18 < np.abs(hit_ms).mean() < 27                 # 22.5 ms MAE with zero offset


def test_groove_file_round_trips_with_its_feel(groove_corpus, groove_path, tmp_path):
    """A real performance window written as MIDI reads back with the same loop."""
    loop = groove_corpus.loops("test")[100]
    back = read_file(midi.write_midi(tmp_path / "w.mid", loop, bpm=100), DEFAULT_SPEC).loop(0)
    np.testing.assert_array_equal(back.velocities, loop.velocities)
    assert np.abs(back.offsets - loop.offsets).max() <= 4 / 480 + 1e-6
