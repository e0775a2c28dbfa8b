"""Multi-process training: the same command under torchrun with DDP over gloo."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from safetensors import safe_open

import gen


def test_two_process_torchrun(tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "gen",
        "train",
        "debug-mnist-vae",
        "--out",
        str(out),
        "--steps",
        "40",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with safe_open(str(out / "checkpoint.safetensors"), framework="pt") as f:
        meta = json.loads(f.metadata()["meta"])
    assert meta["world_size"] == 2 and meta["step"] == 40
    # only rank 0 logs: one line per logging step, no duplicates
    steps = [
        json.loads(line)["step"]
        for line in (out / "metrics.jsonl").read_text().splitlines()
        if json.loads(line)["split"] == "train"
    ]
    assert steps == [10, 20, 30, 40]
    model = gen.load(out / "model")
    assert model.sample(2).shape == (2, 1, 28, 28)
