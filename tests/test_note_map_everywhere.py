"""`--note-map` on every command that writes or plays MIDI, and the shipped note maps:
real MIDI files are written, their pitches read back, and read back through the same map
they give the loops the command made."""
from __future__ import annotations

import json

import mido
import numpy as np
import pytest
from cli_runner import run

from evodrum import gridfile, kit, notemap
from evodrum.examples import path as example
from evodrum.grid import DEFAULT_SPEC
from evodrum.loop import Loop

#: A drum instrument whose pitches share nothing with General MIDI's nine, so a file
#: written at the wrong map cannot pass.
MINE = """name = "Far away kit"
[pitches]
BD = 60
SD = 62
CH = 64
OH = 65
RD = 67
CR = 69
LT = 71
MT = 72
HT = 74
"""


@pytest.fixture
def mine(tmp_path):
    path = tmp_path / "far.toml"
    path.write_text(MINE)
    return path


def note_ons(path) -> list[int]:
    return [m.note for t in mido.MidiFile(path).tracks for m in t
            if m.type == "note_on" and m.velocity > 0]


def read_back(path, note_map):
    """The file's first grid, its pitches read into rows through `note_map`."""
    return gridfile.read_file(path, DEFAULT_SPEC, note_map).loop(0)


def assert_at_map_pitches(files, note_map, grids=None):
    """Every note of every file is at `note_map`'s pitches, and read back through it each
    file is `grids[i]`'s hits (the loops the command made) when given, else has hits."""
    assert files, "the command wrote no MIDI"
    for i, path in enumerate(files):
        pitches = note_ons(path)
        assert pitches and set(pitches) <= set(note_map.pitches), (path, set(pitches))
        back = read_back(path, note_map)
        if grids is not None:
            np.testing.assert_array_equal(back.hits, grids[i] > 0, err_msg=str(path))
        else:
            assert back.hits.sum() == len(pitches)


def npz_grids(folder, name):
    return gridfile.load_loops(folder / name, DEFAULT_SPEC).velocities


ROCK, FUNK = example("rock"), example("funk")


@pytest.mark.parametrize("command, npz", [
    (["sample", "-n", "2", "--seed", "1"], "samples.npz"),
    (["reconstruct", ROCK, "--refine", "0"], "reconstruction.npz"),
    (["interpolate", ROCK, FUNK, "--steps", "3", "--refine", "0"], "interpolation.npz"),
    (["vary", ROCK, "-n", "2", "--refine", "0", "--seed", "1"], "variations.npz"),
    (["steer", ROCK, "-a", "hats.density=+1", "--refine", "0"], "steered.npz"),
])
def test_model_commands_write_every_loop_at_the_maps_pitches(tmp_path, mine, command, npz):
    out = tmp_path / "out"
    r = run(*command, "--out", out, "--note-map", mine)
    assert r.exit_code == 0, r.output
    files = sorted(out.glob("*.mid"))
    grids = npz_grids(out, npz)
    assert len(files) == len(grids)
    assert_at_map_pitches(files, notemap.load(str(mine)), grids)
    assert mine.read_text() == MINE


def test_target_writes_its_best_loops_at_the_maps_pitches(tmp_path, mine):
    out = tmp_path / "run"
    r = run("target", "-f", "density=0.3", "-g", "2", "-p", "8", "--out", out,
            "--note-map", "roland-td")
    assert r.exit_code == 0, r.output
    files = sorted(out.glob("best_*.mid"))
    assert_at_map_pitches(files, notemap.load("roland-td"))
    r = run("target", "-f", "density=0.3", "--algorithm", "nsga2", "-g", "2", "-p", "8",
            "--out", tmp_path / "front", "--note-map", mine)
    assert r.exit_code == 0, r.output
    assert_at_map_pitches(sorted((tmp_path / "front").glob("*.mid")), notemap.load(str(mine)))


def test_map_writes_every_elite_at_the_maps_pitches(tmp_path, mine):
    out = tmp_path / "atlas"
    r = run("map", "--cells", "4", "-g", "2", "-p", "8", "--out", out, "--note-map", mine)
    assert r.exit_code == 0, r.output
    assert_at_map_pitches(sorted((out / "elites").glob("*.mid")), notemap.load(str(mine)))


