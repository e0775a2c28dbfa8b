"""The public entry points: ``gen.load``, ``gen.available`` and ``gen.train``."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import torch

from gen.core import registry
from gen.core.errors import ConfigError
from gen.core.model import LatentModel
from gen.core.trainer import Trainer

PRETRAINED_DIR = Path(__file__).parent / "pretrained"


def available() -> list[str]:
    """Names of the models shipped with the package (loadable offline with ``gen.load``)."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / "config.json").is_file())


def load(name_or_path: str | Path) -> Any:
    """A shipped model by name, or a directory written by ``save_pretrained``.

    Returns the model on CPU in eval mode.
    """
    p = Path(name_or_path)
    if p.is_dir():
        return LatentModel.from_pretrained(p)
    name = str(name_or_path)
    if name in available():
        return LatentModel.from_pretrained(PRETRAINED_DIR / name)
    raise ConfigError(
        f"unknown model {name!r}: not a shipped model ({', '.join(available()) or 'none'}) "
        "and not a directory"
    )


def train(
    recipe: str | registry.Recipe,
    out_dir: str | Path,
    steps: int | None = None,
    resume: bool = True,
    progress: bool = True,
    **data: Any,
) -> Path:
    """Train a named recipe into ``out_dir``; returns the exported model directory.

    ``out_dir`` gets ``checkpoint.safetensors`` (resumed from when present and ``resume``),
    ``metrics.jsonl`` and, at the end, ``model/`` (config.json + model.safetensors).
    ``steps`` overrides the recipe's step count; ``data`` overrides its data options.
    """
    rec = registry.get_recipe(recipe) if isinstance(recipe, str) else recipe
    if steps is not None:
        rec = dataclasses.replace(rec, train=dataclasses.replace(rec.train, steps=steps))
    if data:
        rec = dataclasses.replace(rec, data={**rec.data, **data})
    torch.manual_seed(rec.train.seed)  # the same initial weights on every rank and every run
    model = registry.build_model(rec.model)

    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    train_ds, eval_ds = registry.build_data(rec, rank=rank, world_size=world)
    trainer = Trainer(model, train_ds, eval_ds, rec.train, out_dir, progress=progress)
    trainer.fit(resume=resume)
    final = Path(out_dir) / "model"
    trainer.export(final)
    return final
