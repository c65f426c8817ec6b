"""`evodrum realism` and fitness.realism: fidelity and diversity of sets of loops against
held-out real drumming. The probes a reader of generative models expects: one beat
copied 300 times has no recall, random grids have no precision, real loops read high."""
import json

import numpy as np
import pytest
from cli_runner import run as _run

from evodrum import gridfile
from evodrum.genotypes.grid import GridSpace
from fitness import realism

# --- the measures, on synthetic sets (fast tier) ---------------------------------

def test_jaccard_distances_match_their_definition():
    rng = np.random.default_rng(0)
    a, b = rng.random((7, 9, 16)) < 0.3, rng.random((5, 9, 16)) < 0.3
    b[0] = False
    a[1] = b[1]
    d = realism.jaccard_distances(a, b)
    for i in range(7):
        for j in range(5):
            union = (a[i] | b[j]).sum()
            want = 1 - (a[i] & b[j]).sum() / union if union else 0.0
            assert d[i, j] == pytest.approx(want, abs=1e-6)
    assert d[1, 1] == 0
    assert realism.jaccard_distances(b[:1], b[:1])[0, 0] == 0     # two empty loops


def test_same_distribution_reads_high_and_a_copied_point_has_no_recall():
    rng = np.random.default_rng(1)
    real, same = rng.standard_normal((600, 4)), rng.standard_normal((600, 4))
    fair = realism.fidelity_diversity(real, same, realism.euclidean_distances)
    assert fair["precision"] > 0.8 and fair["recall"] > 0.8 and fair["coverage"] > 0.8
    assert 0.7 < fair["density"] < 1.3
    copied = realism.fidelity_diversity(real, np.repeat(same[:1], 300, axis=0),
                                        realism.euclidean_distances)
    assert copied["recall"] < 0.01 and copied["coverage"] < 0.02
    far = realism.fidelity_diversity(real, same + 10.0, realism.euclidean_distances)
    assert far["precision"] == 0 and far["coverage"] == 0 and far["density"] == 0
    tiny = realism.fidelity_diversity(real, same[:2], realism.euclidean_distances)
    assert tiny["recall"] is None                      # no k-NN balls in a set of 2


class _Corpus:
    """The parts of a Corpus `heldout_windows` reads."""

    def __init__(self, files, split):
        self.labels = {"file": np.array(files)}
        self.split = np.array(split)


def test_heldout_windows_take_one_in_four_per_file_from_the_held_out_splits():
    files = ["a"] * 9 + ["b"] * 3 + ["c"] * 6
    split = ["test"] * 9 + ["train"] * 3 + ["validation"] * 6
    picked = realism.heldout_windows(_Corpus(files, split))
    assert picked.tolist() == [0, 4, 8, 12, 16]


# --- on the real corpus --------------------------------------------------------------

@pytest.fixture(scope="module")
def reference(groove_corpus):
    from evodrum.genotypes.files import load_judges
    return realism.RealismReference.from_corpus(groove_corpus, load_judges(None))


def test_reference_windows_never_overlap(groove_corpus, reference):
    idx = realism.heldout_windows(groove_corpus)
    assert set(groove_corpus.split[idx]) == {"test", "validation"}
    files = groove_corpus.labels["file"][idx]
    for f in np.unique(files):
        gaps = np.diff(idx[files == f])
        assert (gaps >= realism.WINDOW_STRIDE).all()
    assert reference.info["heldout_loops"] == len(idx) > 1000


def test_one_beat_copied_300_times_has_no_recall(groove_corpus, reference):
    beat = groove_corpus.split_grids("train")[500:501]
    m = reference.measure(np.repeat(beat, 300, axis=0))
    assert m["distinct"] == 1
    for space in ("onsets", "features"):
        assert m[space]["recall"] < 0.01 and m[space]["coverage"] < 0.01
    assert m["memorisation"]["copies"] == 1.0


