"""A trainer that knows nothing about heads (in the spirit of minGPT's trainer).

Contract with the model and the data:
- ``model(batch, step=step)`` returns a dict of scalar tensors with at least ``"loss"``;
  other entries (``kl``, ``nll`` ...) are averaged into logs and shown in the progress bar.
- a dataset has ``len(ds)`` and ``ds[indices]`` (indices: LongTensor (B,)) returning the batch:
  a Tensor or a tuple of Tensors, first dimension B.

Features: Adam, learning-rate decay, gradient clipping, periodic evaluation, atomic
checkpoints and resume, seeded runs, a tqdm progress bar, metrics appended as JSON lines,
and DistributedDataParallel when launched by ``torchrun`` (gloo on CPU, nccl on GPU; only
rank 0 writes files).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler
from tqdm.auto import tqdm

from gen.core.checkpoint import load_training_state, save_training_state
from gen.core.errors import CheckpointError, ConfigError
from gen.core.evaluate import means, per_example, to_device
from gen.core.files import write_text

CHECKPOINT_NAME = "checkpoint.safetensors"
METRICS_NAME = "metrics.jsonl"


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; saved into the checkpoint so a resumed run is the same run."""

    steps: int = 10_000  # optimiser steps in total (not epochs: resumable and world-size free)
    batch_size: int = 128  # per process
    lr: float = 1e-3  # Adam learning rate at step 0
    lr_decay: str = "cosine"  # "none", "cosine" (to min_lr at `steps`) or "exp" (MusicVAE style)
    lr_decay_rate: float = 0.9999  # per-step factor for "exp"
    min_lr: float = 1e-5  # floor of the decayed learning rate
    weight_decay: float = 0.0
    grad_clip: float = 1.0  # max global grad norm; 0 disables (MusicVAE clips at 1.0)
    eval_every: int = 1000  # steps between evaluations on the eval set
    eval_batches: int = 20  # batches per evaluation, from a fixed random subset (0: whole set)
    ckpt_every: int = 1000  # steps between resumable checkpoints
    log_every: int = 50  # steps between JSONL metric lines
    seed: int = 0
    # early stopping: an eval metric (lower is better, e.g. "elbo"); each evaluation that
    # improves it writes the model to OUT/best/, which `gen ship` and the verbs then use
    keep_best: str = ""
    # the step a fresh run starts at: continuing a model whose checkpoint is gone (``--init``
    # with its step) picks up the learning rate, KL warm-up and scheduled sampling there
    first_step: int = 0
    device: str = "auto"  # "auto" (cuda if present), "cpu", "cuda"

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "ckpt_every", "log_every"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        if not (self.lr > 0 and self.min_lr >= 0 and self.weight_decay >= 0
                and self.grad_clip >= 0 and self.eval_batches >= 0):
            raise ConfigError("train: lr must be > 0 and min_lr, weight_decay, grad_clip, "
                              "eval_batches >= 0")
        if not 0 <= self.first_step < self.steps:
            raise ConfigError(f"train.first_step must be in 0..steps-1 ({self.steps - 1}), got "
                              f"{self.first_step}")
        if self.lr_decay not in ("none", "cosine", "exp"):
            raise ConfigError(f"train.lr_decay must be 'none', 'cosine' or 'exp', got "
                              f"{self.lr_decay!r}")
        if not 0 < self.lr_decay_rate <= 1:
            raise ConfigError(f"train.lr_decay_rate must be in (0, 1], got {self.lr_decay_rate}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"train.device must be 'auto', 'cpu' or 'cuda', got "
                              f"{self.device!r}")

    def lr_at(self, step: int) -> float:
        """Learning rate at optimisation step ``step``."""
        if self.lr_decay == "none":
            return self.lr
        if self.lr_decay == "exp":
            return max(self.min_lr, self.lr * self.lr_decay_rate**step)
        if self.lr_decay == "cosine":
            frac = min(1.0, step / max(1, self.steps))
            return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1 + math.cos(math.pi * frac))
        raise ConfigError(f"train.lr_decay must be 'none', 'cosine' or 'exp', got "
                          f"{self.lr_decay!r}")


