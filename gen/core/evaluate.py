"""One seeded, batched evaluation loop: the trainer's periodic evaluation and every head's
metrics run through it.

``per_example(fn, data, batch_size)`` calls ``fn(batch)`` over a dataset (anything with
``len(data)`` and ``data[indices]``, or an array/tensor) and collects what it returns per
example. Everything random inside ``fn`` draws from torch's global generator, which the loop
seeds for its duration and restores afterwards, so an evaluation gives the same numbers every
time and does not disturb the training run around it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm


def to_device(batch: Any, device: torch.device | str) -> Any:
    """A tensor, or a tuple/list of tensors, moved to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    return type(batch)(to_device(b, device) for b in batch)


def batch_size_of(batch: Any) -> int:
    """B of a batch: a tensor (B, ...) or a tuple whose first item is one."""
    return int(batch.shape[0] if isinstance(batch, torch.Tensor) else batch[0].shape[0])


@torch.no_grad()
def per_example(
    fn: Callable[[Any], dict[str, torch.Tensor]],
    data: Any,
    batch_size: int,
    max_batches: int = 0,
    seed: int = 1234,
    device: torch.device | str = "cpu",
    progress: bool = False,
    desc: str = "eval",
) -> dict[str, np.ndarray]:
    """Run ``fn`` over ``data`` in batches; returns each output key as an (N,) array.

    ``fn(batch)`` returns a dict of tensors, each (B,) (one value per example) or a scalar
    (a batch mean, repeated for each example so that means are example-weighted).
    ``max_batches`` > 0 evaluates a fixed random subset of that many batches (eval sets are
    often ordered by source or class, so the first batches would be a biased sample).
    """
    if isinstance(data, np.ndarray):
        data = torch.from_numpy(data)
    n = len(data)
    gen = torch.Generator().manual_seed(seed)
    n_batches = math.ceil(n / batch_size)
    order = torch.arange(n)
    if max_batches and n_batches > max_batches:
        n_batches = max_batches
        order = torch.randperm(n, generator=gen)[: n_batches * batch_size]
    saved = torch.get_rng_state()
    torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=gen)))
    parts: dict[str, list[np.ndarray]] = {}
    try:
        for i in tqdm(range(n_batches), desc=desc, disable=not progress, leave=False,
                      dynamic_ncols=True):
            batch = to_device(data[order[i * batch_size:(i + 1) * batch_size]], device)
            b = batch_size_of(batch)
            for k, v in fn(batch).items():
                v = torch.as_tensor(v).detach().float().cpu()
                parts.setdefault(k, []).append(v.expand(b).numpy() if v.dim() == 0
                                               else v.reshape(b).numpy())
    finally:
        torch.set_rng_state(saved)
    return {k: np.concatenate(v) for k, v in parts.items()}


def means(results: dict[str, np.ndarray]) -> dict[str, float]:
    """The mean of each (N,) result."""
    return {k: float(v.mean()) for k, v in results.items()}
