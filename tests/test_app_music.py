"""The app's Music tab: its API endpoints through gradio_client, a person's view through Chromium.

Tiny 2-bar and 16-bar melody VAEs are trained once for this module on 30 real folk tunes; one
server (Image tab switched off) serves every test. The browser test drives Debian's chromium
with Playwright and saves tests/artifacts/tab-music.png.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")
pretty_midi = pytest.importorskip("pretty_midi")

from app_helpers import CHROMIUM, CHROMIUM_ARGS, running_app  # noqa: E402
from music_fixtures import build_corpus_dataset, scale_melody, write_midi  # noqa: E402

import gen  # noqa: E402
from apps.app import build_demo  # noqa: E402
from apps.common import MAX_UPLOAD_MB  # noqa: E402
from gen.core.errors import DataError  # noqa: E402
from gen.music.io import load_examples, pianoroll_image, tokens_to_notes  # noqa: E402

pytestmark = [  # gradio's queue statistics use pandas options deprecated in pandas 3
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
    pytest.mark.filterwarnings("ignore:The 'alias' attribute"),  # gradio's pydantic models
]
ARTIFACTS = Path(__file__).parent / "artifacts"
IMAGE_OFF = {role: None for role in ("ae", "vae", "dae", "sr", "vae2d")}
MUSIC_ENDPOINTS = {
    "/music_reconstruct",
    "/music_sample",
    "/music_interpolate",
    "/music_grid",
    "/music_audio",
    "/music_render",
    "/music_examples",
    *(f"/music_windows_{s}" for s in "abcd"),
}
NAMES2 = [name for name, _ in load_examples(2)]
NAMES16 = [name for name, _ in load_examples(16)]
EX = ("example", None, None)  # an example melody's source + empty upload and window


def example(name: str) -> tuple:
    """The four widget values of a melody chosen among the examples."""
    return ("example", name, None, None)


def uploaded(path: Path, window: int | None = 0) -> tuple:
    """The four widget values of window ``window`` of an uploaded MIDI file."""
    return ("upload", None, gradio_client.handle_file(str(path)), window)


def bars_of(path: str, bpm: float = 120.0) -> float:
    """Length of a MIDI file in 4/4 bars at ``bpm`` (up to its last note's end)."""
    return pretty_midi.PrettyMIDI(path).get_end_time() / (4 * 60.0 / bpm)


def assert_bars(path: str, melodies: int, bars: int, bpm: float = 120.0) -> None:
    """The MIDI holds ``melodies`` melodies of ``bars`` bars with a bar of rest between: its
    last note ends inside the last melody (a decoded melody may fall silent before its end)."""
    total = melodies * bars + melodies - 1
    assert total - bars < bars_of(path, bpm) <= total + 0.01


def value_of(update: object) -> object:
    """A component's value from an endpoint's answer (a dropdown update comes as a dict)."""
    return update.get("value") if isinstance(update, dict) else update


def zip_names(path: str) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return sorted(z.namelist())


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def music_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 2-bar and a 16-bar debug model, trained long enough to decode notes (about 15 s)."""
    data = build_corpus_dataset(tmp_path_factory)
    root = tmp_path_factory.mktemp("music_models")
    return {
        "2-bar": gen.train("debug-mel_2bar", root / "m2", steps=200, progress=False,
                           cache_dir=str(data), transpose=0),
        "16-bar": gen.train("debug-mel_16bar", root / "m16", steps=120, progress=False,
                            cache_dir=str(data), transpose=0),
    }


@pytest.fixture(scope="module")
def server(music_models, tmp_path_factory):
    """(url, demo, out_dir) of the app on a free port of 127.0.0.1; closed after the module."""
    out = tmp_path_factory.mktemp("music_app_out")
    with running_app(IMAGE_OFF, music_models, out) as (url, demo):
        yield url, demo, out


@pytest.fixture(scope="module")
def client(server, tmp_path_factory):
    return gradio_client.Client(
        server[0], verbose=False, download_files=str(tmp_path_factory.mktemp("music_client"))
    )


@pytest.fixture(scope="module")
def midis(tmp_path_factory) -> dict[str, Path]:
    """Uploads: a 4-bar tune, a text file named .mid, a drums-only MIDI, a 50 MB file."""
    root = tmp_path_factory.mktemp("midi_uploads")
    out = {
        "tune": write_midi(root / "my tune.mid", [{"notes": scale_melody(4)}]),
        "drums": write_midi(
            root / "drums.mid", [{"notes": [(36 + i % 3, 2 * i, 2 * i + 1) for i in range(32)],
                                  "is_drum": True}]
        ),
        "text": root / "notes.mid",
        "huge": root / "huge.mid",
    }
    out["text"].write_text("this is not a MIDI file\n")
    with open(out["huge"], "wb") as f:  # a valid MIDI followed by 50 MB of padding
        f.write(out["tune"].read_bytes())
        f.write(b"\0" * (50 * 2**20))
    return out


def serving(client) -> bool:
    """The server still answers a normal request."""
    return bool(client.predict("2-bar", *example(NAMES2[0]), 120, api_name="/music_reconstruct"))


# --------------------------------------------------------------------------- library
def test_load_examples_ship_held_out_melodies():
    for bars in (2, 16):
        ex = load_examples(bars)
        assert len(ex) == 40 and len({name for name, _ in ex}) == 40
        for name, tokens in ex:
            assert isinstance(name, str) and "(" in name  # "title (collection)"
            assert tokens.shape == (bars * 16,) and tokens.dtype == np.int64
            notes = tokens_to_notes(tokens)  # (pitch, start, end) in 16th-note steps
            assert len(notes) >= 3 * bars
            # it survives MIDI: the first note starts in the first bar, the last ends in the last
            assert notes[0][1] < 16 and notes[-1][2] > len(tokens) - 16
    with pytest.raises(DataError, match="no 3-bar example"):
        load_examples(3)


def test_roll_picture_draws_every_melody():
    mels = np.stack([t for _, t in load_examples(2)[:6]])
    pic = pianoroll_image(mels, [f"m{i}" for i in range(6)], cols=3)
    assert pic.dtype == np.uint8 and pic.ndim == 3 and pic.shape[1] > pic.shape[0]
    blue = pic[..., 2].astype(int) - pic[..., 0] > 50  # notes are blue, the rest grey
    assert blue.any()
    half = pic.shape[1] // 2  # notes in both the left and the right columns of panels
    assert blue[:, :half].any() and blue[:, half:].any()


# --------------------------------------------------------------------------- structure
def test_every_music_event_has_an_api_name(server, client):
    demo = server[1]
    assert all(f.api_name for f in demo.fns.values() if f.fn is not None)
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == MUSIC_ENDPOINTS  # the Image tab is switched off


def test_missing_music_models_are_explained_not_fatal(music_models, tmp_path):
    demo = build_demo(IMAGE_OFF, tmp_path, {"2-bar": music_models["2-bar"],
                                            "16-bar": tmp_path / "nowhere"})
    names = {f.api_name for f in demo.fns.values() if f.fn is not None}
    assert {"music_reconstruct", "music_interpolate", "music_grid"} <= names
    text = " ".join(str(getattr(b, "value", "")) for b in demo.blocks.values())
    assert "Not available" in text and "nowhere" in text
    demo = build_demo(IMAGE_OFF, tmp_path, {"2-bar": None, "16-bar": music_models["2-bar"]})
    assert not any(f.fn is not None for f in demo.fns.values())  # nothing to offer
    text = " ".join(str(getattr(b, "value", "")) for b in demo.blocks.values())
    assert "switched off" in text and "must model 16 bars" in text


def test_command_line_takes_music_models():
    from apps.app import main

    with pytest.raises(SystemExit, match="--music-model takes ROLE=NAME_OR_DIR"):
        main(["--music-model", "2-bar"])


# --------------------------------------------------------------------------- API
def test_reconstruct_example_writes_midi_zip_and_audio(client, server):
    pic, midi, parts, note = client.predict(
        "2-bar", *example(NAMES2[3]), 120, api_name="/music_reconstruct"
    )
    assert np.asarray(Image.open(pic)).shape[2] == 3
    assert "Reconstruction" in note and NAMES2[3].split(" (")[0] in note
    assert_bars(midi, 2, 2)  # A, a bar of rest, its reconstruction
    assert zip_names(parts) == ["melody_a.mid", "reconstruction.mid"]
    wav = client.predict(120, api_name="/music_audio")  # audio of the session's last result
    import soundfile

    audio, rate = soundfile.read(wav)
    assert rate == 22050 and len(audio) >= 0.95 * 6.0 * rate  # A alone is 3 bars = 6 s
    assert np.abs(audio).max() > 0.1
    # every file was written into a request folder under the tab's out_dir, under fixed names
    requests = server[2] / "music" / "requests"
    written = {p.name for p in requests.rglob("*") if p.is_file()}
    assert {"reconstruction.mid", "reconstruction_midi.zip", "audio.wav"} <= written
    old = requests / "20000101-000000-0123456789"  # folders older than an hour are removed
    old.mkdir()
    os.utime(old, (0, 0))
    client.predict(100, api_name="/music_render")
    assert not old.exists()


def test_sample_is_seeded(client):
    first = client.predict("2-bar", 3, 0.8, 7, 120, api_name="/music_sample")
    again = client.predict("2-bar", 3, 0.8, 7, 120, api_name="/music_sample")
    other = client.predict("2-bar", 3, 0.8, 8, 120, api_name="/music_sample")

    def notes(midi: str) -> list:
        return [(n.pitch, n.start) for n in pretty_midi.PrettyMIDI(midi).instruments[0].notes]

    assert notes(first[1]) == notes(again[1]) != notes(other[1])
    assert zip_names(first[2]) == [f"sample_0{i}.mid" for i in (1, 2, 3)]
    assert "3 samples" in first[3] and "temperature 0.8" in first[3]


def test_interpolate_then_change_tempo(client):
    pic, midi, parts, note = client.predict(
        "2-bar", *example(NAMES2[0]), *example(NAMES2[1]), 6, 120, api_name="/music_interpolate"
    )
    assert_bars(midi, 6, 2)
    assert zip_names(parts) == [f"step_0{i}.mid" for i in range(1, 7)]
    assert "6 steps" in note
    strip = np.asarray(Image.open(pic))
    assert strip.shape[1] > strip.shape[0]  # steps drawn in rows of four
    midi90, parts90, wav90 = client.predict(90, api_name="/music_render")
    pm = pretty_midi.PrettyMIDI(midi90)
    assert pm.get_tempo_changes()[1][0] == pytest.approx(90, abs=0.1)
    assert bars_of(midi90, 90) == pytest.approx(bars_of(midi, 120), abs=0.01)
    assert len(zip_names(parts90)) == 6 and Path(wav90).suffix == ".wav"


def test_grid_with_the_16_bar_model(client):
    dropdowns = client.predict("16-bar", NAMES2[7], "gone", None, NAMES2[0],
                               api_name="/music_examples")
    assert [c[1] for c in dropdowns[0]["choices"]] == NAMES16
    # a tune chosen before stays chosen when the new model has it; else A-D take 1-4
    expected = [NAMES2[7] if NAMES2[7] in NAMES16 else NAMES16[0], NAMES16[1], NAMES16[2],
                NAMES2[0] if NAMES2[0] in NAMES16 else NAMES16[3]]
    assert [value_of(d) for d in dropdowns] == expected
    corners = [example(n) for n in NAMES16[:4]]
    pic, midi, parts, note = client.predict(
        "16-bar", *[v for c in corners for v in c], 2, 120, api_name="/music_grid"
    )
    assert zip_names(parts) == ["row1_col1.mid", "row1_col2.mid", "row2_col1.mid",
                                "row2_col2.mid"]
    assert_bars(midi, 4, 16)
    assert "2x2 grid" in note and np.asarray(Image.open(pic)).ndim == 3


def test_upload_lists_windows_and_one_is_used(client, midis):
    window, found = client.predict(
        "2-bar", gradio_client.handle_file(str(midis["tune"])), api_name="/music_windows_a"
    )
    assert value_of(window) == 0 and "3 windows of 2 bars" in found and "my tune.mid" in found
    _, found16 = client.predict(
        "16-bar", gradio_client.handle_file(str(midis["tune"])), api_name="/music_windows_b"
    )
    assert "no 16-bar melody" in found16 and "too short" in found16
    pic, midi, parts, note = client.predict(
        "2-bar", *uploaded(midis["tune"], 2), 120, api_name="/music_reconstruct"
    )
    assert "my tune.mid #3" in note
    first = pretty_midi.PrettyMIDI(midi).instruments[0].notes[0]
    assert first.pitch == scale_melody(4)[8][0]  # window 3 starts at bar 3 of the scale


@pytest.mark.parametrize(
    ("name", "message"),
    [("text", "not a valid MIDI file"), ("drums", "drums only")],
)
def test_bad_midi_gives_its_reason_and_the_app_keeps_serving(client, midis, name, message):
    _, found = client.predict(
        "2-bar", gradio_client.handle_file(str(midis[name])), api_name="/music_windows_c"
    )
    assert message in found and "no 2-bar melody" in found
    with pytest.raises(Exception, match=message):
        client.predict("2-bar", *uploaded(midis[name]), 120, api_name="/music_reconstruct")
    assert serving(client)


@pytest.mark.parametrize(
    ("args", "api_name", "message"),
    [
        (("2-bar", "upload", None, None, None, 120), "/music_reconstruct", "upload a MIDI file"),
        (("2-bar", *example("no such tune"), 120), "/music_reconstruct", "not one of the 2-bar"),
        (("16-bar", *example("no such tune"), 120), "/music_reconstruct", "not one of the 16-bar"),
        (("2-bar", 3, 2.0, 0, 120), "/music_sample", "greater than maximum"),
        (("2-bar", 3, 0.5, -1, 120), "/music_sample", "less than minimum"),
        (("3-bar", 3, 0.5, 0, 120), "/music_sample", "not in the list of choices"),
        (("2-bar", *example(NAMES2[0]), *example(NAMES2[1]), 1, 120), "/music_interpolate",
         "less than minimum"),
    ],
)
def test_bad_input_gives_a_message_and_the_app_keeps_serving(client, args, api_name, message):
    with pytest.raises(Exception, match=message):
        client.predict(*args, api_name=api_name)
    assert serving(client)


def test_not_a_midi_file_name_is_refused(client, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("C D E F G")
    with pytest.raises(Exception, match="Invalid file type"):
        client.predict("2-bar", gradio_client.handle_file(str(text)), api_name="/music_windows_d")
    assert serving(client)


def test_missing_examples_are_explained(music_models, tmp_path, monkeypatch):
    import apps.music.actions

    def no_examples(bars: int) -> list:
        raise DataError(f"no {bars}-bar example melodies are shipped")

    monkeypatch.setattr(apps.music.actions, "load_examples", no_examples)
    demo = build_demo(IMAGE_OFF, tmp_path, music_models)
    text = " ".join(str(getattr(b, "value", "")) for b in demo.blocks.values())
    assert "Examples not available: no 2-bar example melodies are shipped" in text
    sources = [b for b in demo.blocks.values() if re.fullmatch(r"music-.-source", b.elem_id or "")]
    assert sources and all(b.value == "upload" for b in sources)  # uploads are the way in


def test_upload_window_out_of_range(client, midis):
    with pytest.raises(Exception, match="has 3 windows of 2 bars"):
        client.predict("2-bar", *uploaded(midis["tune"], 5), 120, api_name="/music_reconstruct")


def test_oversize_upload_is_refused(client, midis):
    assert midis["huge"].stat().st_size > MAX_UPLOAD_MB * 2**20
    with pytest.raises(Exception, match="(?i)size|large|413"):
        client.predict("2-bar", *uploaded(midis["huge"]), 120, api_name="/music_reconstruct")
    assert serving(client)


# --------------------------------------------------------------------------- browser
@pytest.fixture(scope="module")
def page(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        pg.set_default_timeout(30_000)
        pg.goto(server[0])
        _tab(pg, "heads", "Music")
        pg.wait_for_selector("#music-a-example")
        yield pg
        browser.close()


def _tab(pg, within: str, name: str) -> None:
    pg.locator(f"#{within} > .tab-wrapper").get_by_role("tab", name=name, exact=True).click()


def _choose(pg, elem_id: str, option: str) -> None:
    """Pick ``option`` in the dropdown ``elem_id`` the way a person does: open it, click."""
    from playwright.sync_api import expect

    box = pg.locator(f"#{elem_id} input").first
    box.click()
    pg.locator(f"#{elem_id}").get_by_role("option", name=option, exact=True).click()
    expect(box).to_have_value(option)


def test_browser_upload_choose_interpolate_listen_download(page, midis, tmp_path):
    from playwright.sync_api import expect

    # a drums-only file for melody C: the reason is shown under the upload
    _tab(page, "music-c-tabs", "Upload MIDI")
    page.locator("#music-c-upload input[type=file]").set_input_files(str(midis["drums"]))
    expect(page.locator("#music-c-found")).to_contain_text("drums only")

    # 50 MB for melody B: refused with a message, and B goes back to its example
    _tab(page, "music-b-tabs", "Upload MIDI")
    page.locator("#music-b-upload input[type=file]").set_input_files(str(midis["huge"]))
    expect(page.get_by_text("exceed the maximum allowed size").first).to_be_visible()
    _tab(page, "music-b-tabs", "Example")

    # a good file for melody D: its windows are listed
    _tab(page, "music-d-tabs", "Upload MIDI")
    page.locator("#music-d-upload input[type=file]").set_input_files(str(midis["tune"]))
    expect(page.locator("#music-d-found")).to_contain_text("3 windows of 2 bars")
    expect(page.locator("#music-d-window input").first).to_have_value(re.compile(r"^window 1 "))

    # A and B from the held-out examples, then interpolate in 4 steps
    _choose(page, "music-a-example", NAMES2[5])
    _choose(page, "music-b-example", NAMES2[9])
    _tab(page, "music-actions", "Interpolate")
    steps = page.locator("#music-steps input[type=number]").first
    steps.fill("4")
    steps.press("Enter")
    steps.blur()
    # the slider has taken the typed value before the click (else the click may read 5)
    expect(page.locator("#music-steps input[type=range]")).to_have_value("4")
    page.click("#music-interpolate")
    expect(page.locator("#music-note")).to_contain_text("Interpolation from A")
    expect(page.locator("#music-note")).to_contain_text(NAMES2[5])

    page.wait_for_function(
        "() => { const im = document.querySelector('#music-roll img');"
        " return im && im.complete && im.naturalWidth > 400; }"
    )
    page.wait_for_function(
        "() => { const a = document.querySelector('#music-audio audio');"
        " return a && a.src.endsWith('.wav') && a.duration > 0; }"
    )
    duration = page.evaluate("() => document.querySelector('#music-audio audio').duration")
    assert duration >= (3 * 2 + 3) * 2.0  # at least into the last of 4 melodies at 120 bpm

    with page.expect_download() as dl:
        page.locator("#music-midi a[download]").first.click()
    path = tmp_path / "downloaded.mid"
    dl.value.save_as(path)
    assert dl.value.suggested_filename == "interpolation.mid"
    assert_bars(str(path), 4, 2)  # 4 melodies of 2 bars, 3 bars of rest between
    with page.expect_download() as dl:
        page.locator("#music-zip a[download]").first.click()
    dl.value.save_as(tmp_path / "steps.zip")
    with zipfile.ZipFile(tmp_path / "steps.zip") as z:
        steps_midi = [pretty_midi.PrettyMIDI(io.BytesIO(z.read(n))) for n in sorted(z.namelist())]
    assert len(steps_midi) == 4

    page.screenshot(path=str(ARTIFACTS / "tab-music.png"), full_page=True)


def test_browser_switch_to_the_16_bar_model_and_reconstruct(page):
    from playwright.sync_api import expect

    box = page.locator("#music-model input").first
    box.click()
    page.locator("#music-model").get_by_role("option").filter(has_text="16-bar").click()
    expect(box).to_have_value(re.compile(r"^16-bar"))
    _tab(page, "music-a-tabs", "Example")
    _tab(page, "music-actions", "Reconstruct")
    page.click("#music-reconstruct")
    expect(page.locator("#music-note")).to_contain_text("2 melodies of 16 bars")
    page.wait_for_function(
        "() => { const im = document.querySelector('#music-roll img');"
        " return im && im.complete && im.naturalWidth > 900; }"  # 16 bars: a wide panel
    )
    page.wait_for_function(  # 2 x 16 bars + a bar of rest at 120 bpm: over a minute
        "() => { const a = document.querySelector('#music-audio audio');"
        " return a && a.duration > 60; }"
    )
    duration = page.evaluate("() => document.querySelector('#music-audio audio').duration")
    assert duration >= (2 * 16 + 1) * 2.0 * 0.95  # 33 bars of 2 s at 120 bpm
    page.screenshot(path=str(ARTIFACTS / "music-16-bar.png"), full_page=True)
