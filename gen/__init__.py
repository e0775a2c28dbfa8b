"""gen: autoencoders and variational autoencoders for images and music.

import gen
gen.available()              # shipped models
vae = gen.load("mnist-vae")
vae.sample(n=16, seed=0)

Importing ``gen`` is light: torch and the heads load on first use of ``load``, ``train`` or
``available`` (so that ``gen --help`` answers at once).
"""

from typing import Any

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


def __getattr__(name: str) -> Any:
    """``gen.load`` / ``gen.train`` / ``gen.available`` (imported from gen.api on first use)."""
    if name in ("available", "load", "train"):
        from gen import api

        return getattr(api, name)
    raise AttributeError(f"module 'gen' has no attribute {name!r}")
