"""The shared VAE core: posterior, ELBO, latent paths, checkpoints, registry errors."""

from __future__ import annotations

import math

import pytest
import torch

from gen.core import DiagonalGaussian, KLConfig, elbo, grid, lerp, path, slerp
from gen.core.posterior import importance_sampled_log_likelihood, standard_normal_log_prob


def test_kl_matches_closed_form_and_monte_carlo():
    mean, logvar = torch.randn(5, 3), torch.randn(5, 3)
    q = DiagonalGaussian(mean, logvar)
    var = logvar.exp()
    closed = 0.5 * (mean**2 + var - 1 - logvar).sum(1)
    assert torch.allclose(q.kl(), closed, atol=1e-6)
    # independent check against torch.distributions
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(mean, var.sqrt()), torch.distributions.Normal(0.0, 1.0)
    ).sum(1)
    assert torch.allclose(q.kl(), ref, atol=1e-5)
    # Monte Carlo E_q[log q - log p] agrees
    z = mean + var.sqrt() * torch.randn(20000, 5, 3)
    mc = (q.log_prob(z) - standard_normal_log_prob(z)).mean(0)
    assert torch.allclose(mc, closed, atol=0.1)


def test_kl_sums_all_nonbatch_dims():
    q = DiagonalGaussian(torch.ones(2, 3, 4), torch.zeros(2, 3, 4))
    assert q.kl().shape == (2,)
    assert torch.allclose(q.kl(), torch.full((2,), 0.5 * 12))


def test_log_prob_matches_torch_distributions():
    q = DiagonalGaussian(torch.randn(4, 6), torch.randn(4, 6))
    z = torch.randn(7, 4, 6)
    ref = torch.distributions.Normal(q.mean, q.std).log_prob(z).sum(-1)
    assert torch.allclose(q.log_prob(z), ref, atol=1e-5)


def test_elbo_free_bits_and_warmup():
    q = DiagonalGaussian(torch.full((2, 4), 1.0), torch.zeros(2, 4))  # KL = 2 nats each
    nll = torch.tensor([10.0, 20.0])
    out = elbo(nll, q, KLConfig(beta=1.0), step=0)
    assert out["loss"].item() == pytest.approx(17.0)
    assert out["elbo"].item() == pytest.approx(17.0)
    # 2 nats of free bits cost nothing; the reported ELBO is unchanged
    fb = 2.0 / math.log(2.0)
    out = elbo(nll, q, KLConfig(beta=1.0, free_bits=fb), step=0)
    assert out["loss"].item() == pytest.approx(15.0, abs=1e-5)
    assert out["elbo"].item() == pytest.approx(17.0)
    sched = KLConfig(beta=0.5, warmup_steps=10)
    assert sched.beta_at(0) == pytest.approx(0.05)
    assert sched.beta_at(9) == pytest.approx(0.5)
    assert sched.beta_at(1000) == pytest.approx(0.5)


def test_lerp_slerp_endpoints_and_norms():
    a, b = torch.randn(16), torch.randn(16)
    for method in ("lerp", "slerp"):
        p = path(a, b, 9, method)
        assert p.shape == (9, 16)
        assert torch.equal(p[0], a) and torch.equal(p[-1], b)
    # slerp between equal-norm vectors keeps the norm; lerp shrinks it in the middle
    b = b / b.norm() * a.norm()
    s = path(a, b, 11, "slerp")
    assert torch.allclose(s.norm(dim=1), a.norm().expand(11), rtol=1e-4)
    assert lerp(a, b, 0.5).norm() < a.norm()
    assert torch.allclose(slerp(a, b, 0.5).norm(), a.norm(), rtol=1e-4)
    # parallel vectors fall back to lerp instead of dividing by zero
    assert torch.isfinite(slerp(a, 2 * a, 0.3)).all()
    with pytest.raises(ValueError, match="steps"):
        path(a, b, 1)


def test_grid_corners():
    c = torch.randn(4, 5)
    g = grid(c, 3, 4)
    assert g.shape == (3, 4, 5)
    assert torch.allclose(g[0, 0], c[0]) and torch.allclose(g[0, -1], c[1])
    assert torch.allclose(g[-1, 0], c[2]) and torch.allclose(g[-1, -1], c[3])


def test_importance_sampling_is_exact_for_a_gaussian_model():
    # p(z) = N(0,1), p(x|z) = N(x; z, 1)  =>  p(x) = N(x; 0, 2); true posterior N(x/2, 1/2).
    x = torch.tensor([[0.3], [-1.2]])
    q = DiagonalGaussian(x / 2, torch.full_like(x, math.log(0.5)))

    def loglik(z: torch.Tensor) -> torch.Tensor:
        return torch.distributions.Normal(z, 1.0).log_prob(x).sum(-1)

    est = importance_sampled_log_likelihood(q, loglik, k=50)
    true = torch.distributions.Normal(0.0, math.sqrt(2)).log_prob(x).sum(-1)
    assert torch.allclose(est, true, atol=1e-5)
