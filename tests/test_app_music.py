"""The app's Music tab: its API endpoints through gradio_client, a person's view through Chromium.

The shipped 2-bar and 16-bar melody VAEs play the melodies, and an untrained tiny piano-roll
VAE stands in for the chorale model (the shipped ones may not exist yet; training even a tiny
one takes minutes on a busy machine); one server (Image tab switched off) serves every test.
Browser tests drive Debian's chromium with Playwright at a desktop (1440x900) and a phone
(390x844) size and save screenshots under tests/artifacts/.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest

pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")
pretty_midi = pytest.importorskip("pretty_midi")

from app_helpers import (  # noqa: E402
    ARTIFACTS,
    browser_fixtures,
    in_view,
    music_spec,
    running_app,
    untrained_roll_model,
)
from music_fixtures import scale_melody, write_midi  # noqa: E402

from apps.app import build_demo  # noqa: E402
from apps.common import MAX_UPLOAD_MB  # noqa: E402
from apps.music.actions import ATTRIBUTES  # noqa: E402
from gen.core.errors import DataError  # noqa: E402
from gen.music.io import load_examples, pianoroll_image, tokens_to_notes  # noqa: E402

pytestmark = [  # gradio's queue statistics use pandas options deprecated in pandas 3
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
    pytest.mark.filterwarnings("ignore:The 'alias' attribute"),  # gradio's pydantic models
]
IMAGE_OFF = {role: None for role in ("ae", "vae", "dae", "sr", "vae2d")}
MUSIC_ENDPOINTS = {
    "/music_reconstruct",
    "/music_sample",
    "/music_interpolate",
    "/music_grid",
    "/music_shift",
    "/music_audio",
    "/music_render",
    "/music_examples",
    "/music_previews",
    *(f"/music_windows_{s}" for s in "abcd"),
    *(f"/music_preview_{s}" for s in "abcd"),
}
NAMES2 = [name for name, _ in load_examples(2)]
NAMES16 = [name for name, _ in load_examples(16)]
PIANO = 0  # General MIDI program: Acoustic Grand Piano


def example(name: str) -> tuple:
    """The four widget values of a piece chosen among the examples."""
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


def wav_seconds(path: str | Path) -> float:
    import soundfile

    info = soundfile.info(str(path))
    return info.frames / info.samplerate


def card_wavs(cards: str) -> list[Path]:
    """The audio files that the cards of an answer play, in order."""
    return [Path(unquote(u)) for u in re.findall(r'src="gradio_api/file=([^"]+)"', cards)]


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def music_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The shipped 2-bar and 16-bar melody models (by name, offline) and an untrained tiny
    piano-roll model for the chorale role (by directory, as a user's own model is given)."""
    root = tmp_path_factory.mktemp("music_models")
    return music_spec({"2-bar": "cat-mel_2bar_small", "16-bar": "hierdec-mel_16bar_small",
                       "chorales": untrained_roll_model(root)})


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
    return bool(client.predict("2-bar", *example(NAMES2[0]), 120, PIANO,
                               api_name="/music_reconstruct"))


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
    demo = build_demo(IMAGE_OFF, tmp_path, music_spec({"2-bar": music_models["2-bar"],
                                                       "16-bar": tmp_path / "nowhere"}))
    names = {f.api_name for f in demo.fns.values() if f.fn is not None}
    assert {"music_reconstruct", "music_interpolate", "music_grid"} <= names
    text = " ".join(str(getattr(b, "value", "")) for b in demo.blocks.values())
    assert "Not available" in text and "nowhere" in text
    demo = build_demo(IMAGE_OFF, tmp_path, music_spec({"16-bar": music_models["2-bar"],
                                                       "chorales": music_models["16-bar"],
                                                       "folk-chords": music_models["chorales"]}))
    named = [f.api_name for f in demo.fns.values() if f.fn is not None]
    assert not any(n.startswith("music") for n in named)  # the Music tab offers nothing
    text = " ".join(str(getattr(b, "value", "")) for b in demo.blocks.values())
    assert "switched off" in text and "must model 16 bars" in text
    assert "must be a piano-roll VAE" in text
    assert "must be a model of the nottingham benchmark" in text


