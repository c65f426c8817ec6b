"""Every command that reads a file leaves it byte for byte as it was: the reading paths
the other tests of this kind do not cover (seed loops of map, interactive and studio,
groove's --like loop, a note map read as --drum-map, a model file given as --model)."""
from __future__ import annotations

import hashlib
import shutil
from importlib import resources

from click.testing import CliRunner
from midi_files import basic_beat, drum_file

from evodrum.cli import main
from vae.cards import DEFAULT_MODEL


def digests(folder) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def test_reading_commands_leave_every_input_as_it_was(tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    mine.mkdir()
    loop = drum_file(mine / "loop.mid", basic_beat(4), length_beats=16)
    other = drum_file(mine / "other.mid", [(x / 2, 42, 70 + x) for x in range(32)]
                      + [(x, 36, 100) for x in range(0, 16, 2)], length_beats=16)
    kit_map = mine / "kit.toml"
    kit_map.write_bytes((resources.files("evodrum") / "notemaps" / "drskit-sfz.toml")
                        .read_bytes())
    for name in ("model.pt", "model.json"):
        shutil.copy(DEFAULT_MODEL.with_name(name), mine / name)
    before = digests(mine)
    out = tmp_path / "out"
    commands = [
        ["map", "-g", 1, "-p", 4, "--space", "pca", "--seed-loops", loop, "--refine", 0,
         "--out", out / "map"],
        ["groove", loop, "--like", other, "-o", out / "g.mid"],
        ["render", loop, "--drum-map", kit_map, "--synth", "builtin", "--sample-rate", 8000,
         "-o", out / "r.wav"],
        ["show", loop, "--drum-map", kit_map],
        ["features", loop, other, "--drum-map", kit_map],
        ["convert", loop, out / "k.mid", "--note-map", kit_map],
        ["sample", "-n", 1, "--model", mine / "model.pt", "--out", out / "s"],
        ["reconstruct", loop, "--model", mine, "--refine", 0, "--out", out / "r"],
    ]
    for args in commands:
        r = CliRunner().invoke(main, [str(a) for a in args])
        assert r.exit_code == 0, (args, r.output)
        assert digests(mine) == before, args
    r = CliRunner().invoke(main, ["interactive", "--no-audio", "--synth", "builtin",
                                  "--seed-loops", str(loop),
                                  "--refine", "0", "--out", str(out / "i")], input="q\n")
    assert r.exit_code == 0, r.output
    assert digests(mine) == before
    import uvicorn
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: None)   # started and stopped
    r = CliRunner().invoke(main, ["studio", "--no-browser", "--port", "0", "--seed-loops",
                                  str(loop), "--drum-map", str(kit_map), "--refine", "0",
                                  "--out", str(out / "studio")])
    assert r.exit_code == 0, r.output
    assert digests(mine) == before
