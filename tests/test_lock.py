"""Locked rows (`--lock`) as a musician uses them: the kick and snare of their own loop
stay exactly as written (hits and velocities) in every variation, steered loop, search
result and bred generation, in every space and algorithm, and the rest still changes."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from evodrum import examples, midi
from evodrum.cli import main
from evodrum.errors import EvodrumError
from evodrum.grid import DEFAULT_SPEC, to_midi_velocity
from evodrum.interactive import store
from evodrum.interactive.breeding import breed, new_session
from evodrum.interactive.models import open_space
from evodrum.interactive.session import Settings
from evodrum.kit import ROWS
from evodrum.lock import Lock, parse_rows

BD, SD = ROWS.index("BD"), ROWS.index("SD")
KEPT = [BD, SD]
FREE = [r for r in range(len(ROWS)) if r not in KEPT]


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def rock():
    return examples.path("rock")


def written(folder, pattern):
    """The MIDI files a command wrote, read back as grids of MIDI velocities."""
    paths = sorted(folder.glob(pattern))
    assert paths
    return np.stack([to_midi_velocity(midi.read_loop(p, DEFAULT_SPEC)) for p in paths])


def assert_locked(grids, original):
    mine = to_midi_velocity(original)
    for g in grids:
        assert (g[KEPT] == mine[KEPT]).all(), "a locked row changed"


def test_rows_parse_as_codes_or_plain_names():
    assert parse_rows("BD,SD") == ("BD", "SD")
    assert parse_rows("snare, kick") == ("BD", "SD")
    assert parse_rows("hats") == ("CH", "OH")
    with pytest.raises(EvodrumError, match="no row 'cowbell'"):
        parse_rows("BD,cowbell")


def test_vary_keeps_locked_rows_and_varies_the_rest(rock, tmp_path):
    run("vary", rock, "-n", "6", "--amount", "0.6", "--lock", "BD,SD", "--out", tmp_path / "v")
    grids = written(tmp_path / "v", "variation_*.mid")
    original = midi.read_loop(rock, DEFAULT_SPEC)
    assert_locked(grids, original)
    # the other rows are searched: the variations differ from each other there
    assert len({g[FREE].tobytes() for g in grids}) >= 4


def test_steer_keeps_locked_rows_while_the_hats_move(rock, tmp_path):
    run("steer", rock, "-a", "hats.density=+2", "--lock", "kick,snare", "--out", tmp_path / "s")
    steered = written(tmp_path / "s", "steered_*.mid")
    original = midi.read_loop(rock, DEFAULT_SPEC)
    assert_locked(steered, original)
    hats = [ROWS.index("CH"), ROWS.index("OH")]
    assert (steered[0][hats] > 0).sum() != (to_midi_velocity(original)[hats] > 0).sum()


@pytest.mark.parametrize("space,algorithm", [("vae", "ga"), ("pca", "cmaes"),
                                             ("grid", "nsga2"), ("vae", "random")])
def test_target_results_keep_locked_rows_in_every_space_and_algorithm(rock, tmp_path, space,
                                                                      algorithm):
    out = tmp_path / "t"
    run("target", "-f", "hats.density=0.6", "--seed-loops", rock, "--lock", "BD,SD",
        "--space", space, "--algorithm", algorithm, "-g", "3", "-p", "12", "--out", out)
    original = midi.read_loop(rock, DEFAULT_SPEC)
    assert_locked(written(out, "best_*.mid"), original)
    if algorithm == "nsga2":
        assert_locked(written(out, "front_*.mid"), original)
    job = json.loads((out / "job.json").read_text())
    assert Lock.from_dict(job["lock"], DEFAULT_SPEC).rows == ("BD", "SD")


def test_target_lock_needs_a_loop_to_keep():
    result = CliRunner().invoke(main, ["target", "-f", "density=0.3", "--lock", "BD"])
    assert result.exit_code != 0
    assert "--seed-loops" in result.output and "Traceback" not in result.output


def test_interactive_generations_keep_locked_rows_and_resume_with_them(rock, tmp_path):
    space = open_space(Settings())
    session = new_session(Settings(seed_loops=(str(rock),), lock=("BD", "SD"), seed=3), space)
    for _ in range(3):
        for position in range(3):
            session.rate(position, 9 - position)
        breed(session, space)
    original = midi.read_loop(rock, DEFAULT_SPEC)
    grids = to_midi_velocity(np.stack([lp.grid for lp in session.loops.values()]))
    assert_locked(grids, original)
    assert len({g[FREE].tobytes() for g in grids}) >= 10     # the rest still evolves
    store.save(session, tmp_path / "session.json")
    again = store.load(tmp_path / "session.json")
    assert again.lock is not None and again.lock.rows == ("BD", "SD")
    breed(again, space)
    assert_locked(to_midi_velocity(np.stack([lp.grid for lp in again.shown()])), original)


def test_interactive_lock_without_a_seed_loop_is_refused():
    with pytest.raises(EvodrumError, match="--seed-loops"):
        Settings(lock=("BD",))


def test_interactive_command_with_lock_says_so_and_its_favourites_keep_the_rows(rock, tmp_path):
    """`evodrum interactive --seed-loops rock.mid --lock BD,SD`, typed as a musician would:
    the screen says what is locked, and the favourite written as MIDI keeps the rows."""
    folder = tmp_path / "session"
    done = CliRunner().invoke(main, [
        "interactive", "--no-audio", "--synth", "builtin", "--seed", "2", "--seed-loops",
        str(rock), "--lock", "BD,SD", "--out", str(folder)], input="2 9, 3 7, n\n5 9, f 5, q\n")
    assert done.exit_code == 0, done.output
    assert "BD, SD locked" in done.output
    favourites = written(folder / "favourites", "*.mid")
    assert_locked(favourites, midi.read_loop(rock, DEFAULT_SPEC))
    assert json.loads((folder / "session.json").read_text())["settings"]["lock"] == ["BD", "SD"]


def test_locked_rows_keep_the_musicians_timing_too(rock, tmp_path):
    """A kick and snare played late (+0.2 of a step) stay late in every variation: the
    lock keeps the rows' timing as performed, not the model's (or a straight) one."""
    from evodrum.loop import Loop
    grid = midi.read_loop(rock, DEFAULT_SPEC)
    offsets = np.zeros_like(grid)
    offsets[KEPT] = np.where(grid[KEPT] > 0, 0.2, 0.0)
    late = midi.write_midi(tmp_path / "late.mid", Loop(grid, offsets, DEFAULT_SPEC),
                           DEFAULT_SPEC, 100.0)
    run("vary", late, "-n", "3", "--lock", "BD,SD", "--out", tmp_path / "v")
    for path in sorted((tmp_path / "v").glob("variation_*.mid")):
        _, windows = midi.read_windows(path, DEFAULT_SPEC)
        hit = windows.grids[0][KEPT] > 0
        assert (to_midi_velocity(grid)[KEPT] == windows.grids[0][KEPT]).all()
        np.testing.assert_allclose(windows.offsets[0][KEPT][hit], 0.2, atol=0.02)
