"""The base class every `gen` model derives from: the public API and the one training step.

A head subclasses ``LatentModel`` and fills in the hooks:
    ``to_input(data) -> Tensor``          data-domain input -> model tensor (validated)
    ``to_output(y)``                      model output -> data domain (default: identity)
    ``training_input(x) -> Tensor``       what the encoder sees in training (noise, 14x14 ...)
    ``encoder_params(x) -> (B, 2D | D)``  posterior parameters (VAE) or the code (AE)
    ``reconstruction_nll(x, z, step) -> ((B,) nats, metrics)``   -log p(x|z) per example
    ``decode_tensor(z, temperature, greedy, generator) -> Tensor``   latents -> model output
and gets encode / decode / reconstruct / sample / interpolate / grid / save_pretrained /
from_pretrained and the training step ``forward(batch, step)`` (the ELBO of
gen.core.objective for VAEs, the reconstruction NLL for plain autoencoders).

Randomness has two knobs, the same for every head: ``prior_scale`` is the standard
deviation of the prior draws z ~ N(0, prior_scale^2 I) in ``sample``, and ``temperature``
the randomness of decoders that draw their output step by step (music); ``greedy=True``
takes the most likely output instead of drawing. Decoders that output probabilities
(images) draw nothing, so for them only ``prior_scale`` matters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from gen.core import limits, registry
from gen.core.checkpoint import load_pretrained_dir, save_pretrained_dir
from gen.core.errors import CheckpointError, ConfigError, GenError
from gen.core.latent import Method, grid, path
from gen.core.objective import elbo
from gen.core.posterior import DiagonalGaussian
from gen.core.prior import PRIORS, GaussianMixturePrior


def _positive(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise GenError(f"{name} must be a number > 0, got {value!r}") from None
    if not (v > 0 and v < float("inf")):
        raise GenError(f"{name} must be a finite number > 0, got {value!r}")
    return v


class LatentModel(nn.Module):
    """An autoencoder or VAE with a flat latent (B, latent_dim)."""

    variational: bool = False
    #: weight-name prefixes of earlier releases -> today's (old checkpoints keep loading)
    renamed_weights: ClassVar[dict[str, str]] = {}
    #: whether ``decode_tensor`` draws its output (so ``temperature`` and ``greedy`` matter)
    random_decoder: ClassVar[bool] = False
    #: the folder the model was loaded from (its optional extras live there), else None
    pretrained_dir: Path | None = None
    _prior: GaussianMixturePrior | None = None
    _prior_meta: dict[str, Any] | None = None

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

    def encoder_params(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, ...) -> (B, 2D) posterior [mean, logvar] for a VAE, the code (B, D) for an AE."""
        raise NotImplementedError

    def training_target(self, batch: Any) -> torch.Tensor:
        """The batch as the reconstruction target x (default: the batch, or its first item)."""
        return batch if isinstance(batch, torch.Tensor) else batch[0]

    def training_input(self, x: torch.Tensor) -> torch.Tensor:
        """What the encoder reads for target x (default: x itself)."""
        return x

    def reconstruction_nll(
        self, x: torch.Tensor, z: torch.Tensor, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """-log p(x|z) per example (B,) in nats, plus extra batch metrics to log."""
        raise NotImplementedError

    def eval_metrics(self, x: torch.Tensor, code: torch.Tensor) -> dict[str, torch.Tensor]:
        """Extra metrics of the periodic evaluation, from targets x and codes (B, D)."""
        return {}

    def decode_tensor(
        self,
        z: torch.Tensor,
        temperature: float = 1.0,
        greedy: bool = False,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """z (B, D) -> model output (B, ...)."""
        raise NotImplementedError

    # ------------------------------------------------------------- derived from the hooks
    def posterior(self, x: torch.Tensor) -> DiagonalGaussian:
        """q(z|x) for input x (B, ...); latents (B, D). VAEs only."""
        if not self.variational:
            raise GenError(f"{type(self).__name__} is not variational: it has no posterior")
        return DiagonalGaussian.from_params(self.encoder_params(x))

    def encode_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, ...) -> code (B, D): the posterior mean for a VAE."""
        return self.posterior(x).mean if self.variational else self.encoder_params(x)

    def forward(self, batch: Any, step: int = 0) -> dict[str, torch.Tensor]:
        """The training step: a dict of scalars with ``loss`` (see gen.core.trainer).

        VAE: q(z|x) from the training input, one reparameterised z, the head's NLL and the
        ELBO with the config's KL settings (``config.kl``). AE: the NLL of the code's decoding.
        In eval mode the head's ``eval_metrics`` of the posterior means are added.
        """
        x = self.training_target(batch)
        inp = self.training_input(x)
        if self.variational:
            q = self.posterior(inp)
            nll, metrics = self.reconstruction_nll(x, q.sample(), step)
            out = elbo(nll, q, self.config.kl, step)
            code = q.mean
        else:
            code = self.encoder_params(inp)
            nll, metrics = self.reconstruction_nll(x, code, step)
            out = {"loss": nll.mean(), "nll": nll.mean().detach()}
        out.update(metrics)
        if not self.training:
            out.update(self.eval_metrics(x, code.detach()))
        return out

    # ------------------------------------------------------------- public API
    @property
    def device(self) -> torch.device:
        """Device of the model's parameters."""
        return next(self.parameters()).device

    def _z(self, z: Any) -> torch.Tensor:
        try:
            z = torch.as_tensor(z, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError) as e:
            raise GenError(f"latent codes must be numbers of shape (N, {self.latent_dim}): {e}"
                           ) from None
        if z.dim() == 1:
            z = z.unsqueeze(0)
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise GenError(
                f"latent codes must have shape (N, {self.latent_dim}), got {tuple(z.shape)}"
            )
        if not torch.isfinite(z).all():
            raise GenError("latent codes must be finite numbers (no NaN or infinity)")
        return z.to(self.device)

    def _check_temperature(self, temperature: float, greedy: bool) -> float:
        t = _positive("temperature", temperature)
        if not self.random_decoder and (t != 1.0 or greedy):
            raise GenError(
                f"{type(self).__name__} decodes to probabilities and draws nothing, so "
                "temperature and greedy do not apply; use prior_scale to sample closer to "
                "(below 1) or further from (above 1) the prior's centre"
            )
        return t

    @torch.no_grad()
    def encode(self, data: Any) -> torch.Tensor:
        """Data -> codes (N, D): posterior means for a VAE, the code for an AE."""
        self.eval()
        return self.encode_tensor(self.to_input(data)).cpu()

    @torch.no_grad()
    def decode(
        self, z: Any, temperature: float = 1.0, seed: int | None = None, greedy: bool = False
    ) -> Any:
        """Codes (N, D) -> data domain. ``greedy``: the most likely output (no drawing)."""
        self.eval()
        t = self._check_temperature(temperature, greedy)
        gen = torch.Generator(device=self.device).manual_seed(seed) if seed is not None else None
        return self.to_output(self.decode_tensor(self._z(z), t, greedy, gen).cpu())

    def _decode_greedy(self, z: torch.Tensor) -> Any:
        return self.decode(z, greedy=self.random_decoder)

    def reconstruct(self, data: Any) -> Any:
        """Encode then decode greedily (posterior mean, no sampling noise)."""
        return self._decode_greedy(self.encode(data))

    @torch.no_grad()
    def sample(
        self,
        n: int = 16,
        temperature: float = 1.0,
        seed: int | None = 0,
        prior_scale: float = 1.0,
        greedy: bool = False,
        prior: str = "normal",
    ) -> Any:
        """n new examples: z from the prior (``"normal"``: N(0, prior_scale^2 I);
        ``"learned"``: the mixture fitted to the training codes), decoded at ``temperature``
        (or greedily). ``seed`` makes the result reproducible (None: a fresh random draw).
        """
        z = self.prior_codes(n, seed, prior_scale, prior)
        self._check_temperature(temperature, greedy)
        return self.decode(z, temperature, None if seed is None else seed + 1, greedy)

    def prior_codes(self, n: int, seed: int | None = 0, prior_scale: float = 1.0,
                    prior: str = "normal") -> torch.Tensor:
        """n codes (n, D) from the prior: N(0, prior_scale^2 I) (``"normal"``) or the learned
        mixture fitted to the training codes (``"learned"``, see gen.core.prior)."""
        if not self.variational:
            raise GenError(
                f"{type(self).__name__} is a plain autoencoder with no prior to sample from; "
                "use a VAE model to sample"
            )
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise GenError(f"n must be a whole number >= 1, got {n!r}")
        limits.check_whole(n, "n", 1, limits.MAX_SAMPLES)
        scale = _positive("prior_scale", prior_scale)
        if prior not in PRIORS:
            raise GenError(f"prior: must be one of {', '.join(PRIORS)}, got {prior!r}")
        gen = torch.Generator().manual_seed(seed if seed is not None else torch.seed())
        if prior == "learned":
            return self.learned_prior().sample(n, gen, scale)
        return scale * torch.randn(n, self.latent_dim, generator=gen)

    def learned_prior(self) -> GaussianMixturePrior:
        """The learned prior over codes (fitted by ``gen prior``, stored beside the model)."""
        found = self._prior
        if found is None and self.pretrained_dir is not None:
            found = GaussianMixturePrior.load(self.pretrained_dir)
            self._prior = found
        if found is None:
            raise GenError("this model has no learned prior yet; fit one with "
                           "`gen prior MODEL` (it is stored beside the model)")
        if found.dim != self.latent_dim:
            raise GenError(f"the stored prior is over {found.dim}-d codes, the model's are "
                           f"{self.latent_dim}-d")
        return found

    def set_prior(self, prior: GaussianMixturePrior, meta: dict[str, Any]) -> None:
        """Use ``prior`` for ``sample(prior="learned")`` (and store it in the model's folder
        when it was loaded from one)."""
        self._prior, self._prior_meta = prior, dict(meta)
        if self.pretrained_dir is not None:
            prior.save(self.pretrained_dir, meta)

    def interpolate_latents(
        self, a: Any, b: Any, steps: int = 8, method: Method = "slerp"
    ) -> torch.Tensor:
        """Latent path (steps, D) between the codes of two inputs, endpoints included."""
        limits.check_whole(steps, "steps", 2, limits.MAX_INTERPOLATION_STEPS)
        za, zb = self.encode(a), self.encode(b)
        if za.shape[0] != 1 or zb.shape[0] != 1:
            raise GenError("interpolate takes exactly one example for each endpoint")
        try:
            return path(za[0], zb[0], steps, method)
        except ValueError as e:
            raise GenError(str(e)) from e

    def interpolate(self, a: Any, b: Any, steps: int = 8, method: Method = "slerp") -> Any:
        """Decoded path of ``steps`` examples from a to b (endpoints included), greedy."""
        return self._decode_greedy(self.interpolate_latents(a, b, steps, method))

    def grid_latents(self, corners: Any, rows: int = 5, cols: int = 5, method: Method = "lerp"
                     ) -> torch.Tensor:
        """Codes (rows*cols, D), row-major, of a grid between the codes of four inputs."""
        limits.check_whole(rows, "rows", 2, limits.MAX_GRID_SIDE)
        limits.check_whole(cols, "cols", 2, limits.MAX_GRID_SIDE)
        z = self.encode(corners)
        if z.shape[0] != 4:
            raise GenError(f"grid needs exactly 4 corner examples, got {z.shape[0]}")
        try:
            return grid(z, rows, cols, method).reshape(rows * cols, -1)
        except ValueError as e:  # rows or cols < 2, unknown method
            raise GenError(f"grid: {e}") from e

    def grid(self, corners: Any, rows: int = 5, cols: int = 5, method: Method = "lerp") -> Any:
        """Decoded rows x cols grid (rows*cols examples, row-major) between four inputs."""
        return self._decode_greedy(self.grid_latents(corners, rows, cols, method))

    # ------------------------------------------------------------- persistence
    def save_pretrained(
        self,
        path: str | Path,
        card: str | None = None,
        dtype: torch.dtype | None = None,
        extra_files: dict[str, str] | None = None,
    ) -> Path:
        """Write ``config.json`` + ``model.safetensors`` (+ ``card.md``) into directory ``path``.

        ``dtype`` (e.g. ``torch.float16``) stores floating-point weights at lower precision
        to halve shipped files; loading casts them back to the model's float32 parameters.
        """
        extra = dict(extra_files or {})
        if card:
            extra["card.md"] = card
        state = {
            k: v.to(dtype) if dtype is not None and v.is_floating_point() else v
            for k, v in self.state_dict().items()
        }
        out = save_pretrained_dir(path, registry.config_to_dict(self.config), state, extra)
        if self._prior is not None:  # a learned prior travels with the weights
            self._prior.save(out, self._prior_meta or {})
        return out

    @classmethod
    def from_pretrained(cls, path: str | Path, shipped: bool = False) -> LatentModel:
        """Load a model written by ``save_pretrained``; returned on CPU in eval mode.

        Its config's model size is checked before any weight is allocated
        (``limits.check_model_size``), except for ``shipped`` models (the package's own
        ``gen/pretrained``, part of the install like its code): building a model on the meta
        device costs about a second the first time in a process.
        """
        cfg_dict, state = load_pretrained_dir(path)
        try:
            config = registry.config_from_dict(cfg_dict, source=str(Path(path) / "config.json"))
        except ConfigError as e:
            raise CheckpointError(str(e)) from e
        if not shipped:
            limits.check_model_size(config, str(Path(path) / "config.json"))
        model = registry.build_model(config)
        if cls is not LatentModel and not isinstance(model, cls):
            raise CheckpointError(f"{path}: holds a {type(model).__name__}, not a {cls.__name__}")
        model.load_weights(state, f"{path}/model.safetensors")
        model.pretrained_dir = Path(path)  # where optional extras (prior, vectors) live
        return model.eval()

    def load_weights(self, state: dict[str, torch.Tensor], source: str) -> None:
        """Copy ``state`` into the model; a CheckpointError names missing/extra/misshapen ones."""
        for old, new in self.renamed_weights.items():
            state = {new + k[len(old):] if k.startswith(old) else k: v for k, v in state.items()}
        own = self.state_dict()
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
            raise CheckpointError(f"{source} does not match the model: " + "; ".join(details))
        self.load_state_dict(state)
