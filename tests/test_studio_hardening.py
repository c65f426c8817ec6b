"""The studio's edges (issue 24): bodies bounded before they are read, JSON nested too
deeply, ids that are not ids, the token kept out of the browser's command line and out
of URLs after the first page load, and the security headers on every response."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from waiting import STUCK, wait_for

from evodrum.interactive.breeding import new_session
from evodrum.interactive.session import Settings
from evodrum.studio.api import MAX_BODY, make_app
from evodrum.studio.state import Studio

HOST = "127.0.0.1:9998"
TOKEN = "s3cret-t0ken"


@pytest.fixture(scope="module")
def space():
    from evodrum.interactive.models import open_space
    return open_space(Settings(space="grid"))


@pytest.fixture
def client(space, tmp_path):
    studio = Studio(new_session(Settings(space="grid", seed=5), space), tmp_path / "s", space)
    with TestClient(make_app(studio, TOKEN, {HOST}), base_url=f"http://{HOST}",
                    raise_server_exceptions=False) as c:
        c.studio = studio
        yield c


def post(client, path, content, **headers):
    return client.post(path, content=content, headers={"X-Evodrum-Token": TOKEN, **headers})


def test_json_nested_a_hundred_thousand_deep_is_a_400(client):
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"id": ' + b"[" * 100_000 + b"]" * 100_000
                 + b"}"):
        r = post(client, "/api/rate", body)
        assert r.status_code == 400 and "nested too deeply" in r.json()["error"], r.text


def test_palette_corners_that_are_not_ids_are_a_400(client):
    for corners in ('["../x", "../y", "../z", "../w"]', "[1.5, 2, 3, 4]", "[true, 1, 2, 3]",
                    "[[1], 2, 3, 4]", "[1e400, 1, 2, 3]"):
        r = post(client, "/api/palette", f'{{"corners": {corners}, "x": 0.5, "y": 0.5}}')
        assert r.status_code == 400 and "corner" in r.json()["error"], (corners, r.text)


def test_numbers_beyond_a_float_are_a_400(client):
    for path, body in (("/api/adventure", '{"adventure": 1' + "0" * 400 + "}"),
                       ("/api/tempo", '{"bpm": -1' + "0" * 400 + "}")):
        r = post(client, path, body)
        assert r.status_code == 400 and "finite" in r.json()["error"], (path, r.text)


def test_a_body_over_the_limit_is_a_413_even_without_a_length(client):
    r = post(client, "/api/rate", b" " * (MAX_BODY + 1))
    assert r.status_code == 413

    def chunks():             # streamed (chunked): no Content-Length to refuse it from
        for _ in range(MAX_BODY // 65536 + 2):
            yield b" " * 65536
    r = post(client, "/api/rate", chunks())
    assert r.status_code == 413, r.text


def test_the_token_in_a_url_only_opens_the_page_and_sets_a_cookie(client):
    r = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    page = client.get("/")                                    # the cookie alone reads
    assert page.status_code == 200 and f'content="{TOKEN}"' in page.text
    assert client.get("/api/state").status_code == 200
    assert client.get("/api/loop/1.mid").status_code == 200
    # a state-changing request needs the header: the cookie (sent by any page) is not enough
    r = client.post("/api/select", json={"id": 1})
    assert r.status_code == 403
    r = client.post(f"/api/select?token={TOKEN}", json={"id": 1})
    assert r.status_code == 403 and "header" in r.json()["error"]
    r = client.get(f"/api/state?token={TOKEN}", headers={"X-Evodrum-Token": TOKEN})
    assert r.status_code == 403
    assert client.get("/?token=wrong", follow_redirects=False).status_code == 403
    client.cookies.clear()
    assert client.get("/api/state").status_code == 403


def test_every_response_carries_the_security_headers(client):
    responses = [client.get(f"/?token={TOKEN}", follow_redirects=False), client.get("/"),
                 client.get("/api/state"), client.get("/static/app.js"),
                 client.get("/api/state", headers={"Host": "evil.example"}),
                 post(client, "/api/rate", b"{")]
    for r in responses:
        csp = r.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, r.url
        assert r.headers.get("referrer-policy") == "no-referrer", r.url
    assert "unsafe-inline" not in csp


def test_the_page_has_no_inline_code_the_policy_would_block():
    html = (Path(__file__).parents[1] / "evodrum" / "studio" / "static" / "index.html"
            ).read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and "<style" not in html
    assert not re.search(r"\son[a-z]+\s*=", html) and "javascript:" not in html


def test_a_length_over_the_limit_is_refused_before_the_body_is_read(tmp_path):
    """A real server: a request announcing 300 MB gets 413 at once, without sending it."""
    with studio_process(tmp_path, "--no-browser") as (port, _):
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            s.sendall(f"POST /api/rate HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      "Content-Type: application/json\r\nContent-Length: 300000000\r\n\r\n"
                      .encode())
            answer = s.recv(4096).decode(errors="replace")
        assert answer.startswith("HTTP/1.1 413"), answer


def test_the_browser_is_opened_on_a_private_file_never_on_the_token(tmp_path):
    record = tmp_path / "browser-args.txt"
    fake = tmp_path / "browser"
    fake.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        echo "$@" > {record}.part
        cat "${{1#file://}}" >> {record}.part
        stat -c %a "${{1#file://}}" >> {record}.part
        stat -c %a "$(dirname "${{1#file://}}")" >> {record}.part
        mv {record}.part {record}
        """))
    fake.chmod(0o755)
    with studio_process(tmp_path, env={"BROWSER": f"{fake} %s"}) as (port, token):
        wait_for(record.exists, "the browser to be opened")
        args, *page, mode, folder_mode = record.read_text().splitlines()
        launcher = Path(args.removeprefix("file://"))
    assert token not in args and args.startswith("file://"), args
    assert (mode, folder_mode) == ("600", "700")
    assert f"url=http://127.0.0.1:{port}/?token={token}" in "".join(page)
    assert not launcher.exists(), "the launch file outlives the studio"


class studio_process:
    """`evodrum studio --port 0` in a subprocess: (port, token) while it runs."""

    def __init__(self, tmp_path, *args, env=None):
        self.cmd = [sys.executable, "-m", "evodrum", "studio", "--port", "0", "--space", "grid",
                    "--out", str(tmp_path / "session"), *args]
        self.env = dict(os.environ, **(env or {}))

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=self.env)
        for line in self.proc.stdout:
            found = re.search(r"open http://127\.0\.0\.1:(\d+)/\?token=(\S+)", line)
            if found:
                port, token = int(found[1]), found[2]
                def listening():     # the URL is printed just before the server listens
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=STUCK).close()
                        return True
                    except ConnectionRefusedError:
                        assert self.proc.poll() is None, "the studio exited"
                        return False
                wait_for(listening, "the studio to listen")
                return port, token
        raise AssertionError("the studio did not start")

    def __exit__(self, *exc):
        self.proc.send_signal(2)
        self.proc.communicate(timeout=STUCK)
