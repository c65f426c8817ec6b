"""Corpora against hostile folders and damaged caches: identity by content, special files
listed as skipped, one strange file never ends a batch, damaged caches found by their
content, reported in one line by every command that loads one, and rebuilt."""
from __future__ import annotations

import json
import os
import shutil
import socket
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner
from midi_files import basic_beat, drum_file

from evodrum import corpus as C
from evodrum.cli import main
from evodrum.errors import EvodrumError


@pytest.fixture
def loops(tmp_path):
    root = tmp_path / "loops"
    root.mkdir()
    drum_file(root / "a.mid", basic_beat(4), length_beats=16)
    drum_file(root / "b.mid", basic_beat(2), length_beats=8)
    drum_file(root / "c.mid", basic_beat(8), length_beats=32)
    return root


def build(root, cache, **kw):
    return C.build_corpus(root, cache_dir=cache, workers=1, **kw)


def test_two_copies_of_the_same_files_have_the_same_hash(loops, tmp_path):
    first = build(loops, tmp_path / "cache1")
    copy = tmp_path / "elsewhere" / "loops"
    shutil.copytree(loops, copy)          # new modification times, new place
    for f in copy.iterdir():
        os.utime(f, ns=(10**18, 10**18))
    second = build(copy, tmp_path / "cache2")
    assert second.manifest_hash == first.manifest_hash
    assert "mtime_ns" not in json.dumps(second.manifest)
    drum_file(copy / "b.mid", basic_beat(2)[:-2], length_beats=8)
    assert build(copy, tmp_path / "cache2").manifest_hash != first.manifest_hash


def test_special_files_are_listed_as_skipped(loops, tmp_path):
    os.mkfifo(loops / "pipe.mid")
    (loops / "dangling.mid").symlink_to(loops / "nowhere.mid")
    (loops / "loop1.mid").symlink_to(loops / "loop2.mid")
    (loops / "loop2.mid").symlink_to(loops / "loop1.mid")
    os.mkfifo(loops / "fifo-without-suffix")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(loops / "sock"))
    try:
        c = build(loops, tmp_path / "cache")
    finally:
        sock.close()
    reasons = dict(C.summary(c)["skipped_files"])
    assert reasons["pipe.mid"] == reasons["fifo-without-suffix"] == "a named pipe (FIFO), not a file"
    assert reasons["dangling.mid"] == "a symbolic link to a missing file"
    assert reasons["loop1.mid"] == reasons["loop2.mid"] == "a loop of symbolic links"
    assert reasons["sock"] == "a socket, not a file"
    assert C.summary(c)["kept"] == 3
    assert build(loops, tmp_path / "cache").manifest["reused"]


def test_a_device_node_listed_in_info_csv_is_skipped(tmp_path):
    root = tmp_path / "groove"
    root.mkdir()
    drum_file(root / "a.mid", basic_beat(4), length_beats=16)
    (root / "null.mid").symlink_to("/dev/null")
    (root / "info.csv").write_text(
        "drummer,style,beat_type,midi_filename,split\n"
        "d1,rock,beat,a.mid,train\nd1,rock,beat,null.mid,test\n")
    reasons = dict(C.summary(build(root, tmp_path / "cache"))["skipped_files"])
    assert reasons["null.mid"] == "a device node, not a file"


@pytest.mark.parametrize("text, message", [
    ("midi_filename,split\na.mid,train\n", "not a Groove info.csv"),
    ("drummer,style,beat_type,midi_filename,split\nd,r,beat,../../etc/x.mid,train\n",
     "outside the folder"),
    ("drummer,style,beat_type,midi_filename,split\nd,r,beat,a.mid,everything\n", "split"),
])
def test_a_bad_info_csv_is_one_line(tmp_path, text, message):
    root = tmp_path / "groove"
    root.mkdir()
    (root / "info.csv").write_text(text)
    with pytest.raises(EvodrumError, match=message):
        build(root, tmp_path / "cache")


def test_a_file_that_breaks_the_reader_is_skipped_and_the_build_goes_on(loops, tmp_path,
                                                                        monkeypatch):
    """Whatever a reader bug raises for one file, the batch keeps the others."""
    real = C.read_windows

    def fragile(path, *args):
        if path.endswith("b.mid"):
            raise ZeroDivisionError("float division by zero")
        return real(path, *args)
    monkeypatch.setattr(C, "read_windows", fragile)
    c = build(loops, tmp_path / "cache")
    reasons = dict(C.summary(c)["skipped_files"])
    assert reasons == {"b.mid": "could not be read (float division by zero)"}
    assert set(c.labels["file"]) == {"a.mid", "c.mid"}


