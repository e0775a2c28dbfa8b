"""gen: autoencoders and variational autoencoders for images and music.

import gen
gen.available()              # shipped models
vae = gen.load("mnist-vae")
vae.sample(n=16, temperature=1.0, seed=0)
"""

from gen import image  # noqa: F401  (heads register their configs on import)
from gen.api import available, load, train
from gen.core.errors import CheckpointError, ConfigError, DataError, GenError

try:  # the music head registers itself when its module exists
    from gen import music  # noqa: F401
except ImportError:  # pragma: no cover
    pass

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
