"""Locked rows keep the seed loop as the musician played it (its exact ticks and
velocities), in every result written or played: target, interactive and the studio, with
the model's feel on the rest. The seed is read with --drum-channel like any input."""
from __future__ import annotations

import json

import mido
import numpy as np
import pytest
from click.testing import CliRunner
from midi_files import basic_beat, drum_file

from evodrum import kit
from evodrum.cli import main
from evodrum.errors import EvodrumError
from evodrum.lock import Lock

LOCKED = {kit.OUTPUT_PITCH["BD"], kit.OUTPUT_PITCH["SD"]}


def felt_seed(path):
    """Four bars of kick, snare and hats played with a drummer's timing and dynamics, on
    channel 3; channel 10 holds only a crash on every bar (so reading the wrong channel
    gives no kick or snare at all)."""
    rng = np.random.default_rng(7)
    hits = [(max(0.0, b + rng.uniform(-0.04, 0.04)), p, int(np.clip(v + rng.integers(-25, 10),
                                                                      20, 127)))
            for b, p, v in basic_beat(4)]
    drum_file(path, hits, channel=2, length_beats=16)
    song = mido.MidiFile(path)
    crash = mido.MidiTrack()
    for bar in range(4):
        crash += [mido.Message("note_on", channel=9, note=49, velocity=90,
                               time=0 if bar == 0 else 1800),
                  mido.Message("note_off", channel=9, note=49, velocity=0, time=120)]
    song.tracks.append(crash)
    song.save(path)
    return path


def locked_notes(path) -> set[tuple[int, int, int]]:
    """(absolute tick, pitch, velocity) of every kick and snare note in a MIDI file."""
    out, song = set(), mido.MidiFile(path)
    assert song.ticks_per_beat == 480
    for track in song.tracks:
        tick = 0
        for m in track:
            tick += m.time
            if m.type == "note_on" and m.velocity > 0 and m.note in LOCKED:
                out.add((tick, m.note, m.velocity))
    return out


@pytest.fixture
def seed(tmp_path):
    return felt_seed(tmp_path / "mine.mid")


def played_seed(seed):
    """The seed's kick and snare as the musician played them: ticks and velocities."""
    notes = locked_notes(seed)
    assert len(notes) == 16 and any(t % 120 for t, _, _ in notes)     # off the grid
    return notes


def test_target_results_keep_the_seeds_kick_and_snare_as_played(tmp_path, seed):
    want = played_seed(seed)
    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["target", "-f", "hats.density=0.8", "--seed-loops", seed,
                                  "--drum-channel", "3", "--lock", "BD,SD", "-g", "3", "-p", "10",
                                  "--out", str(out)])
    assert r.exit_code == 0, r.output
    files = sorted(out.glob("best_*.mid"))
    assert files
    for path in files:
        assert locked_notes(path) == want, path
    job = json.loads((out / "job.json").read_text())
    assert job["drum_channel"] == 3 and len(job["lock"]["offsets"]) == 2 * 64
    wrong = CliRunner().invoke(main, ["target", "-f", "hats.density=0.8", "--seed-loops", seed,
                                      "--lock", "BD,SD", "-g", "2", "-p", "8",
                                      "--out", str(tmp_path / "wrong")])
    assert wrong.exit_code == 0, wrong.output          # channel 10 read: only a crash
    assert not locked_notes(next((tmp_path / "wrong").glob("best_*.mid")))


def test_interactive_files_keep_the_seeds_kick_and_snare_as_played(tmp_path, seed):
    want = played_seed(seed)
    folder = tmp_path / "session"
    r = CliRunner().invoke(main, ["interactive", "--no-audio", "--synth", "builtin", "--seed", "2",
                                  "--loops", "4", "--seed-loops", str(seed), "--drum-channel",
                                  "3", "--lock", "BD,SD", "--out", str(folder)],
                           input="f 2, s 3\n2 8\nn\nf 4\nq\n")
    assert r.exit_code == 0, r.output
    files = [*folder.glob("saved/*.mid"), *folder.glob("favourites/*.mid"),
             *folder.glob("listen/*.mid")]
    assert len(files) >= 7          # saved, 2 favourites, the last generation
    for path in files:
        assert locked_notes(path) == want, path
    saved = json.loads((folder / "session.json").read_text())
    assert saved["settings"]["drum_channel"] == 3 and "offsets" in saved["lock"]