def test_shipped_piano_roll_models_are_offered_or_explained(tmp_path):
    """The shipped names are the defaults: loaded when shipped, else the reason is shown."""
    from apps.music.actions import DEFAULT_MUSIC_MODELS, load_music_models

    assert DEFAULT_MUSIC_MODELS["chorales"] == "nade-roll_jsb"
    assert DEFAULT_MUSIC_MODELS["folk-chords"] == "nade-roll_nottingham"
    assert DEFAULT_MUSIC_MODELS["piano"] == "nade-roll_piano-midi"
    assert DEFAULT_MUSIC_MODELS["classical"] == "nade-roll_musedata"
    models = load_music_models({"2-bar": None, "16-bar": None})
    for role in ("chorales", "folk-chords", "piano", "classical"):
        assert models.has(role) or models.missing[role]


def test_command_line_takes_music_models():
    from apps.app import main

    with pytest.raises(SystemExit, match="--music-model takes ROLE=NAME_OR_DIR"):
        main(["--music-model", "2-bar"])


# --------------------------------------------------------------------------- API
def test_reconstruct_example_writes_midi_zip_and_audio_per_melody(client, server):
    cards, midi, parts, note = client.predict(
        "2-bar", *example(NAMES2[3]), 120, PIANO, api_name="/music_reconstruct"
    )
    assert cards.count('class="gen-card"') == 2
    assert "Reconstruction" in note and NAMES2[3].split(" (")[0] in note
    assert_bars(midi, 2, 2)  # A, a bar of rest, its reconstruction
    assert zip_names(parts) == ["melody_a.mid", "reconstruction.mid"]
    cards, wav = client.predict(120, PIANO, api_name="/music_audio")  # the session's result
    assert wav_seconds(wav) == pytest.approx(10.0, abs=0.01)  # 2 + 1 + 2 bars at 120 bpm
    assert [wav_seconds(p) for p in card_wavs(cards)] == pytest.approx([4.0, 4.0], abs=0.01)
    # every file was written into a request folder under the tab's out_dir, under fixed names
    requests = server[2] / "music" / "requests"
    written = {p.name for p in requests.rglob("*") if p.is_file()}
    assert {"reconstruction.mid", "reconstruction_midi.zip", "audio.wav", "01.wav"} <= written
    old = requests / "20000101-000000-0123456789"  # folders older than an hour are removed
    old.mkdir()
    os.utime(old, (0, 0))
    client.predict(100, PIANO, api_name="/music_render")
    assert not old.exists()


def test_sample_is_seeded_and_says_what_its_knobs_did(client):
    first = client.predict("2-bar", 3, 1.0, 0.8, 7, 120, PIANO, api_name="/music_sample")
    again = client.predict("2-bar", 3, 1.0, 0.8, 7, 120, PIANO, api_name="/music_sample")
    other = client.predict("2-bar", 3, 1.0, 0.8, 8, 120, PIANO, api_name="/music_sample")

    def notes(midi: str) -> list:
        return [(n.pitch, n.start) for n in pretty_midi.PrettyMIDI(midi).instruments[0].notes]

    assert notes(first[1]) == notes(again[1]) != notes(other[1])
    assert zip_names(first[2]) == [f"sample_0{i}.mid" for i in (1, 2, 3)]
    assert "3 samples" in first[3] and "variation (prior scale) 1, temperature 0.8" in first[3]