def test_groove_and_play_write_at_the_maps_pitches(tmp_path, mine):
    m = notemap.load(str(mine))
    r = run("groove", ROCK, "-o", tmp_path / "felt.mid", "--seed", "1", "--note-map", mine)
    assert r.exit_code == 0, r.output
    rock = gridfile.read_file(ROCK, DEFAULT_SPEC).loop(0)
    assert_at_map_pitches([tmp_path / "felt.mid"], m, rock.velocities[None])
    r = run("play", ROCK, "--no-audio", "--synth", "builtin", "--out-dir", tmp_path / "listen",
            "--note-map", mine)
    assert r.exit_code == 0, r.output
    assert_at_map_pitches(sorted((tmp_path / "listen").glob("*.mid")), m,
                          rock.velocities[None])


def test_a_bad_map_stops_a_command_before_it_writes(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(MINE.replace("SD = 62", "SD = 300"))
    out = tmp_path / "never"
    r = run("vary", ROCK, "--out", out, "--note-map", bad)
    assert r.exit_code == 1 and r.output.strip().splitlines() == [
        f"error: {bad}: SD must be a MIDI pitch 0-127, got 300"]
    assert not out.exists()


# --- the shipped maps ----------------------------------------------------------------

@pytest.mark.parametrize("name", notemap.builtin_names())
def test_every_shipped_map_loads_cites_its_source_and_round_trips(tmp_path, name):
    """Each shipped map has a source, nine distinct pitches, and a loop written with it
    carries exactly those notes and reads back through it to the same grid and timing."""
    from evodrum import midi
    m = notemap.load(name)
    assert m.source and len(m.pitches) == len(kit.ROWS) == len(set(m.pitches))
    text = (notemap._folder() / f"{name}.toml").read_text()
    assert text.startswith("# evodrum note map")
    rng = np.random.default_rng(3)
    velocities = np.where(rng.random((9, 64)) < 0.3, rng.uniform(0.2, 1, (9, 64)), 0)
    velocities[:, 0] = 0.8                               # every row plays
    loop = Loop(velocities.astype(np.float32),
                np.where(velocities > 0, rng.uniform(-0.3, 0.3, (9, 64)), 0).astype(np.float32))
    path = midi.write_midi(tmp_path / f"{name}.mid", loop, bpm=97, note_map=m)
    assert set(note_ons(path)) == set(m.pitches)
    back = read_back(path, m)
    np.testing.assert_array_equal(back.hits, loop.hits)
    np.testing.assert_allclose(back.velocities, loop.velocities, atol=1 / 127)
    np.testing.assert_allclose(back.offsets[loop.hits], loop.offsets[loop.hits], atol=0.01)


# --- reading back what was written with a map ---------------------------------------------

def write_with(path, note_map, velocities=None):
    """A loop with every row playing (or `velocities`), written at `note_map`'s pitches."""
    if velocities is None:
        rng = np.random.default_rng(5)
        velocities = np.where(rng.random((9, 64)) < 0.25, 0.8, 0).astype(np.float32)
        velocities[:, ::16] = 0.8
    from evodrum import midi
    return midi.write_midi(path, Loop(velocities, np.zeros_like(velocities)),
                           note_map=notemap.load(str(note_map)))


@pytest.mark.parametrize("name", ["drskit-sfz", "mine"])
def test_a_loop_written_with_a_map_reads_back_through_drum_map(tmp_path, mine, name):
    """What a DAW user does: export with --note-map, edit in the DAW, bring it back.
    Read as General MIDI, these maps' files lose rows (DRSKit's hats on 56 and 58 are a
    cowbell and a tom there); `--drum-map` with the same map reads every hit into the row
    it was written from, and leaves the file as it was."""
    chosen = str(mine) if name == "mine" else name
    path = write_with(tmp_path / "kit.mid", chosen)
    written = path.read_bytes()
    hits = gridfile.read_file(path, DEFAULT_SPEC, notemap.load(chosen)).loop(0).hits
    r = run("convert", path, tmp_path / "as-gm.npz")
    assert r.exit_code == 0, r.output
    as_gm = gridfile.load_loops(tmp_path / "as-gm.npz", DEFAULT_SPEC).hits[0]
    assert not np.array_equal(as_gm, hits)
    r = run("convert", path, tmp_path / "back.npz", "--drum-map", chosen)
    assert r.exit_code == 0, r.output
    back = gridfile.load_loops(tmp_path / "back.npz", DEFAULT_SPEC).hits[0]
    assert back.any(axis=1).all()
    np.testing.assert_array_equal(back, hits)
    assert path.read_bytes() == written


def test_a_file_of_a_shipped_maps_pitches_read_as_gm_says_which_map(tmp_path):
    """Read as General MIDI, DRSKit's hat pitches are a cowbell and a low tom: the
    reader says so and names the --drum-map that reads the file as it was written."""
    velocities = np.zeros((9, 64), np.float32)
    velocities[kit.ROWS.index("CH"), ::2] = velocities[kit.ROWS.index("BD"), ::8] = 0.8
    path = write_with(tmp_path / "drskit.mid", "drskit-sfz", velocities)
    r = run("show", path, "--ascii")
    assert "read it with --drum-map drskit-sfz" in r.output
    r = run("show", path, "--ascii", "--drum-map", "drskit-sfz")
    assert r.exit_code == 0 and "read percussion" not in r.output


@pytest.mark.parametrize("given, problem", [
    ("nope", "--drum-map nope: no such map: use one of groove, magenta, "
             f"{', '.join(notemap.builtin_names())} or a .toml note map file"),
    ("missing.toml", "missing.toml: no such note map file"),
    (".", ".: is a folder, not a note map file"),
    ("bad.toml", "bad.toml: not a note map (TOML"),
    ("twice.toml", "twice.toml: CH and OH share pitch 65: a file written with this map "
                   "cannot be read back into its rows"),
])
def test_a_drum_map_that_cannot_read_is_one_line(tmp_path, monkeypatch, given, problem):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text("[pitches\n")
    (tmp_path / "twice.toml").write_text(MINE.replace("CH = 64", "CH = 65"))
    r = run("show", ROCK, "--drum-map", given)
    lines = r.output.strip().splitlines()
    assert r.exit_code == 1 and len(lines) == 1 and lines[0].startswith(f"error: {problem}")


def test_target_reads_its_seed_loops_through_the_map_and_keeps_its_full_path(tmp_path, mine,
                                                                           monkeypatch):
    """A relative --drum-map is stored as a full path, so --resume works from anywhere;
    the locked snare row is the seed loop's as written at the map's pitches."""
    monkeypatch.chdir(mine.parent)
    seed = write_with(tmp_path / "seed.mid", mine)
    snare = gridfile.read_file(seed, DEFAULT_SPEC, notemap.load(str(mine))).loop(0).hits[1]
    out = tmp_path / "run"
    r = run("target", "-f", "density=0.3", "-g", "2", "-p", "8", "--seed-loops", seed,
            "--lock", "SD", "--drum-map", mine.name, "--out", out)
    assert r.exit_code == 0, r.output
    assert json.loads((out / "job.json").read_text())["drum_map"] == str(mine)
    for best in sorted(out.glob("best_*.mid")):
        np.testing.assert_array_equal(
            gridfile.read_file(best, DEFAULT_SPEC).loop(0).hits[1], snare)
    monkeypatch.chdir(tmp_path / "run")
    (out / "checkpoint.npz").unlink(missing_ok=True)
    r = run("target", "--resume", ".")
    assert r.exit_code == 0, r.output


def test_corpus_keys_stay_the_same_for_the_kit_drum_maps():
    """Caches built before note maps could read stay valid: no key for groove, the name
    for magenta; a note map is keyed by its pitches."""
    from evodrum.corpus import Settings
    assert "drum_map" not in Settings().to_dict()
    assert Settings(drum_map="magenta").to_dict()["drum_map"] == "magenta"
    assert Settings(drum_map=notemap.load("drskit-sfz")).to_dict()["drum_map"] == {
        "note_map": notemap.load("drskit-sfz").to_dict()["pitches"]}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_corpus_read_through_your_map_is_rebuilt_when_the_map_changes(tmp_path, mine,
                                                                        workers):
    """`data build --drum-map FILE` keys its cache on the file's pitches, not its name."""
    from evodrum.corpus import build_corpus
    source = tmp_path / "midi"
    source.mkdir()
    velocities = np.zeros((9, 64), np.float32)
    velocities[kit.ROWS.index("BD"), ::8] = velocities[kit.ROWS.index("SD"), 4::8] = 0.8
    write_with(source / "loop.mid", mine, velocities)

    def build():
        return build_corpus(source, cache_dir=tmp_path / "cache", drum_map=str(mine),
                            workers=workers).grids[0] > 0

    np.testing.assert_array_equal(build(), velocities > 0)
    mine.write_text(MINE.replace("SD = 62", "SD = 63"))   # 62 is now no drum of the map
    assert not build()[kit.ROWS.index("SD")].any()
