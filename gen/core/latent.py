"""Paths through latent space: lerp, slerp, N-step paths and 2-D grids between four corners."""

from __future__ import annotations

from typing import Literal

import torch

Method = Literal["lerp", "slerp"]


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Linear interpolation. a, b: (D,) or (B, D); t broadcastable -> same shape."""
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Spherical interpolation along the great circle from a to b (White 2016).

    a, b: (..., D); t: float or tensor broadcastable against (..., 1). Falls back to lerp when
    a and b are (anti-)parallel or zero, where the great circle is undefined.
    """
    t = torch.as_tensor(t, dtype=a.dtype, device=a.device)
    an = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    bn = b / b.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    cos = (an * bn).sum(dim=-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    so = torch.sin(omega)
    safe = so.abs() > 1e-6
    so_safe = torch.where(safe, so, torch.ones_like(so))
    s = torch.sin((1.0 - t) * omega) / so_safe * a + torch.sin(t * omega) / so_safe * b
    return torch.where(safe, s, lerp(a, b, t))


def path(a: torch.Tensor, b: torch.Tensor, steps: int, method: Method = "slerp") -> torch.Tensor:
    """``steps`` points from a to b, endpoints included. a, b: (D,) -> (steps, D)."""
    if steps < 2:
        raise ValueError(f"steps must be >= 2 (endpoints are included), got {steps}")
    if method not in ("lerp", "slerp"):
        raise ValueError(f"method must be 'lerp' or 'slerp', got {method!r}")
    t = torch.linspace(0.0, 1.0, steps, dtype=a.dtype, device=a.device).unsqueeze(1)  # (S, 1)
    fn = slerp if method == "slerp" else lerp
    out = fn(a.unsqueeze(0), b.unsqueeze(0), t)
    out[0], out[-1] = a, b  # exact endpoints despite float error
    return out


def grid(corners: torch.Tensor, rows: int, cols: int, method: Method = "lerp") -> torch.Tensor:
    """A rows x cols grid between four corner latents.

    corners: (4, D) ordered top-left, top-right, bottom-left, bottom-right.
    Returns (rows, cols, D): the left and right edges are paths between the corners, each row
    a path between its two edge points, so the four corners are reproduced exactly.
    """
    if corners.dim() != 2 or corners.shape[0] != 4:
        raise ValueError(f"corners must have shape (4, D), got {tuple(corners.shape)}")
    tl, tr, bl, br = corners
    left = path(tl, bl, rows, method)
    right = path(tr, br, rows, method)
    return torch.stack([path(left[i], right[i], cols, method) for i in range(rows)])