def test_interpolate_then_change_tempo_and_instrument(client):
    cards, midi, parts, note = client.predict(
        "2-bar", *example(NAMES2[0]), *example(NAMES2[1]), 6, 120, PIANO,
        api_name="/music_interpolate"
    )
    assert_bars(midi, 6, 2)
    assert zip_names(parts) == [f"step_0{i}.mid" for i in range(1, 7)]
    assert "6 steps" in note and cards.count('class="gen-card"') == 6
    midi90, parts90, cards90, wav90 = client.predict(90, 40, api_name="/music_render")
    pm = pretty_midi.PrettyMIDI(midi90)
    assert pm.get_tempo_changes()[1][0] == pytest.approx(90, abs=0.1)
    assert [i.program for i in pm.instruments] == [40]  # the violin
    assert bars_of(midi90, 90) == pytest.approx(bars_of(midi, 120), abs=0.01)
    assert len(zip_names(parts90)) == 6
    assert [wav_seconds(p) for p in card_wavs(cards90)] == pytest.approx([16 / 3] * 6, abs=0.01)


def test_grid_with_the_16_bar_model(client):
    answer = client.predict("16-bar", NAMES2[7], "gone", None, NAMES2[0],
                            api_name="/music_examples")
    dropdowns, bpm, program = answer[:4], answer[4], answer[5]
    assert [c[1] for c in dropdowns[0]["choices"]] == NAMES16
    # a tune chosen before stays chosen when the new model has it; else A-D take 1-4
    expected = [NAMES2[7] if NAMES2[7] in NAMES16 else NAMES16[0], NAMES16[1], NAMES16[2],
                NAMES2[0] if NAMES2[0] in NAMES16 else NAMES16[3]]
    assert [value_of(d) for d in dropdowns] == expected
    assert (bpm, program) == (120, 0)
    corners = [example(n) for n in NAMES16[:4]]
    cards, midi, parts, note = client.predict(
        "16-bar", *[v for c in corners for v in c], 2, 120, PIANO, api_name="/music_grid"
    )
    assert zip_names(parts) == ["row1_col1.mid", "row1_col2.mid", "row2_col1.mid",
                                "row2_col2.mid"]
    assert_bars(midi, 4, 16)
    assert "2x2 grid" in note and "--gen-cols:2" in cards


def test_upload_lists_windows_by_track_and_bars_and_one_is_used(client, midis):
    window, found = client.predict(
        "2-bar", gradio_client.handle_file(str(midis["tune"])), api_name="/music_windows_a"
    )
    assert value_of(window) == 0 and "3 windows of 2 bars" in found and "my tune.mid" in found
    labels = [c[0] for c in window["choices"]]
    assert [x.split(" · ")[0] for x in labels] == [
        f"track 1 (Acoustic Grand Piano), bars {b}-{b + 1}" for b in (1, 2, 3)]
    _, found16 = client.predict(
        "16-bar", gradio_client.handle_file(str(midis["tune"])), api_name="/music_windows_b"
    )
    assert "no 16-bar melody" in found16 and "too short" in found16
    cards, midi, parts, note = client.predict(
        "2-bar", *uploaded(midis["tune"], 2), 120, PIANO, api_name="/music_reconstruct"
    )
    assert "my tune.mid, track 1 (Acoustic Grand Piano), bars 3-4" in note
    first = pretty_midi.PrettyMIDI(midi).instruments[0].notes[0]
    assert first.pitch == scale_melody(4)[8][0]  # window 3 starts at bar 3 of the scale
    preview = client.predict("2-bar", *uploaded(midis["tune"], 1), 120, PIANO,
                             api_name="/music_preview_c")
    assert "C: my tune.mid, track 1 (Acoustic Grand Piano), bars 2-3" in preview
    assert [wav_seconds(p) for p in card_wavs(preview)] == pytest.approx([4.0], abs=0.01)


