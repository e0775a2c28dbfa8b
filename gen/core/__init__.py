"""Shared VAE machinery. Knows nothing about images or music."""

from gen.core.elbo import KLSchedule, elbo_loss
from gen.core.errors import CheckpointError, ConfigError, DataError, GenError
from gen.core.latent import grid, lerp, path, slerp
from gen.core.model import LatentModel
from gen.core.posterior import DiagonalGaussian
from gen.core.trainer import TrainConfig, Trainer

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataError",
    "DiagonalGaussian",
    "GenError",
    "KLSchedule",
    "LatentModel",
    "TrainConfig",
    "Trainer",
    "elbo_loss",
    "grid",
    "lerp",
    "path",
    "slerp",
]
