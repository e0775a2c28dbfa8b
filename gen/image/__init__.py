"""The MNIST image head: data, conv encoder/decoder, AE/DAE/SR/VAE, evaluation, plots."""

from gen.image import recipes  # noqa: F401  (registers the named configs)
from gen.image.data import load_image_file, load_mnist
from gen.image.model import ImageConfig, ImageModel

__all__ = ["ImageConfig", "ImageModel", "load_image_file", "load_mnist"]
