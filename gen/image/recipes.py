"""Named image recipes. Shipped models use the same names as their recipes."""

from __future__ import annotations

from gen.core.objective import KLConfig
from gen.core.registry import Recipe, register_recipe
from gen.core.trainer import TrainConfig
from gen.image.model import ImageConfig

_EPOCH = 60_000 // 128  # optimiser steps per MNIST epoch at batch 128


def _ae(kind: str, latent: int, epochs: int, **kw: object) -> tuple[ImageConfig, TrainConfig]:
    model = ImageConfig(kind=kind, latent_dim=latent, channels=32, hidden=512, **kw)
    train = TrainConfig(
        steps=epochs * _EPOCH,
        batch_size=128,
        lr=1e-3,
        lr_decay="cosine",
        grad_clip=500.0,
        eval_every=2 * _EPOCH,
        ckpt_every=_EPOCH,
    )
    return model, train


_SHIPPED = {
    "mnist-ae": ("plain conv autoencoder, 128-d code (the lesson's baseline)", *_ae("ae", 128, 10)),
    "mnist-ae-2d": ("conv autoencoder with a 2-d code, for latent scatters", *_ae("ae", 2, 10)),
    "mnist-dae": (
        "denoising conv autoencoder, Gaussian noise N(0, 0.5^2), 128-d code",
        *_ae("dae", 128, 10, noise_mean=0.0, noise_std=0.5),
    ),
    "mnist-sr": (
        "x2 super-resolution autoencoder, 14x14 -> 28x28, 128-d code",
        *_ae("sr", 128, 10),
    ),
    "mnist-vae-2d": (
        "conv VAE with a 2-d latent, Bernoulli decoder, dynamic binarisation",
        *_ae("vae", 2, 20, binarize=True, kl=KLConfig(warmup_steps=3 * _EPOCH)),
    ),
    "mnist-vae": (
        "conv VAE with a 32-d latent, Bernoulli decoder on dynamically binarised "
        "MNIST (for quality)",
        ImageConfig(
            kind="vae",
            latent_dim=32,
            channels=32,
            hidden=512,
            binarize=True,
            kl=KLConfig(warmup_steps=10 * _EPOCH),
        ),
        TrainConfig(
            steps=100 * _EPOCH,
            batch_size=128,
            lr=1e-3,
            lr_decay="cosine",
            grad_clip=500.0,
            eval_every=5 * _EPOCH,
            ckpt_every=_EPOCH,
            eval_batches=20,
        ),
    ),
}

for _name, (_desc, _model, _train) in _SHIPPED.items():
    register_recipe(Recipe(_name, _model, _train, {"source": "mnist"}, _desc))

# Tiny configs for tests and smoke runs: seconds on a CPU, real MNIST data.
for _kind in ("ae", "dae", "sr", "vae"):
    register_recipe(
        Recipe(
            f"debug-mnist-{_kind}",
            ImageConfig(kind=_kind, latent_dim=4, channels=4, hidden=32, binarize=_kind == "vae"),
            TrainConfig(
                steps=60,
                batch_size=32,
                lr=3e-3,
                lr_decay="none",
                eval_every=30,
                eval_batches=4,
                ckpt_every=30,
                log_every=10,
            ),
            {"source": "mnist", "limit": 2000},
            f"tiny {_kind} for tests",
        )
    )
