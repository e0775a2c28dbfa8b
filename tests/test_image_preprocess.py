"""gen.image.preprocess: MNIST-style centring of arbitrary pictures, noise, bicubic upsampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gen.core.errors import DataError
from gen.image.data import load_mnist
from gen.image.preprocess import add_noise, mnist_style, to_grayscale, upsample_bicubic


def _digit(i: int = 0) -> np.ndarray:
    x, _ = load_mnist("test", 10)
    return x[i, 0].numpy()


def _photo(d: np.ndarray, scale: int = 12, canvas: tuple[int, int] = (420, 500)) -> np.ndarray:
    """A black-ink-on-white RGB picture of digit ``d`` (28x28), enlarged and off-centre."""
    big = np.kron(d, np.ones((scale, scale), np.float32))
    page = np.zeros(canvas, np.float32)
    page[40 : 40 + big.shape[0], 90 : 90 + big.shape[1]] = big
    rgb = (255 * (1 - page)).astype(np.uint8)
    return np.repeat(rgb[..., None], 3, axis=2)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def _com(a: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(a.shape)
    return float((ys * a).sum() / a.sum()), float((xs * a).sum() / a.sum())


def test_mnist_digit_round_trips():
    d = _digit()
    out = mnist_style(d)
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert _corr(out, d) > 0.9


def test_large_light_background_rgb_picture_is_centred_and_scaled():
    d = _digit(1)
    out = mnist_style(_photo(d))
    cy, cx = _com(out)
    assert abs(cy - 14) <= 1.0 and abs(cx - 14) <= 1.0
    rows, cols = np.nonzero(out > 0.2)
    assert max(np.ptp(rows), np.ptp(cols)) + 1 in (19, 20, 21)  # the 20-pixel box
    assert _corr(out, mnist_style(d)) > 0.9


def test_file_pil_and_array_inputs_agree(tmp_path):
    arr = _photo(_digit(2))
    path = tmp_path / "digit.png"
    Image.fromarray(arr).save(path)
    a = mnist_style(arr)
    np.testing.assert_allclose(mnist_style(path), a, atol=1e-5)
    np.testing.assert_allclose(mnist_style(Image.fromarray(arr)), a, atol=1e-5)
    assert _corr(mnist_style(Image.fromarray(arr).convert("P")), a) > 0.98  # palette mode


def test_transparent_canvas_and_colour_modes():
    d = _digit(3)
    ref = mnist_style(d)
    big = np.kron(d, np.ones((8, 8), np.float32))
    rgba = np.zeros((*big.shape, 4), np.uint8)  # black strokes on a transparent canvas
    rgba[..., 3] = (255 * big).astype(np.uint8)
    assert _corr(mnist_style(rgba), ref) > 0.9
    white_on_clear = rgba.copy()
    white_on_clear[..., :3] = 255
    assert _corr(mnist_style(white_on_clear), ref) > 0.9
    red_on_blue = np.zeros((*big.shape, 3), np.uint8)
    red_on_blue[..., 2] = 200
    red_on_blue[big > 0.5] = (230, 20, 20)
    assert _corr(mnist_style(red_on_blue), ref) > 0.8
    assert _corr(mnist_style(big > 0.5), ref) > 0.8  # bool
    assert _corr(mnist_style((big * 65535).astype(np.uint16)[..., None]), ref) > 0.9


def test_to_grayscale_shapes():
    assert to_grayscale(np.zeros((4, 5, 3), np.uint8)).shape == (4, 5)
    assert to_grayscale(np.zeros((4, 5, 4), np.uint8)).max() == 1.0  # transparent -> paper
    with pytest.raises(DataError, match="must be"):
        to_grayscale(np.zeros((2, 3, 4, 5)))


@pytest.mark.parametrize(
    "image",
    [np.ones((50, 50, 3), np.uint8) * 255, np.zeros((40, 60)), np.full((30, 30), 0.5)],
)
def test_blank_images_are_refused(image):
    with pytest.raises(DataError, match="no digit found"):
        mnist_style(image)


def test_unreadable_and_missing_files(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"this is not an image")
    with pytest.raises(DataError, match="not a readable image"):
        mnist_style(bad)
    with pytest.raises(DataError, match="no such image file"):
        mnist_style(tmp_path / "missing.png")
    with pytest.raises(DataError, match="NaN"):
        mnist_style(np.full((5, 5), np.nan))


def test_huge_picture_refused_before_decoding(tmp_path, monkeypatch):
    import gen.image.preprocess as pre

    path = tmp_path / "big.png"
    Image.new("L", (300, 200), 255).save(path)
    monkeypatch.setattr(pre, "MAX_PIXELS", 300 * 200 - 1)
    with pytest.raises(DataError, match="too large"):
        mnist_style(path)


def test_add_noise_seeded_and_clipped():
    x = torch.full((2, 1, 28, 28), 0.5)
    a = add_noise(x, 0.5, generator=torch.Generator().manual_seed(1))
    b = add_noise(x, 0.5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.min() >= 0 and a.max() <= 1
    assert float((a - x).abs().mean()) > 0.2
    assert torch.equal(add_noise(x, 0.0), x)
    with pytest.raises(DataError):
        add_noise(x, -1.0)


def test_upsample_bicubic():
    x = torch.rand(3, 1, 14, 14)
    up = upsample_bicubic(x)
    assert up.shape == (3, 1, 28, 28) and up.min() >= 0 and up.max() <= 1
    with pytest.raises(DataError):
        upsample_bicubic(x[0])
