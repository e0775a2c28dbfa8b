"""The Image tab: widgets for the MNIST models, wired to the public `gen` API.

Everything model-related is a library call (``gen.load``, ``model.reconstruct / sample /
interpolate / decode``, ``gen.image.preprocess``, ``gen.image.plots``); this file only turns
widget values into library inputs and library outputs into pictures.

Models are loaded once, when the tab is built. Handlers are methods of ``ImageActions``, which
holds read-only models and data and never changes after construction; every random draw gets
its own seeded generator, so concurrent users do not share state.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import torch
from PIL import Image

import gen
from apps.common import MAX_UPLOAD_MB, user_errors
from gen.core.errors import GenError
from gen.image.data import load_mnist
from gen.image.evaluate import codes, psnr
from gen.image.model import ImageModel, downsample
from gen.image.plots import latent_grid_values, latent_map, save_scatter, tile
from gen.image.preprocess import add_noise, mnist_style, upsample_bicubic

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
SOURCES = [("Draw", "draw"), ("Upload", "upload"), ("Test set", "test")]
DIGIT_PX = 224  # single 28x28 digits are shown 8x larger, nearest neighbour
GRID_PX = 600  # longest side of grids and strips
STRIP_PX = 1160  # interpolation strips: 3x for up to 13 steps, 2x up to 20
MAP_PX = 580  # the 10x10 latent map (289 px) shown at 2x
MAP_N = 10
MAX_SAMPLES = 100
MAX_STEPS = 20


# --------------------------------------------------------------------------- models
@dataclass(frozen=True)
class ImageModels:
    """The image models by role, the name or path each came from, and why any is missing."""

    models: Mapping[str, ImageModel]
    sources: Mapping[str, str]
    missing: Mapping[str, str]

    def get(self, role: str) -> ImageModel:
        """The model for ``role``; a GenError saying why when it is not available."""
        if role not in self.models:
            why = self.missing.get(role, "not configured")
            raise GenError(f"the {ROLES[role][2]} is not available ({why})")
        return self.models[role]

    def has(self, *roles: str) -> bool:
        """Whether every one of ``roles`` is loaded."""
        return all(r in self.models for r in roles)


def _check_role(role: str, model: Any) -> ImageModel:
    kind, latent, words = ROLES[role]
    if not isinstance(model, ImageModel):
        raise GenError(f"the {words} must be an image model, got a {type(model).__name__}")
    if model.config.kind != kind:
        raise GenError(f"the {words} must be a {kind!r} model, got a {model.config.kind!r} one")
    if latent is not None and model.latent_dim != latent:
        raise GenError(f"the {words} needs a {latent}-d latent, this one has {model.latent_dim}")
    return model


def load_image_models(spec: Mapping[str, str | Path | None] | None = None) -> ImageModels:
    """Load one model per role (ae, vae, dae, sr, vae2d) with ``gen.load``.

    ``spec`` maps roles to shipped names or save_pretrained directories and overrides
    ``DEFAULT_IMAGE_MODELS``; ``None`` as a value switches a role off. A model that cannot be
    loaded is reported in ``missing`` (the tab then hides what needs it) instead of failing.
    """
    spec = {**DEFAULT_IMAGE_MODELS, **(spec or {})}
    unknown = sorted(set(spec) - set(ROLES))
    if unknown:
        raise GenError(f"unknown image model role(s) {unknown}; roles are {sorted(ROLES)}")
    models: dict[str, ImageModel] = {}
    sources: dict[str, str] = {}
    missing: dict[str, str] = {}
    for role, name in spec.items():
        if name is None:
            missing[role] = "switched off"
            continue
        sources[role] = str(name)
        try:
            models[role] = _check_role(role, gen.load(name))
        except GenError as e:
            missing[role] = str(e)
    return ImageModels(models, sources, missing)


# --------------------------------------------------------------------------- pictures
def picture(images: Any, cols: int | None = None, size: int = DIGIT_PX) -> np.ndarray:
    """Images in [0, 1] with ink = 1 -> a uint8 picture, dark ink on white, for display.

    ``images``: (H, W), (N, H, W) or (N, 1, H, W) (tiled ``cols`` per row with
    ``gen.image.plots.tile``), scaled up by an integer factor with nearest neighbour so the
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


