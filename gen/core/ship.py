"""Shipping a trained model: float16 export, evaluation of the shipped weights, eval.json
and a model card (a common skeleton around the head's own section). ``gen ship RUN NAME``.

The numbers in a card are those of the files users get: the weights are stored in float16,
loaded back into float32, and only then evaluated.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import torch

from gen.core import registry
from gen.core.errors import ConfigError, GenError
from gen.core.model import LatentModel

EVAL_NAME = "eval.json"


def model_dir(run_or_model: str | Path) -> Path:
    """The model folder of a training run (RUN/best when the run kept its best evaluation,
    else RUN/model) or a model folder itself."""
    p = Path(run_or_model)
    if (p / "best" / "config.json").is_file():  # early stopping (train.keep_best)
        return p / "best"
    if (p / "model" / "config.json").is_file():
        return p / "model"
    if (p / "config.json").is_file():
        return p
    raise GenError(f"{p}: neither a training run (with model/config.json) nor a model folder")


def train_record(run_dir: str | Path | None) -> dict[str, Any] | None:
    """Steps, wall time and final training metrics from RUN/metrics.jsonl (None if absent)."""
    if run_dir is None or not (Path(run_dir) / "metrics.jsonl").is_file():
        return None
    rows = [json.loads(x) for x in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()
            if x.strip()]
    train = [r for r in rows if r.get("split") == "train"]
    if not train:
        return None
    last = train[-1]
    return {"steps": last["step"], "seconds": last.get("time_s", float("nan")),
            "final_train": {k: round(v, 4) for k, v in last.items()
                            if k not in ("step", "split", "time_s") and isinstance(v, float)}}


def make_card(name: str, model: LatentModel, results: dict[str, Any], head_section: str,
              record: dict[str, Any] | None = None, note: str = "") -> str:
    """The markdown card: title, description, the head's section (use, data, licence,
    results), training facts, the evaluation output, how to train and ship it, the config."""
    try:
        recipe = registry.get_recipe(name)
        description, train = recipe.description, recipe.train
    except ConfigError:  # not a named config (e.g. a fine-tuned model)
        description, train = "", None
    params = sum(p.numel() for p in model.parameters())
    lines = [f"# {name}", "", description, "", f"{params / 1e6:.2f} M parameters.", "",
             head_section.replace("gen.load(NAME)", f'gen.load("{name}")').rstrip(), ""]
    lines += ["## Training", ""]
    if record is not None:
        batch = f" of batch {train.batch_size}" if train else ""
        lines += [
            f"- {record['steps']} optimiser steps{batch}; wall time "
            f"{record['seconds'] / 60:.1f} min on {platform.machine()} CPU "
            f"({os.cpu_count()} cores), torch {torch.__version__}. {note}".rstrip(),
            f"- final training batch metrics: {record['final_train']}",
        ]
    elif note:
        lines.append(f"- {note}")
    lines += [
        "", "Train and ship the config of the same name (`gen list`):", "", "```bash",
        f"gen train {name} --out runs/{name}", f"gen ship runs/{name} {name}", "```", "",
        "## Evaluation of the shipped float16 weights", "", "```json",
        json.dumps(results, indent=2), "```", "",
        "## Config", "", "```json", registry.config_json(model.config), "```", "",
        "Weights are stored in float16 and loaded into float32.", "",
    ]
    return "\n".join(lines)


def ship(run_or_model: str | Path, name: str, dest: str | Path, note: str = "",
         **eval_options: Any) -> Path:
    """Export ``run_or_model`` in float16 to ``dest``, evaluate the shipped weights with the
    head's evaluator, and write eval.json, card.md and the head's pictures there."""
    src = model_dir(run_or_model)
    model = LatentModel.from_pretrained(src)
    head = registry.head_of(model)
    dest = Path(dest)
    model.save_pretrained(dest, dtype=torch.float16)
    shipped = LatentModel.from_pretrained(dest)
    results = head.call("evaluate", shipped, **eval_options)
    run_dir = src.parent if src.name in ("model", "best") else None
    if (src / "best.json").is_file():  # early stopping: say which step the weights are from
        best = json.loads((src / "best.json").read_text())
        note = (f"Early stopping: these are the weights of step {best['step']}, the best "
                f"validation {best['metric']} ({best['value']:.4g}) of the run. {note}").strip()
    card = make_card(name, shipped, results, head.call("card", shipped, results),
                     train_record(run_dir), note)
    shipped.save_pretrained(dest, card=card, dtype=torch.float16,
                            extra_files={EVAL_NAME: json.dumps(results, indent=2) + "\n"})
    head.io_module().ship_pictures(shipped, dest, name)
    return dest
