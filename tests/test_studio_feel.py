"""The studio's feel and swing sliders: the page gets each loop's take, and what the
sliders say is what MIDI and WAV exports play."""
from __future__ import annotations


import numpy as np
import pytest
from starlette.testclient import TestClient

from evodrum.feel import Feel, Performer
from evodrum.grid import DEFAULT_SPEC
from evodrum.gridfile import read_file
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
    performer = Performer(Feel("like", 1.0, like=like), session.spec, seed=3)
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
