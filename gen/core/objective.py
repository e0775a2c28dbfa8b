"""The training objective of every VAE in `gen`: one KL config and the ELBO.

ELBO (Kingma & Welling 2014):  log p(x) >= E_q[log p(x|z)] - KL(q(z|x) || p(z)).
We minimise  loss = NLL + beta * max(KL - free_nats, 0)  per example, averaged over the batch,
where beta follows a linear warm-up (Bowman et al. 2016; Higgins et al. 2017) and the
free-bits floor (Kingma et al. 2016) is applied to the *total* KL of an example, as in
MusicVAE (Roberts et al. 2018). Units: NLL and KL in nats; ``free_bits`` in bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gen.core.errors import ConfigError
from gen.core.posterior import DiagonalGaussian


@dataclass(frozen=True)
class KLConfig:
    """How the KL term is weighted during training (a field ``kl`` of every model config)."""

    beta: float = 1.0  # final KL weight; 1.0 gives the true ELBO
    warmup_steps: int = 0  # beta rises linearly from 0 to `beta` over this many steps (0: off)
    free_bits: float = 0.0  # KL (in bits, per example) that costs nothing; 0 disables

    def __post_init__(self) -> None:
        if not (self.beta >= 0 and self.free_bits >= 0 and self.warmup_steps >= 0):
            raise ConfigError(f"kl: beta, warmup_steps and free_bits must be >= 0, got {self}")

    def beta_at(self, step: int) -> float:
        """KL weight at optimisation step ``step`` (0-based)."""
        if self.warmup_steps <= 0:
            return self.beta
        return self.beta * min(1.0, (step + 1) / self.warmup_steps)


def elbo(
    nll: torch.Tensor, posterior: DiagonalGaussian, kl_config: KLConfig, step: int
) -> dict[str, torch.Tensor]:
    """Combine a per-example reconstruction NLL with the KL term.

    Args:
        nll: (B,) negative log-likelihood of each example in nats.
        posterior: q(z|x) for the batch, latents (B, ...).
        kl_config: beta / warm-up / free bits.
        step: optimisation step, for the warm-up.

    Returns:
        dict of scalars: ``loss`` (what is minimised), ``nll``, ``kl`` (nats), ``kl_bits``,
        ``elbo`` (the true negative ELBO, beta=1 and no free bits) and ``beta``.
    """
    kl = posterior.kl()  # (B,)
    free_nats = kl_config.free_bits * math.log(2.0)
    beta = kl_config.beta_at(step)
    kl_cost = torch.clamp(kl - free_nats, min=0.0)
    loss = (nll + beta * kl_cost).mean()
    return {
        "loss": loss,
        "nll": nll.mean().detach(),
        "kl": kl.mean().detach(),
        "kl_bits": kl.mean().detach() / math.log(2.0),
        "elbo": (nll + kl).mean().detach(),
        "beta": torch.tensor(beta),
    }
