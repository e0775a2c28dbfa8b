"""The image head's front for the CLI and the app: read inputs, write outputs, and the
image helpers they show (preprocessing, baselines, latent maps).

Callers outside the head (gen.cli, apps/) import image things from here only.
"""

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
from gen.image.preprocess import add_noise, mnist_style, upsample_bicubic

__all__ = [
    "ImageModel", "add_noise", "codes", "downsample", "latent_grid_values", "latent_map",
    "load_image_file", "load_mnist", "make_plots", "mnist_style", "psnr", "save_grid",
    "save_scatter", "tile", "upsample_bicubic",
]
