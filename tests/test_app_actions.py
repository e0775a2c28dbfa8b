"""The app's actions and shared helpers without a browser or a server.

``ImageActions`` and ``MusicActions`` are plain classes over the public API: these tests call
them as the layouts do, with the shipped models (offline), and check what comes back.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gradio")

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


def test_image_latent_map_click(image):
    grid, scatter = image.latent_pictures()
    assert grid.shape[0] == grid.shape[1] >= 10 * 28 and scatter.ndim == 3
    z1, z2, point = image.pick_latent(6, 6)  # the top-left cell: z1 lowest, z2 highest
    assert z1 < -1.0 < 1.0 < z2 and point.shape == (DIGIT_PX, DIGIT_PX)


# --------------------------------------------------------------------------- music
@pytest.fixture(scope="module")
def music(tmp_path_factory) -> MusicActions:
    """The Music tab's actions over the shipped 2-bar and 16-bar models."""
    return MusicActions(load_music_models(), tmp_path_factory.mktemp("music_out"))


def _ex(name: str) -> tuple:
    return ("example", name, None, None)


def test_music_reconstruct_example_gives_picture_and_midi(music):
    name = load_examples(2)[3][0]
    roll, midi, parts, note, result = music.reconstruct("2-bar", *_ex(name), 120)
    assert roll.dtype == np.uint8 and roll.ndim == 3 and roll.shape[1] > roll.shape[0]
    assert Path(midi).name == "reconstruction.mid" and Path(midi).stat().st_size > 0
    assert Path(parts).name == "reconstruction_midi.zip"
    assert Path(midi).parent.parent == music.out_dir / "requests"
    assert "Reconstruction" in note and name.split(" (")[0] in note
    assert np.asarray(result["tokens"]).shape == (2, 32)
    wav, notice = music.audio(result, 120)
    assert notice in (None, SINE_NOTICE)
    with wave.open(wav) as w:  # 2 bars, a bar of rest, 2 bars at 120 bpm: about 10 s
        assert w.getnframes() / w.getframerate() > 0.95 * 6.0
    midi90, parts90, wav90, _ = music.render(result, 90)
    assert Path(midi90).parent != Path(midi).parent and Path(wav90).suffix == ".wav"
    assert music.render(None, 90) is None and music.audio(None, 90) == (None, None)


def test_music_sample_is_seeded_and_checks_its_inputs(music):
    first = music.sample("2-bar", 3, 0.8, 7, 120)[4]["tokens"]
    assert first == music.sample("2-bar", 3, 0.8, 7, 120)[4]["tokens"]
    assert np.asarray(first).shape == (3, 32)
    with pytest.raises(GenError, match=r"Pick a temperature from 0.1 to 1.5, not 2\."):
        music.sample("2-bar", 3, 2.0, 0, 120)
    with pytest.raises(GenError, match=r"Pick a tempo from 40 to 240 bpm, not 300\."):
        music.sample("2-bar", 3, 0.5, 0, 300)
    with pytest.raises(GenError, match="Choose the model '2-bar' or '16-bar', not '3-bar'"):
        music.sample("3-bar", 3, 0.5, 0, 120)


def test_music_interpolate_and_grid_16_bars(music):
    names = [n for n, _ in load_examples(16)[:4]]
    roll, _, _, note, result = music.interpolate("16-bar", *_ex(names[0]), *_ex(names[1]), 3, 120)
    assert "3 steps" in note and np.asarray(result["tokens"]).shape == (3, 256)
    corners = [v for n in names for v in _ex(n)]
    _, _, _, note, result = music.grid("16-bar", *corners, 2, 120)
    assert "2x2 grid" in note and result["parts"] == ["row1_col1", "row1_col2", "row2_col1",
                                                       "row2_col2"]


def test_music_examples_and_windows_for_the_widgets(music, tmp_path):
    names16, values = music.choose_model("16-bar", "gone")
    assert names16 == [n for n, _ in load_examples(16)] and values == names16[:4]
    tune = write_midi(tmp_path / "my tune.mid", [{"notes": scale_melody(4)}])
    choices, found = music.windows("2-bar", str(tune))
    assert [i for _, i in choices] == [0, 1, 2] and "3 windows of 2 bars" in found
    assert music.windows("2-bar", None) == ([], "")
    _, found16 = music.windows("16-bar", str(tune))
    assert "no 16-bar melody" in found16 and "too short" in found16
    mel = music.melody("2-bar", "A", "upload", None, str(tune), 2)
    assert mel.name == "my tune.mid #3" and mel.tokens.shape == (32,)
    with pytest.raises(GenError, match="has 3 windows of 2 bars"):
        music.melody("2-bar", "A", "upload", None, str(tune), 5)


def test_music_models_switched_off_are_explained():
    models = load_music_models({"16-bar": None})
    assert models.loaded() == ["2-bar"] and models.missing == {"16-bar": "switched off"}
    with pytest.raises(GenError, match=r"The 16-bar model is not available \(switched off\)"):
        models.get("16-bar")
