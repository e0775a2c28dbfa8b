"""What the Image tab does, without widgets: the MNIST models by role and ``ImageActions``.

Everything model-related is a library call (``gen.load``, the models' public methods,
``gen.image.io``); this module turns widget values into library inputs and library outputs
into pictures (uint8 arrays). Bad input raises ``GenError``; the layout shows it as a message.
The layout serves the pictures as PNG files written into a fresh folder per request
(``ImageActions.as_files``), so identical concurrent requests never share a file.

Every call of a model method (reconstruct, sample, interpolate, decode) is in the "model calls"
section below, so a change of the core's signatures is edited there only.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from apps.common import RequestFolders, RoleModels, check_upload, in_range, load_roles
from gen.core.errors import GenError
from gen.image.io import (
    ImageModel,
    add_noise,
    codes,
    downsample,
    latent_grid_values,
    latent_map,
    load_mnist,
    mnist_style,
    psnr,
    save_scatter,
    tile,
    upsample_bicubic,
)

# role -> shipped model name (or a directory written by save_pretrained)
DEFAULT_IMAGE_MODELS: dict[str, str] = {
    "ae": "mnist-ae",
    "vae": "mnist-vae",
    "dae": "mnist-dae",
    "sr": "mnist-sr",
    "vae2d": "mnist-vae-2d",
}
# role -> (required model kind, required latent size or None, words for people)
ROLES: dict[str, tuple[str, int | None, str]] = {
    "ae": ("ae", None, "autoencoder"),
    "vae": ("vae", None, "VAE"),
    "dae": ("dae", None, "denoising autoencoder"),
    "sr": ("sr", None, "super-resolution model"),
    "vae2d": ("vae", 2, "2-d VAE"),
}
DIGIT_PX = 224  # single 28x28 digits are shown 8x larger, nearest neighbour
GRID_PX = 600  # longest side of grids and strips
STRIP_PX = 1160  # interpolation strips: 3x for up to 13 steps, 2x up to 20
MAP_PX = 580  # the 10x10 latent map (289 px) shown at 2x
MAP_N = 10
MAX_SAMPLES = 100
MAX_STEPS = 20
PRIOR_SCALE = (0.1, 2.0)  # "variation": the prior's scale when sampling codes
SEED_MAX = 2**31 - 1
DigitValues = tuple[str, Any, Any, Any, Any]  # (source, sketch, upload, test_digit, test_index)


# --------------------------------------------------------------------------- models
def _check_role(role: str, model: Any) -> None:
    kind, latent, words = ROLES[role]
    if not isinstance(model, ImageModel):
        raise GenError(f"the {words} must be an image model, got a {type(model).__name__}")
    if model.config.kind != kind:
        raise GenError(f"the {words} must be a {kind!r} model, got a {model.config.kind!r} one")
    if latent is not None and model.latent_dim != latent:
        raise GenError(f"the {words} needs a {latent}-d latent, this one has {model.latent_dim}")


def load_image_models(spec: Mapping[str, str | Path | None] | None = None) -> RoleModels:
    """Load one model per role (ae, vae, dae, sr, vae2d) with ``gen.load``.

    ``spec`` maps roles to shipped names or save_pretrained directories and overrides
    ``DEFAULT_IMAGE_MODELS``; ``None`` as a value switches a role off. A model that cannot be
    loaded is reported in ``missing`` (the tab then hides what needs it) instead of failing.
    """
    words = {role: w for role, (_, _, w) in ROLES.items()}
    return load_roles("image", words, DEFAULT_IMAGE_MODELS, spec, _check_role)


# --------------------------------------------------------------------------- model calls
def _reconstruct(model: ImageModel, x: Any) -> torch.Tensor:
    return model.reconstruct(x)  # (N, 1, 28, 28)


def _sample(model: ImageModel, n: int, prior_scale: float, seed: int) -> torch.Tensor:
    return model.sample(n, seed=seed, prior_scale=prior_scale)  # (n, 1, 28, 28)


def _interpolate(model: ImageModel, a: np.ndarray, b: np.ndarray, steps: int, method: str
                 ) -> torch.Tensor:
    return model.interpolate(a[None], b[None], steps=steps, method=method)  # (steps, 1, 28, 28)


def _decode(model: ImageModel, z: list[list[float]]) -> torch.Tensor:
    return model.decode(z)  # (N, 1, 28, 28)


# --------------------------------------------------------------------------- pictures
def picture(images: Any, cols: int | None = None, size: int = DIGIT_PX) -> np.ndarray:
    """Images in [0, 1] with ink = 1 -> a uint8 picture, dark ink on white, for display.

    ``images``: (H, W), (N, H, W) or (N, 1, H, W) (tiled ``cols`` per row with
    ``gen.image.io.tile``), scaled up by an integer factor with nearest neighbour so the
    longest side is about ``size`` pixels and every model pixel stays a crisp square.
    """
    a = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    m = a if a.ndim == 2 else tile(a, cols or len(a))
    scale = max(1, size // max(m.shape))
    out = np.rint(255.0 * (1.0 - np.clip(m, 0.0, 1.0))).astype(np.uint8)
    return np.repeat(np.repeat(out, scale, axis=0), scale, axis=1)


def _weights_id(model: torch.nn.Module) -> str:
    """A short fingerprint of a model's weights (names files derived from them)."""
    h = hashlib.sha1()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


