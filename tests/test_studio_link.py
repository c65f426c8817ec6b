"""The studio in an Ableton Link session, in a real browser: a second aalink peer (in
the test process) plays the DAW's session, and the studio's server joins it for the
page. The test, the studio server and the browser run in a network of their own
(`own_network`), so no other test suite's Link peers can join. The browser is started
here, inside that network, not shared with the other browser tests (their Chromium
lives on the machine's network and could not reach this studio).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from conftest import require_real_part
from test_studio_browser import (CHROMIUM, FAKE_WEB_MIDI, FLAGS, REFUSE_WEB_MIDI, Server,
                                 open_page)
from waiting import wait_for

from evodrum.interactive import store

BPM = 93.0


def page_clock(page) -> tuple[float, float]:
    """Seconds to add to the page's performance.now()/1000 to read this process's
    time.time(), from the quickest of 20 round trips, and how far off that may be (half
    the round trip: a loaded machine makes it longer, and the tests' tolerance with it)."""
    best = None
    for _ in range(20):
        before = time.time()
        ms = page.evaluate("performance.now()")
        after = time.time()
        if best is None or after - before < best[0]:
            best = (after - before, (before + after) / 2 - ms / 1000)
    return best[1], best[0] / 2


def peer_beat(peer) -> tuple[float, float, float]:
    """(time.time(), the peer's beat then, how far off that time may be): the beat read
    between two readings of the clock, so a thread held back widens the error only."""
    before, beat, after = time.time(), peer.beat(), time.time()
    return (before + after) / 2, beat, (after - before) / 2


def join_the_peers_session(page, peer) -> None:
    """Follow Link on the page until the studio is in the other peer's session at 93 BPM.

    On a loaded machine a Link peer that hears nothing from the other for a while founds
    a new session, younger than the studio's, and the two settle at the studio's 120
    (Link's rule, not the studio taking over; see test_sync.join_the_peers_session):
    then the studio leaves, the peer goes back to 93 and runs a while, and the studio
    joins again (3 times at most)."""
    for _ in range(3):
        page.select_option("#follow", "link")
        page.wait_for_function("engine.follow && engine.follow.kind === 'link'"
                               " && engine.follow.peers >= 1")
        tempo = wait_for(lambda: abs(page.evaluate("engine.follow.bpm") - peer.tempo()) < 1e-3
                         and peer.tempo(), "one tempo at both peers")
        if abs(tempo - BPM) < 1e-3:
            page.wait_for_function("S.bpm === 93")
            return
        page.select_option("#follow", "")                    # Link kept the studio's: again
        wait_for(lambda: peer.peers == 0, "the studio to leave the session")
        peer.set_tempo(BPM, peer.beat())
        start = peer.beat()
        wait_for(lambda: peer.beat() > start + 2, "the peer's session to run")
    raise AssertionError("the studio kept its own Link session 3 times")


@pytest.mark.slow                  # a studio and a Chromium of its own: the full tier
def test_the_studio_joins_a_link_session_at_its_tempo_and_on_its_bar_lines(own_network,
                                                                           tmp_path):
    """A Link session at 93 BPM (a second aalink peer, here in the test process) and the
    studio at 120: following Link, the studio takes 93 (the session's tempo, saved), a
    loop clicked starts on the session's next bar line and every note falls on its beat
    of the session (checked against the other peer's own beat clock); with Start Stop
    Sync the other peer's stop stops the loop and its start plays it again from a bar
    line; a tempo typed in the studio reaches the other peer."""
    try:
        import aalink  # noqa: F401
        have = True
    except ImportError:
        have = False
    require_real_part(have, "aalink (pip install 'evodrum[link]')")
    require_real_part(Path(CHROMIUM).is_file(), "Chromium (apt install chromium)")
    from playwright.sync_api import sync_playwright

    from evodrum.audio.transport import LinkSession
    peer = LinkSession(BPM)          # the DAW's session, running before the studio joins
    folder = tmp_path / "session"
    server = None
    try:
        # Link's rule when two sessions meet: the one running longer keeps its beat
        wait_for(lambda: peer.beat() > 2, "the Link session to run")
        server = Server(folder, "--out", str(folder), "--seed", "7", "--bpm", "120",
                        "--feel", "0")
        # the browser is started here, so it shares this test's network (own_network)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            page = open_page(browser, server.url, FAKE_WEB_MIDI)
            page.wait_for_selector("#follow option[value='link']:not([disabled])",
                                   state="attached")
            page.select_option("#midi-out", "daw-1")
            join_the_peers_session(page, peer)
            assert store.load(folder).settings.bpm == 93.0      # the session's tempo now
            page.locator(".card").nth(1).click()
            grid = np.array(page.evaluate("S.loops[1].grid"))
            hits = int((grid[:, :32] > 0).sum())                # two bars of notes
            page.wait_for_function("window.__midiSent.filter(m => m.data[0] === 0x99)"
                                   f".length >= {hits}")
            offset, clock_error = page_clock(page)
            wall, beat, beat_error = peer_beat(peer)            # the peer's beat clock
            reading = (clock_error + beat_error) * BPM / 60     # how far off, in beats
            page.click("#play-stop")
            ons = [m["at"] for m in page.evaluate("window.__midiSent")
                   if m["data"][0] == 0x99][:hits]
            beats = [beat + (at / 1000 + offset - wall) * BPM / 60 for at in ons]
            steps = np.nonzero(grid[:, :32].T)[0]               # each note's step, in order
            nominal = beats[0] + steps / 4
            error = np.array(beats) - nominal                   # from its beat in the loop
            phase = beats[0] % 4                                # the first on a bar line
            print(f"Link: first note {min(phase, 4 - phase):.4f} beat from the bar line "
                  f"(read to {reading:.4f} beat), notes within {np.abs(error).max():.4f} beat "
                  "of their beats")
            assert min(phase, 4 - phase) < 0.02 + reading
            assert np.abs(error).max() < 0.005                  # the session's 93 BPM

            # Start Stop Sync: the other peer stops (the loop stays cued) and starts again
            # (it plays from the session's next bar line)
            page.locator(".card").nth(1).click()
            page.wait_for_function("engine.timer !== null")
            peer.link.start_stop_sync_enabled = True
            peer.link.playing = True
            page.wait_for_function("engine.follow.playing === true")
            peer.link.playing = False
            page.wait_for_function("engine.timer === null && engine.current !== null")
            assert "waits for the Link session to start" in page.inner_text("#now-playing")
            heard = len(page.evaluate("window.__midiSent"))
            peer.link.playing = True
            page.wait_for_function(f"window.__midiSent.slice({heard})"
                                   ".filter(m => m.data[0] === 0x99).length >= 4")
            offset, clock_error = page_clock(page)
            wall, beat, beat_error = peer_beat(peer)
            first = next(m["at"] for m in page.evaluate("window.__midiSent")[heard:]
                         if m["data"][0] == 0x99)
            phase = (beat + (first / 1000 + offset - wall) * BPM / 60) % 4
            assert min(phase, 4 - phase) < 0.02 + (clock_error + beat_error) * BPM / 60, phase

            page.fill("#bpm", "101")                            # proposed to the session
            page.press("#bpm", "Enter")
            wait_for(lambda: abs(peer.tempo() - 101) < 1e-3, "the tempo at the other peer")
            assert not page.errors, page.errors

            # the choice is kept; opened again with it (and "send clock" on) where Web MIDI
            # is refused: the page follows the Link session still, the output list saying
            # MIDI is refused, "send clock" kept for when there is an output
            kept = page.evaluate("localStorage.getItem('evodrum.follow')")
            assert kept == "link"
            again = open_page(browser, server.url, REFUSE_WEB_MIDI +
                              f"localStorage.setItem('evodrum.follow', '{kept}'); "
                              "localStorage.setItem('evodrum.clock-out', '1');")
            again.wait_for_function("engine.follow !== null && engine.follow.kind === 'link'")
            again.wait_for_selector("#midi-out option[value='none']", state="attached")
            refused = again.locator("#midi-out option[value='none']")
            assert "not allowed" in refused.get_attribute("title")
            assert again.evaluate("localStorage.getItem('evodrum.clock-out')") == "1"
            assert again.is_checked("#clock-out") and again.is_disabled("#clock-out")
            assert again.inner_text("#status") == ""          # restored quietly
            # the studio leaves the session: the page says why, and plays on its own tempo
            again.evaluate("api('/api/link', { on: false })")
            again.wait_for_function("engine.follow === null")
            assert "left the Link session" in again.inner_text("#status")
            assert again.evaluate("localStorage.getItem('evodrum.follow')") == ""
            assert not again.is_disabled("#bpm")
            assert not again.errors, again.errors
            again.close()
            browser.close()
    finally:
        if server is not None:
            server.stop()
        peer.close()

