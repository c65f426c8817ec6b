"""The studio's swing and feel sliders in a real browser: a move is heard at once (the
engine schedules the next hits at their new times) and exports play what is heard."""
from __future__ import annotations

import numpy as np
from test_studio_browser import (Server, browser, click_first_elite,  # noqa: F401
                                 open_page, resumed_page)  # browser: a fixture

from evodrum.grid import DEFAULT_SPEC
from evodrum.gridfile import read_file

SET_SLIDER = """([id, value]) => { const e = document.querySelector('#' + id); e.value = value;
  e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change')); }"""
#: The newest scheduled hit's shift on an odd step, in steps, after time `since`.
LATE_ODD = """(since) => { const step = engine.stepSeconds();
  const odd = engine.onsets.filter(o => o[2] % 2 === 1 && o[0] - o[3] > since);
  return odd.length ? odd[odd.length - 1][3] / step : null; }"""


def test_swing_slider_is_heard_at_once_and_exported(browser, tmp_path):
    folder = tmp_path / "session"
    server = Server(folder, "--out", str(folder), "--seed", "4")
    try:
        page = open_page(browser, server.url)
        assert page.evaluate("S.swing") == 50
        page.locator(".card").first.click()
        page.wait_for_function("engine.timer !== null && engine.onsets.length > 0")
        if page.evaluate("S.has_feel"):                         # the model's feel: off the grid
            page.wait_for_function("engine.onsets.some(o => o[3] !== 0)")
        page.evaluate(SET_SLIDER, ["feel", "0"])                # straight, then swing alone
        page.evaluate(SET_SLIDER, ["swing", "66"])
        # hits scheduled before the move (at most the look-ahead) keep their old times
        now = page.evaluate("engine.ctx.currentTime + 0.12 + engine.stepSeconds()")
        page.wait_for_function(f"({LATE_ODD})({now}) !== null")
        assert abs(page.evaluate(f"({LATE_ODD})({now})") - 0.32) < 1e-6
        page.wait_for_function(f"engine.onsets.some(o => o[2] % 2 === 0 && o[0] - o[3] > {now})")
        even = page.evaluate(f"engine.onsets.filter(o => o[2] % 2 === 0 && o[0] - o[3] > {now})"
                             ".map(o => o[3])")
        assert even and not any(even)
        page.wait_for_function("S.swing === 66 && S.feel === 0")  # the server has them too
        page.click('#tabs button[data-view="export"]')
        with page.expect_download() as info:
            page.locator("#export-table a", has_text="MIDI").first.click()
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        loop = read_file(path, DEFAULT_SPEC).loop(0)
        odd = loop.hits & (np.arange(64) % 2 == 1)
        assert odd.any() and np.allclose(loop.offsets[odd], 0.32, atol=1 / 120)
        page.evaluate(SET_SLIDER, ["swing", "50"])              # back to straight, at once
        now = page.evaluate("engine.ctx.currentTime + 0.12 + engine.stepSeconds()")
        page.wait_for_function(f"({LATE_ODD})({now}) === 0")
        assert not page.errors, page.errors
        page.close()
    finally:
        server.stop()


def test_sliders_come_back_on_resume_and_map_loops_play_and_download_with_the_feel(
        browser, tmp_path):
    """Feel 0.5 and swing 58 are the session's: a reload and a resumed studio show and
    play them. A Map cell's loop plays with the model's take of it (as Evolve's loops
    do) and its .mid is that take at the sliders' values."""
    folder = tmp_path / "session"
    server = Server(folder, "--out", str(folder), "--seed", "5")
    try:
        page = open_page(browser, server.url)
        assert page.evaluate("S.has_feel")
        page.evaluate(SET_SLIDER, ["feel", "0.5"])
        page.evaluate(SET_SLIDER, ["swing", "58"])
        page.wait_for_function("S.feel === 0.5 && S.swing === 58")
        page.reload()
        page.wait_for_selector(".card canvas")
        assert page.input_value("#feel") == "0.5" and page.input_value("#swing") == "58"
        assert page.evaluate("[engine.feel, engine.swing]") == [0.5, 58]

        click_first_elite(page)
        cell = page.evaluate("atlasJob.elites[0].cell")
        page.wait_for_function("engine.current && engine.current.id === 'atlas'"
                               " && engine.current.feel !== null")
        take = np.array(page.evaluate("engine.current.feel.offsets"))
        grid = np.array(page.evaluate("engine.current.grid"))
        with page.expect_download() as info:
            page.locator("#map-cell a.mid").click()
        assert info.value.suggested_filename == f"atlas-{cell[0] + 1}-{cell[1] + 1}.mid"
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        loop = read_file(path, DEFAULT_SPEC).loop(0)
        hits = grid > 0
        np.testing.assert_array_equal(loop.hits, hits)
        swing = (np.arange(64) % 2 == 1) * (58 / 50 - 1)
        heard = np.clip(0.5 * take + swing[None, :], -0.5, 0.4999)   # what the page plays
        np.testing.assert_allclose(loop.offsets[hits], heard[hits], atol=1 / 120 + 1e-3)
        assert np.abs(take[hits]).max() > 1 / 60                 # the take is no grid
        assert not page.errors, page.errors
        page.close()
    finally:
        server.stop()
    with resumed_page(browser, folder) as page:
        assert page.evaluate("[S.feel, S.swing]") == [0.5, 58]
        assert page.input_value("#feel") == "0.5" and page.input_value("#swing") == "58"