def test_attribute_sliders_and_prior_through_the_api(client):
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    names = {e: [p["parameter_name"] for p in api[e]["parameters"]]
             for e in ("/music_shift", "/music_sample")}
    assert names["/music_shift"] == [*ATTRIBUTES, "bpm", "instrument"]
    assert names["/music_sample"][-1] == "prior"
    note = client.predict("2-bar", 4, 1.0, 0.5, 5, 120, PIANO, "learned",
                          api_name="/music_sample")[3]
    assert "4 samples** from the learned prior" in note
    table, cards, midi, parts = client.predict(note_density=1.2, pitch_range=-0.3, bpm=100,
                                               instrument=PIANO, api_name="/music_shift")
    assert "**Shifted** by note density +1.2 and pitch range -0.3" in table
    assert "| **note density** (onsets per step) |" in table and "| shifted | change |" in table
    assert cards.count('class="gen-card"') == 4 and len(card_wavs(cards)) == 4
    assert zip_names(parts) == [f"sample_0{i}_shifted.mid" for i in (1, 2, 3, 4)]
    assert pretty_midi.PrettyMIDI(midi).get_tempo_changes()[1][0] == pytest.approx(100)
    with pytest.raises(Exception, match="no polyphony vector"):
        client.predict(polyphony=1.0, api_name="/music_shift")
    with pytest.raises(Exception, match="greater than maximum"):
        client.predict(note_density=5.0, api_name="/music_shift")
    assert serving(client)


def test_previews_of_every_input(client):
    values = [v for n in NAMES2[:4] for v in example(n)]
    previews = client.predict("2-bar", *values, 120, PIANO, api_name="/music_previews")
    assert len(previews) == 4
    for slot, name, cards in zip("ABCD", NAMES2, previews):
        assert f"{slot}: {name}".replace("'", "&#x27;") in cards
        assert [wav_seconds(p) for p in card_wavs(cards)] == pytest.approx([4.0], abs=0.01)


def test_piano_roll_model_through_the_api(client, midis, tmp_path):
    answer = client.predict("chorales", None, None, None, None, api_name="/music_examples")
    names = [c[1] for c in answer[0]["choices"]]
    assert names[0] == "JSB Chorales test piece 0 (bars 1-8)"
    assert answer[0]["label"] == "held-out test piece" and answer[4:6] == (80, 19)
    cards, midi, parts, note = client.predict(
        "chorales", *example(names[0]), *example(names[1]), 2, 80, 19,
        api_name="/music_interpolate")
    assert "2 pieces of 8 bars" in note and "Church Organ (General MIDI 19)" in note
    pm = pretty_midi.PrettyMIDI(midi)
    assert [i.program for i in pm.instruments] == [19]
    cards, wav = client.predict(80, 19, api_name="/music_audio")
    assert [wav_seconds(p) for p in card_wavs(cards)] == pytest.approx([24.0] * 2, abs=0.01)
    chords = tmp_path / "chords.mid"
    pm = pretty_midi.PrettyMIDI(initial_tempo=90)
    piano = pretty_midi.Instrument(program=0, name="Piano")
    for bar in range(4):
        for p in (60, 64, 67):
            piano.notes.append(pretty_midi.Note(80, p + bar, 2.666 * bar, 2.666 * (bar + 1)))
    pm.instruments.append(piano)
    pm.write(str(chords))
    window, found = client.predict("chorales", gradio_client.handle_file(str(chords)),
                                   api_name="/music_windows_d")
    assert [c[0].split(" · ")[0] for c in window["choices"]] == ["bars 1-4 (1 track merged)"]
    assert "chords.mid" in found and "12 notes" in found
    _, found = client.predict("chorales", gradio_client.handle_file(str(midis["drums"])),
                              api_name="/music_windows_d")
    assert "drums.mid" in found and "/tmp" not in found


@pytest.mark.parametrize(
    ("name", "message"),
    [("text", "not a (valid )?MIDI file"), ("drums", "drums only")],
)
def test_bad_midi_gives_its_reason_and_the_app_keeps_serving(client, midis, name, message):
    _, found = client.predict(
        "2-bar", gradio_client.handle_file(str(midis[name])), api_name="/music_windows_c"
    )
    assert re.search(message, found) and "no 2-bar melody" in found
    with pytest.raises(Exception, match=message):
        client.predict("2-bar", *uploaded(midis[name]), 120, PIANO,
                       api_name="/music_reconstruct")
    assert serving(client)


