"""Models, a server and the browser settings for the app's tests (no pytest fixtures here)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import gen
from gen.core import registry

# Debian chromium driven by Playwright (never `playwright install`); scripts/screenshots.py
# keeps its own copy of these lines, since nothing may import tests/.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(__file__).parent / "artifacts"  # screenshots of the browser tests (ignored)


def untrained_roll_model(root: Path, frames_per_quarter: int = 1, seed: int = 0) -> Path:
    """The debug-roll piano-roll VAE with seeded, untrained weights, saved under ``root``.

    Real model code with random weights: what the app does with a piano-roll model (examples,
    uploads, all four actions, MIDI, audio, pictures) in about a second, where training even
    the tiny recipe takes a minute on a busy 2-core machine. ``frames_per_quarter`` 2 gives
    the Nottingham frame grid (the "folk-chords" role).
    """
    import torch

    base = registry.get_recipe("debug-roll")
    config = dataclasses.replace(base.model, frames_per_quarter=frames_per_quarter,
                                 max_frames=64 * frames_per_quarter)
    torch.manual_seed(seed)
    model = registry.build_model(config)
    return model.save_pretrained(Path(root) / f"roll_fpq{frames_per_quarter}")


def debug_vae_2d_recipe() -> registry.Recipe:
    """The debug VAE recipe with a 2-d latent (for the latent map)."""
    base = registry.get_recipe("debug-mnist-vae")
    model = dataclasses.replace(base.model, latent_dim=2)
    return dataclasses.replace(base, name="debug-mnist-vae-2d", model=model)


def train_debug_image_models(root: Path, steps: int = 30) -> dict[str, Path]:
    """Train one tiny model per Image-tab role into ``root``; role -> model directory."""
    recipes = {
        "ae": "debug-mnist-ae",
        "vae": "debug-mnist-vae",
        "dae": "debug-mnist-dae",
        "sr": "debug-mnist-sr",
        "vae2d": debug_vae_2d_recipe(),
    }
    return {
        role: gen.train(rec, Path(root) / role, steps=steps, progress=False)
        for role, rec in recipes.items()
    }


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_app(
    image_models: Mapping[str, object], music_models: Mapping[str, object], out: Path
) -> Iterator[tuple[str, object]]:
    """Serve ``build_demo(image_models, out, music_models)`` on a free 127.0.0.1 port.

    Yields (url, demo); the server is closed on exit.
    """
    from apps.app import build_demo, launch

    os.environ.setdefault("GRADIO_TEMP_DIR", str(out / "gradio_tmp"))
    demo = build_demo(image_models, out, music_models)
    port = free_port()
    launch(demo, port=port, block=False)
    try:
        yield f"http://127.0.0.1:{port}/", demo
    finally:
        demo.close()


def browser_fixtures(open_page: Callable[[Any, str, dict], Any]) -> tuple[Any, Any, Any]:
    """Module-scoped ``browser``, ``page`` (DESKTOP) and ``phone`` (PHONE) fixtures for a test
    module whose ``server`` fixture gives the app's URL first; ``open_page(browser, url,
    viewport)`` opens one page and waits until it is ready. Use:
    ``browser, page, phone = browser_fixtures(_open)``."""

    @pytest.fixture(scope="module")
    def browser(server):  # noqa: ANN001, ANN202
        sync_api = pytest.importorskip("playwright.sync_api")
        if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
            pytest.skip("Debian chromium is not installed (apt-get install chromium)")
        ARTIFACTS.mkdir(exist_ok=True)
        sync_api.expect.set_options(timeout=30_000)  # a busy 2-core machine answers slowly
        with sync_api.sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield b
            b.close()

    def sized(viewport: dict) -> Any:
        @pytest.fixture(scope="module")
        def one(browser, server):  # noqa: ANN001, ANN202
            pg = open_page(browser, server[0], viewport)
            yield pg
            pg.close()

        return one

    page, phone = sized(DESKTOP), sized(PHONE)
    return browser, page, phone


def in_view(pg, elem_id: str) -> bool:
    """Element ``elem_id`` comes on screen within 5 s: all of it, or (taller than the screen)
    from its top."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        pg.wait_for_function(
            "(id) => { const r = document.getElementById(id).getBoundingClientRect();"
            " const h = innerHeight; return r.bottom > r.top && r.top >= -1"
            " && (r.bottom <= h + 1 || r.top < 0.5 * h); }", arg=elem_id, timeout=5_000)
    except PlaywrightTimeout:
        return False
    return True


def music_spec(given: Mapping[str, Any], keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """A Music-tab model spec for ``build_demo`` / ``load_music_models``: the roles in
    ``given`` as given, those in ``keep`` on their default models, every other role of
    ``apps.music.actions.ROLES`` switched off (None)."""
    from apps.music.actions import ROLES

    return {**{r: None for r in ROLES if r not in keep}, **given}
