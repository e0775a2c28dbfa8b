"""Pictures of image models, written as PNG with matplotlib (Agg backend, no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gen.core.errors import GenError
from gen.core.files import atomic_write
from gen.image.model import ImageModel


def _plt():  # noqa: ANN202 - lazy import keeps `import gen` light
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def tile(images: torch.Tensor | np.ndarray, cols: int, pad: int = 1) -> np.ndarray:
    """Images (N, 1, H, W) or (N, H, W) -> one mosaic array (rows*(H+pad)-pad, cols*(W+pad)-pad)."""
    a = np.asarray(images, dtype=np.float32)
    if a.ndim == 4:
        a = a[:, 0]
    n, h, w = a.shape
    rows = (n + cols - 1) // cols
    out = np.ones((rows * (h + pad) - pad, cols * (w + pad) - pad), dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = a[i]
    return out


def _save(fig, path: str | Path) -> Path:  # noqa: ANN001
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight"))
    finally:
        _plt().close(fig)


def save_grid(
    images: torch.Tensor | np.ndarray, path: str | Path, cols: int = 8, title: str = ""
) -> Path:
    """Write images (N, 1, H, W) in [0, 1] as a grey mosaic PNG with an optional title."""
    plt = _plt()
    m = tile(images, cols)
    fig = plt.figure(
        figsize=(max(2.0, m.shape[1] / 28 * 0.6), max(1.0, m.shape[0] / 28 * 0.6 + 0.3))
    )
    ax = fig.add_axes((0, 0, 1, 0.92 if title else 1))
    ax.imshow(m, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    return _save(fig, path)


def save_rows(
    rows: list[tuple[str, torch.Tensor | np.ndarray]], path: str | Path, title: str = ""
) -> Path:
    """Several labelled rows of images (each (N, 1, H, W), any H) stacked in one PNG."""
    plt = _plt()
    n = max(len(r[1]) for r in rows)
    fig, axes = plt.subplots(len(rows), 1, figsize=(0.6 * n + 1.2, 0.75 * len(rows) + 0.3))
    axes = np.atleast_1d(axes)
    for ax, (label, imgs) in zip(axes, rows):
        ax.imshow(tile(imgs, len(imgs)), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        ax.set_yticks([])
        ax.set_xticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def latent_grid_values(model: ImageModel, n: int = 10) -> np.ndarray:
    """The n values per axis of the 2-d latent map.

    VAE: Gaussian quantiles 0.05..0.95 of the prior (Kingma & Welling 2014, fig. 4), so equal
    steps hold equal prior mass. AE: the range is not known in advance, so the model's decoder
    is walked over [-3, 3]; use ``latent_range`` with codes for a data-driven range.
    """
    from scipy.stats import norm

    if model.variational:
        return norm.ppf(np.linspace(0.05, 0.95, n))
    return np.linspace(-3, 3, n)


@torch.no_grad()
def latent_map(model: ImageModel, n: int = 10, values: np.ndarray | None = None) -> torch.Tensor:
    """Decoded n x n manifold over a 2-d latent -> (n*n, 1, 28, 28), row-major, y top-down."""
    if model.latent_dim != 2:
        raise GenError(f"a latent map needs a 2-d latent, this model has {model.latent_dim}")
    v = latent_grid_values(model, n) if values is None else values
    zs = torch.tensor([[x, y] for y in v[::-1] for x in v], dtype=torch.float32)
    return model.decode(zs)


def save_latent_map(
    model: ImageModel, path: str | Path, n: int = 10, values: np.ndarray | None = None
) -> Path:
    """PNG of the decoded n x n grid over a 2-d latent."""
    v = latent_grid_values(model, n) if values is None else values
    return save_grid(
        latent_map(model, n, v),
        path,
        cols=n,
        title=f"decoded latent grid, z1, z2 in [{v[0]:.2f}, {v[-1]:.2f}]",
    )


def save_scatter(
    z: torch.Tensor | np.ndarray,
    labels: torch.Tensor | np.ndarray,
    path: str | Path,
    title: str = "",
) -> Path:
    """PNG scatter of 2-d codes (N, 2) coloured by digit label (N,)."""
    plt = _plt()
    z, labels = np.asarray(z), np.asarray(labels)
    if z.ndim != 2 or z.shape[1] != 2:
        raise GenError(f"a scatter needs 2-d codes (N, 2), got {z.shape}")
    fig, ax = plt.subplots(figsize=(6, 5))
    sc = ax.scatter(z[:, 0], z[:, 1], c=labels, cmap="tab10", s=2, alpha=0.6, vmin=-0.5, vmax=9.5)
    cb = fig.colorbar(sc, ax=ax, ticks=range(10))
    cb.set_label("digit")
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    ax.set_title(title or "test-set codes by digit", fontsize=10)
    return _save(fig, path)


PLOTS = ("recon", "samples", "interp", "map", "scatter")


def make_plots(
    model: ImageModel,
    out_dir: str | Path,
    what: tuple[str, ...] = PLOTS,
    name: str = "model",
    n: int = 16,
    seed: int = 0,
    steps: int = 10,
    method: str = "slerp",
) -> list[Path]:
    """Write the standard pictures of ``model`` on MNIST test digits into ``out_dir``.

    recon: originals (and the model's input) vs outputs; samples: prior samples (VAE);
    interp: a latent path between two test digits; map / scatter: 2-d latents only.
    Plots that do not apply to the model (samples of an AE, maps of a 32-d code) are skipped.
    Returns the written paths.
    """
    from gen.image.data import load_mnist
    from gen.image.evaluate import codes

    unknown = sorted(set(what) - set(PLOTS))
    if unknown:
        raise GenError(f"unknown plot(s) {unknown}; choose from {PLOTS}")
    out = Path(out_dir)
    x, y = load_mnist("test")
    written: list[Path] = []
    gen = torch.Generator().manual_seed(seed)
    if "recon" in what:
        idx = torch.randperm(len(x), generator=gen)[:n]
        clean = x[idx]
        inp = model.corrupt(clean, generator=gen)
        rows = [("input", inp)] if model.config.kind in ("dae", "sr") else []
        rows = [("original", clean), *rows, ("output", model.decode(model.encode(inp)))]
        written.append(
            save_rows(
                rows, out / f"{name}_reconstructions.png", f"{name}: reconstructions of test digits"
            )
        )
    if "samples" in what and model.variational:
        written.append(
            save_grid(
                model.sample(64, 1.0, seed),
                out / f"{name}_samples.png",
                8,
                f"{name}: 64 samples, T=1.0",
            )
        )
    if "interp" in what:
        a, b = x[y == 3][0], x[y == 8][0]
        if model.config.kind == "sr":
            a, b = model.corrupt(a[None])[0], model.corrupt(b[None])[0]
        strip = model.interpolate(a[None], b[None], steps=steps, method=method)
        written.append(
            save_grid(
                strip,
                out / f"{name}_interpolation.png",
                steps,
                f"{name}: {method} from a 3 to an 8, {steps} steps",
            )
        )
    if model.latent_dim == 2 and model.config.kind in ("ae", "vae"):
        z = codes(model, x)
        if "map" in what:
            values = None
            if not model.variational:  # an AE's codes live wherever training put them
                lo, hi = np.percentile(z.numpy(), [2, 98])
                values = np.linspace(lo, hi, 10)
            written.append(save_latent_map(model, out / f"{name}_latent_map.png", 10, values))
        if "scatter" in what:
            written.append(
                save_scatter(
                    z,
                    y,
                    out / f"{name}_latent_scatter.png",
                    f"{name}: 10,000 test digits in the 2-d latent",
                )
            )
    return written
