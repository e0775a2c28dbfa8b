"""A learned prior over latent codes: a Gaussian mixture fitted to the codes of the
training data ("ex-post density estimation", Ghosh et al. 2020; cf. Engel et al. 2017's
latent constraints).

A VAE's N(0, I) prior covers much space that no training example encodes to, and a decoder
fed codes from there produces music (or digits) unlike its data. A mixture of K full-
covariance Gaussians fitted by EM to the posterior means of the training set puts samples
where real examples live. Drawing: pick a component by weight, z = mu_k + scale * L_k eps,
with ``scale`` the same ``prior_scale`` knob as for N(0, I), times the mixture's own
``spread`` (1 unless calibrated: a head may choose the spread at which decoded samples match
its training data, see ``gen.music.attributes.calibrate_prior``).

Stored beside a model as ``prior.safetensors`` (weights (K,), means (K, D), scale_tril
(K, D, D), spread ()) + ``prior.json`` (how it was fitted).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gen.core.errors import GenError
from gen.core.files import atomic_write, write_text

PRIOR_FILE = "prior.safetensors"
PRIOR_META = "prior.json"
PRIORS = ("normal", "learned")


@dataclass
class GaussianMixturePrior:
    """K full-covariance Gaussians over codes of size D."""

    weights: torch.Tensor  # (K,)
    means: torch.Tensor  # (K, D)
    scale_tril: torch.Tensor  # (K, D, D) lower Cholesky factors of the covariances
    spread: float = 1.0  # draws are mu_k + spread * scale * L_k eps (1: the fitted mixture)

    @classmethod
    def fit(cls, codes: torch.Tensor, components: int = 16, iterations: int = 100,
            seed: int = 0, reg: float = 1e-3, tol: float = 1e-4) -> GaussianMixturePrior:
        """EM on codes (N, D) from a k-means++-style start; ``reg`` is added to every
        covariance's diagonal (relative to the codes' mean variance) to keep it positive."""
        x = codes.detach().double()
        n, d = x.shape
        if components < 1 or n < 2 * components:
            raise GenError(f"prior: {components} components need at least {2 * components} "
                           f"codes, got {n}")
        g = torch.Generator().manual_seed(seed)
        centres = [x[torch.randint(0, n, (1,), generator=g)].squeeze(0)]
        for _ in range(components - 1):
            dist = torch.cdist(x, torch.stack(centres)).min(1).values.pow(2)
            centres.append(x[torch.multinomial(dist / dist.sum(), 1, generator=g)].squeeze(0))
        mu = torch.stack(centres)
        eye = torch.eye(d, dtype=x.dtype)
        jitter = reg * float(x.var(0).mean())
        cov = (torch.cov(x.T) + jitter * eye).expand(components, d, d).clone()
        w = torch.full((components,), 1.0 / components, dtype=x.dtype)
        last = -math.inf
        for _ in range(iterations):
            tril = torch.linalg.cholesky(cov)
            logp = torch.stack([_mvn_log_prob(x, mu[k], tril[k]) for k in range(components)],
                               1) + w.log()  # (N, K)
            total = torch.logsumexp(logp, 1)
            resp = (logp - total.unsqueeze(1)).exp()  # (N, K)
            nk = resp.sum(0) + 1e-10
            w = nk / n
            mu = (resp.T @ x) / nk.unsqueeze(1)
            cov = torch.stack([((x - mu[k]) * resp[:, k:k + 1]).T @ (x - mu[k]) / nk[k]
                               for k in range(components)]) + jitter * eye
            ll = float(total.mean())
            if ll - last < tol * abs(ll):
                break
            last = ll
        return cls(w.float(), mu.float(), torch.linalg.cholesky(cov).float())

    @property
    def dim(self) -> int:
        """D, the code size."""
        return int(self.means.shape[1])

    def sample(self, n: int, generator: torch.Generator | None = None, scale: float = 1.0
               ) -> torch.Tensor:
        """n codes (n, D): a component by weight, then mu_k + spread * scale * L_k eps."""
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        eps = torch.randn(n, self.dim, generator=generator)
        step = (self.scale_tril[k] @ eps.unsqueeze(-1)).squeeze(-1)
        return self.means[k] + self.spread * scale * step

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log density of codes (N, D) -> (N,) nats."""
        parts = [_mvn_log_prob(z, self.means[k], self.scale_tril[k])
                 for k in range(len(self.weights))]
        return torch.logsumexp(torch.stack(parts, 1) + self.weights.log(), 1)

    def save(self, folder: str | Path, meta: dict[str, Any]) -> None:
        """Write prior.safetensors + prior.json into a model folder (atomically)."""
        from safetensors.torch import save_file

        folder = Path(folder)
        tensors = {"weights": self.weights.contiguous(), "means": self.means.contiguous(),
                   "scale_tril": self.scale_tril.contiguous(),
                   "spread": torch.tensor(float(self.spread))}
        atomic_write(folder / PRIOR_FILE, lambda tmp: save_file(tensors, str(tmp)))
        write_text(folder / PRIOR_META, json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> GaussianMixturePrior | None:
        """The prior stored in a model folder, or None."""
        from safetensors.torch import load_file

        p = Path(folder) / PRIOR_FILE
        if not p.is_file():
            return None
        t = load_file(str(p))
        try:
            spread = float(t["spread"]) if "spread" in t else 1.0  # absent: fitted only
            return cls(t["weights"], t["means"], t["scale_tril"], spread)
        except KeyError as e:
            raise GenError(f"{p}: not a prior file (missing {e})") from None


def _mvn_log_prob(x: torch.Tensor, mean: torch.Tensor, tril: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, L L^T) for x (N, D) -> (N,)."""
    sol = torch.linalg.solve_triangular(tril, (x - mean).T, upper=False)  # (D, N)
    half_logdet = tril.diagonal().log().sum()
    return -0.5 * sol.pow(2).sum(0) - half_logdet - 0.5 * x.shape[1] * math.log(2 * math.pi)


@torch.no_grad()
def encode_all(model: Any, data: Any, batch_size: int = 256, progress: bool = True
               ) -> torch.Tensor:
    """Posterior means (N, D) of examples (an array (N, ...) or a list), in batches."""
    from tqdm.auto import tqdm

    parts = []
    for s in tqdm(range(0, len(data), batch_size), desc="encode", disable=not progress,
                  leave=False):
        parts.append(model.encode(data[s:s + batch_size]))
    return torch.cat(parts)


def fit_prior(model: Any, examples: Any, source: str, components: int = 16,
              batch_size: int = 256, progress: bool = True) -> dict[str, Any]:
    """Fit the learned prior to the codes of ``examples`` (the training data) and give it to
    the model (stored in its folder when it has one). Returns the metadata."""
    codes = encode_all(model, examples, batch_size, progress)
    prior = GaussianMixturePrior.fit(codes, components)
    meta = {"kind": "gaussian-mixture", "components": components, "source": source,
            "examples": len(examples),
            "mean_log_density_codes": round(float(prior.log_prob(codes).mean()), 3),
            "mean_log_density_codes_under_normal": round(float(
                (-0.5 * codes.pow(2) - 0.5 * math.log(2 * math.pi)).sum(1).mean()), 3)}
    model.set_prior(prior, meta)
    return meta
