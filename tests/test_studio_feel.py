"""The studio's feel and swing sliders: the page gets each loop's take, and what the
sliders say is what MIDI and WAV exports play."""
from __future__ import annotations

import json

import numpy as np
import pytest
from starlette.testclient import TestClient
from waiting import wait_for

from evodrum.errors import EvodrumError
from evodrum.feel import Feel, Performer
from evodrum.grid import DEFAULT_SPEC, to_midi_velocity
from evodrum.gridfile import read_file
from evodrum.interactive import store
from evodrum.interactive.breeding import new_session
from evodrum.interactive.models import open_space
from evodrum.interactive.session import Settings
from evodrum.loop import Loop
from evodrum.studio.api import make_app
from evodrum.studio.state import Studio

HOST = "127.0.0.1:9999"
TOKEN = "t0ken"


def pushed_loop(spec) -> Loop:
    """A loop whose every cell is played 0.2 of a step late: the feel to transfer."""
    v = np.full(spec.shape, 0.5, np.float32)
    return Loop(v, np.full(spec.shape, 0.2, np.float32), spec)


@pytest.fixture
def client(tmp_path):
    space = open_space(Settings())
    session = new_session(Settings(seed=3), space)
    like = pushed_loop(session.spec)
    performer = Performer(Feel("like", 1.0, like=like), session.spec, seed=3,
                          locked=lambda: session.lock)      # as `evodrum studio` makes it
    studio = Studio(session, tmp_path / "session", space, None, performer)
    with TestClient(make_app(studio, TOKEN, {HOST}), base_url=f"http://{HOST}",
                    raise_server_exceptions=False) as c:
        c.headers["X-Evodrum-Token"] = TOKEN
        yield c


def exported(client, tmp_path, loop_id) -> Loop:
    r = client.get(f"/api/loop/{loop_id}.mid")
    assert r.status_code == 200
    path = tmp_path / f"{loop_id}.mid"
    path.write_bytes(r.content)
    return read_file(path, DEFAULT_SPEC).loop(0)


def test_the_page_gets_each_loops_take_and_exports_follow_the_sliders(client, tmp_path):
    state = client.get("/api/state").json()
    assert state["has_feel"] and state["feel"] == 1 and state["swing"] == 50
    loop = state["loops"][0]
    hits = np.array(loop["grid"]) > 0
    offsets = np.array(loop["feel"]["offsets"])
    np.testing.assert_allclose(offsets[hits], 0.2, atol=1e-4)
    felt = exported(client, tmp_path, loop["id"])
    np.testing.assert_allclose(felt.offsets[hits], 0.2, atol=1 / 120)

    state = client.post("/api/feel", json={"feel": 0, "swing": 60}).json()
    assert state["feel"] == 0 and state["swing"] == 60
    swung = exported(client, tmp_path, loop["id"])
    odd = hits & (np.arange(64) % 2 == 1)
    np.testing.assert_allclose(swung.offsets[odd], 0.2, atol=1 / 120)   # swing 60: +0.2
    assert not swung.offsets[hits & ~odd].any()
    wav = client.get(f"/api/loop/{loop['id']}.wav")
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"

    for bad in ({"feel": 2, "swing": 50}, {"feel": 0.5, "swing": 90}, {"feel": "x", "swing": 50},
                {"swing": 50}):
        r = client.post("/api/feel", json=bad)
        assert r.status_code == 400 and "error" in r.json()


def test_the_sliders_are_saved_in_the_session_and_undo_leaves_them(client, tmp_path):
    """The feel and swing sliders (and the tempo) are the session's: saved in
    session.json at once, and a Ctrl+Z of a rating does not take them back."""
    loop = client.get("/api/state").json()["loops"][0]
    client.post("/api/rate", json={"id": loop["id"], "rating": 7})
    client.post("/api/feel", json={"feel": 0.4, "swing": 62})
    client.post("/api/tempo", json={"bpm": 97, "source": "clock"})
    saved = store.load(tmp_path / "session").settings
    assert (saved.feel, saved.swing, saved.bpm) == (0.4, 62.0, 97.0)
    state = client.post("/api/undo", json={}).json()
    assert state["loops"][0]["rating"] is None                     # the rating is undone,
    assert (state["feel"], state["swing"], state["bpm"]) == (0.4, 62, 97)   # the sliders stay
    saved = store.load(tmp_path / "session").settings
    assert (saved.feel, saved.swing, saved.bpm) == (0.4, 62.0, 97.0)
    bad = client.post("/api/tempo", json={"bpm": 97, "source": "radio"})
    assert bad.status_code == 400 and "tempo comes from" in bad.json()["error"]


