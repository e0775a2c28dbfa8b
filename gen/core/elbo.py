"""The evidence lower bound with beta weighting, beta annealing and free bits.

ELBO (Kingma & Welling 2014):  log p(x) >= E_q[log p(x|z)] - KL(q(z|x) || p(z)).
We minimise  loss = NLL + beta * max(KL - free_nats, 0)  per example, averaged over the batch,
where beta follows an annealing schedule (Bowman et al. 2016; Higgins et al. 2017) and the
free-bits floor (Kingma et al. 2016) is applied to the *total* KL of an example, as in
MusicVAE (Roberts et al. 2018). Units: NLL and KL in nats; ``free_bits`` in bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gen.core.posterior import DiagonalGaussian


@dataclass(frozen=True)
class KLSchedule:
    """How the KL term is weighted during training."""

    beta: float = 1.0  # final KL weight; 1.0 gives the true ELBO
    warmup_steps: int = 0  # beta rises linearly from 0 to `beta` over this many steps (0: off)
    free_bits: float = 0.0  # KL (in bits, per example) that costs nothing; 0 disables

    def beta_at(self, step: int) -> float:
        """KL weight at optimisation step ``step`` (0-based)."""
        if self.warmup_steps <= 0:
            return self.beta
        return self.beta * min(1.0, (step + 1) / self.warmup_steps)


def elbo_loss(
    nll: torch.Tensor, posterior: DiagonalGaussian, schedule: KLSchedule, step: int
) -> dict[str, torch.Tensor]:
    """Combine a per-example reconstruction NLL with the KL term.

    Args:
        nll: (B,) negative log-likelihood of each example in nats.
        posterior: q(z|x) for the batch, latents (B, ...).
        schedule: beta / warm-up / free bits.
        step: optimisation step, for the warm-up.

    Returns:
        dict of scalars: ``loss`` (what is minimised), ``nll``, ``kl`` (nats),
        ``elbo`` (the true negative ELBO, beta=1 and no free bits) and ``beta``.
    """
    kl = posterior.kl()  # (B,)
    free_nats = schedule.free_bits * math.log(2.0)
    beta = schedule.beta_at(step)
    kl_cost = torch.clamp(kl - free_nats, min=0.0)
    loss = (nll + beta * kl_cost).mean()
    return {
        "loss": loss,
        "nll": nll.mean().detach(),
        "kl": kl.mean().detach(),
        "elbo": (nll + kl).mean().detach(),
        "beta": torch.tensor(beta),
    }
