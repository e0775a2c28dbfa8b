"""Shared VAE machinery. Knows nothing about images or music (imports no head).

The names below load on first use, so ``gen.core.errors`` can be imported without torch.
"""

from importlib import import_module
from typing import Any

_WHERE = {
    "CheckpointError": "errors", "ConfigError": "errors", "DataError": "errors",
    "GenError": "errors", "grid": "latent", "lerp": "latent", "path": "latent",
    "slerp": "latent", "LatentModel": "model", "KLConfig": "objective", "elbo": "objective",
    "DiagonalGaussian": "posterior", "TrainConfig": "trainer", "Trainer": "trainer",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """The public names of gen.core, imported from their modules on first use."""
    if name in _WHERE:
        return getattr(import_module(f"gen.core.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'gen.core' has no attribute {name!r}")
