"""Shared VAE machinery. Knows nothing about images or music (imports no head)."""

from gen.core.errors import CheckpointError, ConfigError, DataError, GenError
from gen.core.latent import grid, lerp, path, slerp
from gen.core.model import LatentModel
from gen.core.objective import KLConfig, elbo
from gen.core.posterior import DiagonalGaussian
from gen.core.trainer import TrainConfig, Trainer

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataError",
    "DiagonalGaussian",
    "GenError",
    "KLConfig",
    "LatentModel",
    "TrainConfig",
    "Trainer",
    "elbo",
    "grid",
    "lerp",
    "path",
    "slerp",
]