# --------------------------------------------------------------------------- handlers
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


class ImageActions:
    """What the Image tab's buttons do. Built once; read-only afterwards.

    Digit inputs arrive as five widget values ``(source, sketch, upload, test_digit,
    test_index)``: source is "draw" (the sketchpad's composite image), "upload" (an image file
    path) or "test" (the ``test_index``-th test-set image of digit ``test_digit``).

    The test set and the latent-map pictures are prepared in a background thread started here,
    so the app is up while they load; the first handler that needs them waits for them.
    """

    def __init__(self, models: ImageModels, out_dir: str | Path) -> None:
        self.models = models
        self.out_dir = Path(out_dir)
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
            size = os.path.getsize(upload)
            if size > MAX_UPLOAD_MB * 2**20:
                raise GenError(
                    f"That file is {size / 2**20:.1f} MB; images up to {MAX_UPLOAD_MB} MB are "
                    "accepted."
                )
            return mnist_style(upload)
        if source == "test":
            try:
                d, i = int(test_digit), int(test_index)
            except (TypeError, ValueError) as e:
                raise GenError("Pick a test digit (0-9) and an example number.") from e
            if not 0 <= d <= 9:
                raise GenError(f"The test digit must be 0-9, got {d}.")
            test = self.test_set()
            count = len(test.by_digit[d])
            if not 0 <= i < count:
                raise GenError(
                    f"There are {count} test images of a {d}: pick an example number from 0 to "
                    f"{count - 1}."
                )
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
            picture(self.models.get(r).reconstruct(x[None])[0, 0]) if self.models.has(r) else None
            for r in ("ae", "vae")
        ]
        return picture(x), outs[0], outs[1]

    def denoise(
        self,
        source: str,
        sketch: Any,
        upload: str | None,
        test_digit: Any,
        test_index: Any,
        noise_std: float,
        seed: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        """Add Gaussian noise of strength ``noise_std`` to the digit and denoise it."""
        dae = self.models.get("dae")
        x = torch.from_numpy(self.digit(source, sketch, upload, test_digit, test_index))[None, None]
        g = torch.Generator().manual_seed(int(seed))
        noisy = add_noise(x, float(noise_std), dae.config.noise_mean, generator=g)
        clean = dae.reconstruct(noisy)
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
        out = sr.reconstruct(low)
        note = (
            f"PSNR against the 28x28 digit: bicubic **{psnr(_mse(bicubic, x)):.1f} dB**, "
            f"model **{psnr(_mse(out, x)):.1f} dB**"
        )
        return (
            picture(x[0, 0]),
            picture(low[0, 0]),
            picture(bicubic[0, 0]),
            picture(out[0, 0]),
            note,
        )

    def sample(self, model: str, count: int, temperature: float, seed: int) -> np.ndarray:
        """A grid of ``count`` samples from a VAE's prior at ``temperature``."""
        if model not in ("vae", "vae2d"):
            raise GenError(f"Sampling needs a VAE: choose 'vae' or 'vae2d', not {model!r}.")
        count = int(count)
        if not 1 <= count <= MAX_SAMPLES:
            raise GenError(f"Choose between 1 and {MAX_SAMPLES} samples, not {count}.")
        images = self.models.get(model).sample(count, float(temperature), int(seed))
        return picture(images, math.ceil(math.sqrt(count)), GRID_PX)

    def interpolate(
        self,
        a_source: str,
        a_sketch: Any,
        a_upload: str | None,
        a_test_digit: Any,
        a_test_index: Any,
        b_source: str,
        b_sketch: Any,
        b_upload: str | None,
        b_test_digit: Any,
        b_test_index: Any,
        model: str,
        steps: int,
        method: str,
    ) -> np.ndarray:
        """The decoded latent path from digit A to digit B, endpoints included, as a strip."""
        if model not in ("ae", "vae", "vae2d"):
            raise GenError(f"Interpolate with 'ae', 'vae' or 'vae2d', not {model!r}.")
        steps = int(steps)
        if not 2 <= steps <= MAX_STEPS:
            raise GenError(f"Choose between 2 and {MAX_STEPS} steps, not {steps}.")
        if method not in ("lerp", "slerp"):
            raise GenError(f"The method is 'lerp' or 'slerp', not {method!r}.")
        a = self.digit(a_source, a_sketch, a_upload, a_test_digit, a_test_index)
        b = self.digit(b_source, b_sketch, b_upload, b_test_digit, b_test_index)
        strip = self.models.get(model).interpolate(a[None], b[None], steps=steps, method=method)
        return picture(strip, steps, STRIP_PX)

    def decode_latent(self, z1: float, z2: float) -> np.ndarray:
        """The 2-d VAE's decoding of the latent point (z1, z2)."""
        return picture(self.models.get("vae2d").decode([[float(z1), float(z2)]])[0, 0])

    def latent_pictures(self) -> tuple[np.ndarray, np.ndarray]:
        """The decoded latent grid and the test-set scatter of the 2-d VAE."""
        views = self.latent_views()
        return views.grid, views.scatter

    def pick_latent(self, evt: gr.SelectData) -> tuple[float, float, np.ndarray]:
        """A click on the latent map -> its (z1, z2) and their decoding."""
        values = self.latent_views().values
        x, y = (float(v) for v in evt.index)
        side = MAP_N * 29 - 1  # tile() puts a 1-pixel gap between 28-pixel cells
        scale = max(1, MAP_PX // side)
        # position in units of cells, 0 = centre of the first cell
        u, v = (x / scale + 0.5) / 29 - 0.5, (y / scale + 0.5) / 29 - 0.5
        cells = np.arange(MAP_N)
        z1 = round(float(np.interp(u, cells, values)), 2)
        z2 = round(float(np.interp(v, cells, values[::-1])), 2)  # y runs top-down
        return z1, z2, self.decode_latent(z1, z2)


# --------------------------------------------------------------------------- widgets
def _plain_upload_errors(image: gr.Image) -> gr.Image:
    """Make this one ``gr.Image`` report a file PIL cannot open as a plain message (gr.Error).

    Gradio decodes uploads before any handler runs and would show only "Error". (Wrapping the
    instance's method rather than subclassing: Gradio writes a .pyi stub for every subclass.)
    """
    decode = image.preprocess

    def preprocess(payload: Any) -> Any:
        try:
            return decode(payload)
        except gr.Error:
            raise
        except Exception as e:  # PIL raises OSError, ValueError, DecompressionBombError ...
            raise gr.Error(
                "That file is not a readable image; upload a PNG, JPEG, GIF, BMP or WebP picture."
            ) from e

    image.preprocess = preprocess  # type: ignore[method-assign]
    return image


def _output(label: str, elem_id: str, height: int | None = None) -> gr.Image:
    return gr.Image(
        label=label,
        elem_id=elem_id,
        type="numpy",
        format="png",
        interactive=False,
        height=height,
        buttons=["download"],
        elem_classes=["pixelated"],
    )


def digit_input(prefix: str, source: str = "draw", digit: int = 3) -> list:
    """A digit chooser: Draw / Upload / Test set sub-tabs over a hidden source value.

    Returns the five input components ``[source, sketch, upload, test_digit, test_index]``
    that ``ImageActions.digit`` takes. Selecting a sub-tab sets the source in the browser
    (no server call).
    """
    src = gr.Radio(SOURCES, value=source, label="Input", visible=False, elem_id=f"{prefix}-source")
    with gr.Tabs(selected=source, elem_id=f"{prefix}-tabs"):
        with gr.Tab("Draw", id="draw") as draw_tab:
            sketch = gr.Sketchpad(
                # white paper as the background makes the brush the active tool from the start
                value={
                    "background": np.full((280, 280), 255, np.uint8),
                    "layers": [],
                    "composite": None,
                },
                label="Draw a digit",
                elem_id=f"{prefix}-sketch",
                type="numpy",
                image_mode="L",
                canvas_size=(280, 280),
                fixed_canvas=True,
                brush=gr.Brush(default_size=12, colors=["#000000"], color_mode="fixed"),
                layers=False,
                transforms=(),
                height=330,
            )
        with gr.Tab("Upload", id="upload") as upload_tab:
            upload = _plain_upload_errors(
                gr.Image(
                    label=f"A picture of one digit (any size or colours, up to {MAX_UPLOAD_MB} MB)",
                    elem_id=f"{prefix}-upload",
                    type="filepath",
                    image_mode=None,
                    sources=["upload", "clipboard"],
                    height=300,
                )
            )
        with gr.Tab("Test set", id="test") as test_tab:
            with gr.Row():
                test_digit = gr.Dropdown(
                    list(range(10)),
                    value=digit,
                    label="MNIST test digit",
                    elem_id=f"{prefix}-digit",
                )
                test_index = gr.Number(
                    value=0,
                    precision=0,
                    minimum=0,
                    label="example number",
                    elem_id=f"{prefix}-index",
                )
    for tab, value in ((draw_tab, "draw"), (upload_tab, "upload"), (test_tab, "test")):
        tab.select(None, None, src, js=f"() => '{value}'")
    return [src, sketch, upload, test_digit, test_index]


def _unavailable(models: ImageModels, *roles: str) -> None:
    lines = [
        f"- the {ROLES[r][2]} ({models.sources.get(r, '-')}): {models.missing[r]}" for r in roles
    ]
    gr.Markdown("**Not available:**\n" + "\n".join(lines))


def image_tab(models: ImageModels, out_dir: str | Path) -> ImageActions:
    """Build the Image tab's widgets in the current Blocks context and wire them to the library.

    Sections whose models are missing show why instead of their controls. Returns the
    handlers object (useful for tests and benchmarks).
    """
    act = ImageActions(models, out_dir)
    ui = user_errors
    vaes = [
        (f"VAE {models.models[r].latent_dim}-d ({models.sources[r]})", r)
        for r in ("vae", "vae2d")
        if models.has(r)
    ]
    coders = [(f"autoencoder ({models.sources['ae']})", "ae")] if models.has("ae") else []
    coders += vaes

    with gr.Tabs(elem_id="image-sections"):
        with gr.Tab("Your digit", id="digit"):
            with gr.Row():
                with gr.Column(scale=1, min_width=320):
                    main = digit_input("main", source="draw")
                    seen = _output("What the models see (28x28)", "seen", DIGIT_PX + 40)
                with gr.Column(scale=2):
                    gr.Markdown("### Reconstruct\nEncode your digit and decode it again.")
                    if models.has("ae") or models.has("vae"):
                        rec_btn = gr.Button("Reconstruct", variant="primary", elem_id="reconstruct")
                        with gr.Row():
                            rec_ae = _output("autoencoder", "rec-ae")
                            rec_vae = _output("VAE", "rec-vae")
                        rec_btn.click(
                            ui(act.reconstruct),
                            main,
                            [seen, rec_ae, rec_vae],
                            api_name="reconstruct",
                        )
                    else:
                        _unavailable(models, "ae", "vae")

                    gr.Markdown(
                        "### Denoise\nAdd noise to your digit and let the denoiser clean it."
                    )
                    if models.has("dae"):
                        with gr.Row():
                            noise = gr.Slider(
                                0.0,
                                1.0,
                                value=models.get("dae").config.noise_std,
                                step=0.05,
                                label="noise (std of the Gaussian added)",
                                elem_id="noise",
                            )
                            noise_seed = gr.Number(0, precision=0, label="noise seed")
                        dn_btn = gr.Button("Add noise and denoise", elem_id="denoise")
                        with gr.Row():
                            noisy = _output("noisy input", "noisy")
                            denoised = _output("denoised", "denoised")
                        dn_note = gr.Markdown()
                        dn_btn.click(
                            ui(act.denoise),
                            [*main, noise, noise_seed],
                            [seen, noisy, denoised, dn_note],
                            api_name="denoise",
                        )
                    else:
                        _unavailable(models, "dae")

                    gr.Markdown(
                        "### Super-resolution x2\nShrink your digit to 14x14 and enlarge it again."
                    )
                    if models.has("sr"):
                        sr_btn = gr.Button("Shrink and super-resolve", elem_id="super-resolve")
                        with gr.Row():
                            low = _output("14x14 input", "sr-low")
                            bicubic = _output("bicubic x2", "sr-bicubic")
                            srout = _output("model x2", "sr-model")
                        sr_note = gr.Markdown()
                        sr_btn.click(
                            ui(act.super_resolve),
                            main,
                            [seen, low, bicubic, srout, sr_note],
                            api_name="super_resolve",
                        )
                    else:
                        _unavailable(models, "sr")

        with gr.Tab("Sample", id="sample"):
            if vaes:
                with gr.Row():
                    s_model = gr.Dropdown(vaes, value=vaes[0][1], label="model")
                    s_count = gr.Slider(1, MAX_SAMPLES, value=36, step=1, label="count")
                    s_temp = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="temperature")
                    s_seed = gr.Number(0, precision=0, label="seed")
                s_btn = gr.Button("Sample", variant="primary", elem_id="sample")
                s_grid = _output("samples from the prior", "samples")
                s_btn.click(
                    ui(act.sample), [s_model, s_count, s_temp, s_seed], s_grid, api_name="sample"
                )
            else:
                _unavailable(models, "vae", "vae2d")

        with gr.Tab("Interpolate", id="interpolate"):
            if coders:
                with gr.Row():
                    with gr.Column():
                        gr.Markdown("**Digit A**")
                        a = digit_input("a", source="test", digit=3)
                    with gr.Column():
                        gr.Markdown("**Digit B**")
                        b = digit_input("b", source="test", digit=8)
                with gr.Row():
                    default = "vae" if models.has("vae") else coders[0][1]
                    i_model = gr.Dropdown(coders, value=default, label="model")
                    i_steps = gr.Slider(2, MAX_STEPS, value=10, step=1, label="steps")
                    i_method = gr.Radio(["lerp", "slerp"], value="slerp", label="path")
                i_btn = gr.Button("Interpolate", variant="primary", elem_id="interpolate")
                i_strip = _output("from A to B (endpoints are the reconstructions)", "strip")
                i_btn.click(
                    ui(act.interpolate),
                    [*a, *b, i_model, i_steps, i_method],
                    i_strip,
                    api_name="interpolate",
                )
            else:
                _unavailable(models, "ae", "vae", "vae2d")

        with gr.Tab("Latent map", id="latent"):
            if models.has("vae2d"):
                gr.Markdown(
                    f"The 2-d VAE decodes every point of its latent plane. Left: a {MAP_N}x{MAP_N} "
                    "grid over the central 90% of the prior along z1 (left to right) and z2 "
                    "(bottom to top), in equal steps of prior mass. Right: where the test digits "
                    "land. Click the grid or move the sliders to decode a point."
                )
                with gr.Row():
                    gr.Markdown("**Decoded latent grid** (click a point)")
                    gr.Markdown("**Test-set codes by digit**")
                with gr.Row():
                    m_map = gr.Image(
                        label="decoded latent grid",
                        show_label=False,
                        elem_id="latent-map",
                        format="png",
                        interactive=False,
                        elem_classes=["pixelated"],
                    )
                    m_scatter = gr.Image(
                        label="test-set codes by digit",
                        show_label=False,
                        elem_id="latent-scatter",
                        format="png",
                        interactive=False,
                    )
                with gr.Row():
                    with gr.Column():
                        z1 = gr.Slider(-3.0, 3.0, value=0.0, step=0.01, label="z1", elem_id="z1")
                        z2 = gr.Slider(-3.0, 3.0, value=0.0, step=0.01, label="z2", elem_id="z2")
                    z_img = _output("decoded point", "latent-digit")
                gr.on(
                    [z1.release, z2.release],
                    ui(act.decode_latent),
                    [z1, z2],
                    z_img,
                    api_name="decode_latent",
                )
                m_map.select(ui(act.pick_latent), None, [z1, z2, z_img], api_name="pick_latent")
                gr.on(  # on page load: drawn in the background at start-up, cached afterwards
                    None,
                    ui(act.latent_pictures),
                    None,
                    [m_map, m_scatter],
                    api_name="latent_pictures",
                    show_progress="minimal",
                )
            else:
                _unavailable(models, "vae2d")
    return act
