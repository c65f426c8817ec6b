"""The studio saves a session incrementally (a snapshot plus a journal of changes):
what `interactive` and the studio load must be the session as it was after the last
whole change, whatever happened to the files."""
from __future__ import annotations

import json
import shutil

import pytest

from evodrum.errors import EvodrumError
from evodrum.interactive import store
from evodrum.interactive.breeding import new_session
from evodrum.interactive.models import open_space
from evodrum.interactive.session import Settings
from evodrum.studio.state import Studio


@pytest.fixture(scope="module")
def space():
    return open_space(Settings(space="pca"))


def clicks(studio: Studio, n: int) -> None:
    """Ratings, favourites, breeding, going back and undoing, as a listener does."""
    for i in range(n):
        ids = [lp.id for lp in studio.session.shown()]
        studio.rate(ids[i % len(ids)], i % 10)
        if i % 3 == 0:
            studio.favourite(ids[(i + 1) % len(ids)])
        studio.breed()
        if i % 4 == 1:
            studio.undo()
        if i % 5 == 2:
            studio.go_to(1)


def test_every_click_is_saved_and_loads_as_it_was(space, tmp_path):
    studio = Studio(new_session(Settings(space="pca", seed=3), space), tmp_path, space)
    for _ in range(4):
        clicks(studio, 3)
        assert store.to_dict(store.load(tmp_path)) == store.to_dict(studio.session)
    snapshot = (tmp_path / store.SESSION_FILE).stat().st_size
    journal = (tmp_path / store.JOURNAL_FILE).stat().st_size
    assert 0 < journal < snapshot          # each click appended its change, no rewrite


@pytest.mark.parametrize("damage", ["remove the file", "remove the folder"])
def test_a_snapshot_removed_while_the_studio_runs_is_written_again_at_the_next_click(
        space, tmp_path, damage):
    folder = tmp_path / "session"
    studio = Studio(new_session(Settings(space="pca", seed=6), space), folder, space)
    clicks(studio, 2)
    if damage == "remove the file":
        (folder / store.SESSION_FILE).unlink()
    else:
        shutil.rmtree(folder)
    ids = [lp.id for lp in studio.session.shown()]
    studio.rate(ids[0], 7)                 # a journal line alone would load as nothing
    assert studio.saver.problem is None
    assert store.to_dict(store.load(folder)) == store.to_dict(studio.session)


def test_the_journal_is_compacted_into_a_new_snapshot(space, tmp_path):
    studio = Studio(new_session(Settings(space="pca", seed=4), space), tmp_path, space)
    first = json.loads((tmp_path / store.SESSION_FILE).read_text())["journal"]
    clicks(studio, 40)
    now = json.loads((tmp_path / store.SESSION_FILE).read_text())["journal"]
    assert now != first                    # compacted at least once
    lines = (tmp_path / store.JOURNAL_FILE).read_bytes().splitlines() \
        if (tmp_path / store.JOURNAL_FILE).exists() else []
    assert all(json.loads(line)["base"] == now for line in lines)
    assert store.to_dict(store.load(tmp_path)) == store.to_dict(studio.session)


def test_a_crash_mid_line_or_mid_compaction_loses_only_the_last_change(space, tmp_path):
    studio = Studio(new_session(Settings(space="pca", seed=5), space), tmp_path, space)
    clicks(studio, 3)
    before = store.to_dict(studio.session)
    ids = [lp.id for lp in studio.session.shown()]
    studio.rate(ids[0], 7)
    journal = tmp_path / store.JOURNAL_FILE
    whole = journal.read_bytes()
    journal.write_bytes(whole[:-5])        # the last line cut short by a crash
    assert store.to_dict(store.load(tmp_path)) == before
    # a snapshot written but the old journal not yet removed: its lines are not replayed
    journal.write_bytes(whole)
    store.Journal(tmp_path / store.SESSION_FILE).snapshot(store.load(tmp_path))
    journal.write_bytes(whole)
    loaded = store.load(tmp_path)
    assert loaded.loops[ids[0]].rating == 7 and store.to_dict(loaded)["loops"] == \
        store.to_dict(studio.session)["loops"]


@pytest.mark.parametrize("line,problem", [
    (b"[1, 2]\n", "line 1 must be a JSON object"),
    (b"{not json}\n", "line 1 is not JSON"),
    (b'{"base": "BASE", "set": {"format": "x"}}\n', "names 'format', not a session field"),
    (b'{"base": "BASE", "loops": [{"id": 1, "genotype": "oops"}]}\n', "genotype"),
    (b'{"base": "BASE", "set": {"current": 999}}\n', "current"),
])
def test_a_damaged_journal_is_one_error_naming_it(space, tmp_path, line, problem):
    studio = Studio(new_session(Settings(space="pca", seed=6), space), tmp_path, space)
    base = json.loads((tmp_path / store.SESSION_FILE).read_text())["journal"]
    (tmp_path / store.JOURNAL_FILE).write_bytes(line.replace(b"BASE", base.encode()))
    with pytest.raises(EvodrumError, match=f"session.(journal|json): damaged .*{problem}"):
        store.load(tmp_path)
    assert studio.session.loops


def test_every_session_field_can_be_journalled(space):
    """A field added to the session file must be one a journal line may set."""
    d = store.to_dict(new_session(Settings(space="pca"), space))
    assert set(store.JOURNAL_FIELDS) == set(d) - {"format", "spec", "generations", "loops"}
