"""The public entry points: ``gen.load``, ``gen.available`` and ``gen.train``."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

import gen.heads  # noqa: F401  (registers every head)
from gen.core import limits, registry
from gen.core.errors import ConfigError, GenError
from gen.core.files import write_text
from gen.core.model import LatentModel
from gen.core.trainer import Trainer

PRETRAINED_DIR = Path(__file__).parent / "pretrained"


def available() -> list[str]:
    """Names of the models shipped with the package (loadable offline with ``gen.load``)."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / "config.json").is_file())


def load(name_or_path: str | Path) -> Any:
    """A shipped model by name, a directory written by ``save_pretrained``, or a training
    run's folder (its ``best/`` model when the run kept one, else ``model/``).

    Returns the model on CPU in eval mode.
    """
    p = Path(name_or_path)
    if p.is_dir():
        if not (p / "config.json").is_file():
            from gen.core.ship import model_dir

            try:
                p = model_dir(p)
            except GenError:
                pass  # from_pretrained names what is missing
        return LatentModel.from_pretrained(p)
    name = str(name_or_path)
    if name in available():
        return LatentModel.from_pretrained(PRETRAINED_DIR / name, shipped=True)
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
    overrides: Sequence[str] = (),
    data: str | Path | None = None,
    init: str | Path | None = None,
    **data_options: Any,
) -> Path:
    """Train a named recipe into ``out_dir``; returns the exported model directory.

    ``out_dir`` gets ``checkpoint.safetensors`` (resumed from when present and ``resume``),
    ``metrics.jsonl``, ``run.json`` (what was asked for) and, at the end, ``model/``.
    ``steps`` overrides the recipe's step count; ``overrides`` are ``KEY=VALUE`` settings
    (see ``registry.apply_overrides``); ``data`` is a dataset of the recipe's head (a prepared
    folder, or a file for images); ``init`` a shipped name or model folder to start from
    (fine-tuning: its architecture replaces the recipe's, its weights the random ones, and
    ``steps`` counts the steps after the recipe's own: the learning rate, KL warm-up and
    scheduled sampling go on from the end of its training, unless ``first_step`` is set);
    ``data_options`` override the recipe's data options.
    """
    rec = registry.get_recipe(recipe) if isinstance(recipe, str) else recipe
    start = load(init) if init is not None else None
    if start is not None:
        if type(start.config) is not type(rec.model):
            raise ConfigError(f"--init {init}: a {type(start.config).__name__} model cannot "
                              f"start a {type(rec.model).__name__} recipe ({rec.name})")
        rec = dataclasses.replace(rec, model=start.config)
    if start is not None and not any(o.partition("=")[0].strip().endswith("first_step")
                                     for o in overrides):
        # Fine-tuning: the model has been trained, so its schedules (learning rate, KL warm-up,
        # scheduled sampling) go on from where the recipe's training ends, and ``steps``
        # counts the steps after that. Restarting them would train a finished decoder with
        # teacher forcing and a KL weight of zero, at the full initial learning rate.
        if steps is None:
            raise ConfigError(f"--init {init}: say how many fine-tuning steps to take with "
                              "--steps N (e.g. 300)")
        done = rec.train.steps
        overrides = [*overrides, f"first_step={done}"]
        steps = done + steps
    if steps is not None:
        overrides = [*overrides, f"steps={steps}"]
    rec = registry.apply_overrides(rec, list(overrides))
    head = registry.head_of(rec.model)
    if data is not None:
        data_options = {head.data_option: str(data), **data_options}
    if data_options:
        rec = dataclasses.replace(rec, data={**rec.data, **data_options})
    limits.check_model_size(rec.model, f"recipe {rec.name}")  # before any weight exists
    torch.manual_seed(rec.train.seed)  # the same initial weights on every rank and every run
    model = registry.build_model(rec.model)
    if start is not None:
        model.load_weights(start.state_dict(), f"--init {init}")

    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    train_ds, eval_ds = registry.build_data(rec, rank=rank, world_size=world)
    trainer = Trainer(model, train_ds, eval_ds, rec.train, out_dir, progress=progress)
    if rank == 0:
        write_text(Path(out_dir) / "run.json", json.dumps({
            "recipe": rec.name, "overrides": list(overrides), "init": None if init is None
            else str(init), "data": rec.data, "model": registry.config_to_dict(rec.model),
            "train": dataclasses.asdict(rec.train)}, indent=2) + "\n")
    trainer.fit(resume=resume)
    final = Path(out_dir) / "model"
    trainer.export(final)
    trainer.close()
    return final
