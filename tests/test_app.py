"""The Gradio app: its API endpoints through gradio_client, and a person's view through Chromium.

One server (tiny debug models, trained once for this module) serves every test. Browser tests
drive Debian's chromium with Playwright and save screenshots under tests/artifacts/.
"""

from __future__ import annotations

import io
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")


from app_helpers import (  # noqa: E402
    ARTIFACTS,
    browser_fixtures,
    in_view,
    music_spec,
    running_app,
    train_debug_image_models,
)

from apps.app import build_demo  # noqa: E402
from apps.common import MAX_UPLOAD_MB  # noqa: E402
from apps.image.actions import DIGIT_PX, picture  # noqa: E402
from gen.image.io import load_mnist  # noqa: E402

pytestmark = [  # gradio's queue statistics use pandas options deprecated in pandas 3
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]
ENDPOINTS = {
    "/reconstruct",
    "/denoise",
    "/super_resolve",
    "/sample",
    "/interpolate",
    "/decode_latent",
    "/pick_latent",
    "/latent_pictures",
}


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def image_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return train_debug_image_models(tmp_path_factory.mktemp("app_models"), steps=20)


@pytest.fixture(scope="module")
def server(image_models, tmp_path_factory):
    """(url, demo) of the app on a free port of 127.0.0.1; closed after the module."""
    out = tmp_path_factory.mktemp("app_out")
    # music has its own tests (tests/test_app_music.py)
    with running_app(image_models, music_spec({}), out) as (url, demo):
        yield url, demo