def test_a_session_file_without_feel_loads_and_a_wrong_feel_is_named(tmp_path):
    """Sessions saved before the sliders were kept load with the defaults; a session file
    whose feel or swing is out of range is one error naming the field."""
    space = open_space(Settings())
    session = new_session(Settings(seed=2), space)
    folder = tmp_path / "old"
    folder.mkdir()
    document = store.to_dict(session)
    for key in ("feel", "swing"):
        del document["settings"][key]
    (folder / "session.json").write_text(json.dumps(document))
    assert (store.load(folder).settings.feel, store.load(folder).settings.swing) == (None, None)
    for key, value in (("feel", 1.5), ("swing", 90), ("feel", "lots")):
        document["settings"][key] = value
        (folder / "session.json").write_text(json.dumps(document))
        with pytest.raises(EvodrumError, match=f"session.json: damaged session file: .*{key}"):
            store.load(folder)
        del document["settings"][key]


def finished(client, view: str, start: dict) -> dict:
    """The job of a search the page starts at /api/`view`, waited for."""
    client.post(f"/api/{view}", json=start)

    def done():
        job = client.get(f"/api/{view}").json()["job"]
        return job["done"] and job
    job = wait_for(done, f"the {view} search to finish")         # the search's thread
    assert job["error"] is None
    return job


def target_results(client) -> list[dict]:
    """The results of a one-generation Target search."""
    best = finished(client, "target", {"goals": {"all.density": 0.3}, "generations": 1})["best"]
    assert best
    return best


def found_loop(client, view: str) -> tuple[np.ndarray, str]:
    """A loop the Target or Map view found (MIDI levels) and its download's address."""
    if view == "target":
        return np.array(target_results(client)[0]["grid"]), "/api/target/1.mid"
    elites = finished(client, "atlas", {"features": ["all.density", "kick_snare.syncopation"],
                                        "cells": 4, "generations": 1})["elites"]
    assert elites
    x, y = elites[0]["cell"]
    return np.array(elites[0]["grid"]), f"/api/atlas/{x + 1}-{y + 1}.mid"


def test_target_loops_are_heard_and_downloaded_with_the_feel(client, tmp_path):
    """A Target result plays with the feel (the page asks /api/played for its take) and
    its download is played the same way (here: every hit 0.2 of a step late)."""
    grid = client.get("/api/state").json()["loops"][2]["grid"]
    played = client.post("/api/played", json={"grid": grid}).json()
    hits = np.array(grid) > 0
    np.testing.assert_allclose(np.array(played["feel"]["offsets"])[hits], 0.2, atol=1e-4)
    assert client.get("/api/target/1.mid").status_code == 400    # no search yet
    best = target_results(client)
    r = client.get("/api/target/1.mid")
    assert r.status_code == 200 and r.headers["content-disposition"].endswith('"target-1.mid"')
    path = tmp_path / "target-1.mid"
    path.write_bytes(r.content)
    loop = read_file(path, DEFAULT_SPEC).loop(0)
    found = np.array(best[0]["grid"]) > 0
    np.testing.assert_array_equal(loop.hits, found)
    np.testing.assert_allclose(loop.offsets[found], 0.2, atol=1 / 120)
    assert client.get(f"/api/target/{len(best) + 1}.mid").status_code == 400


@pytest.mark.parametrize("view", ["target", "atlas"])
def test_a_found_loop_downloads_as_shown_whatever_is_locked_later(client, tmp_path, view):
    """Locking rows after a Target or Map search changes neither a found loop's download
    nor how the page plays it: the file holds the loop's hits, velocities and timing as
    /api/played gives them (feel 1: the take), not the locked loop's rows."""
    result, address = found_loop(client, view)
    loops = client.get("/api/state").json()["loops"]
    other = max(loops, key=lambda lp: int(((np.array(lp["grid"]) > 0) != (result > 0)).sum()))
    assert ((np.array(other["grid"]) > 0) != (result > 0)).any()   # the lock would show
    state = client.post("/api/lock", json={"rows": ["BD", "SD", "CH", "OH", "RD", "CR", "LT",
                                                    "MT", "HT"], "id": other["id"]}).json()
    assert state["locked"]
    played = client.post("/api/played", json={"grid": result.tolist()}).json()
    r = client.get(address)
    assert r.status_code == 200
    path = tmp_path / "found.mid"
    path.write_bytes(r.content)
    loop = read_file(path, DEFAULT_SPEC).loop(0)
    hits = result > 0
    np.testing.assert_array_equal(loop.hits, hits)
    np.testing.assert_allclose(loop.offsets[hits], np.array(played["feel"]["offsets"])[hits],
                               atol=1 / 120)
    np.testing.assert_array_equal(to_midi_velocity(loop.velocities)[hits],
                                  np.array(played["feel"]["grid"])[hits])