def _mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).pow(2).mean())


@dataclass(frozen=True)
class TestDigits:
    """The MNIST test set, for picking digits by label."""

    images: torch.Tensor  # (10000, 1, 28, 28) in [0, 1]
    labels: torch.Tensor  # (10000,) digits
    by_digit: list[torch.Tensor]  # indices of each digit 0-9


@dataclass(frozen=True)
class LatentViews:
    """The 2-d VAE's pictures: grid values per axis, the decoded grid, the test-set scatter."""

    values: np.ndarray  # (MAP_N,) latent values along each axis
    grid: np.ndarray  # uint8 picture of the decoded MAP_N x MAP_N grid
    scatter: np.ndarray  # RGB picture of the test-set codes coloured by digit


# --------------------------------------------------------------------------- actions
class ImageActions:
    """What the Image tab's buttons do. Built once; read-only afterwards.

    Digit inputs arrive as five widget values ``(source, sketch, upload, test_digit,
    test_index)``: source is "draw" (the sketchpad's composite image), "upload" (an image file
    path) or "test" (the ``test_index``-th test-set image of digit ``test_digit``).

    The test set and the latent-map pictures are prepared in a background thread started here,
    so the app is up while they load; the first handler that needs them waits for them. Every
    random draw gets its own seeded generator, so concurrent users do not share state.
    """

    def __init__(self, models: RoleModels, out_dir: str | Path) -> None:
        self.models = models
        self.out_dir = Path(out_dir)
        self.media_dir = self.out_dir / "requests"  # the pictures served, one folder a request
        self.requests = RequestFolders(self.media_dir)
        self._scatter_path: Path | None = None
        if models.has("vae2d"):
            vae2d = models.get("vae2d")
            self._scatter_path = self.out_dir / f"vae2d_test_scatter_{_weights_id(vae2d)}.png"
            if not self._scatter_path.is_file():
                # Gradio calls matplotlib.use() around every request; a pyplot import half
                # done in the background thread would break it, so import it here, first.
                import matplotlib

                matplotlib.use("Agg")
                import matplotlib.pyplot  # noqa: F401
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-tab")
        self._test: Future[TestDigits] = pool.submit(self._load_test_set)
        self._views: Future[LatentViews] | None = (
            pool.submit(self._draw_latent_views) if models.has("vae2d") else None
        )
        pool.shutdown(wait=False)

    @staticmethod
    def _load_test_set() -> TestDigits:
        x, y = load_mnist("test")
        return TestDigits(x, y, [torch.nonzero(y == d).flatten() for d in range(10)])

    def _draw_latent_views(self) -> LatentViews:
        vae2d = self.models.get("vae2d")
        values = latent_grid_values(vae2d, MAP_N)
        grid = picture(latent_map(vae2d, MAP_N, values), MAP_N, MAP_PX)
        scatter = self._scatter_path
        assert scatter is not None
        if not scatter.is_file():  # drawn once per set of weights, then reused
            test = self.test_set()
            title = f"{len(test.labels):,} test digits in the 2-d VAE latent"
            save_scatter(codes(vae2d, test.images), test.labels, scatter, title)
        with Image.open(scatter) as im:  # an array, so --out may lie outside Gradio's paths
            return LatentViews(values, grid, np.asarray(im.convert("RGB")))

    def test_set(self) -> TestDigits:
        """The MNIST test set (waits for the background load on first use)."""
        return self._test.result()

    def latent_views(self) -> LatentViews:
        """The 2-d VAE's grid and scatter (waits for the background drawing on first use)."""
        if self._views is None:
            raise GenError("The 2-d VAE is not available.")
        return self._views.result()

    def as_files(self, fn: Callable) -> Callable:
        """``fn`` with every picture (uint8 array) it returns written as a PNG into a new
        request folder and returned as that file's path (other values unchanged)."""

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            result = fn(*args, **kwargs)
            many = isinstance(result, tuple)
            values = list(result) if many else [result]
            if any(isinstance(v, np.ndarray) for v in values):
                folder = self.requests.new()
                for i, v in enumerate(values):
                    if isinstance(v, np.ndarray):
                        path = folder / f"{i + 1:02d}.png"
                        Image.fromarray(v).save(path, format="PNG")
                        values[i] = str(path)
            return tuple(values) if many else values[0]

        return run

    # ----------------------------------------------------------------- inputs
    def digit(
        self, source: str, sketch: Any, upload: str | None, test_digit: Any, test_index: Any
    ) -> np.ndarray:
        """Widget values -> the 28x28 digit (float32, ink = 1) the models see."""
        if source == "draw":
            composite = sketch.get("composite") if isinstance(sketch, dict) else None
            if composite is None:
                raise GenError("Draw a digit on the sketchpad first.")
            return mnist_style(composite)
        if source == "upload":
            if not upload:
                raise GenError("Upload an image first.")
            return mnist_style(check_upload(upload, "images"))
        if source == "test":
            try:
                d, i = int(test_digit), int(test_index)
            except (TypeError, ValueError, OverflowError) as e:
                raise GenError("Pick a test digit (0-9) and an example number.") from e
            d = in_range(d, "test digit", 0, 9, whole=True)
            test = self.test_set()
            count = len(test.by_digit[d])
            i = in_range(i, "example number", 0, count - 1, whole=True,
                         context=f"There are {count} test images of a {d}")
            return test.images[test.by_digit[d][i], 0].numpy()
        raise GenError(f"Unknown input source {source!r}; use 'draw', 'upload' or 'test'.")

    # ----------------------------------------------------------------- actions
    def reconstruct(
        self, source: str, sketch: Any, upload: str | None, test_digit: Any, test_index: Any
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """The digit as the models see it, and its reconstructions by the AE and the VAE."""
        if not self.models.has("ae") and not self.models.has("vae"):
            raise GenError("Neither the autoencoder nor the VAE is available.")
        x = self.digit(source, sketch, upload, test_digit, test_index)
        outs = [
            picture(_reconstruct(self.models.get(r), x[None])[0, 0]) if self.models.has(r)
            else None
            for r in ("ae", "vae")
        ]
        return picture(x), outs[0], outs[1]

    def denoise(
        self, source: str, sketch: Any, upload: str | None, test_digit: Any, test_index: Any,
        noise_std: float, seed: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        """Add Gaussian noise of strength ``noise_std`` to the digit and denoise it."""
        dae = self.models.get("dae")
        noise_std = in_range(noise_std, "noise", 0.0, 1.0)
        seed = in_range(seed, "noise seed", 0, SEED_MAX, whole=True)
        x = torch.from_numpy(self.digit(source, sketch, upload, test_digit, test_index))[None, None]
        g = torch.Generator().manual_seed(seed)
        noisy = add_noise(x, noise_std, dae.config.noise_mean, generator=g)
        clean = _reconstruct(dae, noisy)
        note = (
            f"PSNR against the clean digit: noisy **{psnr(_mse(noisy, x)):.1f} dB** -> "
            f"denoised **{psnr(_mse(clean, x)):.1f} dB** (the model was trained at noise "
            f"{dae.config.noise_std:g})"
        )
        return picture(x[0, 0]), picture(noisy[0, 0]), picture(clean[0, 0]), note

    def super_resolve(
        self, source: str, sketch: Any, upload: str | None, test_digit: Any, test_index: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
        """The digit at 14x14, its bicubic x2 upsampling and the model's x2 result."""
        sr = self.models.get("sr")
        x = torch.from_numpy(self.digit(source, sketch, upload, test_digit, test_index))[None, None]
        low = downsample(x)  # (1, 1, 14, 14)
        bicubic = upsample_bicubic(low)
        out = _reconstruct(sr, low)
        note = (
            f"PSNR against the 28x28 digit: bicubic **{psnr(_mse(bicubic, x)):.1f} dB**, "
            f"model **{psnr(_mse(out, x)):.1f} dB**"
        )
        pics = (picture(t[0, 0]) for t in (x, low, bicubic, out))
        return (*pics, note)

    def sample(self, model: str, count: int, variation: float, seed: int) -> np.ndarray:
        """A grid of ``count`` samples from a VAE's prior: codes z ~ N(0, variation^2 I)
        (the prior scale), each decoded to its mean picture."""
        if model not in ("vae", "vae2d"):
            raise GenError(f"Sampling needs a VAE: choose 'vae' or 'vae2d', not {model!r}.")
        count = in_range(count, "number of samples", 1, MAX_SAMPLES, whole=True)
        scale = in_range(variation, "variation (prior scale)", *PRIOR_SCALE)
        seed = in_range(seed, "seed", -SEED_MAX, SEED_MAX, whole=True)
        images = _sample(self.models.get(model), count, scale, seed)
        return picture(images, math.ceil(math.sqrt(count)), GRID_PX)

    def interpolate(self, *values: Any) -> np.ndarray:
        """The decoded latent path from digit A to digit B, endpoints included, as a strip.

        ``values``: digit A's five widget values, digit B's five, then model, steps, method.
        """
        *digits, model, steps, method = values
        if len(digits) != 10:
            raise GenError("Interpolation takes two digits (five input values each).")
        if model not in ("ae", "vae", "vae2d"):
            raise GenError(f"Interpolate with 'ae', 'vae' or 'vae2d', not {model!r}.")
        steps = in_range(steps, "number of steps", 2, MAX_STEPS, whole=True)
        if method not in ("lerp", "slerp"):
            raise GenError(f"The method is 'lerp' or 'slerp', not {method!r}.")
        a, b = self.digit(*digits[:5]), self.digit(*digits[5:])
        strip = _interpolate(self.models.get(model), a, b, steps, method)
        return picture(strip, steps, STRIP_PX)

    def decode_latent(self, z1: float, z2: float) -> tuple[np.ndarray, np.ndarray]:
        """The 2-d VAE's decoding of the latent point (z1, z2), and the latent map with that
        point marked."""
        z = [[float(in_range(z1, "z1", -3.0, 3.0)), float(in_range(z2, "z2", -3.0, 3.0))]]
        return picture(_decode(self.models.get("vae2d"), z)[0, 0]), self.marked_map(*z[0])

    def map_pixel(self, z1: float, z2: float) -> tuple[float, float]:
        """Where the latent point (z1, z2) lies on the latent map picture, in pixels (the
        inverse of ``pick_latent``; points beyond the grid sit on its edge)."""
        values = self.latent_views().values
        cells = np.arange(MAP_N)
        u = float(np.interp(z1, values, cells))
        v = MAP_N - 1 - float(np.interp(z2, values, cells))  # y runs top-down
        scale = max(1, MAP_PX // (MAP_N * 29 - 1))
        return ((u + 0.5) * 29 - 0.5) * scale, ((v + 0.5) * 29 - 0.5) * scale

    def marked_map(self, z1: float, z2: float) -> np.ndarray:
        """The decoded latent grid (RGB) with a red ring and cross at (z1, z2)."""
        from PIL import ImageDraw

        im = Image.fromarray(self.latent_views().grid).convert("RGB")
        x, y = self.map_pixel(z1, z2)
        draw = ImageDraw.Draw(im)
        r, red = 15, (228, 40, 40)
        draw.ellipse([x - r, y - r, x + r, y + r], outline=red, width=3)
        draw.line([x - 5, y, x + 5, y], fill=red, width=2)
        draw.line([x, y - 5, x, y + 5], fill=red, width=2)
        return np.asarray(im)

    def latent_pictures(self) -> tuple[np.ndarray, np.ndarray]:
        """The decoded latent grid with the point (0, 0) marked, and the test-set scatter of
        the 2-d VAE."""
        views = self.latent_views()
        return self.marked_map(0.0, 0.0), views.scatter

    def pick_latent(self, x: float, y: float) -> tuple[float, float, np.ndarray, np.ndarray]:
        """A click at pixel (x, y) of the latent map picture -> its (z1, z2), their decoding
        and the map with the point marked."""
        values = self.latent_views().values
        side = MAP_N * 29 - 1  # tile() puts a 1-pixel gap between 28-pixel cells
        scale = max(1, MAP_PX // side)
        # position in units of cells, 0 = centre of the first cell
        u, v = (float(x) / scale + 0.5) / 29 - 0.5, (float(y) / scale + 0.5) / 29 - 0.5
        cells = np.arange(MAP_N)
        z1 = round(float(np.interp(u, cells, values)), 2)
        z2 = round(float(np.interp(v, cells, values[::-1])), 2)  # y runs top-down
        return (z1, z2, *self.decode_latent(z1, z2))
