"""The studio's API in-process (Starlette's test client, no browser): every route
answers bad input with a 4xx and a one-line JSON error, never a 500; the session
the studio writes is the terminal's, and nothing lands outside its folder."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from starlette.testclient import TestClient
from waiting import wait_for

from evodrum.interactive import store
from evodrum.interactive.breeding import new_session
from evodrum.interactive.models import open_space
from evodrum.interactive.session import Settings
from evodrum.studio.api import make_app
from evodrum.studio.state import Studio, directions_of

HOST = "127.0.0.1:9999"
TOKEN = "t0ken"


@pytest.fixture(scope="module")
def space():
    return open_space(Settings())


@pytest.fixture
def client(space, tmp_path):
    session = new_session(Settings(seed=3), space)
    studio = Studio(session, tmp_path / "session", space, directions_of(space))
    app = make_app(studio, TOKEN, {HOST})
    with TestClient(app, base_url=f"http://{HOST}", raise_server_exceptions=False) as c:
        c.headers["X-Evodrum-Token"] = TOKEN
        c.studio = studio
        yield c


JUNK = [b"", b"[]", b"null", b"{", b'{"id": "x"}', b'{"id": 1.5}', b'{"id": true}',
        b'{"id": 99999}', b'{"rating": 12, "id": 1}', b'{"genotype": [1, 2]}',
        b'{"genotype": [[1], [2, 3]]}', b'{"genotype": "abc"}', b'{"grid": [[1, 2], [3]]}',
        b'{"grid": [[300]]}', b'{"corners": [1, 2], "x": 0.5, "y": 0.5}',
        b'{"corners": [1, 2, 3, 4], "x": NaN, "y": 0.5}', b'{"adventure": -1}',
        b'{"adventure": NaN}', b'{"generation": 42}', b'{"on": "yes"}', b'{"bpm": 93, "source": 1}', b'{"attributes": {"nope": 1}, '
        b'"genotype": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}',
        b'{"goals": {"nothing": 0.5}, "generations": 3}', b'{"goals": {}, "generations": 3}',
        b'{"goals": {"all.density": 2}, "generations": 3}',
        b'{"features": ["x", "y"], "cells": 4, "generations": 2}',
        b'{"features": ["all.density", "all.density"], "cells": 4, "generations": 2}',
        b'{"features": ["all.density", "all.syncopation"], "cells": 99, "generations": 2}',
        b'{"genotype": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0], "attributes": {"density": "x"}}',
        b'{"genotype": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0], "attributes": {"density": [1]}}',
        b'{"genotype": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0], '
        b'"attributes": {"density": 100000000000000000000000000000}}']
ROUTES = ["/api/rate", "/api/favourite", "/api/select", "/api/goto", "/api/adventure",
          "/api/decode", "/api/encode", "/api/palette", "/api/vary", "/api/target", "/api/atlas",
          "/api/tempo", "/api/feel", "/api/link", "/api/played"]


def test_bad_requests_get_a_4xx_json_error_never_a_500(client):
    for route in ROUTES:
        for body in JUNK:
            r = client.post(route, content=body)
            if r.status_code == 200:        # a body that happens to be valid for this route
                continue
            assert 400 <= r.status_code < 500, (route, body, r.status_code, r.text)
            error = r.json()["error"]
            assert error and "\n" not in error and "Traceback" not in error, (route, body)
    for path in ("/api/loop/99999.mid", "/api/loop/1.wav?bpm=nan", "/api/loop/1.wav?bpm=x",
                 "/api/kit/XX.wav", "/api/nothing", "/static/../x", "/api/target/1.mid",
                 "/api/target/0.mid", "/api/atlas/1-1.mid",
                 # int() refuses text past 4,300 digits: was a 500 and a traceback in the log
                 f"/api/loop/{'9' * 5000}.mid", f"/api/loop/{'9' * 5000}.wav",
                 f"/api/target/{'9' * 5000}.mid", f"/api/atlas/1-{'9' * 5000}.mid"):
        r = client.get(path)
        assert 400 <= r.status_code < 500, (path, r.status_code)
    assert client.get("/api/rate").status_code == 405


def test_token_and_host_are_checked_on_every_route(client):
    for path in ("/", "/api/state", "/api/loop/1.mid", "/api/kit/BD.wav"):
        assert client.get(path, headers={"X-Evodrum-Token": "wrong"}).status_code == 403
        assert client.get(path, headers={"Host": "evil.example"}).status_code == 403
    assert client.get("/?token=" + TOKEN, headers={"X-Evodrum-Token": ""}).status_code == 200


def test_the_studio_writes_the_terminals_session_and_nothing_else(client, tmp_path):
    folder = client.studio.folder
    ids = [lp["id"] for lp in client.get("/api/state").json()["loops"]]
    client.post("/api/rate", json={"id": ids[1], "rating": 8}).raise_for_status()
    assert store.load(folder).loops[ids[1]].rating == 8       # saved at once
    client.post("/api/favourite", json={"id": ids[1]}).raise_for_status()
    grid = np.array(client.get("/api/state").json()["loops"][0]["grid"])
    grid[1, 4] = 0 if grid[1, 4] else 100                      # toggle a snare
    state = client.post("/api/vary", json={"grid": grid.tolist(), "parent": ids[0]}).json()
    made = state["loops"][0]
    assert made["op"] == "edit" and made["original"][1][4] == grid[1, 4]
    assert [p["id"] for p in made["parents"]] == [ids[0]]
    resumed = store.load(folder)
    assert resumed.shown()[0].op == "edit" and len(resumed.generations) == 2
    zipped = client.get("/api/favourites.zip")
    assert zipped.status_code == 200 and zipped.content[:2] == b"PK"
    favourite = {key: client.get(f"/api/loop/{ids[1]}.mid?map={key}").content
                 for key in ("gm", "roland-td")}
    assert favourite["gm"] != favourite["roland-td"]
    for key, query in (("gm", ""), ("gm", "?map=gm"), ("roland-td", "?map=roland-td")):
        got = zipfile.ZipFile(io.BytesIO(client.get("/api/favourites.zip" + query).content))
        assert got.read(f"loop-{ids[1]:03d}.mid") == favourite[key], query   # at the map
    assert sorted(p.name for p in folder.iterdir()) == [store.JOURNAL_FILE, store.SESSION_FILE]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session"]
    assert json.loads((folder / store.SESSION_FILE).read_text())["format"]


def test_steering_moves_the_loop_and_the_palette_blends_corners(client):
    loops = client.get("/api/state").json()["loops"]
    g = loops[0]["genotype"]
    same = client.post("/api/decode", json={"genotype": g}).json()
    assert same["grid"] == loops[0]["grid"]
    denser = client.post("/api/decode", json={"genotype": g,
                                              "attributes": {"all.density": 2.0}}).json()
    assert np.count_nonzero(denser["grid"]) > np.count_nonzero(same["grid"])
    corners = [lp["id"] for lp in loops[:4]]
    at = client.post("/api/palette", json={"corners": corners, "x": 0, "y": 0}).json()
    assert at["grid"] == loops[0]["grid"]
    far = client.post("/api/palette", json={"corners": corners, "x": 1, "y": 1}).json()
    assert far["grid"] == loops[3]["grid"]


def test_target_view_searches_like_evodrum_target(client, monkeypatch):
    """The Target view optimises what `evodrum target` does by default: the goals and
    staying like real drumming (the model's reference, the same weight), and says how
    well-formed each loop it found is."""

    from evodrum.genotypes import files
    from evodrum.search import engine
    from evodrum.search.config import DEFAULT_WELLFORMED_WEIGHT
    objectives, run_search = [], engine.run_search
    monkeypatch.setattr(engine, "run_search",
                        lambda objective, *a, **k: objectives.append(objective) or
                        run_search(objective, *a, **k))
    r = client.post("/api/target", json={"goals": {"all.density": 0.3}, "generations": 3})
    assert r.status_code == 200, r.text
    def done():
        job = client.get("/api/target").json()["job"]
        return job["done"] and job
    job = wait_for(done, "the search to finish")
    assert job["error"] is None, job
    [objective] = objectives
    assert objective.wellformed_weight == DEFAULT_WELLFORMED_WEIGHT > 0
    reference = files.load_reference(None)
    assert objective.wellformedness.spec == reference.spec
    assert job["best"]
    for loop in job["best"]:
        onsets = np.array(loop["grid"])[None] > 0
        assert loop["wellformed"] == pytest.approx(float(reference.score(onsets)[0]), abs=2e-3)


def test_studio_seed_loops_take_interactive_s_refine_option(tmp_path, monkeypatch):
    """`studio --seed-loops mine.mid --refine N` encodes your loops as `interactive`
    does, with N refinement steps, and the session remembers it."""
    import uvicorn
    from click.testing import CliRunner
    from midi_files import basic_beat, drum_file

    from evodrum.cli import main
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: None)  # start, then stop at once
    mine = drum_file(tmp_path / "mine.mid", basic_beat(4), length_beats=16)
    before = mine.read_bytes()
    import logging
    theirs = logging.FileHandler(tmp_path / "their.log")   # a host program's logging
    logging.getLogger().addHandler(theirs)
    for refine in ("0", "7"):
        out = tmp_path / f"session-{refine}"
        r = CliRunner().invoke(main, ["studio", "--no-browser", "--port", "0", "--seed-loops",
                                      str(mine), "--refine", refine, "--out", str(out)])
        assert r.exit_code == 0, r.output
        assert store.load(out / store.SESSION_FILE).settings.refine == int(refine)
    assert mine.read_bytes() == before
    logging.getLogger().removeHandler(theirs)
    assert theirs.stream is not None and not theirs.stream.closed   # uvicorn left it alone
    theirs.close()
    assert "--refine" in CliRunner().invoke(main, ["studio", "--help"]).output


def test_the_studio_starts_without_torch_or_scipys_signal_tools(tmp_path):
    """Most of a start-up is imports: the studio serves its page without torch or
    scipy.signal/ndimage (1 s of CPU), which load at the first sound it renders."""
    import subprocess
    import sys
    code = ("import sys, uvicorn\n"
            "def serve(self):\n"
            "    heavy = {'torch', 'scipy.signal', 'scipy.ndimage', 'scipy.optimize'}\n"
            "    assert not heavy & set(sys.modules), heavy & set(sys.modules)\n"
            "    print('served')\n"
            "uvicorn.Server.run = serve\n"
            "from evodrum.cli import main\n"
            "main(['studio', '--no-browser', '--out', sys.argv[1]])\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s")], timeout=300,
                          capture_output=True, text=True)
    assert done.returncode == 0 and "served" in done.stdout, done.stdout + done.stderr


def test_a_browser_gone_mid_request_leaves_no_traceback_in_the_log(client, caplog):
    """Half a body, then the connection closes (a tab closed during an upload): was a
    ClientDisconnect logged as a crash with its traceback, twice."""
    import asyncio
    messages = [{"type": "http.request", "body": b'{"id": 1, "rat', "more_body": True},
                {"type": "http.disconnect"}]
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/rate", "raw_path": b"/api/rate", "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 9999),
             "headers": [(b"host", HOST.encode()), (b"x-evodrum-token", TOKEN.encode()),
                         (b"content-type", b"application/json")]}
    with caplog.at_level("WARNING"):
        asyncio.run(client.app(scope, receive, send))
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")
                or r.exc_info], caplog.text
    assert sent[0]["status"] == 400

