"""The app's actions and shared helpers without a browser or a server.

``ImageActions`` and ``MusicActions`` are plain classes over the public API: these tests call
them as the layouts do, with the shipped models (offline), and check what comes back.
"""

from __future__ import annotations

import html
import os
import re
import time
import wave
import zipfile
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest

pytest.importorskip("gradio")

from app_helpers import music_spec, untrained_roll_model  # noqa: E402
from music_fixtures import scale_melody, write_midi  # noqa: E402

from apps.common import (  # noqa: E402
    MAX_UPLOAD_MB,
    RequestFolders,
    check_upload,
    in_range,
    md,
    unavailable_text,
)
from apps.image.actions import (  # noqa: E402
    DIGIT_PX,
    ImageActions,
    load_image_models,
)
from apps.music.actions import (  # noqa: E402
    SINE_NOTICE,
    MusicActions,
    load_music_models,
)
from apps.music.view import Card, cards_html, pitch_range  # noqa: E402
from gen.core.errors import GenError  # noqa: E402
from gen.music.io import load_examples  # noqa: E402

TEST3 = ("test", None, None, 3, 0)  # the first test-set 3, as the five widget values


# --------------------------------------------------------------------------- common
def test_in_range_names_field_value_and_range():
    assert in_range("7", "count", 1, 16, whole=True) == 7
    assert in_range(0.5, "temperature", 0.1, 1.5) == 0.5
    with pytest.raises(GenError, match=r"^Pick a count from 1 to 16, not 20\.$"):
        in_range(20, "count", 1, 16, whole=True)
    with pytest.raises(GenError, match=r"^Pick an example number from 0 to 9 bpm, not -1\.$"):
        in_range(-1, "example number", 0, 9, unit=" bpm")
    with pytest.raises(GenError, match=r"^There are 5 test images: pick a seed from 0 to 4"):
        in_range(8, "seed", 0, 4, context="There are 5 test images")
    with pytest.raises(GenError, match="whole number, not 2.5"):
        in_range(2.5, "count", 1, 16, whole=True)
    with pytest.raises(GenError, match="must be a number, not 'many'"):
        in_range("many", "count", 1, 16)
    with pytest.raises(GenError, match="not nan"):
        in_range(float("nan"), "tempo", 40, 240)


def test_request_folders_are_fresh_and_old_ones_go(tmp_path):
    folders = RequestFolders(tmp_path / "requests", keep_s=3600)
    first, second = folders.new(), folders.new()
    assert first != second and first.is_dir() and not any(first.iterdir())
    os.utime(first, (0, 0))  # an hour old and more
    folders.new()
    assert not first.exists() and second.exists()
    # the oldest go while all of them together hold more than keep_bytes
    capped = RequestFolders(tmp_path / "capped", keep_bytes=2500)
    made = [capped.new() for _ in range(3)]
    for age, folder in zip((30, 29, 28), made):
        (folder / "audio.wav").write_bytes(b"x" * 1000)
        os.utime(folder, (time.time() - age,) * 2)  # made one after another, all recent
    newest = capped.new()  # 3000 bytes held > 2500: the oldest folder goes, not the others
    assert not made[0].exists() and made[1].exists() and made[2].exists() and newest.is_dir()


def test_upload_limit_and_markdown_escapes(tmp_path):
    small = tmp_path / "small.png"
    small.write_bytes(b"x" * 100)
    assert check_upload(small) == small
    big = tmp_path / "big.png"
    with open(big, "wb") as f:
        f.truncate(MAX_UPLOAD_MB * 2**20 + 1)
    with pytest.raises(GenError, match=f"images up to {MAX_UPLOAD_MB} MB"):
        check_upload(big, "images")
    with pytest.raises(GenError, match="no longer here"):
        check_upload(tmp_path / "gone.mid")
    assert md("a_b *c* <i>") == r"a\_b \*c\* \<i\>"


# --------------------------------------------------------------------------- image
@pytest.fixture(scope="module")
def image(tmp_path_factory) -> ImageActions:
    """The Image tab's actions over the shipped models, without the super-resolution model."""
    models = load_image_models({"sr": tmp_path_factory.mktemp("none") / "nowhere"})
    return ImageActions(models, tmp_path_factory.mktemp("image_out"))