def test_random_grids_have_no_precision(groove_corpus, reference):
    grid = GridSpace(groove_corpus.spec)
    m = reference.measure(grid.decode(grid.random(500, np.random.default_rng(0))))
    assert m["onsets"]["precision"] < 0.02 and m["onsets"]["coverage"] < 0.02
    assert m["features"]["precision"] < 0.1
    for j in m["judges"].values():
        assert j["ks"] > 0.9 and j["median_among_real"] < 0.05


def test_real_loops_read_high_and_two_sided(groove_corpus, reference):
    real = realism.training_windows(groove_corpus, 1000)
    m = reference.measure(real)
    assert m["onsets"]["precision"] > 0.25 and m["onsets"]["recall"] > 0.5
    assert m["onsets"]["coverage"] > 0.3 and m["features"]["coverage"] > 0.4
    for j in m["judges"].values():               # real loops sit in the middle of real loops
        assert 0.35 < j["median_among_real"] < 0.65 and j["ks"] < 0.12


def test_judges_read_two_sided_catch_a_textbook_beat(groove_corpus, reference):
    """The beat of the corpus mean (one loop repeated) scores above most real loops on
    typicality, and far from them two-sided."""
    mean = (groove_corpus.split_grids("train") > 0).mean(axis=0)
    beat = np.where(mean > 0.3, 0.8, 0.0).astype(np.float32)[None]
    m = reference.measure(np.repeat(beat, 200, axis=0))
    assert m["distinct"] == 1 and m["onsets"]["coverage"] < 0.01
    assert max(j["ks"] for j in m["judges"].values()) > 0.5


def test_cli_reads_files_and_folders_and_skips_bad_ones(groove_corpus, tmp_path):
    loops = groove_corpus.split_grids("validation")[:120]
    folder = tmp_path / "mine"
    folder.mkdir()
    path = gridfile.save_grids(folder / "loops.npz", loops, groove_corpus.spec)
    before = path.read_bytes()
    bad = tmp_path / "bad.mid"
    bad.write_text("not midi")
    r = _run("realism", folder, bad, "--json")
    assert r.exit_code == 1
    assert "bad.mid" in r.stderr and r.stderr.count("error:") == 1
    out = json.loads(r.stdout)
    assert out["source"]["files"] == [str(path)]          # what was read, not the skipped
    assert out["set"]["loops"] == 120 and out["real"]["loops"] == 120
    assert out["set"]["onsets"]["precision"] > 0.2
    assert path.read_bytes() == before
    alone = _run("realism", bad)                       # one file: a plain error, no skip
    assert alone.exit_code == 1 and alone.stderr.strip().splitlines() == [
        f"error: {bad}: this is a text file, not MIDI"], alone.stderr
    one = gridfile.save_grids(tmp_path / "one.npz", loops[:1], groove_corpus.spec)
    r = _run("realism", one)
    assert r.exit_code == 0 and "note: only 1 loop: coverage and range need a set" in r.stdout


def test_cli_samples_a_space_and_temperature_trades_range_for_typicality(groove_corpus):
    hot = json.loads(_run("realism", "--space", "pca", "-n", 400, "--json").stdout)
    cold = json.loads(_run("realism", "--space", "pca", "-n", 400, "--temperature", 0.25,
                           "--json").stdout)
    assert hot["source"]["space"] == "pca" and hot["set"]["loops"] == 400
    assert cold["set"]["onsets"]["recall"] < hot["set"]["onsets"]["recall"]
    assert cold["set"]["judges"]["markov"]["median_among_real"] > 0.5
    text = _run("realism", "--space", "vae", "-n", 200)
    assert text.exit_code == 0 and "sound real" in text.stdout and "KS" not in text.stdout
    assert "KS distance" in _run("realism", "--space", "vae", "-n", 200, "-v").stdout


def test_cli_refuses_both_or_neither_input_and_temperature_without_latent_codes(tmp_path):
    assert _run("realism").exit_code == 2
    assert _run("realism", tmp_path, "--space", "vae").exit_code == 2
    r = _run("realism", "--space", "grid", "--temperature", 0.5)
    assert r.exit_code == 1 and "--temperature scales latent codes" in r.stderr
