"""The studio in a real browser: headless Chromium (Debian's, through Playwright)
against a real `evodrum studio` process on a free port. Load, audition, rate, breed,
reload and resume, steer with a slider, browse the atlas, export MIDI, and refused
requests."""
from __future__ import annotations

import contextlib
import functools
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import mido
import numpy as np
import pytest
from conftest import require_real_part
from waiting import STUCK, read_line, wait_for

from evodrum import midi
from evodrum.interactive import store
from processes import default_sigint

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--autoplay-policy=no-user-gesture-required"]
EVODRUM = [sys.executable, "-c", "from evodrum.cli import main; main()"]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class Server:
    """`evodrum studio --no-browser --port 0` in a subprocess; its URL, token and port."""

    def __init__(self, folder: Path, *args: str):
        self.proc = subprocess.Popen([*EVODRUM, "studio", "--no-browser", "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     preexec_fn=default_sigint)   # stop() sends Ctrl-C
        self.lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = read_line(self.proc.stdout, "the studio's address",
                             deadline - time.monotonic())
            if not line:
                raise AssertionError("studio exited: " + "".join(self.lines))
            self.lines.append(line)
            found = re.search(r"open (http://127\.0\.0\.1:(\d+)/\?token=(\S+))", line)
            if found:
                self.url, self.port, self.token = found[1], int(found[2]), found[3]
                self.base = f"http://127.0.0.1:{self.port}"
                break
        self.folder = folder
        # the URL is printed before the server listens: wait until it accepts connections
        while not _listening(self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError("studio never listened: " + "".join(self.lines))
            time.sleep(0.05)

    def stop(self) -> str:
        self.proc.send_signal(2)          # Ctrl-C: writes favourites and the summary
        out, _ = self.proc.communicate(timeout=STUCK)
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


def open_page(browser, url, init_script: str | None = None):
    """The studio's page, its errors (and Content-Security-Policy refusals) collected in
    `page.errors`; `init_script` runs before the page's own (e.g. a Web MIDI double)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(STUCK * 1000)    # Playwright's waits: a loaded machine is slow
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # the studio's Content-Security-Policy must not block anything its own page does
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text
            else None)
    if init_script:
        page.add_init_script(init_script)
    page.goto(url)
    page.wait_for_selector(".card canvas")
    assert "token" not in page.url, page.url   # the token leaves the address bar at once
    page.errors = errors
    page.wait_for_function = functools.partial(poll, page)
    return page


@contextlib.contextmanager
def resumed_page(browser, folder: Path):
    """The studio resumed from `folder` (`--resume`) in a new server, its page open."""
    resumed = Server(folder, "--resume", str(folder))
    try:
        page = open_page(browser, resumed.url)
        yield page
        page.close()
    finally:
        resumed.stop()


def forget_the_last_switch(page) -> None:
    """Clear the engine's record of its last switch, so that only a switch still to come
    (not an earlier one, nor a restart, which leaves the record alone) sets it again."""
    page.evaluate("engine.switchedAt = -1")


def switched_on_a_bar_line(page) -> bool:
    """Whether the loop playing took over on a bar line of the one before (counted in the
    steps the engine scheduled, so however late a loaded machine ran the page); call
    forget_the_last_switch before the switch."""
    return page.evaluate("engine.switchedAt > 0 && engine.switchedAt % "
                         "(S.spec.steps_per_beat * S.spec.beats_per_bar) === 0")


def click_cell(page, canvas: str, row: int, step: int) -> None:
    """Click the middle of a cell of a grid canvas, wherever the canvas is when the click
    comes (a status message that wraps onto a second line moves it)."""
    cw, ch, label, width = page.evaluate(
        f"(c => [c.dataset.cw, c.dataset.ch, c.dataset.label, c.width].map(Number))($('{canvas}'))")
    scale = page.locator(canvas).bounding_box()["width"] / width   # CSS px a canvas px
    page.locator(canvas).click(position={"x": (label + (step + 0.5) * cw) * scale,
                                         "y": (row + 0.5) * ch * scale})


#: What the page's engine is doing, said when a wait on the page runs out.
ENGINE_STATE = ("(() => { try { return JSON.stringify({timer: engine.timer !== null, "
                "current: engine.current && engine.current.id, pending: engine.pending && "
                "engine.pending.id, audio: engine.ctx && engine.ctx.state, played: engine.played, "
                "selected: selectedId, status: $('#status').textContent}); } "
                "catch (e) { return String(e); } })()")


def poll(page, expression: str, timeout: float = STUCK * 1000, **_) -> None:
    """Wait until `expression` is true in the page. Playwright's own wait_for_function
    evaluates its predicate with eval inside the page, which the studio's
    Content-Security-Policy forbids (as it should); page.evaluate goes through the
    debugging protocol, which the policy does not govern."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression} (engine: "
                                 f"{page.evaluate(ENGINE_STATE)}; page errors: {getattr(page, 'errors', None)})")
        page.wait_for_timeout(50)


def click_card(page, index: int) -> None:
    """Click loop card `index` (auditions it), again if the click reached no card: one that
    lands while the cards are drawn anew (a state update arriving) is lost, as a user's
    would be. Counted by a listener on the document, which outlives the cards."""
    page.evaluate("() => { if (window.cardClicks === undefined) { window.cardClicks = 0; "
                  "document.addEventListener('click', (e) => { if (e.target.closest('.card')) "
                  "window.cardClicks++; }, true); } }")
    before = page.evaluate("window.cardClicks")
    wait_for(lambda: page.locator(".card").nth(index).click()
             or page.evaluate("window.cardClicks") > before, f"a click on card {index + 1}")


#: Web MIDI refused, as a browser refuses it when the musician says no (and headless
#: Chromium always does).
REFUSE_WEB_MIDI = ("navigator.requestMIDIAccess = () => Promise.reject(new DOMException("
                   "'Permission to use Web MIDI API was not granted.', 'NotAllowedError'));")

#: Counts the loop cards taken off the page (`removedCards`), and holds the page's request
#: for the note maps, the last thing it fetches as it loads, until `releaseNoteMaps()`.
HOLD_THE_LOAD = ("{ window.removedCards = 0; new MutationObserver((records) => { "
                 "for (const r of records) for (const n of r.removedNodes) "
                 "if (n.classList && n.classList.contains('card')) window.removedCards++; })"
                 ".observe(document, { childList: true, subtree: true }); "
                 "const fetched = window.fetch; let release; "
                 "const held = new Promise((r) => { release = r; }); "
                 "window.releaseNoteMaps = release; window.fetch = (url, opts) => "
                 "String(url).includes('/api/notemaps') ? held.then(() => fetched(url, opts)) "
                 ": fetched(url, opts); }")


def test_the_page_finishes_loading_without_undoing_what_the_musician_did(browser, studio):
    """A card clicked and a tempo refused while the page is still loading (its note maps
    held back) stay as they were when it finishes: the maps relink the MIDI downloads
    without drawing the cards again, and refused Web MIDI is said in the output list, not
    over the refusal on the status line."""
    page = open_page(browser, studio.url, init_script=HOLD_THE_LOAD + REFUSE_WEB_MIDI)
    page.locator(".card").nth(2).click()                        # audition loop 3
    page.wait_for_function("engine.current && engine.current.id === 3")
    page.fill("#bpm", "999")
    page.press("#bpm", "Enter")
    page.wait_for_function("document.querySelector('#status').textContent.includes('BPM')")
    refusal = page.inner_text("#status")
    page.evaluate("releaseNoteMaps()")
    page.wait_for_selector("#midi-out option[value='none']", state="attached")   # loaded
    links = page.evaluate("[...document.querySelectorAll('a[data-midi]')].map((a) => a.href)")
    assert len(links) == 8 + len(page.evaluate("S.history")) + 1   # cards, export, favourites
    assert all(link.endswith("?map=" + page.evaluate("midi.map.key")) for link in links)
    assert page.evaluate("window.removedCards") == 0 and page.locator(".card").count() == 8
    assert page.evaluate("engine.current.id") == 3
    assert page.inner_text("#status") == refusal and "tempo is" in refusal
    assert "not allowed" in page.locator("#midi-out option[value='none']").get_attribute("title")
    assert not page.errors, page.errors
    page.close()


def test_audition_rate_breed_reload_and_resume(browser, studio, tmp_path):
    page = open_page(browser, studio.url)
    cards = page.locator(".card")
    assert cards.count() == 8
    click_card(page, 2)                                     # audition loop 3
    page.wait_for_function("engine.timer !== null && engine.current.id === 3")
    assert "playing 3 (#3)" in page.inner_text("#now-playing")
    forget_the_last_switch(page)
    page.keyboard.press("Digit5")                           # number key: loop 5, on the bar
    page.wait_for_function("engine.current.id === 5")
    assert switched_on_a_bar_line(page)                     # of loop 3's, not at once
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
    with resumed_page(browser, studio.folder) as page:
        assert page.evaluate("S.generation") == 2
        assert page.evaluate("S.loops[0].rating") == 7 and page.evaluate("S.loops[0].favourite")
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
        was = page.evaluate("steer.grid[0][0]")
        click_cell(page, "#steer-grid", 0, 0)                    # BD, step 1
        assert page.evaluate("steer.grid[0][0]") == (0 if was else 100)
        page.click("#vary-here")
        page.wait_for_function("S.generation === 2")
        made = page.evaluate("S.loops[0]")
        assert made["op"] == "edit" and made["original"][0][0] == (0 if was else 100)

        click_first_elite(page)                                  # the MAP-Elites atlas
        page.wait_for_function("engine.current && engine.current.id === 'atlas'")
        assert "like real drumming" in page.inner_text("#map-cell")

        page.click('#tabs button[data-view="export"]')
        with page.expect_download() as info:
            page.locator("#export-table a", has_text="MIDI").first.click()
        path = tmp_path / "export.mid"
        info.value.save_as(path)
        assert mido.MidiFile(path).length > 0
        session = store.load(folder)
        np.testing.assert_array_equal(midi.read_loop(path, session.spec) > 0,   # as played:
                                      session.shown()[0].grid > 0)          # the same hits
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
    with resumed_page(browser, folder) as page:
        assert page.evaluate("S.bpm") == 93


def click_first_elite(page) -> None:
    """Run a small atlas in the Map tab and click its first elite's cell."""
    page.click('#tabs button[data-view="map"]')
    page.wait_for_selector("#map-x option", state="attached")
    page.fill("#map-cells", "6")
    page.fill("#map-gens", "5")
    page.click("#map-run")
    page.wait_for_function("atlasJob && atlasJob.done && atlasJob.elites.length > 3")
    x, y = atlas_cell_centre(page)
    box = page.locator("#atlas").bounding_box()                # its size; where it is
    page.locator("#atlas").click(position={"x": x * box["width"],  # when the click comes
                                           "y": y * box["height"]})


def atlas_cell_centre(page) -> tuple[float, float]:
    """Where the first elite's cell is drawn, as shares of the atlas canvas (the cells sit
    inside margins that hold the axis names and the legend)."""
    return tuple(page.evaluate("""(() => {
        const cv = $('#atlas'), n = atlasJob.cells, c = atlasJob.elites[0].cell;
        const size = Math.min(cv.width - ATLAS.left - ATLAS.right,
                              cv.height - ATLAS.top - ATLAS.bottom) / n;
        return [(ATLAS.left + (c[0] + 0.5) * size) / cv.width,
                (ATLAS.top + (n - c[1] - 0.5) * size) / cv.height]; })()"""))


def rows_of(page, expr: str, rows=(0, 1)) -> list:
    return page.evaluate(f"[{', '.join(f'({expr})[{r}]' for r in rows)}]")


def test_lock_rows_edits_that_stick_undo_history_and_keys(browser, tmp_path):
    """A musician's session: lock the kick and snare of the loop they hear, breed (the rows
    stay in every new loop), undo the breeding and a rating with Ctrl+Z, add kicks by hand
    and vary from there (the kicks stay, the title says how far the result is from the
    edit, playback follows), reach loop 12 from the keyboard, export from the history."""
    folder = tmp_path / "session"
    server = Server(folder, "--out", str(folder), "--seed", "8", "--loops", "12")
    failed = []
    try:
        page = open_page(browser, server.url)
        page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
        page.reload()
        page.wait_for_selector(".card canvas")
        # 1 then 2 within the moment (0.8 s) that makes them loop 12: typed in one task, as
        # two key presses from here can be held apart longer than that on a loaded machine
        page.evaluate("['1', '2'].forEach((d) => document.body.dispatchEvent(new KeyboardEvent("
                      "'keydown', { key: d, code: 'Digit' + d, bubbles: true })))")
        page.wait_for_function("engine.timer !== null")
        assert page.evaluate("(engine.pending || engine.current).id === S.loops[11].id")
        forget_the_last_switch(page)
        page.keyboard.press("ArrowLeft")                        # <- steps to loop 11
        page.wait_for_function("engine.current.id === S.loops[10].id")
        assert switched_on_a_bar_line(page)

        heard = page.evaluate("selectedId")
        page.click('#locks button[data-row="BD"]')
        page.wait_for_function("S.locked.rows.length === 1")
        page.click('#locks button[data-row="SD"]')
        page.wait_for_function("S.locked.rows.join() === 'BD,SD'")
        kept = rows_of(page, f"loopById({heard}).grid")
        page.click("#next")
        page.wait_for_function("S.generation === 2")
        for loop in page.evaluate("S.loops.filter((l) => !l.kept)"):
            assert loop["grid"][:2] == kept, f"#{loop['id']} lost the locked kick or snare"
        assert len({str(lp["grid"][2:]) for lp in page.evaluate("S.loops")}) >= 10

        page.keyboard.press("Control+z")                        # undo the breeding
        page.wait_for_function("S.generations === 1 && S.generation === 1")
        page.locator(".card").nth(3).locator(".stars button").nth(6).click()
        page.wait_for_function("S.loops[3].rating === 6")
        page.keyboard.press("Control+z")                        # undo the rating
        page.wait_for_function("S.loops[3].rating === null")
        assert store.load(folder).loops[page.evaluate("S.loops[3].id")].rating is None

        page.click('#locks button[data-row="SD"]')              # free the snare again
        page.wait_for_function("S.locked.rows.join() === 'BD'")
        click_card(page, 0)                                     # hear loop 1, steer it
        page.click('#tabs button[data-view="steer"]')
        page.wait_for_selector("#attributes .slider")
        labels = page.locator("#attributes .slider span").all_inner_texts()
        assert "kick & snare syncopation" in labels and "hi-hat density" in labels
        tip = page.locator("#attributes .slider", has_text="kick & snare syncopation").first
        assert "kick_snare.syncopation" in tip.get_attribute("title")
        empty = page.evaluate("[...Array(64).keys()].filter((s) => !steer.grid[1][s])")[:3]
        for step in empty:                                      # three snares added by hand
            click_cell(page, "#steer-grid", 1, step)
        assert all(page.evaluate(f"steer.grid[1][{s}]") == 100 for s in empty)
        page.keyboard.press("Control+z")                        # undo the last toggle
        assert page.evaluate(f"steer.grid[1][{empty[-1]}]") == 0
        click_cell(page, "#steer-grid", 1, empty[-1])
        assert all(page.evaluate(f"steer.grid[1][{s}]") == 100 for s in empty)
        page.click("#vary-here")
        page.wait_for_function("S.generation === 2")
        made = page.evaluate("S.loops")
        for loop in made:                                       # the edit sticks everywhere
            assert all(loop["grid"][1][s] == 100 for s in empty), loop["op"]
        assert re.search(r"\d+% of hits differ from your edit",
                         page.locator(".lineage").first.inner_text())
        page.wait_for_function("(engine.pending || engine.current).id === S.loops[0].id")
        assert "3 edited cells kept" in page.evaluate("S.locked.about")

        page.click('#tabs button[data-view="export"]')          # any loop of the history
        rows = page.locator("#export-table tbody tr")
        assert rows.count() == page.evaluate("S.history.length") > 12
        with page.expect_download() as info:
            rows.last.locator("a", has_text="MIDI").click()
        path = tmp_path / "old.mid"
        info.value.save_as(path)
        assert mido.MidiFile(path).length > 0
        assert not failed, failed                               # no 403 for /favicon.ico
        assert not page.errors, page.errors
        page.close()
    finally:
        server.stop()


def test_palette_resets_sliders_and_target_loops_show_a_playhead(browser, tmp_path):
    folder = tmp_path / "session"
    server = Server(folder, "--out", str(folder), "--seed", "9")
    try:
        page = open_page(browser, server.url)
        click_card(page, 4)
        page.click('#tabs button[data-view="steer"]')
        page.wait_for_selector("#attributes input")
        page.locator("#attributes input").nth(0).fill("2")
        page.locator("#attributes input").nth(0).dispatch_event("input")
        page.wait_for_function("!inflight && !again")
        width = page.locator("#pad").bounding_box()["width"]
        page.locator("#pad").click(position={"x": 0.7 * width, "y": 0.2 * width})
        page.wait_for_function("!inflight && !again && Object.keys(steer.attributes).length === 0")
        assert page.locator("#attributes input").nth(0).input_value() == "0"
        latent = [float(v) for v in page.locator("#latent input").evaluate_all(
            "(xs) => xs.map((x) => x.value)")]
        assert np.allclose(latent, page.evaluate("steer.genotype"), atol=0.01)

        page.click('#tabs button[data-view="target"]')
        page.wait_for_selector("#goals .slider")
        page.fill("#target-gens", "2")
        page.click("#target-run")
        page.wait_for_function("document.querySelectorAll('#target-results .card').length > 0"
                               " && !document.querySelector('#target-status').textContent"
                               ".includes('generation 0')")
        page.wait_for_function("$('#target-status').textContent.includes('done')")
        page.select_option("#note-map", "roland-td")           # every download follows it
        found = page.locator("#target-results a.mid").evaluate_all("(xs) => xs.map((x) => x.href)")
        assert found and all(href.endswith(f"/api/target/{i}.mid?map=roland-td")
                             for i, href in enumerate(found, 1))
        assert page.get_attribute("#export-favourites", "href").endswith("?map=roland-td")
        page.locator("#target-results button", has_text="hear").first.click()
        page.wait_for_function("document.querySelector('canvas[data-loop=\"t0\"]')._head != null")
        assert "playing target result 1" in page.inner_text("#now-playing")
        assert not page.errors, page.errors
        page.close()
    finally:
        server.stop()


#: A test double of the Web MIDI API (headless Chromium has no MIDI ports here: the
#: container has no ALSA sequencer, which is where Chromium looks for them). It offers
#: one output, "DAW in", and records every message the page sends with its timestamp.
FAKE_WEB_MIDI = """
window.__midiSent = [];
const output = { id: "daw-1", name: "DAW in", type: "output", state: "connected",
  send(data, at) { window.__midiSent.push({ data: Array.from(data), at: at || performance.now() }); } };
navigator.requestMIDIAccess = async () => ({ outputs: new Map([[output.id, output]]),
  inputs: new Map(), onstatechange: null });
"""


def test_web_midi_out_plays_the_loop_at_the_note_maps_pitches(browser, tmp_path):
    """A loop sent to a MIDI output (the DAW's drums) through the Web MIDI API: every
    hit of the loop as a note-on on channel 10 at the chosen map's pitch, spaced by the
    session's tempo; the MIDI download uses the same map. The MIDI output is a test
    double injected before the page loads (see FAKE_WEB_MIDI)."""
    from evodrum import notemap
    folder = tmp_path / "session"
    server = Server(folder, "--out", str(folder), "--seed", "7", "--bpm", "93", "--feel", "0")
    try:
        page = open_page(browser, server.url, FAKE_WEB_MIDI)
        page.wait_for_selector("#midi-out option[value='daw-1']", state="attached")
        page.select_option("#note-map", "roland-td")
        page.select_option("#midi-out", "daw-1")
        click_card(page, 1)                                    # loop 2 plays through MIDI
        loop = page.evaluate("S.loops[1]")
        grid = np.array(loop["grid"])
        hits = int((grid > 0).sum())
        page.wait_for_function(f"window.__midiSent.filter(m => m.data[0] === 0x99).length >= {hits}")
        page.click("#play-stop")                                 # stop: All Notes Off
        sent = page.evaluate("window.__midiSent")
        ons = [m for m in sent if m["data"][0] == 0x99][:hits]
        td = notemap.load("roland-td")
        steps, rows = np.nonzero(grid.T)                         # in time order, rows within
        assert [m["data"][1] for m in ons] == [td.pitches[r] for r in rows]
        assert [m["data"][2] for m in ons] == [int(grid[r, s]) for s, r in zip(steps, rows)]
        step_ms = 60000 / 93 / 4
        gaps = np.diff([m["at"] for m in ons])
        np.testing.assert_allclose(gaps, np.diff(steps) * step_ms, atol=1.0)
        assert sent[-1]["data"] == [0xB9, 123, 0]
        assert not any(m["data"][0] == 0x99 and m["data"][1] == 41 for m in sent)  # not GM's LT

        with page.expect_download() as info:                     # the card's own .mid link
            page.locator(".card").nth(1).locator("a.mid").click()
        assert info.value.suggested_filename == f"loop-{loop['id']:03d}.mid"
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        notes = {m.note for t in mido.MidiFile(path).tracks for m in t if m.type == "note_on"}
        assert notes == {td.pitches[r] for r in set(rows)}
        assert not page.errors, page.errors
        page.close()
    finally:
        server.stop()


def test_drag_a_card_out_as_a_midi_file_and_switch_now(browser, studio_seeded):
    """Dragging a card hands the browser a DownloadURL (type:name:url) whose URL serves
    the loop's MIDI; "switch now" changes loops on the next step instead of the bar."""
    page = open_page(browser, studio_seeded.url)
    drag = page.evaluate("""() => {
        const card = document.querySelectorAll('.card')[2];
        const data = new DataTransfer();
        card.dispatchEvent(new DragEvent('dragstart', { dataTransfer: data, bubbles: true }));
        return { url: data.getData('DownloadURL'), list: data.getData('text/uri-list'),
                 draggable: card.draggable, id: Number(card.dataset.id) };
    }""")
    assert drag["draggable"]
    kind, name, url = drag["url"].split(":", 2)
    assert kind == "audio/midi" and name == f"loop-{drag['id']:03d}.mid" and url == drag["list"]
    got = page.request.get(url)          # as the browser's download does: with its cookie
    assert got.status == 200 and got.body()[:4] == b"MThd"
    session = store.load(studio_seeded.folder)
    path = studio_seeded.folder.parent / name
    path.write_bytes(got.body())
    # the file is the loop as played (the model's feel sets velocities and timing): same hits
    np.testing.assert_array_equal(midi.read_loop(path, session.spec) > 0,
                                  session.loops[drag["id"]].grid > 0)

    click_card(page, 0)
    page.wait_for_function("engine.timer !== null && engine.current.id === S.loops[0].id")
    for mode in ("now", "bar"):
        page.select_option("#switch", mode)
        # press early in a bar (steps counted since playback started, 16 a bar)
        page.wait_for_function("engine.played % 16 >= 1 && engine.played % 16 <= 6")
        pressed = page.evaluate("(() => { const p = engine.played;"
                                " const next = S.loops[engine.current.id === S.loops[3].id ? 0 : 3];"
                                " audition(next); return [p, next.id]; })()")
        page.wait_for_function(f"engine.current.id === {pressed[1]}")
        switched = page.evaluate("engine.switchedAt")
        bar_line = (pressed[0] // 16 + 1) * 16
        if mode == "now":      # within the scheduler's look-ahead, long before the bar line
            assert switched - pressed[0] <= 3 and switched < bar_line, (pressed, switched)
        else:
            assert switched == bar_line, (pressed, switched)
    assert not page.errors, page.errors
    page.close()


@pytest.fixture(scope="module")
def studio_seeded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("studio-drag") / "session"
    server = Server(folder, "--out", str(folder), "--seed", "8")
    yield server
    if server.proc.poll() is None:
        server.stop()