def test_image_models_by_role_say_why_one_is_missing(image):
    models = image.models
    assert models.loaded() == ["ae", "vae", "dae", "vae2d"]
    assert "nowhere" in models.missing["sr"] and models.sources["vae"] == "mnist-vae"
    with pytest.raises(GenError, match=r"The super-resolution model is not available \("):
        image.super_resolve(*TEST3)
    text = unavailable_text(models, ["sr"])
    assert text.startswith("**Not available:**\n- the super-resolution model (")
    assert "nowhere" in text
    with pytest.raises(GenError, match="unknown image model role"):
        load_image_models({"vae3d": "mnist-vae"})


def test_image_sample_grid_shape_and_seed(image):
    grid = image.sample("vae", 16, 1.0, 0)
    # 4 x 4 digits of 28 px with 1 px gaps (115 px), scaled x5 to fit 600 px
    assert grid.shape == (575, 575) and grid.dtype == np.uint8
    assert np.array_equal(grid, image.sample("vae", 16, 1.0, 0))
    assert not np.array_equal(grid, image.sample("vae", 16, 1.0, 1))
    assert (grid < 128).mean() > 0.02  # there is ink
    with pytest.raises(GenError, match="Pick a number of samples from 1 to 100, not 0"):
        image.sample("vae", 0, 1.0, 0)
    with pytest.raises(GenError, match="Sampling needs a VAE"):
        image.sample("ae", 4, 1.0, 0)


def test_image_reconstruct_denoise_interpolate(image):
    seen, ae, vae = image.reconstruct(*TEST3)
    assert seen.shape == ae.shape == vae.shape == (DIGIT_PX, DIGIT_PX)
    ink = seen < 128
    assert np.corrcoef(ink.ravel(), (vae < 128).ravel())[0, 1] > 0.5  # it looks like the 3
    _, noisy, clean, note = image.denoise(*TEST3, 0.6, 1)
    assert noisy.shape == clean.shape == (DIGIT_PX, DIGIT_PX) and "dB" in note
    assert np.array_equal(noisy, image.denoise(*TEST3, 0.6, 1)[1])  # the seed fixes the noise
    strip = image.interpolate(*TEST3, "test", None, None, 8, 0, "vae", 6, "lerp")
    assert strip.shape == (6 * 28, 6 * (6 * 29 - 1))  # one row of 6 digits, scaled x6
    with pytest.raises(GenError, match="pick an example number from 0 to"):
        image.reconstruct("test", None, None, 3, 5000)
    with pytest.raises(GenError, match="Draw a digit"):
        image.reconstruct("draw", None, None, 3, 0)


def _red(picture: np.ndarray) -> np.ndarray:
    """Where a picture is the marker's red."""
    r, g, b = (picture[..., i].astype(int) for i in range(3))
    return (r > 180) & (g < 90) & (b < 90)


def test_image_latent_map_click_marks_the_point(image):
    grid, scatter = image.latent_pictures()
    assert grid.shape[0] == grid.shape[1] >= 10 * 28 and scatter.ndim == 3
    assert _red(grid).any()  # (0, 0) is marked from the start
    # the middle of the top-left cell (28 px cells, 1 px gaps, shown at 2x): z1 lowest, z2 highest
    z1, z2, point, marked = image.pick_latent(28, 28)
    assert z1 < -1.0 < 1.0 < z2 and point.shape == (DIGIT_PX, DIGIT_PX)
    ys, xs = np.nonzero(_red(marked))
    assert abs(xs.mean() - 28) < 2 and abs(ys.mean() - 28) < 2  # the ring is where one clicked
    x, y = image.map_pixel(0.5, -0.3)  # pixel -> z -> pixel comes back
    z = image.pick_latent(x, y)[:2]
    assert z == pytest.approx((0.5, -0.3), abs=0.01)
    digit, marked = image.decode_latent(0.5, -0.3)
    ys, xs = np.nonzero(_red(marked))
    assert abs(xs.mean() - x) < 2 and abs(ys.mean() - y) < 2
    with pytest.raises(GenError, match="Pick a z1 from -3 to 3"):
        image.decode_latent(4, 0)


