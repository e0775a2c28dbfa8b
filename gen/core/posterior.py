"""Diagonal Gaussian posterior q(z|x) = N(mean, diag(exp(logvar))).

One convention throughout `gen`: the encoder predicts the *log-variance* ``logvar``.
All reductions (``kl``, ``log_prob``) sum over every non-batch dimension, so the same
code serves a flat image latent ``(B, D)`` and any other latent layout ``(B, ...)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

_LOG_2PI = math.log(2 * math.pi)


def _sum_nonbatch(t: torch.Tensor) -> torch.Tensor:
    """Sum ``t`` of shape (B, ...) over all dims but the first -> (B,)."""
    return t.reshape(t.shape[0], -1).sum(dim=1)


class DiagonalGaussian:
    """A batch of diagonal Gaussians.

    Args:
        mean: (B, ...) posterior means.
        logvar: (B, ...) log-variances, same shape as ``mean``; clamped to [-30, 20]
            so that ``exp`` never over- or underflows.
    """

    def __init__(self, mean: torch.Tensor, logvar: torch.Tensor) -> None:
        if mean.shape != logvar.shape:
            raise ValueError(f"mean {tuple(mean.shape)} and logvar {tuple(logvar.shape)} differ")
        self.mean = mean
        self.logvar = logvar.clamp(-30.0, 20.0)

    @classmethod
    def from_params(cls, params: torch.Tensor) -> DiagonalGaussian:
        """Split (B, 2*D) encoder output into mean (B, D) and logvar (B, D)."""
        mean, logvar = params.chunk(2, dim=1)
        return cls(mean, logvar)

    @property
    def std(self) -> torch.Tensor:
        """(B, ...) standard deviations."""
        return torch.exp(0.5 * self.logvar)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """Reparameterised sample (B, ...): mean + std * eps, differentiable in both."""
        eps = torch.randn(
            self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype
        )
        return self.mean + self.std * eps

    def kl(self) -> torch.Tensor:
        """KL(q || N(0, I)) in nats, summed over non-batch dims -> (B,).

        Closed form: 0.5 * sum(mean^2 + var - 1 - logvar).
        """
        return 0.5 * _sum_nonbatch(self.mean.pow(2) + self.logvar.exp() - 1.0 - self.logvar)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log q(z) in nats for z of shape (..., B, ...) broadcastable to mean -> (..., B).

        Leading sample dims (e.g. K importance samples, (K, B, D)) are kept.
        """
        lp = -0.5 * ((z - self.mean).pow(2) / self.logvar.exp() + self.logvar + _LOG_2PI)
        n = self.mean.dim() - 1
        return lp.sum(dim=tuple(range(-n, 0))) if n > 0 else lp


def standard_normal_log_prob(z: torch.Tensor, event_dims: int = 1) -> torch.Tensor:
    """log N(z; 0, I) in nats, summed over the last ``event_dims`` dims of z."""
    lp = -0.5 * (z.pow(2) + _LOG_2PI)
    return lp.sum(dim=tuple(range(-event_dims, 0)))


def importance_sampled_log_likelihood(
    posterior: DiagonalGaussian,
    log_likelihood: Callable[[torch.Tensor], torch.Tensor],
    k: int,
    chunk: int = 100,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Importance-sampled estimate of log p(x) in nats (Burda et al. 2016, eq. 8).

    log p(x) ~= logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log k, z_k ~ q(z|x).

    Args:
        posterior: q(z|x), latents (B, D).
        log_likelihood: maps z (S, B, D) -> log p(x|z) (S, B).
        k: number of importance samples per example.
        chunk: samples decoded per call (bounds memory).
    Returns:
        (B,) estimates of log p(x); an upper bound on the NLL is its negation.
    """
    parts = []
    for start in range(0, k, chunk):
        s = min(chunk, k - start)
        eps = torch.randn(
            (s, *posterior.mean.shape), generator=generator, device=posterior.mean.device
        )
        z = posterior.mean + posterior.std * eps  # (S, B, D)
        log_w = log_likelihood(z) + standard_normal_log_prob(z) - posterior.log_prob(z)
        parts.append(log_w)
    log_w = torch.cat(parts, dim=0)  # (K, B)
    return torch.logsumexp(log_w, dim=0) - math.log(k)
