"""Corpus building: the real Groove corpus, a user's own folder, splits, labels, the cache."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from midi_files import basic_beat, drum_file

from evodrum import corpus as C
from evodrum.errors import EvodrumError
from evodrum.grid import PAPER_SPEC


def test_groove_corpus_uses_official_split_and_labels(groove_corpus):
    c = groove_corpus
    s = C.summary(c)
    # 12 files are in 3/4, 6/8, 5/4 or 5/8; 50 fills have under 8 hits in their own bars
    assert s["files"] == 1150 and s["kept"] == 1088
    assert all("its bars are in" in r or "fewer than 8 hits" in r for r in s["skipped"])
    w = s["windows"]
    assert 15000 < w["train"] < 17500 and 1700 < w["validation"] < 2300 and 1700 < w["test"] < 2300
    assert c.grids.shape == (len(c), 9, 64) and c.grids.dtype == np.float32
    assert 0.10 < (c.grids > 0).mean() < 0.16  # about 13% of cells hold a hit
    # a file's windows all share its split, and the split matches info.csv
    files = {f["file"]: f for f in c.manifest["files"]}
    for file in np.unique(c.labels["file"])[::50]:
        assert set(c.split[c.labels["file"] == file]) == {files[file]["split"]}
    assert set(c.labels["beat_type"]) == {"beat", "fill"}
    assert "funk" in set(c.labels["style"]) and len(set(c.labels["drummer"])) == 10
    assert ((c.grids > 0).sum(axis=(1, 2)) >= 8).all()
    assert 0.05 < s["mean_shift_steps"] < 0.3


def test_cache_is_reused_and_loads_identically(groove_corpus, groove_path, cache_dir):
    again = C.build_corpus(groove_path, cache_dir=cache_dir, progress=False)
    assert again.manifest["reused"] is True
    np.testing.assert_array_equal(again.grids, groove_corpus.grids)
    assert again.manifest_hash == groove_corpus.manifest_hash
    loaded = C.load_corpus("groove", cache_dir)
    np.testing.assert_array_equal(loaded.split, groove_corpus.split)
    assert loaded.split_grids("test").shape[0] == (groove_corpus.split == "test").sum()


@pytest.fixture
def library(tmp_path):
    """A user's own folder: loops of several lengths, a performance, and bad files."""
    root = tmp_path / "library"
    (root / "rock").mkdir(parents=True)
    (root / "junk").mkdir()
    drum_file(root / "rock/one_bar.mid", basic_beat(1), length_beats=4)
    drum_file(root / "rock/two_bar.mid", basic_beat(2), length_beats=8)
    drum_file(root / "rock/eight_bar.mid", basic_beat(8), length_beats=32)
    drum_file(root / "ableton.mid", basic_beat(4), channel=3, length_beats=16)
    drum_file(root / "waltz.mid", basic_beat(1), time_signature=(3, 4), length_beats=3)
    drum_file(root / "junk/piano.mid", [(0, 60, 90), (1, 95, 90)], channel=0, length_beats=4)
    (root / "junk/empty.mid").write_bytes(b"")
    (root / "junk/garbage.mid").write_bytes(os.urandom(300))
    (root / "notes.txt").write_text("not a MIDI file, not even looked at")
    return root


def test_user_folder_keeps_good_files_and_reports_bad_ones(library, tmp_path):
    c = C.build_corpus(library, cache_dir=tmp_path / "cache", workers=2, progress=False)
    s = C.summary(c)
    assert s["files"] == 8 and s["kept"] == 4
    reasons = dict(s["skipped_files"])
    assert "3/4" in reasons["waltz.mid"]
    assert "no drums" in reasons["junk/piano.mid"]
    assert reasons["junk/empty.mid"] == "the file is empty"
    assert "not a MIDI file" in reasons["junk/garbage.mid"]
    per_file = {f: (c.labels["file"] == f).sum() for f in np.unique(c.labels["file"])}
    assert per_file == {"rock/one_bar.mid": 1, "rock/two_bar.mid": 1,
                        "rock/eight_bar.mid": 5, "ableton.mid": 1}
    assert set(c.labels["style"][c.labels["file"] == "rock/one_bar.mid"]) == {"rock"}
    # splits are by file, deterministic, and never split one file's windows
    for f in per_file:
        assert set(c.split[c.labels["file"] == f]) == {C.split_by_file(f)}