def test_image_sample_variation_is_the_prior_scale(image):
    with pytest.raises(GenError, match=r"Pick a variation \(prior scale\) from 0.1 to 2"):
        image.sample("vae", 4, 3.0, 0)
    near, far = image.sample("vae", 16, 0.1, 0), image.sample("vae", 16, 2.0, 0)
    assert not np.array_equal(near, far)


# --------------------------------------------------------------------------- music
@pytest.fixture(scope="module")
def music(tmp_path_factory) -> MusicActions:
    """The Music tab's actions over the shipped 2-bar and 16-bar models and an untrained
    chorale-grid piano-roll model (the shipped piano-roll models may not exist yet)."""
    roll = untrained_roll_model(tmp_path_factory.mktemp("roll"))
    models = load_music_models(music_spec({"chorales": roll}, keep=("2-bar", "16-bar")))
    return MusicActions(models, tmp_path_factory.mktemp("music_out"))


def _ex(name: str) -> tuple:
    return ("example", name, None, None)


def _wavs(cards: str) -> list[Path]:
    """The audio files that the cards play, in order."""
    return [Path(unquote(u)) for u in re.findall(r'src="gradio_api/file=([^"]+)"', cards)]


def _seconds(path: str | Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def _programs_and_tempo(midi: str) -> tuple[list[int], float]:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(midi)
    return [i.program for i in pm.instruments], float(pm.get_tempo_changes()[1][0])


def test_music_reconstruct_example_gives_cards_midi_and_audio_per_melody(music):
    name = load_examples(2)[3][0]
    cards, midi, parts, note, result = music.reconstruct("2-bar", *_ex(name), 120, 0)
    assert cards.count('class="gen-card"') == 2 and "rendering the audio" in cards
    assert html.escape(f"A: {name}") in cards  # the full title, not cut
    assert {"C4", "C5"} & set(re.findall(r'class="gen-octave"[^>]*>(C\d)<', cards))
    assert Path(midi).name == "reconstruction.mid" and Path(midi).stat().st_size > 0
    assert Path(parts).name == "reconstruction_midi.zip"
    assert Path(midi).parent.parent == music.media_dir
    assert "Reconstruction" in note and name.split(" (")[0] in note
    assert "Acoustic Grand Piano" in note and len(result["items"]) == 2
    cards, wav, notice = music.audio(result, 120, 0)
    assert notice in (None, SINE_NOTICE)
    wavs = _wavs(cards)
    assert len(wavs) == 2 and all(p.parent.parent == music.media_dir for p in wavs)
    assert [_seconds(p) for p in wavs] == pytest.approx([4.0, 4.0], abs=1e-3)  # 2 bars
    assert _seconds(wav) == pytest.approx(10.0, abs=1e-3)  # 2 + a bar of rest + 2 bars
    # a new tempo and instrument: new files, the right length, the instrument in the MIDI
    midi90, parts90, cards90, wav90, _ = music.render(result, 90, 73)
    assert Path(midi90).parent != Path(midi).parent
    assert _programs_and_tempo(midi90) == ([73], pytest.approx(90.0, abs=0.01))
    assert [_seconds(p) for p in _wavs(cards90)] == pytest.approx([16 / 3] * 2, abs=1e-3)
    assert music.render(None, 90, 0) is None and music.audio(None, 90, 0) == ("", None, None)


def test_music_sample_is_seeded_and_checks_its_inputs(music):
    first = music.sample("2-bar", 3, 1.0, 0.8, 7, 120, 0)
    assert first[4]["items"] == music.sample("2-bar", 3, 1.0, 0.8, 7, 120, 0)[4]["items"]
    assert np.asarray(first[4]["items"]).shape == (3, 32)
    assert "variation (prior scale) 1, temperature 0.8, seed 7" in first[3]
    other = music.sample("2-bar", 3, 1.8, 0.8, 7, 120, 0)[4]["items"]
    assert other != first[4]["items"]  # the variation moves the codes
    with pytest.raises(GenError, match=r"Pick a temperature from 0.1 to 1.5, not 2\."):
        music.sample("2-bar", 3, 1.0, 2.0, 0, 120, 0)
    with pytest.raises(GenError, match=r"Pick a variation \(prior scale\) from 0.1 to 2"):
        music.sample("2-bar", 3, 0.0, 0.5, 0, 120, 0)
    with pytest.raises(GenError, match=r"Pick a tempo from 40 to 240 bpm, not 300\."):
        music.sample("2-bar", 3, 1.0, 0.5, 0, 300, 0)
    with pytest.raises(GenError, match=r"Pick an instrument \(General MIDI program\) from 0"):
        music.sample("2-bar", 3, 1.0, 0.5, 0, 120, 128)
    with pytest.raises(GenError, match="Choose the model '2-bar' or '16-bar' or 'chorales'"):
        music.sample("3-bar", 3, 1.0, 0.5, 0, 120, 0)


def test_music_interpolate_and_grid_16_bars(music):
    names = [n for n, _ in load_examples(16)[:4]]
    cards, _, _, note, result = music.interpolate("16-bar", *_ex(names[0]), *_ex(names[1]), 3,
                                                  120, 0)
    assert "3 steps" in note and np.asarray(result["items"]).shape == (3, 256)
    assert "--gen-cols:1" in cards  # 16 bars: one card per row
    corners = [v for n in names for v in _ex(n)]
    cards, _, parts, note, result = music.grid("16-bar", *corners, 2, 120, 0)
    assert "2x2 grid" in note and result["parts"] == ["row1_col1", "row1_col2", "row2_col1",
                                                       "row2_col2"]
    assert "--gen-cols:2" in cards and zip_names(parts) == [f"{p}.mid" for p in result["parts"]]


def zip_names(path: str) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return sorted(z.namelist())


def _two_track_midi(path: Path) -> Path:
    """A bass (whole notes from bar 1) and a flute tune named Lead that enters at bar 3: the
    library takes the Lead as the melody track."""
    import pretty_midi

    step = 0.125  # a 16th note at 120 bpm
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    bass = pretty_midi.Instrument(program=32, name="Bass")
    for bar, p in enumerate([40, 43, 45, 43, 40, 38]):
        bass.notes.append(pretty_midi.Note(80, p, 16 * bar * step, 16 * (bar + 1) * step))
    lead = pretty_midi.Instrument(program=73, name="Lead")
    for p, s, e in scale_melody(4, base=72):
        lead.notes.append(pretty_midi.Note(90, p, (32 + s) * step, (32 + e) * step))
    pm.instruments += [bass, lead]
    pm.write(str(path))
    return path


def test_music_upload_windows_name_their_track_and_bars(music, tmp_path):
    midi = _two_track_midi(tmp_path / "two tracks.mid")
    choices, found = music.windows("2-bar", str(midi))
    labels = [label.split(" · ")[0] for label, _ in choices]
    # the melody track first, then the bass's windows
    assert labels[:3] == [f"track 2 Lead (Flute), bars {b}-{b + 1}" for b in (3, 4, 5)]
    assert labels[3:] == [f"track 1 Bass (Acoustic Bass), bars {b}-{b + 1}" for b in range(1, 6)]
    assert found.startswith("**two tracks.mid**: 8 windows of 2 bars: 3 from the melody track "
                            "2 Lead (Flute)") and "5 from the other tracks" in found
    lead = next(i for label, i in choices if label.startswith("track 2 Lead (Flute), bars 4-5"))
    piece = music.piece("2-bar", "A", "upload", None, str(midi), lead)
    assert piece.name == "two tracks.mid, track 2 Lead (Flute), bars 4-5"
    first = next(t for t in piece.data if t >= 2)  # the first note-on: bar 4 starts at step 4
    assert first - 2 + 21 == scale_melody(4, base=72)[4][0]


def test_music_examples_and_windows_for_the_widgets(music, tmp_path):
    names16, values = music.choose_model("16-bar", "gone")
    assert names16 == [n for n, _ in load_examples(16)] and values == names16[:4]
    tune = write_midi(tmp_path / "my tune.mid", [{"notes": scale_melody(4)}])
    choices, found = music.windows("2-bar", str(tune))
    assert [i for _, i in choices] == [0, 1, 2] and "3 windows of 2 bars" in found
    assert choices[2][0].startswith("track 1 (Acoustic Grand Piano), bars 3-4 · 8 notes")
    assert music.windows("2-bar", None) == ([], "")
    _, found16 = music.windows("16-bar", str(tune))
    assert "no 16-bar melody" in found16 and "too short" in found16
    piece = music.piece("2-bar", "A", "upload", None, str(tune), 2)
    assert piece.name.startswith("my tune.mid, track 1") and piece.data.shape == (32,)
    with pytest.raises(GenError, match="has 3 windows; pick one of 0-2, not 5"):
        music.piece("2-bar", "A", "upload", None, str(tune), 5)
    preview = music.preview("2-bar", "a", "upload", None, str(tune), 1, 120, 0)
    assert preview.count('class="gen-card"') == 1 and "bars 2-3" in preview
    assert [_seconds(p) for p in _wavs(preview)] == pytest.approx([4.0], abs=1e-3)
    assert music.preview("2-bar", "b", "upload", None, None, None, 120, 0) == ""
    assert music.defaults("2-bar")["bpm"] == 120 and music.defaults("chorales")["program"] == 19


# --------------------------------------------------------------------------- attributes, priors
def _row(table: str, words: str) -> list[float]:
    """The numbers of one attribute's row of a shift's table: before (, after, change)."""
    line = next(x for x in table.splitlines()
                if x.startswith((f"| {words} (", f"| **{words}** (")))
    return [float(c.strip().rstrip("%")) for c in line.split("|")[2:-1]]


def test_music_shift_moves_note_density_and_says_before_and_after(music):
    *_, state = music.sample("2-bar", 8, 1.0, 0.5, 3, 120, 0)
    intro, table, names = music.shift_panel(state)
    assert names == ["note_density", "mean_interval", "pitch_range", "syncopation_16th",
                     "syncopation_8th"]
    assert "8 melodies" in intro and "| note density (onsets per step) |" in table
    more = music.shift(state, {"note_density": 1.5, "polyphony": 0}, 120, 0)
    less = music.shift(state, {"note_density": -1.5}, 120, 0)
    shown, plain, after_more, change = _row(more[0], "note density")
    assert _row(table, "note density") == [shown] and change == pytest.approx(
        after_more - plain, abs=0.011)
    assert _row(less[0], "note density")[2] < plain < after_more  # in the asked direction
    assert "**Shifted** by note density +1.5" in more[0]
    assert len(_row(more[0], "pitch range")) == 4  # every attribute before and after
    note, cards, midi, parts, shifted, notice = more
    assert cards.count('class="gen-card"') == 8 and "sample 1, shifted" in cards
    assert [_seconds(p) for p in _wavs(cards)] == pytest.approx([4.0] * 8, abs=1e-3)
    assert zip_names(parts) == [f"sample_{i:02d}_shifted.mid" for i in range(1, 9)]
    assert Path(midi).name == "shifted.mid" and notice is None
    midi90, _, cards90, _, _ = music.render(shifted, 90, 40)  # a new tempo and instrument
    assert _programs_and_tempo(midi90) == ([40], pytest.approx(90, abs=0.1))
    # a reconstruction: A is shifted (the reconstruction has A's code)
    name = load_examples(2)[0][0]
    *_, rec = music.reconstruct("2-bar", *_ex(name), 120, 0)
    note, cards, *_ = music.shift(rec, {"pitch_range": 1.0, "mean_interval": -0.5}, 120, 0)
    assert cards.count('class="gen-card"') == 1 and html.escape(f"A: {name}, shifted",
                                                                 quote=True) in cards
    assert "pitch range +1 and mean interval -0.5" in note and "(1 melody)" in note


def test_music_shift_refuses_bad_amounts_in_words(music):
    *_, state = music.sample("2-bar", 2, 1.0, 0.5, 0, 120, 0)
    with pytest.raises(GenError, match=r"^Pick an amount for note density from -2 to 2, "
                                       r"not 3\.$"):
        music.shift(state, {"note_density": 3}, 120, 0)
    with pytest.raises(GenError, match="amount for pitch range must be a number, not 'x'"):
        music.shift(state, {"pitch_range": "x"}, 120, 0)
    with pytest.raises(GenError, match="2-bar melody model has no polyphony vector .*"
                                       "leave polyphony at 0"):
        music.shift(state, {"polyphony": 1}, 120, 0)
    with pytest.raises(GenError, match="no attribute 'loudness'"):
        music.shift(state, {"loudness": 1}, 120, 0)
    with pytest.raises(GenError, match="Make a result first"):
        music.shift(None, {"note_density": 1}, 120, 0)
    # a model without vectors explains why it has no sliders
    *_, roll = music.sample("chorales", 1, 1.0, 1.0, 0, 80, 19)
    intro, table, names = music.shift_panel(roll)
    assert names == [] and table == ""
    assert "chorale model (piano roll) ships no attribute vectors" in intro
    with pytest.raises(GenError, match="ships no attribute vectors"):
        music.shift(roll, {"note_density": 0}, 80, 19)


def test_music_sample_from_the_learned_prior(music):
    choices, info = music.prior_choices("2-bar")
    assert [v for _, v in choices] == ["normal", "learned"] and "mixture of Gaussians" in info
    learned = music.sample("2-bar", 3, 1.0, 0.5, 0, 120, 0, "learned")
    normal = music.sample("2-bar", 3, 1.0, 0.5, 0, 120, 0)
    assert "from the learned prior (fitted to the training codes)" in learned[3]
    assert "from the standard normal prior N(0, I)" in normal[3]
    assert learned[4]["items"] != normal[4]["items"]
    choices, info = music.prior_choices("chorales")  # the untrained model has none
    assert [v for _, v in choices] == ["normal"] and "ships no learned prior" in info
    with pytest.raises(GenError, match="chorale model .* has no learned prior"):
        music.sample("chorales", 1, 1.0, 1.0, 0, 80, 19, "learned")
    with pytest.raises(GenError, match="The prior is 'normal' or 'learned', not 'flat'"):
        music.sample("2-bar", 1, 1.0, 0.5, 0, 120, 0, "flat")


def test_roll_model_with_vectors_offers_its_seven_sliders(tmp_path):
    import torch

    import gen
    from gen.music.attributes import ROLL_ATTRIBUTES

    folder = untrained_roll_model(tmp_path)
    model = gen.load(str(folder))
    torch.manual_seed(0)  # random vectors: the path, not their musical effect
    model.set_attribute_vectors({n: torch.randn(model.latent_dim) for n in ROLL_ATTRIBUTES},
                                {"source": "test"})
    act = MusicActions(load_music_models(music_spec({"chorales": folder})), tmp_path / "out")
    *_, state = act.reconstruct("chorales", *_ex(act.example_names("chorales")[0]), 80, 19)
    _, _, names = act.shift_panel(state)
    assert names == ["note_density", "mean_interval", "pitch_range", "offbeat", "polyphony",
                     "mean_pitch"]
    note, cards, midi, parts, shifted, _ = act.shift(state, {"polyphony": 2.0}, 80, 19)
    assert "**polyphony** (keys sounding per frame)" in note and len(_row(note, "mean pitch")) == 4
    assert cards.count('class="gen-card"') == 1 and zip_names(parts) == ["piece_a_shifted.mid"]
    assert len(shifted["items"]) == 1 and shifted["items"][0]["frames"] == 32
    with pytest.raises(GenError, match="no 16th-note syncopation vector"):
        act.shift(state, {"syncopation_16th": 1}, 80, 19)


# --------------------------------------------------------------------------- piano rolls
def _chords_midi(path: Path, bars: int = 12) -> Path:
    """Block chords, one per bar (C, F, G, C ...), on a piano, plus a drum part."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=100)
    piano = pretty_midi.Instrument(program=0, name="Piano")
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="Drums")
    beat = 0.6
    for bar in range(bars):
        root = [60, 65, 67, 60][bar % 4]
        for p in (root, root + 4, root + 7):
            piano.notes.append(pretty_midi.Note(80, p, 4 * bar * beat, 4 * (bar + 1) * beat))
        drums.notes.append(pretty_midi.Note(80, 36, 4 * bar * beat, 4 * bar * beat + 0.1))
    pm.instruments += [piano, drums]
    pm.write(str(path))
    return path


def test_roll_model_examples_actions_and_chords(music):
    names = music.example_names("chorales")
    assert names[0] == "JSB Chorales test piece 0 (bars 1-8)" and len(names) > 20
    d = music.defaults("chorales")
    assert d["roll"] and d["bpm"] == 80 and d["program"] == 19
    cards, midi, parts, note, result = music.reconstruct("chorales", *_ex(names[0]), 80, 19)
    assert "frame accuracy" in note and "Church Organ (General MIDI 19)" in note
    assert zip_names(parts) == ["piece_a.mid", "reconstruction.mid"]
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(midi)
    assert [i.program for i in pm.instruments] == [19]
    starts = [round(n.start, 3) for n in pm.instruments[0].notes]
    assert max(starts.count(s) for s in set(starts)) >= 3  # the chorale's chords
    cards, wav, _ = music.audio(result, 80, 19)
    assert [_seconds(p) for p in _wavs(cards)] == pytest.approx([24.0, 24.0], abs=1e-3)
    # a chord is notes at the same place: rectangles sharing an x in one card's roll
    first = cards.split('class="gen-card"')[1]
    xs = re.findall(r'<rect x="(\d+)" y="\d+" width="[\d.]+" height="1" class="gen-note"',
                    first)
    assert max(xs.count(x) for x in set(xs)) >= 3

    _, _, _, note, result = music.sample("chorales", 2, 1.0, 1.0, 3, 80, 19)
    assert [music.kind("chorales").decode(x).shape for x in result["items"]] == [(32, 88)] * 2
    _, _, parts, note, result = music.interpolate("chorales", *_ex(names[1]), *_ex(names[2]),
                                                  3, 80, 19)
    assert zip_names(parts) == ["step_01.mid", "step_02.mid", "step_03.mid"]
    corners = [v for n in names[:4] for v in _ex(n)]
    _, _, parts, note, result = music.grid("chorales", *corners, 2, 80, 19)
    assert len(zip_names(parts)) == 4 and "9 pieces" not in note and "4 pieces" in note


def test_roll_upload_report_and_windows(music, tmp_path):
    midi = _chords_midi(tmp_path / "chords.mid")
    choices, found = music.windows("chorales", str(midi))
    assert [label.split(" · ")[0] for label, _ in choices] == [
        "bars 1-8 (1 track merged)", "bars 9-12 (1 track merged)"]
    assert "36 notes" in found and "Dropped 12 drum notes" in found and "chords.mid" in found
    piece = music.piece("chorales", "B", "upload", None, str(midi), 1)
    assert piece.data.shape == (16, 88) and piece.data.sum(axis=1).min() == 3  # triads
    drums = write_midi(tmp_path / "drums.mid", [{"notes": [(36, 2 * i, 2 * i + 1)
                                                           for i in range(16)], "is_drum": True}])
    choices, found = music.windows("chorales", str(drums))
    assert choices == [] and "drums.mid" in found and str(tmp_path) not in found
    with pytest.raises(GenError, match="drums.mid has no usable piece"):
        music.piece("chorales", "C", "upload", None, str(drums), 0)


def test_roll_roles_are_checked(tmp_path):
    folk = untrained_roll_model(tmp_path, frames_per_quarter=2)
    models = load_music_models(music_spec({"chorales": folk, "folk-chords": folk}))
    assert models.loaded() == ["folk-chords"]
    assert "must be a model of the jsb benchmark" in models.missing["chorales"]


def test_music_models_switched_off_are_explained():
    models = load_music_models(music_spec({}, keep=("2-bar",)))
    assert models.loaded() == ["2-bar"] and models.missing["16-bar"] == "switched off"
    with pytest.raises(GenError,
                       match=r"The 16-bar melody model is not available \(switched off\)"):
        models.get("16-bar")


# --------------------------------------------------------------------------- cards
def test_cards_label_octaves_keep_titles_and_escape_them():
    notes = [(62, 0, 4), (71, 4, 8)]  # D4 and B4: no C among them
    card = Card("<b>my tune</b>, track Lead, bars 5-6", notes, 32, 4, 16, "/x/a b.wav", 4.0)
    page = cards_html([card, Card("two", [(50, 0, 32)], 32, 4, 16)], cols=2)
    assert pitch_range([card]) == (60, 72)  # from the C below to an octave above
    assert re.findall(r'class="gen-octave"[^>]*>(C\d)<', page).count("C4") == 2
    assert "&lt;b&gt;my tune&lt;/b&gt;, track Lead, bars 5-6" in page and "<b>" not in page
    assert 'src="gradio_api/file=/x/a%20b.wav"' in page and 'data-seconds="4.000"' in page
    assert page.count("gen-note") == 3 and "--gen-cols:2" in page
    assert "rendering the audio" in page  # the second card has no audio yet
