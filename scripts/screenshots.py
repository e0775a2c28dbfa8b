"""Screenshots of the app with the shipped models, for the README (docs/images/app-*.png).

    python scripts/screenshots.py

Starts the app in this process on a free port of 127.0.0.1, drives Debian chromium with
Playwright (no `playwright install`), runs one action per section and saves the pictures:

- app-image.png        desktop (1440x900): a drawn digit, reconstructed, denoised, enlarged
- app-latent-map.png   desktop: the 2-d VAE's latent map with the decoded point marked
- app-music.png        desktop: an interpolation between two held-out tunes, a card and a
                       play control per step, one of them playing
- app-music-chords.png desktop: a piano-roll model's grid (only when one is shipped)
- app-phone.png        phone (390x844): the Music tab's samples, one card per row

Nothing is left running.
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
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


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


def _players(pg, n: int) -> None:  # noqa: ANN001
    """Wait until the result shows ``n`` cards whose audio has loaded."""
    pg.wait_for_function(
        "(n) => { const a = [...document.querySelectorAll('#music-view .gen-card audio')];"
        " return a.length === n && a.every((x) => x.duration > 0); }", arg=n, timeout=300_000)


def _choose_model(pg, text: str) -> bool:  # noqa: ANN001
    """Pick the Music model whose name contains ``text``; False when it is not offered."""
    box = pg.locator("#music-model input").first
    box.click()
    option = pg.locator("#music-model").get_by_role("option").filter(has_text=text)
    if not option.count():
        pg.keyboard.press("Escape")
        return False
    option.first.click()
    pg.wait_for_timeout(4000)  # the inputs' previews follow the model
    return True


def _image_tab(pg) -> list[str]:  # noqa: ANN001
    pg.wait_for_selector("#reconstruct")
    _draw_three(pg)
    pg.click("#reconstruct")
    pg.locator("#rec-vae img").first.wait_for(state="visible")
    pg.click("#denoise")
    pg.locator("#denoised img").first.wait_for(state="visible")
    pg.click("#super-resolve")
    pg.locator("#sr-model img").first.wait_for(state="visible")
    pg.evaluate("() => window.scrollTo(0, 0)")
    pg.wait_for_timeout(500)
    pg.screenshot(path=str(OUT / "app-image.png"), full_page=True)
    _tab(pg, "image-sections", "Latent map")
    pg.wait_for_timeout(1500)
    pg.locator("#latent-map img").first.click(position={"x": 200, "y": 380})
    pg.locator("#latent-digit img").first.wait_for(state="visible")
    pg.wait_for_timeout(1000)
    pg.screenshot(path=str(OUT / "app-latent-map.png"), full_page=True)
    return ["app-image.png", "app-latent-map.png"]


def _music_tab(pg) -> list[str]:  # noqa: ANN001
    _tab(pg, "heads", "Music")
    pg.wait_for_timeout(3000)
    if not pg.locator("#music-actions").count():  # no music model is available
        pg.screenshot(path=str(OUT / "app-music.png"), full_page=True)
        return ["app-music.png"]
    written = []
    _tab(pg, "music-actions", "Interpolate")
    pg.click("#music-interpolate")
    _players(pg, 5)
    card = pg.locator("#music-view .gen-card").nth(2)
    card.locator("audio").evaluate("(a) => { a.muted = true; a.play(); }")
    pg.wait_for_timeout(1500)
    card.locator("audio").evaluate("(a) => a.pause()")
    pg.locator("#music-results").scroll_into_view_if_needed()
    pg.screenshot(path=str(OUT / "app-music.png"), full_page=True)
    written.append("app-music.png")
    if _choose_model(pg, "chorales") or _choose_model(pg, "chords"):
        _tab(pg, "music-actions", "Grid")
        size = pg.locator("#music-grid-size input[type=number]").first
        size.fill("2")
        size.press("Enter")
        size.blur()
        pg.wait_for_timeout(500)
        pg.click("#music-grid")
        _players(pg, 4)
        pg.screenshot(path=str(OUT / "app-music-chords.png"), full_page=True)
        written.append("app-music-chords.png")
    else:
        print("no piano-roll model is shipped yet: app-music-chords.png not written")
    return written


def _phone(pg) -> list[str]:  # noqa: ANN001
    pg.wait_for_selector("#reconstruct")
    _tab(pg, "heads", "Music")
    pg.wait_for_timeout(3000)
    if not pg.locator("#music-actions").count():
        return []
    _tab(pg, "music-actions", "Sample")
    pg.click("#music-sample")
    _players(pg, 4)
    pg.wait_for_timeout(500)
    pg.screenshot(path=str(OUT / "app-phone.png"))  # what the phone shows after the click
    return ["app-phone.png"]


def main() -> None:
    """Start the app, take the screenshots, stop."""
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        demo = build_demo(out_dir=tmp)
        port = free_port()
        launch(demo, port=port, block=False, out_dir=tmp)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                pg = browser.new_page(viewport=DESKTOP)
                pg.set_default_timeout(120_000)
                pg.goto(f"http://127.0.0.1:{port}/")
                written += _image_tab(pg)
                written += _music_tab(pg)
                phone = browser.new_page(viewport=PHONE)
                phone.set_default_timeout(120_000)
                phone.goto(f"http://127.0.0.1:{port}/")
                written += _phone(phone)
                browser.close()
        finally:
            demo.close()
    for name in written:
        print(OUT / name)


if __name__ == "__main__":
    main()