def test_splits_by_file_are_deterministic_and_roughly_80_10_10():
    names = [f"style{i % 7}/loop_{i}.mid" for i in range(3000)]
    splits = [C.split_by_file(n) for n in names]
    assert splits == [C.split_by_file(n) for n in names]
    frac = {s: splits.count(s) / len(splits) for s in C.SPLITS}
    assert 0.77 < frac["train"] < 0.83 and 0.08 < frac["validation"] < 0.12


def test_changed_source_or_settings_rebuild(library, tmp_path):
    cache = tmp_path / "cache"
    first = C.build_corpus(library, cache_dir=cache, workers=1, progress=False)
    assert C.build_corpus(library, cache_dir=cache, workers=1, progress=False).manifest["reused"]
    # touching a file without changing it keeps the cache (content hash matches)
    os.utime(library / "ableton.mid", ns=(1, 1))
    assert C.build_corpus(library, cache_dir=cache, workers=1, progress=False).manifest["reused"]
    drum_file(library / "rock/one_bar.mid", basic_beat(1)[:4], length_beats=4)
    changed = C.build_corpus(library, cache_dir=cache, workers=1, progress=False)
    assert not changed.manifest["reused"]
    assert changed.manifest_hash != first.manifest_hash
    paper = C.build_corpus(library, PAPER_SPEC, cache_dir=cache, workers=1, progress=False)
    assert not paper.manifest["reused"] and paper.spec == PAPER_SPEC
    shutil.copy(library / "ableton.mid", library / "rock/new.mid")
    assert not C.build_corpus(library, PAPER_SPEC, cache_dir=cache, progress=False).manifest["reused"]


def test_damaged_or_missing_cache_gives_clear_errors(library, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(EvodrumError, match="evodrum data build"):
        C.load_corpus("library", cache)
    c = C.build_corpus(library, cache_dir=cache, workers=1, progress=False)
    (c.path / "grids.npz").write_bytes(b"broken")
    with pytest.raises(EvodrumError, match="damaged"):
        C.load_corpus("library", cache)
    # a build notices and rebuilds instead of failing
    rebuilt = C.build_corpus(library, cache_dir=cache, workers=1, progress=False)
    assert not rebuilt.manifest["reused"] and len(rebuilt) == len(c)
    manifest = json.loads((c.path / "manifest.json").read_text())
    manifest["windows"] += 1
    (c.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(EvodrumError, match="damaged .8 windows in grids.npz, 9 in manifest"):
        C.load_corpus(c.path)


def test_folder_without_midi_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(EvodrumError, match="no MIDI files"):
        C.build_corpus(tmp_path / "empty", cache_dir=tmp_path / "c", progress=False)


def test_file_listed_in_info_csv_but_missing_is_skipped(tmp_path):
    """A partial unzip of the Groove corpus: the build goes on and names the file."""
    root = tmp_path / "groove"
    root.mkdir()
    drum_file(root / "a.mid", basic_beat(4), length_beats=16)
    (root / "info.csv").write_text(
        "drummer,session,id,style,bpm,beat_type,time_signature,midi_filename,"
        "audio_filename,duration,split\n"
        "d1,s1,1,rock,120,beat,4-4,a.mid,,8,train\n"
        "d1,s1,2,rock,120,beat,4-4,missing.mid,,8,test\n")
    c = C.build_corpus(root, cache_dir=tmp_path / "cache", workers=1, progress=False)
    reasons = dict(C.summary(c)["skipped_files"])
    assert "cannot read the file" in reasons["missing.mid"] and len(c) == 1
