"""Reading and writing weights: safetensors + JSON only, every write atomic.

- ``save_pretrained`` / ``load_pretrained``: a directory with ``config.json`` and
  ``model.safetensors`` (the shipped-model format).
- ``save_training_state`` / ``load_training_state``: one safetensors file holding model
  weights, optimiser moments and RNG state, with step and metadata as JSON in its header.
Never pickle: a checkpoint can carry only tensors and JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from gen.core.errors import CheckpointError
from gen.core.files import DIR_MODE, atomic_write

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def save_pretrained_dir(
    path: str | Path,
    config: dict[str, Any],
    state_dict: dict[str, torch.Tensor],
    extra_files: dict[str, str] | None = None,
) -> Path:
    """Write ``config.json`` + ``model.safetensors`` (+ text extras) into directory ``path``.

    The directory is assembled under a temporary name and swapped in, so a crash never leaves
    a half-written model where a complete one (or none) was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    os.chmod(tmp, DIR_MODE)  # mkdtemp makes 0700; a model folder is an ordinary folder
    try:
        tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
        save_file(tensors, str(tmp / WEIGHTS_NAME), metadata={"format": "pt"})
        (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text)
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load_pretrained_dir(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read (config dict, state dict) from a ``save_pretrained_dir`` directory.

    Raises CheckpointError naming the missing or corrupt file.
    """
    path = Path(path)
    cfg_file, w_file = path / CONFIG_NAME, path / WEIGHTS_NAME
    for f in (cfg_file, w_file):
        if not f.is_file():
            raise CheckpointError(
                f"{f}: missing; a model directory needs {CONFIG_NAME} and {WEIGHTS_NAME}"
            )
    try:
        config = json.loads(cfg_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{cfg_file}: not valid JSON ({e})") from e
    if not isinstance(config, dict):
        raise CheckpointError(f"{cfg_file}: expected a JSON object, got {type(config).__name__}")
    try:
        state = load_file(str(w_file))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{w_file}: not a readable safetensors file ({e})") from e
    return config, state


def save_training_state(
    path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    """Atomically write a resumable training checkpoint (tensors + JSON metadata)."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    header = {"meta": json.dumps(meta)}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=header), fsync=True)


def load_training_state(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a file written by ``save_training_state`` -> (tensors, meta)."""
    from safetensors import safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})["meta"])
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, KeyError, ValueError) as e:
        raise CheckpointError(f"{path}: not a readable training checkpoint ({e})") from e
    return tensors, meta
