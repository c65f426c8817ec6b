"""Take the README's screenshots of `evodrum studio`: python docs/studio/screenshots.py

Starts a studio on a scratch session (seed 4), rates and breeds a little, and
photographs each view with Playwright in headless Chromium (/usr/bin/chromium).
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from test_studio_browser import CHROMIUM, FLAGS, Server, atlas_cell_centre  # noqa: E402

OUT = Path(__file__).resolve().parent


def main() -> None:
    folder = Path(tempfile.mkdtemp()) / "session"
    server = Server(folder, "--out", str(folder), "--seed", "4")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            page = browser.new_page(viewport={"width": 1500, "height": 980})
            page.goto(server.url)
            page.wait_for_selector(".card canvas")
            cards = page.locator(".card")
            for i, stars in ((1, 8), (2, 9), (4, 6), (6, 3)):
                cards.nth(i).locator(".stars button").nth(stars).click()
            cards.nth(2).locator(".fav").click()
            page.click("#next")
            page.wait_for_function("S.generation === 2")
            cards.nth(1).locator(".stars button").nth(7).click()
            cards.nth(1).click()
            for row in ("BD", "SD"):                      # lock the kick and snare heard
                page.click(f'#locks button[data-row="{row}"]')
                page.wait_for_function(f"S.locked.rows.includes('{row}')")
            page.wait_for_timeout(1500)
            page.screenshot(path=OUT / "evolve.png")
            for row in ("BD", "SD"):                      # free them for the other views
                page.click(f'#locks button[data-row="{row}"]')
                page.wait_for_function(f"!S.locked.rows.includes('{row}')")

            page.click('#tabs button[data-view="listen"]')
            page.locator("#mixer .strip").nth(2).locator("button.m").click()
            page.wait_for_timeout(800)
            page.screenshot(path=OUT / "listen.png")

            page.click('#tabs button[data-view="steer"]')
            page.wait_for_selector("#latent input")
            for name, value in (("kick & snare syncopation", "0.8"), ("hi-hat density", "0.6")):
                row = page.locator("#attributes .slider", has_text=name).first
                row.locator("input").fill(value)
                row.locator("input").dispatch_event("input")
                page.wait_for_timeout(300)
            box = page.locator("#pad").bounding_box()
            page.mouse.click(box["x"] + 0.3 * box["width"], box["y"] + 0.6 * box["height"])
            page.wait_for_timeout(800)
            page.screenshot(path=OUT / "steer.png")

            page.click('#tabs button[data-view="target"]')
            page.wait_for_selector("#goals .slider")
            page.fill("#target-gens", "25")
            page.click("#target-run")
            page.wait_for_function("document.querySelectorAll('#target-results .card').length > 0",
                                   timeout=120000)
            page.screenshot(path=OUT / "target.png")

            page.click('#tabs button[data-view="map"]')
            page.wait_for_selector("#map-x option", state="attached")
            page.fill("#map-gens", "80")
            page.click("#map-run")
            page.wait_for_function("atlasJob && atlasJob.done", timeout=180000)
            best = page.evaluate("atlasJob.elites.reduce((a, b) => a.wellformed > b.wellformed ? a : b).cell")
            page.evaluate(f"atlasJob.elites.sort((a, b) => (b.cell[0] === {best[0]} && "
                          f"b.cell[1] === {best[1]}) - (a.cell[0] === {best[0]} && "
                          f"a.cell[1] === {best[1]}))")
            x, y = atlas_cell_centre(page)                # the best-formed cell, first
            box = page.locator("#atlas").bounding_box()
            page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])
            page.wait_for_timeout(800)
            page.screenshot(path=OUT / "map.png")

            page.click('#tabs button[data-view="export"]')
            page.screenshot(path=OUT / "export.png")
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
