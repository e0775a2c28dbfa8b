"""The image head's front for the CLI and the app: read inputs, write outputs, and the
image helpers they show (preprocessing, baselines, latent maps).

Callers outside the head (gen.cli, apps/) import image things from here only.
"""

from pathlib import Path

import numpy as np
import torch

from gen.core import limits
from gen.core.errors import GenError
from gen.core.files import out_file
from gen.image.data import load_image_file, load_mnist
from gen.image.evaluate import codes, psnr
from gen.image.model import ImageModel, downsample
from gen.image.plots import (
    latent_grid_values,
    latent_map,
    make_plots,
    save_grid,
    save_scatter,
    tile,
)
from gen.image.preprocess import add_noise, check_pixels, mnist_style, upsample_bicubic

__all__ = [
    "ImageModel", "add_noise", "check_pixels", "codes", "downsample", "latent_grid_values",
    "latent_map", "load_image_file", "load_mnist", "make_plots", "mnist_style", "psnr", "save_grid",
    "save_scatter", "tile", "upsample_bicubic", "read", "write", "ship_pictures",
]

# ----------------------------------------------------------------------------- CLI adapter
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def describe_input() -> str:
    """How the CLI's input specs read for image models."""
    return ("an MNIST test index (e.g. 7), a picture of one digit (.png/.jpg: centred and "
            "scaled like MNIST) or a .npy array of 28x28 images in [0, 1]")


def _one(spec: str) -> torch.Tensor:
    """One input spec -> images (N, 1, 28, 28)."""
    shown = limits.clip(spec, 80)
    if spec.lstrip("-").isdigit():
        x, _ = load_mnist("test")
        i = int(spec)
        if not 0 <= i < len(x):
            raise GenError(f"input {shown}: MNIST test index out of range 0..{len(x) - 1}")
        return x[i:i + 1]
    p = Path(spec)
    if not p.is_file():
        raise GenError(f"input {shown}: no such file, and not an MNIST test index")
    if p.suffix.lower() == ".npy":
        arr = limits.checked_array(p, "input")
        if arr.size % 784 or not np.issubdtype(arr.dtype, np.number):
            raise GenError(f"input {shown}: expected 28x28 images (N, 28, 28) in [0, 1], got "
                           f"shape {arr.shape} of {arr.dtype}")
        x = torch.as_tensor(arr.astype(np.float32)).reshape(-1, 1, 28, 28)
        if not torch.isfinite(x).all():
            raise GenError(f"input {shown}: holds NaN or infinite values")
        return x
    if p.suffix.lower() in PICTURE_SUFFIXES:
        return torch.from_numpy(mnist_style(p))[None, None]
    raise GenError(f"input {shown}: expected an MNIST test index, a picture "
                   f"({', '.join(PICTURE_SUFFIXES)}) or a .npy file")


def read(model: ImageModel, specs: list[str]) -> torch.Tensor:
    """Input specs -> the model's input images (N, 1, S, S); no specs: test digits 0-7.

    Super-resolution models get the 14x14 version of each 28x28 image.
    """
    x = torch.cat([_one(s) for s in specs]) if specs else load_mnist("test", 8)[0]
    if len(x) > limits.MAX_INPUTS:
        raise GenError(f"inputs: {len(x):,} images; at most {limits.MAX_INPUTS} per call "
                       "(gen.core.limits.MAX_INPUTS)")
    if model.config.kind == "sr" and x.shape[-1] == 28:
        x = downsample(x)
    return x


def write(model: ImageModel, outputs: torch.Tensor, out_dir: str, stem: str,
          titles: list[str], options: dict) -> list[Path]:
    """Write images (N, 1, 28, 28) as ``stem.png`` (a grid) and ``stem.npy``."""
    cols = limits.check_whole(options.get("cols") or min(len(outputs), 8), "cols", 1,
                              limits.MAX_PICTURE_COLUMNS)
    title = "; ".join(titles[:1]) if titles else ""
    png = save_grid(outputs, out_file(out_dir, f"{stem}.png"), cols=cols, title=title)
    npy = out_file(out_dir, f"{stem}.npy")
    np.save(npy, np.asarray(outputs, dtype=np.float32))
    return [png, npy]


def ship_pictures(model: ImageModel, dest: str, name: str) -> list[Path]:
    """The pictures of a shipped image model (reconstructions, samples, maps) in ``dest``."""
    return make_plots(model, dest, name=name)
