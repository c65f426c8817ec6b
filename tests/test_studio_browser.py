"""The studio in a real browser: headless Chromium (Debian's, through Playwright)
against a real `evodrum studio` process on a free port. Load, audition, rate, breed,
reload and resume, steer with a slider, browse the atlas, export MIDI, and refused
requests."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import mido
import numpy as np
import pytest
from conftest import require_real_part

from evodrum import midi
from evodrum.interactive import store

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--autoplay-policy=no-user-gesture-required"]
EVODRUM = [sys.executable, "-c", "from evodrum.cli import main; main()"]


class Server:
    """`evodrum studio --no-browser --port 0` in a subprocess; its URL, token and port."""

    def __init__(self, folder: Path, *args: str):
        self.proc = subprocess.Popen([*EVODRUM, "studio", "--no-browser", "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("studio exited: " + "".join(self.lines))
            self.lines.append(line)
            found = re.search(r"open (http://127\.0\.0\.1:(\d+)/\?token=(\S+))", line)
            if found:
                self.url, self.port, self.token = found[1], int(found[2]), found[3]
                self.base = f"http://127.0.0.1:{self.port}"
                break
        self.folder = folder

    def stop(self) -> str:
        self.proc.send_signal(2)          # Ctrl-C: writes favourites and the summary
        out, _ = self.proc.communicate(timeout=60)
        return "".join(self.lines) + out


@pytest.fixture(scope="module")
def browser():
    require_real_part(Path(CHROMIUM).is_file(), "Chromium (apt install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    folder = tmp_path_factory.mktemp("studio") / "session"
    server = Server(folder, "--out", str(folder), "--seed", "4")
    yield server
    if server.proc.poll() is None:
        server.stop()


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector(".card canvas")
    page.errors = errors
    return page


def test_audition_rate_breed_reload_and_resume(browser, studio, tmp_path):
    page = open_page(browser, studio.url)
    cards = page.locator(".card")
    assert cards.count() == 8
    cards.nth(2).click()                                    # audition loop 3
    page.wait_for_function("engine.timer !== null && engine.current.id === 3")
    assert "playing 3 (#3)" in page.inner_text("#now-playing")
    page.keyboard.press("Digit5")                           # number key: loop 5, on the bar
    assert page.evaluate("engine.pending && engine.pending.id") == 5
    cards.nth(2).locator(".stars button").nth(7).click()    # 7 stars on loop 3
    page.wait_for_function("S.loops[2].rating === 7")
    page.keyboard.press("Shift+Digit9")                     # Shift+9 rates the selected loop
    page.wait_for_function("S.loops[4].rating === 9")
    cards.nth(2).locator(".fav").click()
    page.wait_for_function("S.loops[2].favourite")
    saved = store.load(studio.folder)                       # on disk after every change
    assert saved.loops[3].rating == 7 and saved.loops[5].rating == 9 and saved.loops[3].favourite

    page.click("#next")
    page.wait_for_function("S.generation === 2")
    assert "bred from 1" in page.inner_text("#gen-title")
    lineage = page.locator(".lineage").all_inner_texts()
    assert lineage[0].startswith("kept from generation 1")
    assert any(re.search(r"(blend|variation) of [35] \(#[35]\)", text) for text in lineage)

    page.reload()
    page.wait_for_selector(".card canvas")
    assert page.evaluate("S.generation") == 2 and page.evaluate("S.loops[0].id") == 3
    assert not page.errors, page.errors
    page.close()

    out = studio.stop()                                      # Ctrl-C: summary written
    assert "session saved" in out and (studio.folder / "summary.md").is_file()
    resumed = Server(studio.folder, "--resume", str(studio.folder))
    try:
        page = open_page(browser, resumed.url)
        assert page.evaluate("S.generation") == 2
        assert page.evaluate("S.loops[0].rating") == 7 and page.evaluate("S.loops[0].favourite")
        page.close()
    finally:
        resumed.stop()
    terminal = subprocess.run([*EVODRUM, "interactive", "--no-audio", "--synth", "builtin",
                               "--resume", str(studio.folder)], input="1 8\nq\n", text=True,
                              capture_output=True, timeout=120)
    assert terminal.returncode == 0, terminal.stderr
    assert store.load(studio.folder).loops[3].rating == 8    # the same session, in a terminal


def test_steer_a_slider_edit_a_cell_export_midi_and_refuse_strangers(browser, tmp_path):
    folder = tmp_path / "session"
    server = Server(folder, "--out", str(folder), "--seed", "6")
    try:
        page = open_page(browser, server.url)
        page.click('#tabs button[data-view="steer"]')
        page.wait_for_selector("#latent input")
        before = page.evaluate("JSON.stringify(steer.grid)")
        slider = page.locator("#latent input").first
        slider.fill("2.8")                                   # a big move of z1
        slider.dispatch_event("input")
        page.wait_for_function(f"JSON.stringify(steer.grid) !== {before!r}")
        page.locator("#attributes input").nth(8).fill("1.5")  # an attribute slider
        page.locator("#attributes input").nth(8).dispatch_event("input")
        page.wait_for_function("Object.keys(steer.attributes).length === 1 && !inflight && !again")
        box = page.locator("#steer-grid").bounding_box()
        was = page.evaluate("steer.grid[0][0]")
        page.mouse.click(box["x"] + 26 + 8, box["y"] + 11)      # BD, step 1
        assert page.evaluate("steer.grid[0][0]") == (0 if was else 100)
        page.click("#vary-here")
        page.wait_for_function("S.generation === 2")
        made = page.evaluate("S.loops[0]")
        assert made["op"] == "edit" and made["original"][0][0] == (0 if was else 100)

        page.click('#tabs button[data-view="map"]')              # the MAP-Elites atlas
        page.wait_for_selector("#map-x option", state="attached")
        page.fill("#map-cells", "6")
        page.fill("#map-gens", "5")
        page.click("#map-run")
        page.wait_for_function("atlasJob && atlasJob.done && atlasJob.elites.length > 3",
                               timeout=60000)
        cell = page.evaluate("atlasJob.elites[0].cell")
        box = page.locator("#atlas").bounding_box()
        page.mouse.click(box["x"] + (cell[0] + 0.5) * box["width"] / 6,
                         box["y"] + box["height"] - (cell[1] + 0.5) * box["height"] / 6)
        page.wait_for_function("engine.current && engine.current.id === 'atlas'")
        assert "well-formedness" in page.inner_text("#map-cell")

        page.click('#tabs button[data-view="export"]')
        with page.expect_download() as info:
            page.locator("#export-table a", has_text="MIDI").first.click()
        path = tmp_path / "export.mid"
        info.value.save_as(path)
        assert mido.MidiFile(path).length > 0
        session = store.load(folder)
        np.testing.assert_array_equal(midi.read_loop(path, session.spec),
                                      session.shown()[0].grid)
        assert not page.errors, page.errors
        page.close()

        with httpx.Client(base_url=server.base) as client:
            assert client.get("/api/state").status_code == 403
            bad = client.get("/api/state", headers={"X-Evodrum-Token": "guess"})
            assert bad.status_code == 403 and "token" in bad.json()["error"]
            host = client.get("/api/state", headers={"X-Evodrum-Token": server.token,
                                                     "Host": "attacker.example:80"})
            assert host.status_code == 403 and "Host" in host.json()["error"]
            ok = {"X-Evodrum-Token": server.token}
            junk = client.post("/api/rate", content=b"{not json", headers=ok)
            assert junk.status_code == 400 and junk.json() == {"error": "the request body is not JSON"}
            assert client.post("/api/rate", json={"id": "x"}, headers=ok).status_code == 400
            assert client.get("/api/loop/999.mid", headers=ok).status_code == 400
            assert client.get("/api/kit/..%2F..%2Fetc.wav", headers=ok).status_code in (400, 404)
    finally:
        server.stop()


def test_the_tempo_field_sets_the_sessions_tempo_for_exports_and_reloads(browser, tmp_path):
    """Issue 21: 93 BPM typed in the studio is what the MIDI says and the WAV lasts, and
    a reload (or a resumed server) keeps it; a seed loop's tempo is the session's."""
    from evodrum.audio.synth import loop_samples
    from evodrum.audio.wav import read_wav
    from evodrum.examples import pattern
    seed = midi.write_midi(tmp_path / "funk98.mid", pattern("funk").grid(), midi.DEFAULT_SPEC,
                           98.0)
    folder = tmp_path / "session"
    server = Server(folder, "--out", str(folder), "--seed", "2", "--seed-loops", str(seed))
    try:
        page = open_page(browser, server.url)
        assert page.evaluate("S.bpm") == 98 and page.input_value("#bpm") == "98"
        page.fill("#bpm", "93")
        page.press("#bpm", "Enter")
        page.wait_for_function("S.bpm === 93 && engine.bpm === 93")
        assert store.load(folder).settings.bpm == 93.0            # saved at once
        page.click('#tabs button[data-view="export"]')
        files = {}
        for kind in ("MIDI", "WAV"):
            with page.expect_download() as info:
                page.locator("#export-table a", has_text=kind).first.click()
            files[kind] = tmp_path / info.value.suggested_filename
            info.value.save_as(files[kind])
        tempos = [m.tempo for t in mido.MidiFile(files["MIDI"]).tracks for m in t
                  if m.type == "set_tempo"]
        assert [round(mido.tempo2bpm(t), 3) for t in tempos] == [93.0]
        audio, sr = read_wav(files["WAV"])
        assert len(audio) == loop_samples(midi.DEFAULT_SPEC, 93.0, sr)   # 10.32 s, not 8.0
        page.reload()
        page.wait_for_selector(".card canvas")
        assert page.input_value("#bpm") == "93" and page.evaluate("engine.bpm") == 93
        page.fill("#bpm", "999")                                   # refused, nothing changes
        page.press("#bpm", "Enter")
        page.wait_for_function("document.querySelector('#status').textContent.includes('tempo')")
        assert page.input_value("#bpm") == "93" and store.load(folder).settings.bpm == 93.0
        assert not page.errors, page.errors
        page.close()
    finally:
        server.stop()
    resumed = Server(folder, "--resume", str(folder))
    try:
        page = open_page(browser, resumed.url)
        assert page.evaluate("S.bpm") == 93
        page.close()
    finally:
        resumed.stop()
