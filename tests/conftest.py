"""Shared fixtures: seeded torch, small real data, a tiny trained image model per session."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

warnings.filterwarnings("ignore", message="Couldn't find ffmpeg or avconv")


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def tiny_vae_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A debug VAE trained for 60 steps on 2,000 real MNIST digits."""
    import gen

    out = tmp_path_factory.mktemp("tiny_vae")
    return gen.train("debug-mnist-vae", out, progress=False)
