"""Convolutional encoder/decoder for 28x28 grayscale images and the models built from them.

One config class covers the lesson's use cases (``kind``):
- ``ae``  plain autoencoder;            ``dae`` denoising autoencoder (fresh noise per batch);
- ``sr``  x2 super-resolution (14x14 in, 28x28 out);  ``vae`` variational autoencoder with a
  Bernoulli decoder on dynamically binarised images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gen.core.errors import ConfigError, GenError
from gen.core.model import LatentModel
from gen.core.objective import KLConfig
from gen.core.posterior import importance_sampled_log_likelihood
from gen.image.preprocess import add_noise

KINDS = ("ae", "dae", "sr", "vae")


@dataclass(frozen=True)
class ImageConfig:
    """Hyperparameters of an image model; saved in config.json and used to rebuild it."""

    kind: str = "vae"  # one of KINDS
    latent_dim: int = 32  # code size: 2 for latent maps, 32-128 for quality
    channels: int = 32  # conv width at 14x14; doubled at 7x7
    hidden: int = 512  # fully connected width between conv stack and code
    binarize: bool = False  # dynamic binarisation (Bernoulli(p) per use) of training images
    noise_mean: float = 0.0  # dae: mean of the Gaussian noise added to inputs
    noise_std: float = 0.5  # dae: its standard deviation (lesson-style corruption)
    kl: KLConfig = field(default_factory=KLConfig)  # vae: beta, warm-up, free bits

    # fields of earlier releases -> where they live now (read by gen.core.registry)
    RENAMED: ClassVar[dict[str, str]] = {
        "beta": "kl.beta", "kl_warmup_steps": "kl.warmup_steps", "free_bits": "kl.free_bits"}

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"ImageConfig.kind must be one of {KINDS}, got {self.kind!r}")
        for name in ("latent_dim", "channels", "hidden"):
            if getattr(self, name) < 1:
                raise ConfigError(f"ImageConfig.{name} must be >= 1, got {getattr(self, name)}")

    @property
    def input_size(self) -> int:
        """Side of the model's input image: 14 for super-resolution, else 28."""
        return 14 if self.kind == "sr" else 28