def test_studio_exports_keep_the_seeds_kick_and_snare_as_played(tmp_path, seed):
    from evodrum.cli.feel import session_performer
    from evodrum.interactive import store
    from evodrum.interactive.lifecycle import start_session
    from evodrum.interactive.session import Settings
    from evodrum.studio.state import Studio
    want = played_seed(seed)
    session, folder, space = start_session(Settings(seed=1, loops=4, seed_loops=(str(seed),),
                                                    drum_channel=3, lock=("BD", "SD")),
                                           tmp_path / "studio")
    performer = session_performer(session, 1.0, 1.0, 50.0)
    studio = Studio(session, folder, space, performer=performer)
    studio.breed()
    for loop in session.shown():
        path = tmp_path / f"loop-{loop.id}.mid"
        path.write_bytes(studio.midi(loop.id))
        assert locked_notes(path) == want, loop.id
    again = store.load(folder)                           # the lock's timing is saved
    np.testing.assert_array_equal(again.lock.offsets[again.lock.mask],
                                  session.lock.offsets[session.lock.mask])


def test_a_lock_round_trips_its_timing_and_refuses_bad_offsets():
    from evodrum.grid import DEFAULT_SPEC
    grid = np.zeros((9, 64), np.float32)
    grid[0, ::4] = 0.8
    offsets = np.where(grid > 0, 0.125, 0).astype(np.float32)
    lock = Lock.of_rows(("BD",), grid, offsets) | Lock.of_edit(
        np.where(np.arange(64) == 3, 0.5, 0).astype(np.float32)[None].repeat(9, 0) * (
            np.arange(9)[:, None] == 2), np.zeros((9, 64), np.float32))
    back = Lock.from_dict(json.loads(json.dumps(lock.to_dict())), DEFAULT_SPEC)
    np.testing.assert_array_equal(back.mask, lock.mask)
    assert back.offsets[0, 0] == 0.125 and np.isnan(back.offsets[2, 3])   # edit: no timing
    for bad in ([0.7] * 65, ["x"] * 65, [0.1]):
        d = dict(lock.to_dict(), offsets=bad)
        with pytest.raises(ValueError, match="offsets"):
            Lock.from_dict(d, DEFAULT_SPEC)


def test_map_elites_keep_the_seeds_kick_and_snare_as_played(tmp_path, seed):
    want = played_seed(seed)
    out = tmp_path / "atlas"
    r = CliRunner().invoke(main, ["map", "--cells", "4", "-g", "2", "-p", "8", "--seed-loops",
                                  str(seed), "--drum-channel", "3", "--lock", "BD,SD",
                                  "--out", str(out)])
    assert r.exit_code == 0, r.output
    elites = sorted((out / "elites").glob("*.mid"))
    assert len(elites) > 1
    for path in elites:
        assert locked_notes(path) == want, path
    job = json.loads((out / "job.json").read_text())
    assert job["seed_loops"] == [str(seed.resolve())] and job["lock"]["offsets"]
    resumed = CliRunner().invoke(main, ["map", "--resume", str(out)])
    assert resumed.exit_code == 0, resumed.output
    again = CliRunner().invoke(main, ["map", "--resume", str(out), "--lock", "HT"])
    assert again.exit_code == 1 and "drop --lock" in again.output
    lonely = CliRunner().invoke(main, ["map", "--lock", "BD", "--out", str(tmp_path / "x")])
    assert lonely.exit_code == 1 and "give it with --seed-loops FILE.mid" in lonely.output
    assert "--like" not in lonely.output and not (tmp_path / "x").exists()