@pytest.mark.parametrize(
    ("args", "api_name", "message"),
    [
        (("2-bar", "upload", None, None, None, 120, 0), "/music_reconstruct",
         "upload a MIDI file"),
        (("2-bar", *example("no such tune"), 120, 0), "/music_reconstruct",
         "not one of the examples of the 2-bar melody model"),
        (("16-bar", *example("no such tune"), 120, 0), "/music_reconstruct",
         "not one of the examples of the 16-bar"),
        (("2-bar", 3, 1.0, 2.0, 0, 120, 0), "/music_sample", "greater than maximum"),
        (("2-bar", 3, 1.0, 0.5, -1, 120, 0), "/music_sample", "less than minimum"),
        (("3-bar", 3, 1.0, 0.5, 0, 120, 0), "/music_sample",
         "not in the list of choices|must be one of its 3 choices"),
        (("2-bar", *example(NAMES2[0]), *example(NAMES2[1]), 1, 120, 0), "/music_interpolate",
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
    import apps.music.pieces

    def no_examples(bars: int) -> list:
        raise DataError(f"no {bars}-bar example melodies are shipped")

    monkeypatch.setattr(apps.music.pieces, "load_examples", no_examples)
    demo = build_demo(IMAGE_OFF, tmp_path, {**music_models, "chorales": None})
    text = " ".join(str(getattr(b, "value", "")) for b in demo.blocks.values())
    assert "Examples not available: no 2-bar example melodies are shipped" in text
    sources = [b for b in demo.blocks.values() if re.fullmatch(r"music-.-source", b.elem_id or "")]
    assert sources and all(b.value == "upload" for b in sources)  # uploads are the way in


def test_upload_window_out_of_range(client, midis):
    with pytest.raises(Exception, match="has 3 windows; pick one of 0-2, not 5"):
        client.predict("2-bar", *uploaded(midis["tune"], 5), 120, PIANO,
                       api_name="/music_reconstruct")


def test_oversize_upload_is_refused(client, midis):
    assert midis["huge"].stat().st_size > MAX_UPLOAD_MB * 2**20
    with pytest.raises(Exception, match="(?i)size|large|413"):
        client.predict("2-bar", *uploaded(midis["huge"]), 120, PIANO,
                       api_name="/music_reconstruct")
    assert serving(client)


# --------------------------------------------------------------------------- browser
# What a person sees, at a desktop and a phone size. Each page is one browser tab on the
# shared server (its own session); the tests of one size run in order on its page.
def _open(browser, url: str, viewport: dict):
    pg = browser.new_page(viewport=viewport, accept_downloads=True)
    pg.set_default_timeout(60_000)
    pg.goto(url)
    _tab(pg, "heads", "Music")
    pg.wait_for_selector("#music-a-example")
    return pg


browser, page, phone = browser_fixtures(_open)


def _tab(pg, within: str, name: str) -> None:
    pg.locator(f"#{within} > .tab-wrapper").get_by_role("tab", name=name, exact=True).click()


def _choose(pg, elem_id: str, option: str) -> None:
    """Pick ``option`` in the dropdown ``elem_id`` the way a person does: open it, click."""
    from playwright.sync_api import expect

    box = pg.locator(f"#{elem_id} input").first
    box.click()
    pg.locator(f"#{elem_id}").get_by_role("option", name=option, exact=True).click()
    expect(box).to_have_value(option)


def _type_number(pg, elem_id: str, value: str) -> None:
    """Type ``value`` into slider ``elem_id``'s number box as a person does (Enter, then leave
    the box), and wait until the slider has taken it: a click before that may read the old
    value."""
    from playwright.sync_api import expect

    box = pg.locator(f"#{elem_id} input[type=number]").first
    box.fill(value)
    box.press("Enter")
    box.blur()
    expect(pg.locator(f"#{elem_id} input[type=range]")).to_have_value(value)


def _pick_model(pg, text: str) -> None:
    """Choose the model whose name has ``text``, as a person does: scroll up to the model
    list (a result may have scrolled the page away), open it, tap the model."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import expect

    box = pg.locator("#music-model input").first
    box.evaluate("(el) => el.scrollIntoView({block: 'center'})")
    box.click()
    option = pg.locator("#music-model").get_by_role("option").filter(has_text=text)
    try:
        option.click(timeout=10_000)
    except PlaywrightTimeoutError:  # the list kept moving (the page still settling): type it
        box.fill(text)
        option.wait_for(state="visible")
        box.press("ArrowDown")
        box.press("Enter")
    expect(box).to_have_value(re.compile(re.escape(text)))


def _players(pg, within: str, count: int) -> list[float]:
    """Wait until ``within`` shows ``count`` cards whose audio has loaded; their durations
    (read at that moment: the cards may be replaced afterwards)."""
    sel = f"#{within} .gen-card audio"
    found = pg.wait_for_function(
        "([sel, n]) => { const a = [...document.querySelectorAll(sel)];"
        " return a.length === n && a.every((x) => x.duration > 0)"
        " && a.map((x) => x.duration); }",
        arg=[sel, count],
    )
    return list(found.json_value())


def _octaves(pg, within: str) -> list[str]:
    """The octave labels one sees on the first roll in ``within``."""
    first = pg.locator(f"#{within} .gen-card").first
    return [t.strip() for t in first.locator(".gen-octave").all_inner_texts()]


def _nothing_cut(pg, elem_id: str) -> bool:
    """The text of dropdown ``elem_id`` stops before its arrow (it does not run under it)."""
    return pg.evaluate(
        "(id) => { const i = document.querySelector('#' + id + ' input');"
        " const arrow = document.querySelector('#' + id + ' .icon-wrap');"
        " const r = i.getBoundingClientRect(), s = getComputedStyle(i);"
        " const end = r.right - parseFloat(s.paddingRight);"
        " return !arrow || end <= arrow.getBoundingClientRect().left + 1; }", elem_id)


def test_browser_every_input_has_a_preview_to_play(page, midis):
    from playwright.sync_api import expect

    for slot in "abcd":  # 2 bars at 120 bpm
        assert _players(page, f"music-{slot}-preview", 1) == pytest.approx([4.0], abs=0.05)
    assert {"C5"} & set(_octaves(page, "music-a-preview"))
    expect(page.locator("#music-b-preview .gen-title")).to_have_text(f"B: {NAMES2[1]}")
    _choose(page, "music-b-example", NAMES2[9])
    expect(page.locator("#music-b-preview .gen-title")).to_have_text(f"B: {NAMES2[9]}")
    # an upload: its windows say which track and bars, and the chosen one can be played
    _tab(page, "music-d-tabs", "Upload MIDI")
    page.locator("#music-d-upload input[type=file]").set_input_files(str(midis["tune"]))
    expect(page.locator("#music-d-found")).to_contain_text("3 windows of 2 bars")
    expect(page.locator("#music-d-window input").first).to_have_value(
        re.compile(r"^track 1 \(Acoustic Grand Piano\), bars 1-2 · 8 notes"))
    expect(page.locator("#music-d-preview .gen-title")).to_contain_text(
        "D: my tune.mid, track 1 (Acoustic Grand Piano), bars 1-2")
    assert _players(page, "music-d-preview", 1) == pytest.approx([4.0], abs=0.05)
    page.screenshot(path=str(ARTIFACTS / "music-inputs.png"), full_page=True)


def test_browser_interpolate_plays_each_stepin_view(page, tmp_path):
    from playwright.sync_api import expect

    _choose(page, "music-a-example", NAMES2[5])
    _tab(page, "music-actions", "Interpolate")
    _type_number(page, "music-steps", "4")
    page.click("#music-interpolate")
    expect(page.locator("#music-note")).to_contain_text("Interpolation from A")
    expect(page.locator("#music-note")).to_contain_text(NAMES2[5])
    assert _players(page, "music-view", 4) == pytest.approx([4.0] * 4, abs=0.05)
    assert in_view(page, "music-results")  # the page has come to the result
    titles = page.locator("#music-view .gen-title").all_inner_texts()
    assert titles[0] == f"step 1 = A: {NAMES2[5]} (reconstructed)"  # whole, not cut
    assert {"C4", "C5", "C6"} & set(_octaves(page, "music-view"))
    page.wait_for_function(  # all of it as one file: 4 x 2 bars and 3 bars of rest
        "() => { const a = document.querySelector('#music-audio audio');"
        " return a && a.src.endsWith('.wav') && a.duration > 0; }"
    )
    whole = page.evaluate("() => document.querySelector('#music-audio audio').duration")
    assert whole == pytest.approx(22.0, abs=0.05)

    # play step 2 on a loop: its card lights up and its playhead moves; a click enlarges it
    card = page.locator("#music-view .gen-card").nth(1)
    card.locator(".gen-loop").check()
    assert card.locator("audio").evaluate("(a) => a.loop")
    card.locator("audio").evaluate("(a) => { a.muted = true; return a.play(); }")
    expect(card).to_have_class(re.compile(r"\bgen-playing\b"))
    page.wait_for_function(
        "() => parseFloat(document.querySelectorAll('#music-view .gen-playhead')[1]"
        ".style.left) > 5"
    )
    card.locator(".gen-roll").click()
    expect(card).to_have_class(re.compile(r"\bgen-big\b"))
    page.screenshot(path=str(ARTIFACTS / "music-playing.png"))
    card.locator("audio").evaluate("(a) => a.pause()")
    expect(card).not_to_have_class(re.compile(r"\bgen-playing\b"))
    card.locator(".gen-roll").click()

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


def test_browser_a_failed_action_clears_the_old_result(page, midis):
    from playwright.sync_api import expect

    assert page.locator("#music-view .gen-card").count() == 4  # the interpolation is shown
    _tab(page, "music-a-tabs", "Upload MIDI")
    page.locator("#music-a-upload input[type=file]").set_input_files(str(midis["drums"]))
    expect(page.locator("#music-a-found")).to_contain_text("drums only")
    _tab(page, "music-actions", "Reconstruct")
    page.click("#music-reconstruct")
    expect(page.get_by_text("drums only").last).to_be_visible()  # the message
    expect(page.locator("#music-view .gen-card")).to_have_count(0)
    expect(page.locator("#music-audio audio")).to_have_count(0)
    expect(page.locator("#music-midi a[download]")).to_have_count(0)
    expect(page.locator("#music-note")).not_to_contain_text("Interpolation")
    page.screenshot(path=str(ARTIFACTS / "music-error.png"))
    _tab(page, "music-a-tabs", "Example")  # back to a usable A for the next tests


def test_browser_slider_shifts_the_samples_into_cards_that_play(page):
    from playwright.sync_api import expect

    _tab(page, "music-actions", "Sample")
    expect(page.locator("#music-prior")).to_contain_text("fitted to the training codes")
    page.locator("#music-prior").get_by_label("learned (fitted to the training codes)").check()
    page.click("#music-sample")
    expect(page.locator("#music-note")).to_contain_text("from the learned prior")
    assert _players(page, "music-view", 4) == pytest.approx([4.0] * 4, abs=0.05)
    # sliders for the 2-bar model's five attributes, none for the piano-roll ones
    expect(page.locator("#music-shift-intro")).to_contain_text("4 melodies")
    expect(page.locator("#music-shift-table")).to_contain_text("note density")
    for name in ATTRIBUTES:
        shown = name not in ("offbeat", "polyphony", "mean_pitch")
        assert page.locator(f"#music-shift-{name}").is_visible() == shown, name
    _type_number(page, "music-shift-note_density", "1.5")
    expect(page.locator("#music-shift-table")).to_contain_text("Shifted by note density +1.5")
    assert _players(page, "music-shift-view", 4) == pytest.approx([4.0] * 4, abs=0.05)
    titles = page.locator("#music-shift-view .gen-title").all_inner_texts()
    assert titles[0] == "sample 1, shifted"
    card = page.locator("#music-shift-view .gen-card").first
    card.locator("audio").evaluate("(a) => { a.muted = true; return a.play(); }")
    expect(card).to_have_class(re.compile(r"\bgen-playing\b"))
    expect(page.locator("#music-shift-midi a[download]").first).to_be_visible()
    page.locator("#music-shift").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "music-shift.png"), full_page=True)
    card.locator("audio").evaluate("(a) => a.pause()")


@pytest.mark.slow  # about 40 s on 2 cores: 2 x 32 s of audio; the API tests cover 16 bars
def test_browser_16_bar_model_reconstructs_and_plays_each_melody(page):
    from playwright.sync_api import expect

    _pick_model(page, "16-bar")
    expect(page.locator("#music-a-preview .gen-title")).to_have_text(
        re.compile(r"^A: .*"))
    _tab(page, "music-actions", "Reconstruct")
    page.click("#music-reconstruct")
    expect(page.locator("#music-note")).to_contain_text("2 melodies of 16 bars")
    # each melody plays on its own: 16 bars of 2 s at 120 bpm
    assert _players(page, "music-view", 2) == pytest.approx([32.0, 32.0], abs=0.05)
    assert in_view(page, "music-results")
    page.screenshot(path=str(ARTIFACTS / "music-16-bar.png"), full_page=True)


def test_browser_phone_sample_with_variation_and_temperature(phone):
    from playwright.sync_api import expect

    # every sub-tab is a visible button: none hides in a "..." menu
    for tabs in ("heads", "music-a-tabs", "music-actions"):
        assert phone.locator(f"#{tabs} button[aria-label='More tabs']").is_hidden()
    for name in ("Reconstruct", "Sample", "Interpolate", "Grid"):
        expect(phone.locator("#music-actions > .tab-wrapper").get_by_role(
            "tab", name=name, exact=True)).to_be_visible()
    # dropdown text stops before the arrow
    for elem_id in ("music-model", "music-instrument", "music-a-example", "music-b-example"):
        assert _nothing_cut(phone, elem_id), elem_id
    _tab(phone, "music-actions", "Sample")
    expect(phone.locator("#music-variation")).to_contain_text("prior scale")
    expect(phone.locator("#music-temperature")).to_contain_text("decoder randomness")
    _type_number(phone, "music-count", "3")
    phone.click("#music-sample")
    expect(phone.locator("#music-note")).to_contain_text("3 samples")
    assert _players(phone, "music-view", 3) == pytest.approx([4.0] * 3, abs=0.05)
    assert in_view(phone, "music-results")  # the page has come to the result
    width = phone.evaluate("() => document.querySelector('#music-view .gen-card')"
                           ".getBoundingClientRect().width")
    assert width > 300  # one card per row, as wide as the phone allows
    phone.screenshot(path=str(ARTIFACTS / "music-phone-samples.png"))


def test_browser_phone_chorales_play_chords(phone):
    from playwright.sync_api import expect

    _pick_model(phone, "chorales")
    expect(phone.locator("#music-bpm input[type=number]").first).to_have_value("80")
    expect(phone.locator("#music-instrument input").first).to_have_value("Church Organ (19)")
    expect(phone.locator("#music-a-preview .gen-title")).to_have_text(
        "A: JSB Chorales test piece 0 (bars 1-8)")
    assert _players(phone, "music-a-preview", 1) == pytest.approx([24.0], abs=0.05)
    _tab(phone, "music-actions", "Reconstruct")
    phone.click("#music-reconstruct")
    expect(phone.locator("#music-note")).to_contain_text("frame accuracy")
    assert _players(phone, "music-view", 2) == pytest.approx([24.0, 24.0], abs=0.05)
    assert in_view(phone, "music-results")
    # the chorale's chords: several notes start at the same step of the first roll
    xs = phone.locator("#music-view .gen-card").first.locator("rect.gen-note").evaluate_all(
        "(rs) => rs.map((r) => r.getAttribute('x'))")
    assert max(xs.count(x) for x in set(xs)) >= 3
    phone.screenshot(path=str(ARTIFACTS / "music-phone-chorales.png"), full_page=True)
