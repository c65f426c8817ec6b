"""`--note-map` on every command that writes or plays MIDI, and the shipped note maps:
real MIDI files are written, their pitches read back, and read back through the same map
they give the loops the command made."""
from __future__ import annotations

import mido
import numpy as np
import pytest
from click.testing import CliRunner

from evodrum import gridfile, kit, notemap
from evodrum.cli import main
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
    return gridfile.read_file(path, DEFAULT_SPEC, note_map.reading_table()).loop(0)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


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

@pytest.mark.parametrize("name", [*notemap.builtin_names(), "mine"])
def test_a_loop_written_with_a_map_reads_back_through_drum_map(tmp_path, mine, name):
    """What a DAW user does: export with --note-map, edit in the DAW, bring it back.
    `--drum-map` with the same map reads every hit into the row it was written from,
    and leaves the file as it was."""
    chosen = str(mine) if name == "mine" else name
    rng = np.random.default_rng(5)
    grid = np.where(rng.random((1, 9, 64)) < 0.25, 0.8, 0).astype(np.float32)
    np.save(tmp_path / "loop.npy", grid)
    assert run("convert", tmp_path / "loop.npy", tmp_path / "kit.mid",
               "--note-map", chosen).exit_code == 0
    written = (tmp_path / "kit.mid").read_bytes()
    r = run("convert", tmp_path / "kit.mid", tmp_path / "back.npz", "--drum-map", chosen)
    assert r.exit_code == 0, r.output
    back = gridfile.load_loops(tmp_path / "back.npz", DEFAULT_SPEC).hits
    np.testing.assert_array_equal(back[0], grid[0] > 0)
    assert (tmp_path / "kit.mid").read_bytes() == written


def test_a_file_of_a_shipped_maps_pitches_read_as_gm_says_which_map(tmp_path):
    """Read as General MIDI, DRSKit's hat pitches are a cowbell and a low tom: the
    reader says so and names the --drum-map that reads the file as it was written."""
    grid = np.zeros((1, 9, 64), np.float32)
    grid[0, kit.ROWS.index("CH"), ::2] = grid[0, kit.ROWS.index("BD"), ::8] = 0.8
    np.save(tmp_path / "loop.npy", grid)
    run("convert", tmp_path / "loop.npy", tmp_path / "drskit.mid", "--note-map", "drskit-sfz")
    r = run("show", tmp_path / "drskit.mid", "--ascii")
    assert "read it with --drum-map drskit-sfz" in r.output
    r = run("show", tmp_path / "drskit.mid", "--ascii", "--drum-map", "drskit-sfz")
    assert r.exit_code == 0 and "read percussion" not in r.output


def test_an_unknown_drum_map_is_one_line_naming_the_choices(tmp_path):
    r = run("show", ROCK, "--drum-map", "nope")
    assert r.exit_code == 1 and r.output.strip().splitlines() == [
        "error: --drum-map nope: no such map: use one of groove, magenta, "
        f"{', '.join(notemap.builtin_names())} or a .toml note map file"]


def test_a_corpus_read_through_your_map_is_rebuilt_when_the_map_changes(tmp_path, mine):
    """`data build --drum-map FILE` keys its cache on the file's pitches, not its name."""
    from evodrum import midi
    from evodrum.corpus import build_corpus
    source = tmp_path / "midi"
    source.mkdir()
    velocities = np.zeros((9, 64), np.float32)
    velocities[kit.ROWS.index("BD"), ::8] = velocities[kit.ROWS.index("SD"), 4::8] = 0.8
    midi.write_midi(source / "loop.mid", Loop(velocities, np.zeros_like(velocities)),
                    note_map=notemap.load(str(mine)))
    build = lambda: build_corpus(source, cache_dir=tmp_path / "cache", drum_map=str(mine),
                                 workers=1).grids[0] > 0
    np.testing.assert_array_equal(build(), velocities > 0)
    mine.write_text(MINE.replace("SD = 62", "SD = 63"))   # 62 is now no drum of the map
    snare = build()[kit.ROWS.index("SD")]
    assert not snare.any()
