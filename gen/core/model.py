"""The base class every `gen` model derives from, and the public API it gives them.

A head subclasses ``LatentModel`` and fills in the hooks:
    ``to_input(data) -> Tensor``        data-domain input -> model tensor (validated)
    ``encode_tensor(x) -> (B, D)``       posterior means (or the AE code)
    ``posterior(x) -> DiagonalGaussian`` VAEs only
    ``decode_tensor(z, temperature, generator) -> Tensor`` latents -> model output
    ``to_output(y)``                     model output -> data domain (default: identity)
    ``forward(batch, step) -> dict``     the training loss (see gen.core.trainer)
and gets encode / decode / reconstruct / sample / interpolate / grid / save_pretrained /
from_pretrained for free, all in eval mode and without gradients.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from gen.core import registry
from gen.core.checkpoint import load_pretrained_dir, save_pretrained_dir
from gen.core.errors import CheckpointError, ConfigError, GenError
from gen.core.latent import Method, grid, path
from gen.core.posterior import DiagonalGaussian


class LatentModel(nn.Module):
    """An autoencoder or VAE with a flat latent (B, latent_dim)."""

    variational: ClassVar[bool] = False

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config

    # ------------------------------------------------------------- hooks
    @property
    def latent_dim(self) -> int:
        """Size D of the latent code."""
        return int(self.config.latent_dim)

    def to_input(self, data: Any) -> torch.Tensor:
        """Convert data-domain input into the model's input tensor (B, ...)."""
        raise NotImplementedError

    def to_output(self, y: torch.Tensor) -> Any:
        """Convert decoder output into the data domain (default: the tensor itself)."""
        return y

    def posterior(self, x: torch.Tensor) -> DiagonalGaussian:
        """q(z|x) for input x (B, ...); latents (B, D). VAEs only."""
        raise GenError(f"{type(self).__name__} is not variational: it has no posterior")

    def encode_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, ...) -> code (B, D): the posterior mean for a VAE."""
        return self.posterior(x).mean

    def decode_tensor(
        self, z: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """z (B, D) -> model output (B, ...)."""
        raise NotImplementedError

    def prior_sample(self, n: int, temperature: float, generator: torch.Generator) -> torch.Tensor:
        """n latents (n, D) from the prior N(0, I), scaled by ``temperature``."""
        if not self.variational:
            raise GenError(
                f"{type(self).__name__} is a plain autoencoder with no prior to sample from; "
                "use a VAE model to sample"
            )
        return temperature * torch.randn(n, self.latent_dim, generator=generator)

    # ------------------------------------------------------------- public API
    @property
    def device(self) -> torch.device:
        """Device of the model's parameters."""
        return next(self.parameters()).device

    def _z(self, z: Any) -> torch.Tensor:
        z = torch.as_tensor(z, dtype=torch.float32)
        if z.dim() == 1:
            z = z.unsqueeze(0)
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise GenError(
                f"latent codes must have shape (N, {self.latent_dim}), got {tuple(z.shape)}"
            )
        return z.to(self.device)

    @torch.no_grad()
    def encode(self, data: Any) -> torch.Tensor:
        """Data -> codes (N, D): posterior means for a VAE, the code for an AE."""
        self.eval()
        return self.encode_tensor(self.to_input(data)).cpu()

    @torch.no_grad()
    def decode(self, z: Any, temperature: float = 1.0, seed: int | None = None) -> Any:
        """Codes (N, D) -> data domain."""
        self.eval()
        gen = torch.Generator(device=self.device).manual_seed(seed) if seed is not None else None
        return self.to_output(self.decode_tensor(self._z(z), temperature, gen).cpu())

    def reconstruct(self, data: Any) -> Any:
        """Encode then decode (posterior mean, no sampling noise)."""
        return self.decode(self.encode(data), temperature=1e-6 if self.variational else 1.0)

    @torch.no_grad()
    def sample(self, n: int = 16, temperature: float = 1.0, seed: int | None = 0) -> Any:
        """n new examples from the prior; ``temperature`` > 0 scales the randomness."""
        if n < 1:
            raise GenError(f"n must be >= 1, got {n}")
        if not temperature > 0:
            raise GenError(f"temperature must be > 0, got {temperature}")
        gen = torch.Generator().manual_seed(seed if seed is not None else torch.seed())
        z = self.prior_sample(n, temperature, gen)
        return self.decode(z, temperature=temperature, seed=None if seed is None else seed + 1)

    def interpolate_latents(
        self, a: Any, b: Any, steps: int = 8, method: Method = "slerp"
    ) -> torch.Tensor:
        """Latent path (steps, D) between the codes of two inputs, endpoints included."""
        za, zb = self.encode(a), self.encode(b)
        if za.shape[0] != 1 or zb.shape[0] != 1:
            raise GenError("interpolate takes exactly one example for each endpoint")
        try:
            return path(za[0], zb[0], steps, method)
        except ValueError as e:
            raise GenError(str(e)) from e

    def interpolate(self, a: Any, b: Any, steps: int = 8, method: Method = "slerp") -> Any:
        """Decoded path of ``steps`` examples from a to b (endpoints included)."""
        return self.decode(self.interpolate_latents(a, b, steps, method), temperature=1e-6)

    def grid(self, corners: Any, rows: int = 5, cols: int = 5, method: Method = "lerp") -> Any:
        """Decoded rows x cols grid (rows*cols examples, row-major) between four inputs."""
        z = self.encode(corners)
        if z.shape[0] != 4:
            raise GenError(f"grid needs exactly 4 corner examples, got {z.shape[0]}")
        try:
            zs = grid(z, rows, cols, method)
        except ValueError as e:  # rows or cols < 2, unknown method
            raise GenError(f"grid: {e}") from e
        return self.decode(zs.reshape(rows * cols, -1), temperature=1e-6)

    # ------------------------------------------------------------- persistence
    def save_pretrained(
        self, path: str | Path, card: str | None = None, dtype: torch.dtype | None = None
    ) -> Path:
        """Write ``config.json`` + ``model.safetensors`` (+ ``card.md``) into directory ``path``.

        ``dtype`` (e.g. ``torch.float16``) stores floating-point weights at lower precision
        to halve shipped files; loading casts them back to the model's float32 parameters.
        """
        extra = {"card.md": card} if card else None
        state = {
            k: v.to(dtype) if dtype is not None and v.is_floating_point() else v
            for k, v in self.state_dict().items()
        }
        return save_pretrained_dir(path, registry.config_to_dict(self.config), state, extra)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> LatentModel:
        """Load a model written by ``save_pretrained``; returned on CPU in eval mode."""
        cfg_dict, state = load_pretrained_dir(path)
        try:
            config = registry.config_from_dict(cfg_dict, source=str(Path(path) / "config.json"))
        except ConfigError as e:
            raise CheckpointError(str(e)) from e
        model = registry.build_model(config)
        if cls is not LatentModel and not isinstance(model, cls):
            raise CheckpointError(f"{path}: holds a {type(model).__name__}, not a {cls.__name__}")
        own = model.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        bad = [k for k in own if k in state and own[k].shape != state[k].shape]
        if missing or unexpected or bad:
            details = []
            if missing:
                details.append(f"missing tensors {missing[:5]}")
            if unexpected:
                details.append(f"unexpected tensors {unexpected[:5]}")
            if bad:
                k = bad[0]
                details.append(
                    f"shape mismatch for {k}: file {tuple(state[k].shape)} vs config "
                    f"{tuple(own[k].shape)}"
                )
            raise CheckpointError(
                f"{path}/model.safetensors does not match config.json: " + "; ".join(details)
            )
        model.load_state_dict(state)
        return model.eval()
