"""The MNIST image head: data, conv encoder/decoder, AE/DAE/SR/VAE, evaluation, plots."""

from gen.core.registry import Head, register_head
from gen.image.model import ImageConfig, ImageModel

register_head(Head(
    name="image", config=ImageConfig, model=ImageModel,
    data="gen.image.data:build_image_data",
    evaluate="gen.image.evaluate:evaluate",
    card="gen.image.evaluate:card_section",
    io="gen.image.io",
))

from gen.image import recipes  # noqa: E402, F401  (registers the named configs)

__all__ = ["ImageConfig", "ImageModel"]