def test_rows_locked_on_the_studio_page_from_a_seed_keep_the_file_as_played(tmp_path, seed):
    """The lock buttons on a seed loop's card take the file's rows (hits, velocities,
    timing), not the model's version of them; the seed's timing is saved with it."""
    from evodrum.cli.feel import session_performer
    from evodrum.interactive import store
    from evodrum.interactive.lifecycle import start_session
    from evodrum.interactive.session import Settings
    from evodrum.studio.state import Studio
    want = played_seed(seed)
    session, folder, space = start_session(Settings(seed=5, loops=4, seed_loops=(str(seed),),
                                                    drum_channel=3), tmp_path / "studio")
    performer = session_performer(session, 1.0, 1.0, 50.0)
    studio = Studio(session, folder, space, performer=performer)
    studio.set_lock(["BD", "SD"], 1)                      # loop #1 is the seed
    studio.breed()
    for loop in session.shown():
        path = tmp_path / f"loop-{loop.id}.mid"
        path.write_bytes(studio.midi(loop.id))
        assert locked_notes(path) == want, loop.id
    again = store.load(folder).loops[1]
    np.testing.assert_array_equal(again.original_offsets, session.loops[1].original_offsets)


def test_o_plays_the_seed_file_with_its_own_timing(tmp_path, seed):
    folder = tmp_path / "session"
    r = CliRunner().invoke(main, ["interactive", "--no-audio", "--synth", "builtin", "--seed", "2",
                                  "--loops", "4", "--seed-loops", str(seed), "--drum-channel",
                                  "3", "--out", str(folder)], input="o 1\nq\n")
    assert r.exit_code == 0, r.output
    written = folder / "listen" / "loop1-original.mid"
    assert locked_notes(written) == played_seed(seed)


@pytest.mark.parametrize("bad", [[0.1], ["x"], [0.5] * 200])
def test_a_session_whose_seed_timing_is_damaged_is_one_error_line(tmp_path, seed, bad):
    from evodrum.interactive import store
    from evodrum.interactive.lifecycle import start_session
    from evodrum.interactive.session import Settings
    session, folder, _ = start_session(Settings(seed=1, loops=2, fresh=0,
                                                seed_loops=(str(seed),), drum_channel=3),
                                       tmp_path / "s")
    store.save(session, folder / store.SESSION_FILE)
    d = json.loads((folder / store.SESSION_FILE).read_text())
    seed_loop = next(lp for lp in d["loops"] if lp["op"] == "seed")
    assert len(seed_loop["original_offsets"]) == len(seed_loop["original_hits"])
    seed_loop["original_offsets"] = bad if len(bad) != 200 else \
        [0.5] * len(seed_loop["original_hits"])
    (folder / store.SESSION_FILE).write_text(json.dumps(d))
    with pytest.raises(EvodrumError, match="original_offsets"):
        store.load(folder)


@pytest.mark.parametrize("command", [
    ["target", "-f", "density=0.3", "-g", "2", "-p", "8"],
    ["interactive", "--no-audio", "--synth", "builtin", "--loops", "2", "--fresh", "0"],
])
def test_seed_loops_say_what_was_done_to_them_as_every_reading_command(tmp_path, command):
    """A one-bar seed is tiled to the model's four bars, and says so, as `vary` would."""
    short = drum_file(tmp_path / "one-bar.mid", basic_beat(1), length_beats=4)
    r = CliRunner().invoke(main, [*command, "--seed-loops", str(short), "--out",
                                  str(tmp_path / "out")], input="q\n")
    assert r.exit_code == 0, r.output
    said = [line for line in r.output.splitlines() if line.startswith(f"note: {short}: ")]
    assert said and "a 1-bar loop, repeated 4 times" in said[0]
