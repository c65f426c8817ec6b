"""Rhythm features: the published reference table, independent slow implementations,
the feature levels, other resolutions, the groove corpus, and `evodrum features`."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from evodrum import midi
from evodrum.cli import main
from evodrum.grid import DEFAULT_SPEC, PAPER_SPEC, GridSpec
from evodrum.kit import ROWS
from fitness import features as F

ONE_BAR = GridSpec(bars=1)
BD, SD, CH, RD = (ROWS.index(r) for r in ("BD", "SD", "CH", "RD"))

# /work/shared/FEATURES.md: Gomez et al. 2005 (WNBD) and the LHL rule.
TIMELINES = {  # name: (onsets, WNBD, LHL score)
    "shiko": ("x...x.x...x.x...", 1.2, 2),
    "son": ("x..x..x...x.x...", 2.8, 4),
    "soukous": ("x..x..x...xx....", 3.6, 6),
    "rumba": ("x..x...x..x.x...", 3.6, 6),
    "bossa-nova": ("x..x..x...x..x..", 4.0, 6),
    "gahu": ("x..x..x...x...x.", 3.6, 5),
}
WEIGHTS_16 = [0, -4, -3, -4, -2, -4, -3, -4, -1, -4, -3, -4, -2, -4, -3, -4]
WEIGHTS_8 = [0, -3, -2, -3, -1, -3, -2, -3]


def stream(text: str) -> np.ndarray:
    return np.array([c == "x" for c in text])


def test_metrical_weights_follow_recursive_halving():
    assert F.metrical_weights(DEFAULT_SPEC).tolist() == WEIGHTS_16
    assert F.metrical_weights(PAPER_SPEC).tolist() == WEIGHTS_8
    assert F.metrical_levels(GridSpec(4, 3, 4)) == (12, 4, 2, 1)  # 3/4: bar -> 3 beats


@pytest.mark.parametrize("name", TIMELINES)
def test_reference_table(name):
    onsets, wnbd, lhl = TIMELINES[name]
    s = stream(onsets)[None]
    assert F.lhl_scores(s, ONE_BAR).tolist() == [[lhl]]
    assert F.wnbd(s, ONE_BAR)[0] == pytest.approx(wnbd, abs=1e-6)


@pytest.mark.parametrize("name", TIMELINES)
def test_reference_timeline_on_kick_in_a_four_bar_grid(name):
    """Tiled over 4 bars on the kick: same per-bar score, normalised as documented."""
    onsets, wnbd, lhl = TIMELINES[name]
    grid = np.zeros(DEFAULT_SPEC.shape, np.float32)
    grid[BD] = np.tile(stream(onsets), 4) * 0.8
    v = F.compute(grid)
    assert v["kick_snare.syncopation"][0] == pytest.approx(lhl / 15)
    assert v["all.syncopation"][0] == pytest.approx(lhl / 15)
    assert v["kick_snare.wnbd"][0] == pytest.approx(wnbd / 8)
    assert v["kick_snare.density"][0] == pytest.approx(onsets.count("x") / 16)
    assert v["kick_snare.symmetry"][0] == 1.0
    # no hats: nothing to measure, empty-stream conventions
    assert (v["hats.density"][0], v["hats.syncopation"][0], v["hats.symmetry"][0],
            v["hats.wnbd"][0]) == (0, 0, 1, 0)


def test_wnbd_needs_strictly_before_e2():
    """soukous' last note ends exactly on e2 (the loop's end): 1/T, not 2/T."""
    assert F.wnbd(stream("x..x..x...xx....")[None], ONE_BAR)[0] == pytest.approx(3.6)
    assert F.wnbd(stream("x..x..x...xx....")[None], ONE_BAR)[0] != pytest.approx(4.4)


# --- independent slow implementations, straight from the definitions -------

def tree_leaves(bar, sizes, start=0, level=0):
    """(kind, step) leaves of one bar by recursive splitting."""
    seg = bar[start:start + sizes[level]]
    if not seg.any():
        return [("R", start)]
    if seg[0] and seg.sum() == 1:
        return [("N", start)]
    return [leaf for child in range(start, start + sizes[level], sizes[level + 1])
            for leaf in tree_leaves(bar, sizes, child, level + 1)]


def lhl_slow(s, bars, sizes, weights):
    bar_len = sizes[0]
    leaves = [(kind, b, pos) for b in range(bars)
              for kind, pos in tree_leaves(s[b * bar_len:(b + 1) * bar_len], sizes)]
    notes = [weights[pos] for kind, _, pos in leaves if kind == "N"]
    scores = [0] * bars
    if not notes:
        return scores
    last = notes[-1]  # the loop wraps: the first rests follow the loop's last note
    for kind, b, pos in leaves:
        if kind == "N":
            last = weights[pos]
        elif weights[pos] >= last:
            scores[b] += weights[pos] - last
    return scores


def wnbd_slow(s, spb):
    steps = len(s)
    on = np.flatnonzero(s)
    total = 0.0
    for k, t in enumerate(on):
        end = on[k + 1] if k + 1 < len(on) else on[0] + steps
        pos = t % spb
        if pos == 0:
            continue
        T = min(pos, spb - pos) / spb
        e1 = (t // spb + 1) * spb
        total += 2 / T if e1 < end < e1 + spb else 1 / T
    return total / len(on) if len(on) else 0.0


@pytest.mark.parametrize("spec, sizes, weights", [
    (DEFAULT_SPEC, (16, 8, 4, 2, 1), WEIGHTS_16),
    (PAPER_SPEC, (8, 4, 2, 1), WEIGHTS_8),
])
def test_vectorised_features_match_slow_definitions(spec, sizes, weights):
    rng = np.random.default_rng(1)
    p = rng.choice([0.03, 0.1, 0.3, 0.6, 0.9], size=(400, 1))
    streams = rng.random((400, spec.steps)) < p
    streams[0] = False
    lhl = F.lhl_scores(streams, spec)
    w = F.wnbd(streams, spec)
    for i, s in enumerate(streams):
        assert lhl[i].tolist() == lhl_slow(s, spec.bars, sizes, weights), i
        assert w[i] == pytest.approx(wnbd_slow(s, spec.steps_per_beat), rel=1e-5), i


@pytest.mark.parametrize("spec", [GridSpec(1, 4, 4), GridSpec(1, 4, 2), GridSpec(1, 3, 4)])
def test_max_lhl_score_is_the_most_any_bar_reaches(spec):
    """Brute force: every bar pattern after a note at every possible position."""
    bar = spec.steps_per_bar
    patterns = ((np.arange(2 ** bar)[:, None] >> np.arange(bar)) & 1).astype(bool)
    two_bars = GridSpec(2, spec.beats_per_bar, spec.steps_per_beat)
    best = 0
    for j in range(bar):
        first = np.zeros_like(patterns)
        first[:, j] = True
        best = max(best, F.lhl_scores(np.concatenate([first, patterns], axis=1), two_bars)[:, 1].max())
    assert F.max_lhl_score(spec) == best
    if spec == GridSpec(1, 4, 4):
        assert best == 15
        assert F.lhl_scores(stream(".x...x...x...x..")[None], spec)[0, 0] == 15


# --- density, symmetry, levels, batches ------------------------------------

def test_density_merges_rows_of_a_level_and_symmetry_compares_halves():
    g = np.zeros(DEFAULT_SPEC.shape, np.float32)
    g[BD, ::8] = 1.0
    g[SD, ::8] = 0.5          # same steps as the kick: merged, counted once
    g[CH, 2:32:4] = 0.7       # hats only in the first half
    v = F.compute(g)
    assert v["kick_snare.density"][0] == pytest.approx(8 / 64)
    assert v["hats.density"][0] == pytest.approx(8 / 64)
    assert v["all.density"][0] == pytest.approx(16 / 64)
    assert v["kick_snare.symmetry"][0] == 1.0
    assert v["hats.symmetry"][0] == 0.0
    assert v["all.symmetry"][0] == pytest.approx(2 * 4 / 16)


def test_rows_outside_hats_and_kick_snare_count_only_in_all():
    g = np.zeros(DEFAULT_SPEC.shape, np.float32)
    g[RD, 1::4] = 0.6
    v = F.compute(g)
    assert v["hats.density"][0] == 0 and v["kick_snare.density"][0] == 0
    assert v["all.density"][0] == pytest.approx(0.25)
    # T = 1/4 and each note lasts past the next beat e1 (to e1 + 1): 2/T = 8, the maximum
    assert v["all.wnbd"][0] == pytest.approx(1.0)


def test_batch_equals_one_by_one_and_velocity_does_not_matter():
    rng = np.random.default_rng(2)
    grids = ((rng.random((50, 9, 64)) < 0.15) * rng.uniform(0.1, 1, (50, 9, 64))).astype(np.float32)
    batch = F.feature_matrix(grids)
    single = np.concatenate([F.feature_matrix(g) for g in grids])
    np.testing.assert_array_equal(batch, single)
    np.testing.assert_array_equal(F.feature_matrix((grids > 0).astype(np.float32)), batch)
    assert batch.shape == (50, len(F.FEATURE_NAMES))
    assert batch.min() >= 0 and batch.max() <= 1


def test_paper_resolution_features_are_in_range():
    rng = np.random.default_rng(3)
    grids = (rng.random((200, *PAPER_SPEC.shape)) < 0.3).astype(np.float32)
    m = F.feature_matrix(grids, PAPER_SPEC)
    assert m.min() >= 0 and m.max() <= 1
    with pytest.raises(ValueError, match="shape"):
        F.compute(grids, GridSpec(bars=2))


# --- the groove corpus ------------------------------------------------------

def test_groove_features_are_plausible(groove_corpus):
    grids = groove_corpus.grids
    v = F.compute(grids, groove_corpus.spec)
    for name, x in v.items():
        assert x.shape == (len(grids),) and 0 <= x.min() and x.max() <= 1, name
    # merged streams: `all` has at least as many hit steps as each sub-level
    assert (v["all.density"] >= np.maximum(v["hats.density"], v["kick_snare.density"])).all()
    # real drumming repeats itself: loops are more symmetric than their steps shuffled
    rng = np.random.default_rng(0)
    sample = grids[rng.choice(len(grids), 2000, replace=False)]
    shuffled = sample[:, :, rng.permutation(64)]
    for level in F.LEVELS:
        assert (F.compute(sample)[f"{level}.symmetry"].mean()
                > F.compute(shuffled)[f"{level}.symmetry"].mean() + 0.1), level
    summary = F.summarize(grids, groove_corpus.spec)
    assert set(summary) == set(F.FEATURE_NAMES)
    for name, s in summary.items():
        assert s["min"] <= s["q25"] <= s["median"] <= s["q75"] <= s["max"], name
        assert s["mean"] == pytest.approx(float(v[name].mean()), abs=1e-5)
    assert summary["hats.density"]["median"] > 0.1  # hats are played in most loops
    text = F.format_summary(summary)
    assert text.count("\n") == len(F.FEATURE_NAMES) and "all.syncopation" in text


# --- evodrum features ---------------------------------------------------------

def test_cli_features_table_and_json(tmp_path):
    grid = np.zeros(DEFAULT_SPEC.shape, np.float32)
    grid[BD] = np.tile(stream(TIMELINES["son"][0]), 4) * 0.8
    grid[CH, ::2] = 0.5
    path = midi.write_midi(tmp_path / "son.mid", grid)
    runner = CliRunner()
    table = runner.invoke(main, ["features", str(path)])
    assert table.exit_code == 0, table.output
    assert "kick_snare" in table.output and "syncopation" in table.output
    out = runner.invoke(main, ["features", str(path), str(path), "--json"])
    assert out.exit_code == 0, out.output
    entries = json.loads(out.output)
    assert [e["file"] for e in entries] == [str(path)] * 2
    feats = entries[0]["features"]
    assert feats["kick_snare.syncopation"] == pytest.approx(4 / 15, abs=1e-5)
    assert feats["hats.density"] == 0.5 and feats["hats.syncopation"] == 0


def test_cli_features_bad_file_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi")
    result = CliRunner().invoke(main, ["features", str(bad)])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and str(bad) in result.output
    assert "Traceback" not in result.output
