"""Transforms for images that come from users rather than from MNIST.

- ``mnist_style``: any picture of a digit (file, PIL image or array; any size, colour mode,
  background) -> a 28x28 image laid out the way MNIST digits are (LeCun et al. 1998: the digit
  is scaled to fit a 20x20 box keeping its aspect ratio, anti-aliased, and its centre of mass is
  put at the centre of the 28x28 frame), ink = 1 on background = 0.
- ``add_noise``: Gaussian corruption with a chosen strength (the denoiser's input).
- ``upsample_bicubic``: the classical baseline a super-resolution model is compared with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from gen.core import limits
from gen.core.errors import DataError

MAX_PIXELS = limits.IMAGE_MAX_PIXELS  # larger pictures are refused before decoding
_WORK_SIDE = 1024  # big pictures are shrunk to this longest side before the float maths


def _too_large(w: int, h: int, what: str) -> DataError:
    return DataError(f"{what}: {w}x{h} pixels is too large (at most {MAX_PIXELS:,} pixels: "
                     "gen.core.limits.IMAGE_MAX_PIXELS)")


def check_pixels(width: int, height: int, what: str = "the image") -> None:
    """Refuse an image of more than IMAGE_MAX_PIXELS pixels (call it with the header's size,
    before decoding)."""
    if int(width) * int(height) > MAX_PIXELS:
        raise _too_large(width, height, what)


def _open(path: str | Path) -> Any:
    """Open an image file with PIL, turning every failure into a DataError.

    The file size and the pixel count (from the header) are checked before anything is
    decoded; PIL's own decompression-bomb limit is set to the same pixel count.
    """
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # PIL refuses twice this, and warns above it
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{limits.clip(str(path))}: no such image file")
    size = path.stat().st_size
    if size > limits.IMAGE_MAX_BYTES:
        raise DataError(f"{path.name}: {size / 2**20:.1f} MB is larger than the "
                        f"{limits.IMAGE_MAX_BYTES // 2**20} MB accepted for pictures "
                        "(gen.core.limits.IMAGE_MAX_BYTES)")
    try:
        im = Image.open(path)
        w, h = im.size
        if w * h > MAX_PIXELS:
            raise _too_large(w, h, path.name)
        im.draft("L" if im.mode in ("L", "1") else "RGB", (_WORK_SIDE, _WORK_SIDE))  # JPEG only
        im.load()
    except DataError:
        raise
    except Image.DecompressionBombError:  # PIL refuses from the header, at twice our limit
        raise DataError(f"{path.name}: too large (more than {MAX_PIXELS:,} pixels: "
                        "gen.core.limits.IMAGE_MAX_PIXELS)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise DataError(f"{limits.clip(path.name, 60)}: not a readable image "
                        f"({limits.clip(str(e), 100)})") from None
    return im


def _to_array(image: Any) -> np.ndarray:
    """PIL image, path or array -> float32 array (H, W) or (H, W, C) in [0, 1]."""
    from PIL import Image

    owned = isinstance(image, (str, Path))
    if owned:
        image = _open(image)
    if isinstance(image, Image.Image):
        check_pixels(*image.size)
        if max(image.size) > _WORK_SIDE:
            image = image if owned else image.copy()  # a caller's image is left unchanged
            image.thumbnail((_WORK_SIDE, _WORK_SIDE), Image.Resampling.BOX)
        if image.mode not in ("L", "LA", "RGB", "RGBA"):
            has_alpha = "A" in image.mode or "transparency" in image.info
            image = image.convert("RGBA" if has_alpha else "RGB")
        return np.asarray(image, dtype=np.float32) / 255.0
    a = np.asarray(image)
    if a.ndim >= 2:
        check_pixels(a.shape[1], a.shape[0])
    if a.size > 4 * MAX_PIXELS:
        raise DataError(f"the image array holds {a.size:,} values; at most {4 * MAX_PIXELS:,} "
                        "(4 channels of gen.core.limits.IMAGE_MAX_PIXELS)")
    if a.dtype == bool:
        return a.astype(np.float32)
    if a.dtype.kind in "ui":
        top = 255.0 if a.dtype.itemsize == 1 or a.max(initial=0) <= 255 else float(a.max())
        a = a.astype(np.float32) / top
    else:
        a = a.astype(np.float32)
        if a.size and a.max() > 1.0:
            a = a / 255.0
    if not np.isfinite(a).all():
        raise DataError("the image holds NaN or infinite values")
    return np.clip(a, 0.0, 1.0)


def to_grayscale(image: Any) -> np.ndarray:
    """Any image -> grey levels (H, W) float32 in [0, 1] (1 = white), transparency removed.

    ``image``: a file path, a PIL image, or an array (H, W), (H, W, 1), (H, W, 2) grey+alpha,
    (H, W, 3) RGB or (H, W, 4) RGBA of any dtype. Transparent pixels are filled with a
    background that contrasts with the opaque ones (a black digit on a transparent canvas
    gets white paper, a white one gets black).
    """
    a = _to_array(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        return a
    if a.ndim != 3 or a.shape[2] not in (2, 3, 4):
        raise DataError(
            f"an image must be (H, W), (H, W, 1), (H, W, 2), (H, W, 3) or (H, W, 4), "
            f"got shape {a.shape}"
        )
    alpha = a[..., -1] if a.shape[2] in (2, 4) else None
    colour = a[..., :-1] if alpha is not None else a
    grey = colour[..., 0] if colour.shape[2] == 1 else colour @ np.float32([0.299, 0.587, 0.114])
    if alpha is None or alpha.min() >= 1.0:
        return grey.astype(np.float32)
    if alpha.sum() == 0:
        return np.ones_like(grey)  # fully transparent: blank paper
    ink_level = float((grey * alpha).sum() / alpha.sum())
    paper = 1.0 if ink_level < 0.5 else 0.0
    return (alpha * grey + (1.0 - alpha) * paper).astype(np.float32)


def mnist_style(
    image: Any, size: int = 28, box: int = 20, threshold: float = 0.2, min_contrast: float = 0.1
) -> np.ndarray:
    """Centre and scale a picture of one digit the way MNIST digits are -> (size, size).

    Steps: grey levels; invert when the background (the median of the border) is light; stretch
    so the background is 0 and the darkest ink 1; pixels under ``threshold`` become background;
    crop to the ink's bounding box; scale its longest side to ``box`` pixels (anti-aliased,
    aspect kept); paste it so its centre of mass sits at the frame's centre.

    Returns float32 (size, size) in [0, 1], ink = 1, as ``ImageModel`` expects. Raises
    DataError for unreadable files and for images with no visible strokes.
    """
    from PIL import Image

    if not 1 <= box <= size:
        raise DataError(f"box must be between 1 and size={size}, got {box}")
    grey = to_grayscale(image)
    h, w = grey.shape
    if h < 1 or w < 1:
        raise DataError(f"the image is empty ({w}x{h} pixels)")
    ring = max(1, min(h, w) // 20)
    border = np.concatenate(
        [grey[:ring].ravel(), grey[-ring:].ravel(), grey[:, :ring].ravel(), grey[:, -ring:].ravel()]
    )
    background = float(np.median(border))
    ink = 1.0 - grey if background > 0.5 else grey
    background = min(background, 1.0 - background)
    contrast = float(ink.max()) - background
    if contrast < min_contrast:
        raise DataError("no digit found: the image is blank (draw or upload a digit)")
    ink = np.clip((ink - background) / contrast, 0.0, 1.0)
    ink[ink < threshold] = 0.0
    rows, cols = np.nonzero(ink)
    ink = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    ch, cw = ink.shape
    scale = box / max(ch, cw)
    nh, nw = max(1, round(ch * scale)), max(1, round(cw * scale))
    small = Image.fromarray(ink).resize((nw, nh), Image.Resampling.LANCZOS)
    digit = np.clip(np.asarray(small, dtype=np.float32), 0.0, 1.0)
    if digit.sum() <= 0:  # a speck that vanished when scaled
        raise DataError("no digit found: the strokes are too faint or too small")
    ys, xs = np.indices(digit.shape)
    cy, cx = (ys * digit).sum() / digit.sum(), (xs * digit).sum() / digit.sum()
    centre = size / 2  # MNIST puts the centre of mass at pixel index 14 of 28
    top = int(np.clip(round(centre - cy), 0, size - nh))
    left = int(np.clip(round(centre - cx), 0, size - nw))
    out = np.zeros((size, size), dtype=np.float32)
    out[top : top + nh, left : left + nw] = digit
    return out


def add_noise(
    images: torch.Tensor,
    std: float,
    mean: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Images (N, 1, H, W) in [0, 1] plus Gaussian noise N(mean, std^2), clipped to [0, 1]."""
    if std < 0:
        raise DataError(f"noise std must be >= 0, got {std}")
    noise = torch.randn(images.shape, generator=generator, device=images.device)
    return (images + mean + std * noise).clamp(0, 1)


def upsample_bicubic(images: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Images (N, 1, H, W) -> (N, 1, factor*H, factor*W) by bicubic interpolation, in [0, 1]."""
    if images.dim() != 4:
        raise DataError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}")
    up = F.interpolate(images, scale_factor=factor, mode="bicubic", align_corners=False)
    return up.clamp(0, 1)