class ConvEncoder(nn.Module):
    """(B, 1, S, S) with S in {28, 14} -> (B, out_dim)."""

    def __init__(self, in_size: int, channels: int, hidden: int, out_dim: int) -> None:
        super().__init__()
        c = channels
        first = nn.Conv2d(1, c, 4, 2, 1) if in_size == 28 else nn.Conv2d(1, c, 3, 1, 1)  # -> 14
        self.net = nn.Sequential(
            first,
            nn.ELU(),
            nn.Conv2d(c, 2 * c, 4, 2, 1),
            nn.ELU(),  # (B, 2c, 7, 7)
            nn.Flatten(),
            nn.Linear(2 * c * 49, hidden),
            nn.ELU(),
            nn.Linear(hidden, out_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, S, S) -> (B, out_dim)."""
        return self.net(x)


class ConvDecoder(nn.Module):
    """(B, latent_dim) -> logits (B, 1, 28, 28)."""

    def __init__(self, latent_dim: int, channels: int, hidden: int) -> None:
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden),
            nn.ELU(),
            nn.Linear(hidden, 2 * c * 49),
            nn.ELU(),
            nn.Unflatten(1, (2 * c, 7, 7)),
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1),
            nn.ELU(),  # (B, c, 14, 14)
            nn.ConvTranspose2d(c, 1, 4, 2, 1),  # (B, 1, 28, 28)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z (..., D) -> logits (..., 1, 28, 28); leading sample dims are flattened and kept."""
        lead = z.shape[:-1]
        out = self.net(z.reshape(-1, z.shape[-1]))
        return out.reshape(*lead, 1, 28, 28)


def _bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Bernoulli NLL (nats) summed per image: logits (..., 1, 28, 28), target broadcast -> (...)."""
    target = target.expand_as(logits)  # broadcast over leading importance-sample dims
    nll = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return nll.flatten(-3).sum(-1)


def downsample(x: torch.Tensor) -> torch.Tensor:
    """(B, 1, 28, 28) -> (B, 1, 14, 14) by 2x2 averaging: the super-resolution input."""
    return F.avg_pool2d(x, 2)


class ImageModel(LatentModel):
    """Autoencoder, denoiser, super-resolver or VAE over 28x28 grayscale images.

    Data domain: float images (N, 1, 28, 28) or (N, 28, 28) in [0, 1] (super-resolution
    models take (N, 1, 14, 14)); numpy arrays and uint8 (0-255) are accepted.
    """

    def __init__(self, config: ImageConfig) -> None:
        super().__init__(config)
        self.variational = config.kind == "vae"
        out = 2 * config.latent_dim if self.variational else config.latent_dim
        self.encoder = ConvEncoder(config.input_size, config.channels, config.hidden, out)
        self.decoder = ConvDecoder(config.latent_dim, config.channels, config.hidden)

    # ----------------------------------------------------------------- data domain
    def to_input(self, data: Any) -> torch.Tensor:
        """Images -> float tensor (N, 1, S, S) in [0, 1] on the model's device."""
        x = torch.as_tensor(np.asarray(data) if not isinstance(data, torch.Tensor) else data)
        if x.dtype == torch.uint8:
            x = x.float() / 255.0
        x = x.float()
        s = self.config.input_size
        if x.dim() == 2:
            x = x.unsqueeze(0)
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, s, s):
            raise GenError(
                f"images must have shape (N, 1, {s}, {s}) or (N, {s}, {s}) for this "
                f"{self.config.kind} model, got {tuple(x.shape)}"
            )
        if x.numel() and (x.min() < 0 or x.max() > 1):
            raise GenError(
                f"pixel values must lie in [0, 1] (or be uint8 0-255), got range "
                f"[{float(x.min()):.3g}, {float(x.max()):.3g}]"
            )
        return x.to(self.device)

    # ----------------------------------------------------------------- hooks
    def encoder_params(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, S, S) -> (B, 2D) posterior [mean, logvar] (vae) or the code (B, D)."""
        return self.encoder(x)

    def decode_tensor(
        self,
        z: torch.Tensor,
        temperature: float = 1.0,
        greedy: bool = False,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """z (B, D) -> pixel probabilities (B, 1, 28, 28) (the Bernoulli means)."""
        return torch.sigmoid(self.decoder(z))

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The model's input for clean images x (B, 1, 28, 28): noisy for dae, 14x14 for sr."""
        if self.config.kind == "dae":
            return add_noise(x, self.config.noise_std, self.config.noise_mean, generator)
        if self.config.kind == "sr":
            return downsample(x)
        return x

    # ----------------------------------------------------------------- training
    def training_target(self, batch: torch.Tensor) -> torch.Tensor:
        """Clean images (B, 1, 28, 28) in [0, 1], binarised afresh when ``binarize``."""
        return torch.bernoulli(batch) if self.config.binarize else batch

    def training_input(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's input: noisy (dae), 14x14 (sr) or x itself."""
        return self.corrupt(x)

    def reconstruction_nll(
        self, x: torch.Tensor, z: torch.Tensor, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Bernoulli NLL (nats per image) of x (B, 1, 28, 28) given z (B, D); AEs log MSE."""
        logits = self.decoder(z)
        metrics = {}
        if not self.variational:
            metrics["mse"] = (torch.sigmoid(logits) - x).pow(2).mean().detach()
        return _bce(logits, x), metrics

    @torch.no_grad()
    def log_likelihood(
        self,
        x: torch.Tensor,
        k: int = 1000,
        chunk: int = 100,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Importance-sampled log p(x) in nats for binary images x (B, 1, 28, 28) -> (B,)."""
        if not self.variational:
            raise GenError("log-likelihood needs a VAE model")
        q = self.posterior(x)
        return importance_sampled_log_likelihood(
            q, lambda z: -_bce(self.decoder(z), x), k=k, chunk=chunk, generator=generator
        )
