"""gen: autoencoders and variational autoencoders for images and music.

import gen
gen.available()              # shipped models
vae = gen.load("mnist-vae")
vae.sample(n=16, seed=0)
"""

from gen import image, music  # noqa: F401  (heads register their configs on import)
from gen.api import available, load, train
from gen.core.errors import CheckpointError, ConfigError, DataError, GenError

__version__ = "0.1.0"
__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataError",
    "GenError",
    "available",
    "load",
    "train",
]
