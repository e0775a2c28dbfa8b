"""Screenshots of the app with the shipped models, for the README (docs/images/app-*.png).

    python scripts/screenshots.py

Starts the app in this process on a free port of 127.0.0.1, drives Debian chromium with
Playwright (no `playwright install`), draws a digit, runs one action per section and saves
the pictures. Nothing is left running.
"""

from __future__ import annotations

import socket
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.app import build_demo, launch  # noqa: E402

OUT = ROOT / "docs" / "images"
# Debian chromium driven by Playwright (never `playwright install`); the tests keep their own
# copy of these lines in tests/app_helpers.py: nothing imports tests/.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tab(pg, within: str, name: str) -> None:  # noqa: ANN001
    pg.locator(f"#{within} > .tab-wrapper").get_by_role("tab", name=name, exact=True).click()


def _draw_three(pg) -> None:  # noqa: ANN001
    box = pg.locator("#main-sketch canvas").first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    t = np.linspace(-np.pi * 0.8, np.pi * 0.5, 20)
    top = [(45 * np.cos(a), -45 + 40 * np.sin(a)) for a in t]
    bottom = [
        (50 * np.cos(a), 45 + 45 * np.sin(a)) for a in np.linspace(-np.pi * 0.5, np.pi * 0.8, 20)
    ]
    pg.mouse.move(cx + top[0][0], cy + top[0][1])
    pg.mouse.down()
    for x, y in top + bottom:
        pg.mouse.move(cx + x, cy + y)
    pg.mouse.up()


def main() -> None:
    """Start the app, take the screenshots, stop."""
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        demo = build_demo(out_dir=tmp)
        port = free_port()
        launch(demo, port=port, block=False, out_dir=tmp)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                pg = browser.new_page(viewport={"width": 1280, "height": 900})
                pg.set_default_timeout(60_000)
                pg.goto(f"http://127.0.0.1:{port}/")
                pg.wait_for_selector("#reconstruct")
                _draw_three(pg)
                pg.click("#reconstruct")
                pg.locator("#rec-vae img").first.wait_for(state="visible")
                pg.click("#denoise")
                pg.locator("#denoised img").first.wait_for(state="visible")
                pg.click("#super-resolve")
                pg.locator("#sr-model img").first.wait_for(state="visible")
                pg.wait_for_timeout(500)
                pg.screenshot(path=str(OUT / "app-image.png"), full_page=True)
                _tab(pg, "image-sections", "Latent map")
                pg.wait_for_timeout(1500)
                pg.screenshot(path=str(OUT / "app-latent-map.png"), full_page=True)
                _tab(pg, "heads", "Music")
                pg.wait_for_timeout(1000)
                if pg.locator("#music-actions").count():  # a music model is available
                    _tab(pg, "music-actions", "Interpolate")
                    pg.click("#music-interpolate")
                    pg.locator("#music-roll img").first.wait_for(state="visible")
                    pg.wait_for_timeout(1000)
                pg.screenshot(path=str(OUT / "app-music.png"), full_page=True)
                browser.close()
        finally:
            demo.close()
    for name in ("app-image.png", "app-latent-map.png", "app-music.png"):
        print(OUT / name)


if __name__ == "__main__":
    main()