class Trainer:
    """Train ``model`` on ``train_data``; checkpoint, metrics and final model go to ``out_dir``.

    Args:
        model: an ``nn.Module`` following the contract above (and, for the final export,
            having ``save_pretrained``).
        train_data, eval_data: datasets following the contract above (eval may be None).
        config: optimisation settings.
        out_dir: run directory. ``checkpoint.safetensors`` there is resumed from.
        eval_fn: optional ``eval_fn(model, step) -> dict`` with extra metrics, run on rank 0.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        train_data: Any,
        eval_data: Any,
        config: TrainConfig,
        out_dir: str | Path,
        eval_fn: Callable[[torch.nn.Module, int], dict[str, float]] | None = None,
        progress: bool = True,
    ) -> None:
        self.cfg = config
        self.out_dir = Path(out_dir)
        self.eval_fn = eval_fn
        self.progress = progress
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.distributed = self.world_size > 1
        if self.distributed and not dist.is_initialized():
            backend = "nccl" if torch.cuda.is_available() and config.device != "cpu" else "gloo"
            dist.init_process_group(backend)
        self.rank = dist.get_rank() if self.distributed else 0
        self.device = self._pick_device()
        if self.distributed and self.device.type == "cpu":
            local = int(os.environ.get("LOCAL_WORLD_SIZE", self.world_size))
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
        torch.manual_seed(config.seed)  # identical init on every rank
        self.model = model.to(self.device)
        self.train_data, self.eval_data = train_data, eval_data
        self.opt = torch.optim.Adam(
            self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        self.step = 0
        self.best: dict[str, Any] | None = None  # {"metric", "value", "step"} of OUT/best/
        self._seconds_before, self._t0 = 0.0, time.time()
        self.wrapped: torch.nn.Module = self.model
        if self.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.wrapped = DDP(self.model, device_ids=ids)
        self.sampler = DistributedSampler(
            range(len(train_data)),
            num_replicas=self.world_size,
            rank=self.rank,
            shuffle=True,
            seed=config.seed,
            drop_last=True,
        )
        self.steps_per_epoch = len(self.sampler) // config.batch_size
        if self.steps_per_epoch < 1:
            raise ValueError(
                f"batch_size {config.batch_size} x {self.world_size} process(es) exceeds the "
                f"{len(train_data)} training examples"
            )

    # ---------------------------------------------------------------- helpers
    def _pick_device(self) -> torch.device:
        want = self.cfg.device
        if want == "auto":
            want = "cuda" if torch.cuda.is_available() else "cpu"
        if want == "cuda":
            local_rank = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local_rank)
            return torch.device("cuda", local_rank)
        return torch.device(want)

    @property
    def checkpoint_path(self) -> Path:
        return self.out_dir / CHECKPOINT_NAME

    def _batches(self, start_step: int) -> Iterator[Any]:
        """Endless batches; epoch e uses the sampler's seed+e order, so resume is exact."""
        bs = self.cfg.batch_size
        epoch, offset = divmod(start_step, self.steps_per_epoch)
        while True:
            self.sampler.set_epoch(epoch)
            order = torch.tensor(list(iter(self.sampler)), dtype=torch.long)
            for i in range(offset, self.steps_per_epoch):
                yield self.train_data[order[i * bs : (i + 1) * bs]]
            epoch, offset = epoch + 1, 0

    def _log(self, record: dict[str, Any]) -> None:
        if self.rank != 0:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.out_dir / METRICS_NAME, "a") as f:
            f.write(json.dumps(record) + "\n")

    def train_seconds(self) -> float:
        """Wall-clock seconds spent in ``fit`` over this run, resumed sessions included."""
        return self._seconds_before + time.time() - self._t0

    # ---------------------------------------------------------------- checkpoints
    def save_checkpoint(self) -> None:
        """Atomically write model, optimiser and RNG state (rank 0 only)."""
        if self.rank != 0:
            return
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        opt_state = self.opt.state_dict()
        for pid, st in opt_state["state"].items():
            for k, v in st.items():
                tensors[f"optim.{pid}.{k}"] = torch.as_tensor(v)
        tensors["rng.torch"] = torch.get_rng_state()
        meta = {
            "step": self.step,
            "train_seconds": round(self.train_seconds(), 2),
            "train_config": asdict(self.cfg),
            "param_groups": opt_state["param_groups"],
            "world_size": self.world_size,
            "best": self.best,
        }
        save_training_state(self.checkpoint_path, tensors, meta)

    def load_checkpoint(self) -> None:
        """Restore model, optimiser, RNG and step from ``checkpoint.safetensors``."""
        tensors, meta = load_training_state(self.checkpoint_path)
        model_sd = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        try:
            self.model.load_state_dict(model_sd)
        except RuntimeError as e:
            raise CheckpointError(
                f"{self.checkpoint_path}: weights do not fit this model ({e})"
            ) from e
        state: dict[int, dict[str, torch.Tensor]] = {}
        for k, v in tensors.items():
            if k.startswith("optim."):
                _, pid, name = k.split(".", 2)
                state.setdefault(int(pid), {})[name] = v
        self.opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
        torch.set_rng_state(tensors["rng.torch"])
        self.step = int(meta["step"])
        self.best = meta.get("best")
        self._seconds_before = float(meta.get("train_seconds", 0.0))

    # ---------------------------------------------------------------- evaluation
    def evaluate(self) -> dict[str, float]:
        """Example-weighted means of the model's outputs over (part of) the eval set."""
        if self.eval_data is None:
            return {}
        self.model.eval()
        try:
            res = per_example(lambda batch: self.model(batch, step=self.step), self.eval_data,
                              self.cfg.batch_size, self.cfg.eval_batches, device=self.device)
        finally:
            self.model.train()
        return means(res)

    # ---------------------------------------------------------------- main loop
    def fit(self, resume: bool = True) -> dict[str, float]:
        """Run until ``config.steps``; returns the last evaluation metrics."""
        cfg = self.cfg
        if resume and self.checkpoint_path.exists():
            self.load_checkpoint()
        else:
            torch.manual_seed(cfg.seed + self.rank)
            self.step = cfg.first_step
        self.model.train()
        batches = self._batches(self.step)
        bar = tqdm(
            total=cfg.steps,
            initial=self.step,
            disable=not self.progress or self.rank != 0,
            desc=f"train {self.out_dir.name}",
            dynamic_ncols=True,
            mininterval=1.0,
        )
        running: dict[str, float] = {}
        n_running = 0
        self._t0 = time.time()
        last_eval: dict[str, float] = {}
        while self.step < cfg.steps:
            lr = cfg.lr_at(self.step)
            for g in self.opt.param_groups:
                g["lr"] = lr
            batch = to_device(next(batches), self.device)
            out = self.wrapped(batch, step=self.step)
            loss = out["loss"]
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {float(loss)} at step {self.step}")
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            gnorm = (
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                if cfg.grad_clip > 0
                else torch.tensor(0.0)
            )
            self.opt.step()
            self.step += 1
            for k, v in out.items():
                running[k] = running.get(k, 0.0) + float(v.detach())
            n_running += 1
            bar.update(1)
            if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                means = {k: v / n_running for k, v in running.items()}
                bar.set_postfix({k: f"{means[k]:.3g}" for k in ("loss", "kl") if k in means})
                self._log(
                    {
                        "step": self.step,
                        "split": "train",
                        "lr": lr,
                        "grad_norm": float(gnorm),
                        "time_s": round(self.train_seconds(), 2),
                        **means,
                    }
                )
                running, n_running = {}, 0
            if self.rank == 0 and (self.step % cfg.eval_every == 0 or self.step == cfg.steps):
                last_eval = self.evaluate()
                if self.eval_fn is not None:
                    last_eval.update(self.eval_fn(self.model, self.step))
                self._log({"step": self.step, "split": "eval", **last_eval})
                self._keep_best(last_eval)
                bar.write(
                    f"step {self.step}: " + ", ".join(f"{k}={v:.4g}" for k, v in last_eval.items())
                )
            if self.step % cfg.ckpt_every == 0 or self.step == cfg.steps:
                self.save_checkpoint()
        bar.close()
        return last_eval

    def _keep_best(self, metrics: dict[str, float]) -> None:
        """Write OUT/best/ when the ``keep_best`` metric improved (rank 0)."""
        key = self.cfg.keep_best
        if not key or self.rank != 0:
            return
        if key not in metrics:
            raise ConfigError(f"train.keep_best: the evaluation has no metric {key!r} "
                              f"(it has {', '.join(sorted(metrics))})")
        value = float(metrics[key])
        if self.best is None or value < self.best["value"]:
            self.best = {"metric": key, "value": value, "step": self.step}
            self.export(self.out_dir / "best")
            write_text(self.out_dir / "best" / "best.json", json.dumps(self.best))

    def close(self) -> None:
        """End a multi-process run: wait for every rank, then tear the process group down.

        A rank that exits while its gloo process group still lives can abort at exit
        ("terminate called without an active exception"), so every run calls this last.
        """
        if self.distributed and dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()

    def export(self, path: str | Path) -> None:
        """Write the trained model with ``save_pretrained`` (rank 0 only)."""
        if self.rank == 0:
            self.model.cpu().save_pretrained(path)
            self.model.to(self.device)