def test_progress_is_a_callback(loops, tmp_path):
    calls = []
    build(loops, tmp_path / "cache", progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize("name", ["../../x", "/abs", ".hidden", "a b", "", "x/y", "é" * 3])
def test_corpus_names_are_validated(loops, tmp_path, name):
    with pytest.raises(EvodrumError, match="corpus name must be letters"):
        build(loops, tmp_path / "cache", name=name)
    assert not (tmp_path / "x").exists()
    r = CliRunner().invoke(main, ["data", "build", str(loops), "--name", name,
                                  "--cache-dir", str(tmp_path / "cache")])
    assert r.exit_code == 1 and r.output.startswith("error: corpus name must be letters")


def test_an_unusual_folder_name_gives_a_safe_default_name(tmp_path):
    root = tmp_path / "my loops (2024)"
    root.mkdir()
    drum_file(root / "a.mid", basic_beat(4), length_beats=16)
    assert build(root, tmp_path / "cache").path.name == "my-loops-2024"


# --- damaged caches ------------------------------------------------------------------

def _rewrite_npz(path, **change):
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays.update(change)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez_compressed(path, **arrays)


def _bad_crc(path):
    blob = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("velocities.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 40
    blob[start] ^= 0xFF
    path.write_bytes(bytes(blob))


def _huge_header(path):
    header = {"descr": "|u1", "fortran_order": False, "shape": (10**13, 9, 64)}
    buf = bytearray(b"\x93NUMPY\x01\x00")
    text = repr(header).encode().ljust(118) + b"\n"
    buf += len(text).to_bytes(2, "little") + text
    with np.load(path, allow_pickle=False) as data:
        others = {k: data[k] for k in data.files if k != "velocities"}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("velocities.npy", bytes(buf) + b"\x00" * 64)
        for k, v in others.items():
            with z.open(f"{k}.npy", "w") as f:
                np.lib.format.write_array(f, v)


def _nested(path):
    path.write_text("[" * 100_000 + "]" * 100_000)


DAMAGE = {
    "truncated arrays": ("grids.npz", lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
                         "grids.npz unreadable"),
    "bad CRC": ("grids.npz", _bad_crc, "grids.npz unreadable"),
    "velocity 255": ("grids.npz", lambda p: _rewrite_npz(p, velocities=np.full((7, 9, 64), 255, np.uint8)),
                     "velocity 255"),
    "other array names": ("grids.npz", lambda p: _rewrite_npz(p, velocities=None,
                                                              grids=np.zeros((7, 9, 64), np.uint8)),
                          "holds arrays"),
    "wrong-length split": ("grids.npz", lambda p: _rewrite_npz(p, split=np.array(["train"] * 3)),
                           "split holds"),
    "unknown split names": ("grids.npz", lambda p: _rewrite_npz(p, split=np.array(["x"] * 7)),
                            "unknown split"),
    "float velocities": ("grids.npz", lambda p: _rewrite_npz(p, velocities=np.zeros((7, 9, 64))),
                         "not uint8"),
    "a pickled array": ("grids.npz", lambda p: _rewrite_npz(p, split=np.array([{"a": 1}] * 7)),
                        "grids.npz unreadable"),
    "huge header": ("grids.npz", _huge_header, "claims more data than it holds"),
    "manifest a list": ("manifest.json", lambda p: p.write_text("[1, 2]"), "holds a list"),
    "manifest truncated": ("manifest.json", lambda p: p.write_text(p.read_text()[:50]),
                           "manifest.json unreadable"),
    "deeply nested manifest": ("manifest.json", _nested, "nested too deeply"),
    "manifest without files": ("manifest.json", lambda p: p.write_text('{"settings": {}}'),
                               "no list of files"),
}


@pytest.mark.parametrize("case", DAMAGE)
def test_a_damaged_cache_is_one_line_everywhere_and_rebuilt(loops, tmp_path, case):
    cache = tmp_path / "cache"
    good = build(loops, cache)
    assert len(good) == 7   # 1 + 1 + 5 windows: the 8-bar loop gives 5 four-bar windows
    file, damage, message = DAMAGE[case]
    damage(good.path / file)
    with pytest.raises(EvodrumError, match=message):
        C.load_corpus("loops", cache)
    for args in (["data", "info", "loops"], ["train", "--kind", "pca", "--corpus", "loops"],
                 ["target", "-f", "density=0.3", "--corpus", "loops", "-g", "1", "-p", "4",
                  "--out", str(tmp_path / "t")]):
        r = CliRunner().invoke(main, [*args, "--cache-dir", str(cache)] if args[0] != "target"
                               else args, env={"EVODRUM_CACHE": str(cache)})
        lines = r.output.strip().splitlines()
        assert r.exit_code == 1 and len(lines) == 1, (args, r.output)
        assert lines[0].startswith("error: ") and "corpus cache is damaged" in lines[0], lines[0]
    r = CliRunner().invoke(main, ["data", "build", str(loops), "--cache-dir", str(cache)])
    assert r.exit_code == 0 and "built" in r.output, r.output
    again = C.load_corpus("loops", cache)
    np.testing.assert_array_equal(again.grids, good.grids)