@pytest.fixture(scope="module")
def client(server, tmp_path_factory):
    return gradio_client.Client(
        server[0], verbose=False, download_files=str(tmp_path_factory.mktemp("client"))
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Uploads: a large colour photo-like digit, a blank page, a non-image, an oversize file."""
    root = tmp_path_factory.mktemp("uploads")
    x, _ = load_mnist("test", 1)
    digit = np.kron(x[0, 0].numpy(), np.ones((30, 30), np.float32))  # 840 x 840
    page = np.zeros((1000, 1300), np.float32)
    page[80:920, 300:1140] = digit
    rgb = np.stack([220 - 200 * page, 210 - 190 * page, 190 - 170 * page], axis=-1)  # cream paper
    out = {"digit": root / "digit.png", "blank": root / "blank.jpg", "text": root / "notes.png"}
    Image.fromarray(rgb.astype(np.uint8)).save(out["digit"])
    Image.new("RGB", (640, 480), "white").save(out["blank"])
    out["text"].write_text("this is not an image")
    out["huge"] = root / "huge.png"
    with open(out["huge"], "wb") as f:  # a valid PNG header followed by 50 MB of padding
        Image.new("L", (8, 8), 255).save(f, format="PNG")
        f.write(b"\0" * (50 * 2**20))
    return out


def _image(path: str) -> np.ndarray:
    return np.asarray(Image.open(path))


# --------------------------------------------------------------------------- structure
def test_every_event_has_an_api_name(server, client):
    _, demo = server
    named = [f for f in demo.fns.values() if f.fn is not None]
    assert named and all(f.api_name for f in named)  # browser-only ones are private
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == ENDPOINTS


def test_picture_is_nearest_neighbour_dark_on_white():
    x = np.zeros((28, 28), np.float32)
    x[10:12, 5] = 1.0
    p = picture(x)
    assert p.shape == (DIGIT_PX, DIGIT_PX) and p.dtype == np.uint8
    assert set(np.unique(p)) == {0, 255}  # no smoothing: ink is black, paper white
    assert (p[80:96, 40:48] == 0).all() and p[0, 0] == 255


def test_missing_models_are_explained_not_fatal(image_models, tmp_path):
    spec = {**image_models, "sr": tmp_path / "nowhere", "vae2d": None}
    demo = build_demo(spec, tmp_path)
    names = {f.api_name for f in demo.fns.values() if f.fn is not None}
    assert "super_resolve" not in names and "pick_latent" not in names
    assert {"reconstruct", "denoise", "sample", "interpolate"} <= names
    text = " ".join(str(getattr(b, "value", "")) for b in demo.blocks.values())
    assert "Not available" in text and "nowhere" in text


def test_command_line(capsys):
    from apps.app import main

    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    assert "--port" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="ROLE=NAME_OR_DIR"):
        main(["--image-model", "vae"])


# --------------------------------------------------------------------------- API
TEST3 = ("test", None, None, 3, 0)  # the first test-set 3


def test_reconstruct_test_digit_and_upload(client, files):
    seen, ae, vae = client.predict(*TEST3, api_name="/reconstruct")
    for p in (seen, ae, vae):
        assert _image(p).shape == (DIGIT_PX, DIGIT_PX)
    up = gradio_client.handle_file(str(files["digit"]))
    seen_up, _, _ = client.predict("upload", None, up, 0, 0, api_name="/reconstruct")
    mine = _image(seen_up)[::8, ::8] < 128  # back to 28x28 ink
    x, _ = load_mnist("test", 1)
    assert np.corrcoef(mine.ravel(), (x[0, 0].numpy() > 0.5).ravel())[0, 1] > 0.7


def test_denoise_and_super_resolve(client):
    seen, noisy, clean, note = client.predict(*TEST3, 0.6, 1, api_name="/denoise")
    assert _image(noisy).shape == _image(clean).shape == (DIGIT_PX, DIGIT_PX)
    assert "dB" in note
    again = client.predict(*TEST3, 0.6, 1, api_name="/denoise")[1]
    assert np.array_equal(_image(noisy), _image(again))  # the seed fixes the noise
    _, low, bicubic, model, note = client.predict(*TEST3, api_name="/super_resolve")
    assert {_image(p).shape for p in (low, bicubic, model)} == {(DIGIT_PX, DIGIT_PX)}
    assert len(np.unique(_image(low)[::16, ::16])) > 2  # a grey 14x14 picture
    assert "bicubic" in note


def test_sample_interpolate_and_latent_points(client):
    grid = _image(client.predict("vae", 16, 1.0, 0, api_name="/sample"))
    assert grid.shape[0] == grid.shape[1] >= 4 * 28
    strip = _image(
        client.predict(*TEST3, "test", None, None, 8, 0, "vae", 6, "lerp", api_name="/interpolate")
    )
    assert strip.shape[1] > 5 * strip.shape[0]  # one row of 6 digits
    z, marked = client.predict(0.5, -1.0, api_name="/decode_latent")
    assert _image(z).shape == (DIGIT_PX, DIGIT_PX) and _image(marked).ndim == 3
    grid, scatter = client.predict(api_name="/latent_pictures")
    assert _image(grid).shape[0] == _image(grid).shape[1] >= 10 * 28
    assert _image(scatter).ndim == 3  # a colour plot


@pytest.mark.parametrize(
    ("args", "api_name", "message"),
    [
        (("draw", None, None, 3, 0), "/reconstruct", "Draw a digit"),
        (("upload", None, None, 3, 0), "/reconstruct", "Upload an image"),
        (("blank", "/reconstruct"), None, "no digit found"),
        (("text", "/super_resolve"), None, "not a readable image"),
        (("test", None, None, 3, 5000), "/reconstruct", "pick an example number"),
        (("vae", 0, 1.0, 0), "/sample", "less than minimum"),
        (("vae", 4, 2.5, 0), "/sample", "greater than maximum"),
        (("ae", 4, 1.0, 0), "/sample", "not in the list of choices"),
    ],
)
def test_bad_input_gives_a_message_and_the_app_keeps_serving(
    client, files, args, api_name, message
):
    if api_name is None:  # an upload
        name, api_name = args
        args = ("upload", None, gradio_client.handle_file(str(files[name])), 0, 0)
    with pytest.raises(Exception, match=message):
        client.predict(*args, api_name=api_name)
    assert client.predict(*TEST3, api_name="/reconstruct")[0]  # still serving


def test_oversize_upload_is_refused(client, files):
    assert files["huge"].stat().st_size > MAX_UPLOAD_MB * 2**20
    up = gradio_client.handle_file(str(files["huge"]))
    with pytest.raises(Exception, match="(?i)size|large|413"):
        client.predict("upload", None, up, 0, 0, api_name="/reconstruct")
    assert client.predict(*TEST3, api_name="/reconstruct")[0]


# --------------------------------------------------------------------------- browser
def _open(browser, url: str, viewport: dict):
    pg = browser.new_page(viewport=viewport)
    pg.set_default_timeout(30_000)
    pg.goto(url)
    pg.wait_for_selector("#reconstruct")
    return pg


browser, page, phone = browser_fixtures(_open)


def _shown(pg, elem_id: str) -> tuple[int, int]:
    """Wait until the image output ``elem_id`` shows a loaded picture; its (width, height)."""
    sel = f"#{elem_id} img"
    pg.wait_for_function(
        "(sel) => { const im = document.querySelector(sel);"
        " return im && im.complete && im.naturalWidth > 0; }",
        arg=sel,
    )
    src = pg.locator(sel).first.get_attribute("src")
    assert src and ("/file=" in src or src.startswith("data:image"))
    size = pg.evaluate(
        "(sel) => { const im = document.querySelector(sel); return [im.naturalWidth,"
        " im.naturalHeight]; }",
        sel,
    )
    return int(size[0]), int(size[1])


def _picture(pg, elem_id: str) -> np.ndarray:
    """The picture that output ``elem_id`` shows, as the browser received it."""
    _shown(pg, elem_id)
    src = pg.locator(f"#{elem_id} img").first.get_attribute("src")
    with urllib.request.urlopen(src) as r:
        return np.asarray(Image.open(io.BytesIO(r.read())))


def _draw(pg, pts: list[tuple[float, float]]) -> None:
    """Draw a stroke through ``pts`` (pixels from the centre of the main sketchpad), which is
    brought into view first (a result may have scrolled the page)."""
    canvas = pg.locator("#main-sketch canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    pg.mouse.move(cx + pts[0][0], cy + pts[0][1])
    pg.mouse.down()
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        for t in np.linspace(0, 1, 12)[1:]:
            pg.mouse.move(cx + x0 + t * (x1 - x0), cy + y0 + t * (y1 - y0))
    pg.mouse.up()


SEVEN = [(-50, -80), (50, -80), (45, -60), (0, 90)]  # a 7 across the middle of the paper
ONE = [(0, -90), (0, 90)]  # a vertical stroke


def _tab(pg, within: str, name: str) -> None:
    pg.locator(f"#{within} > .tab-wrapper").get_by_role("tab", name=name, exact=True).click()


def _no_picture(pg, elem_id: str) -> None:
    from playwright.sync_api import expect

    expect(pg.locator(f"#{elem_id} img")).to_have_count(0)


def test_browser_empty_sketch_shows_a_message(page):
    from playwright.sync_api import expect

    page.click("#reconstruct")
    toast = page.get_by_text("no digit found").or_(page.get_by_text("Draw a digit"))
    expect(toast.first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "image-error.png"))


def test_browser_draw_reconstruct_denoise_super_resolve(page):
    _tab(page, "image-sections", "Your digit")
    _draw(page, SEVEN)
    from playwright.sync_api import expect

    page.click("#reconstruct")
    for elem_id in ("rec-ae", "rec-vae", "seen"):
        assert _shown(page, elem_id) == (DIGIT_PX, DIGIT_PX)
    page.click("#denoise")
    expect(page.locator("#denoise-note")).to_contain_text("dB")
    assert _shown(page, "denoised") == _shown(page, "noisy") == (DIGIT_PX, DIGIT_PX)
    page.click("#super-resolve")
    expect(page.locator("#sr-note")).to_contain_text("bicubic")
    assert _shown(page, "sr-model") == (DIGIT_PX, DIGIT_PX)
    page.screenshot(path=str(ARTIFACTS / "image-your-digit.png"), full_page=True)


def test_browser_clear_then_draw_then_reconstruct(page):
    from playwright.sync_api import expect

    _tab(page, "image-sections", "Your digit")
    assert _shown(page, "rec-vae")  # the 7 of the test before
    page.locator("#main-sketch button[aria-label='Clear canvas']").first.click()
    for elem_id in ("seen", "rec-ae", "rec-vae", "denoised", "sr-model"):  # the 7's results go
        _no_picture(page, elem_id)
    expect(page.locator("#denoise-note")).not_to_contain_text("dB")
    # Gradio's Clear leaves no paper ("select the draw tool to start"); a new blank page comes
    # back from the server at once: then the brush draws again
    expect(page.get_by_text("select the draw tool to start")).to_be_hidden()
    _draw(page, ONE)
    # the first test's "draw a digit" message may still show, and vanishes in its own time:
    # close every message first, so that any shown after the click is new
    from playwright.sync_api import Error as PlaywrightError

    closes = page.locator(".toast-close")
    for _ in range(10):
        if not closes.count():
            break
        try:
            closes.first.click(timeout=1000)
        except PlaywrightError:  # it vanished by itself meanwhile
            pass
    expect(closes).to_have_count(0)
    messages = page.get_by_text("Draw a digit").count()  # the sketchpad's own label
    page.click("#reconstruct")
    ink = _picture(page, "seen")[::8, ::8] < 128  # what the models see, back at 28 x 28
    cols = np.nonzero(ink.any(axis=0))[0]
    assert ink.sum() > 15 and cols.max() - cols.min() <= 8  # one upright stroke, not the 7
    assert _shown(page, "rec-vae") == (DIGIT_PX, DIGIT_PX)
    assert page.get_by_text("Draw a digit").count() == messages  # no new "draw first"


def _upload(page, path: Path) -> None:
    """Put ``path`` into the Upload tab and wait until the page shows *that* picture: the one
    uploaded before stays visible meanwhile, and clicking then would send the old one."""
    from playwright.sync_api import expect

    shown = page.locator("#main-upload img").first
    before = shown.get_attribute("src") if shown.count() else None
    page.locator("#main-upload input[type=file]").set_input_files(str(path))
    shown.wait_for(state="visible")
    if before is not None:
        expect(shown).not_to_have_attribute("src", before, timeout=20_000)


def test_browser_a_failed_action_clears_every_old_result(page, files):
    from playwright.sync_api import expect

    _tab(page, "image-sections", "Your digit")
    page.click("#denoise")
    assert _shown(page, "denoised") and _shown(page, "rec-vae")  # results of the stroke
    _tab(page, "main-tabs", "Upload")
    _upload(page, files["blank"])
    page.click("#super-resolve")
    expect(page.get_by_text("no digit found").first).to_be_visible()
    for elem_id in ("seen", "rec-ae", "rec-vae", "noisy", "denoised", "sr-model"):
        _no_picture(page, elem_id)
    page.screenshot(path=str(ARTIFACTS / "image-error-cleared.png"))


def test_browser_upload(page, files):
    from playwright.sync_api import expect

    _tab(page, "image-sections", "Your digit")
    _tab(page, "main-tabs", "Upload")
    _upload(page, files["digit"])
    page.click("#reconstruct")
    expect(page.locator("#seen img")).to_have_count(1, timeout=20_000)  # a loaded CI box
    assert _shown(page, "seen") == _shown(page, "rec-vae") == (DIGIT_PX, DIGIT_PX)
    page.screenshot(path=str(ARTIFACTS / "image-upload.png"), full_page=True)


def test_browser_oversize_upload_shows_a_message(page, files):
    from playwright.sync_api import expect

    _tab(page, "image-sections", "Your digit")
    _tab(page, "main-tabs", "Upload")
    page.locator("#main-upload input[type=file]").set_input_files(str(files["huge"]))
    expect(page.get_by_text("exceed the maximum allowed size").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "image-oversize-upload.png"))


def _red_centre(picture: np.ndarray) -> tuple[float, float]:
    r, g, b = (picture[..., i].astype(int) for i in range(3))
    ys, xs = np.nonzero((r > 180) & (g < 90) & (b < 90))
    assert len(xs), "no marker on the map"
    return float(xs.mean()), float(ys.mean())


def test_browser_sample_interpolate_latent_map(page):
    from playwright.sync_api import expect

    _tab(page, "image-sections", "Sample")
    expect(page.get_by_text("prior scale").first).to_be_visible()  # what the knob does
    page.click("#sample")
    width, height = _shown(page, "samples")
    assert width == height >= 6 * 28  # 36 digits, 6 x 6
    page.screenshot(path=str(ARTIFACTS / "image-sample.png"), full_page=True)

    _tab(page, "image-sections", "Interpolate")
    page.click("#interpolate")
    width, height = _shown(page, "strip")
    assert width > 9 * height  # one row of 10 digits
    page.screenshot(path=str(ARTIFACTS / "image-interpolate.png"), full_page=True)

    _tab(page, "image-sections", "Latent map")
    assert min(_shown(page, "latent-scatter")) > 100  # a plot, not an empty picture
    assert _shown(page, "latent-map")[0] >= 10 * 28
    side = _shown(page, "latent-map")[0]
    x, y = _red_centre(_picture(page, "latent-map"))  # (0, 0) is marked at the centre
    assert abs(x - side / 2) < 4 and abs(y - side / 2) < 4
    # no toolbar lies over the map: its only button is the picture itself
    assert page.locator("#latent-map button:not(:has(img))").count() == 0
    grid = page.locator("#latent-map img").first
    grid.click(position={"x": 28, "y": 28})  # the top-left cell: z1 lowest, z2 highest
    assert _shown(page, "latent-digit") == (DIGIT_PX, DIGIT_PX)
    z1 = page.locator("#z1 input[type=number]").first
    expect(z1).not_to_have_value("0")
    assert float(z1.input_value()) < -1.0
    assert float(page.locator("#z2 input[type=number]").first.input_value()) > 1.0
    for _ in range(100):  # the marked map follows the click
        x, y = _red_centre(_picture(page, "latent-map"))
        if x < side / 4 and y < side / 4:
            break
        page.wait_for_timeout(100)
    assert abs(x - 28) < 4 and abs(y - 28) < 4
    # a typed value and Enter decode at once (no blur needed) and move the marker
    before = page.locator("#latent-digit img").first.get_attribute("src")
    z1.fill("0")
    z1.press("Enter")
    page.locator("#z2 input[type=number]").first.fill("0")
    page.locator("#z2 input[type=number]").first.press("Enter")
    expect(page.locator("#latent-digit img").first).not_to_have_attribute("src", before or "")
    for _ in range(100):  # z1 decodes first, then z2
        x, y = _red_centre(_picture(page, "latent-map"))
        if abs(x - side / 2) < 4 and abs(y - side / 2) < 4:
            break
        page.wait_for_timeout(100)
    assert abs(x - side / 2) < 4 and abs(y - side / 2) < 4
    page.screenshot(path=str(ARTIFACTS / "image-latent-map.png"), full_page=True)


def test_browser_phone_results_come_into_view(phone):
    from playwright.sync_api import expect

    for tabs in ("heads", "image-sections", "main-tabs"):  # no tab hides in a "..." menu
        assert phone.locator(f"#{tabs} button[aria-label='More tabs']").is_hidden()
    for name in ("Your digit", "Sample", "Interpolate", "Latent map"):
        expect(phone.locator("#image-sections > .tab-wrapper").get_by_role(
            "tab", name=name, exact=True)).to_be_visible()
    _tab(phone, "main-tabs", "Test set")
    phone.click("#reconstruct")
    assert _shown(phone, "rec-vae") == (DIGIT_PX, DIGIT_PX)
    assert in_view(phone, "rec-row")
    phone.screenshot(path=str(ARTIFACTS / "image-phone-reconstruct.png"))
    phone.click("#super-resolve")
    assert _shown(phone, "sr-model") == (DIGIT_PX, DIGIT_PX)
    assert in_view(phone, "sr-row")
    _tab(phone, "image-sections", "Sample")
    phone.click("#sample")
    assert _shown(phone, "samples")[0] >= 6 * 28
    assert in_view(phone, "samples")
    phone.screenshot(path=str(ARTIFACTS / "image-phone-sample.png"))


def test_browser_screenshots_of_every_tab(page):
    from playwright.sync_api import expect

    tabs = page.locator("#heads > .tab-wrapper").get_by_role("tab")
    names = [tabs.nth(i).inner_text().strip() for i in range(tabs.count())]
    assert "Image" in names
    for name in [n for n in names if n != "Music"]:  # tests/test_app_music.py shoots Music
        _tab(page, "heads", name)
        expect(tabs.filter(has_text=name)).to_have_attribute("aria-selected", "true")
        if name == "Image":
            expect(page.locator("#image-sections")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / f"tab-{name.lower()}.png"), full_page=True)
