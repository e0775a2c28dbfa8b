"""The `gen` command. Every verb calls the public Python API; none re-implements model logic.

gen list                                   shipped models and trainable configs
gen train mnist-vae --out runs/mnist-vae   train (resumes); torchrun-compatible
gen eval mnist-vae --k 1000                metrics on the MNIST test set
gen sample mnist-vae --n 64 --out out/     sample grid PNG
gen interpolate mnist-vae --a 3 --b 8      interpolation strip PNG
gen plot mnist-vae-2d --out out/           reconstructions, samples, maps ...
gen demo --out out/demo                    pictures from every shipped model
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from gen.core.errors import GenError

EPILOG = "Models are shipped names (see `gen list`) or directories written by save_pretrained."


def _image_model(name: str):  # noqa: ANN202
    import gen
    from gen.image.model import ImageModel

    model = gen.load(name)
    if not isinstance(model, ImageModel):
        raise GenError(f"{name!r} is not an image model; use the music-* verbs for music models")
    return model


def cmd_list(args: argparse.Namespace) -> None:
    """Print shipped models and registered training configs."""
    import gen
    from gen.core.registry import recipes

    print("shipped models (gen.load(name)):")
    for name in gen.available():
        print(f"  {name}")
    print("training configs (gen train NAME):")
    for name, rec in sorted(recipes().items()):
        print(f"  {name:28s} {rec.description}")


def cmd_train(args: argparse.Namespace) -> None:
    """Train a named config; resumable, and runs under torchrun for several processes."""
    import gen

    data = {}
    if args.train_file:
        data = {"dataset": "file", "train_path": args.train_file, "test_path": args.test_file}
    t0 = time.time()
    out = gen.train(args.config, args.out, steps=args.steps, resume=not args.no_resume, **data)
    print(f"model written to {out} ({time.time() - t0:.0f} s)")


def cmd_eval(args: argparse.Namespace) -> None:
    """Evaluate an image model on the MNIST test set and print JSON metrics."""
    from gen.image.data import load_mnist
    from gen.image.evaluate import evaluate_image_model

    model = _image_model(args.model)
    train, test = load_mnist("train"), load_mnist("test", args.limit)
    t0 = time.time()
    res = evaluate_image_model(model, train, test, k=args.k)
    res["eval_seconds"] = round(time.time() - t0, 1)
    text = json.dumps(res, indent=2)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")


def cmd_sample(args: argparse.Namespace) -> None:
    """Write a grid of samples from a VAE."""
    from gen.image.plots import save_grid

    model = _image_model(args.model)
    imgs = model.sample(args.n, args.temperature, args.seed)
    p = save_grid(
        imgs,
        Path(args.out) / "samples.png",
        cols=args.cols,
        title=f"{args.n} samples, T={args.temperature}, seed={args.seed}",
    )
    print(p)


def cmd_interpolate(args: argparse.Namespace) -> None:
    """Interpolate between two MNIST test digits (by index) and write a strip."""
    from gen.image.data import load_mnist
    from gen.image.plots import save_grid

    model = _image_model(args.model)
    x, y = load_mnist("test")
    for i in (args.a, args.b):
        if not 0 <= i < len(x):
            raise GenError(f"test index {i} out of range 0..{len(x) - 1}")
    a, b = x[args.a : args.a + 1], x[args.b : args.b + 1]
    if model.config.kind == "sr":
        a, b = model.corrupt(a), model.corrupt(b)
    strip = model.interpolate(a, b, steps=args.steps, method=args.method)
    p = save_grid(
        strip,
        Path(args.out) / "interpolation.png",
        cols=args.steps,
        title=f"{args.method}: test #{args.a} (digit {int(y[args.a])}) -> "
        f"#{args.b} (digit {int(y[args.b])})",
    )
    print(p)


def cmd_plot(args: argparse.Namespace) -> None:
    """Write the standard pictures of a model."""
    from gen.image.plots import PLOTS, make_plots

    model = _image_model(args.model)
    what = tuple(args.what) if args.what else PLOTS
    for p in make_plots(model, args.out, what, name=Path(str(args.model)).name, seed=args.seed):
        print(p)


def cmd_demo(args: argparse.Namespace) -> None:
    """Load every shipped image model and write its pictures (the README's main job)."""
    import gen
    from gen.image.plots import make_plots

    names = [n for n in gen.available() if n.startswith("mnist")]
    if not names:
        raise GenError("no shipped image models found in gen/pretrained")
    for name in names:
        for p in make_plots(_image_model(name), args.out, name=name):
            print(p)


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the `gen` command."""
    p = argparse.ArgumentParser(
        prog="gen", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    s = sub.add_parser("list", help="list shipped models and training configs")
    s.set_defaults(fn=cmd_list)

    s = sub.add_parser(
        "train",
        help="train a named config (resumes from OUT/checkpoint)",
        description="Train a named config from `gen list`. Writes OUT/checkpoint"
        ".safetensors (atomic, resumed on restart), OUT/metrics.jsonl and finally "
        "OUT/model/. For several processes: torchrun --standalone "
        "--nproc_per_node=2 -m gen train CONFIG --out OUT.",
    )
    s.add_argument("config", help="config name, e.g. mnist-vae")
    s.add_argument("--out", required=True, help="run directory")
    s.add_argument("--steps", type=int, help="override the number of optimiser steps")
    s.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint")
    s.add_argument("--train-file", help="train on 28x28 images from an IDX or npz file")
    s.add_argument("--test-file", help="evaluate on images from this IDX or npz file")
    s.set_defaults(fn=cmd_train)

    s = sub.add_parser(
        "eval",
        help="evaluate an image model on MNIST test",
        epilog=EPILOG,
        description="VAEs: negative ELBO and importance-sampled NLL in nats on "
        "binarised test digits. AE/DAE/SR: MSE and PSNR (with noisy-input or "
        "bicubic baselines). All: codes vs PCA (reconstruction MSE, 5-NN accuracy).",
    )
    s.add_argument("model")
    s.add_argument("--k", type=int, default=1000, help="importance samples (default 1000)")
    s.add_argument("--limit", type=int, help="evaluate on the first N test images only")
    s.add_argument("--json", help="also write the metrics to this file")
    s.set_defaults(fn=cmd_eval)

    s = sub.add_parser("sample", help="sample grid from a VAE", epilog=EPILOG)
    s.add_argument("model")
    s.add_argument("--n", type=int, default=64)
    s.add_argument("--cols", type=int, default=8)
    s.add_argument("--temperature", type=float, default=1.0, help="std of the prior draws")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", default="out", help="output folder (writes samples.png)")
    s.set_defaults(fn=cmd_sample)

    s = sub.add_parser(
        "interpolate", help="interpolation strip between two test digits", epilog=EPILOG
    )
    s.add_argument("model")
    s.add_argument("--a", type=int, default=0, help="MNIST test index of the start")
    s.add_argument("--b", type=int, default=1, help="MNIST test index of the end")
    s.add_argument("--steps", type=int, default=10, help="images in the strip, endpoints included")
    s.add_argument("--method", choices=("lerp", "slerp"), default="slerp")
    s.add_argument("--out", default="out", help="output folder (writes interpolation.png)")
    s.set_defaults(fn=cmd_interpolate)

    s = sub.add_parser(
        "plot", help="reconstructions, samples, interpolation, 2-d maps", epilog=EPILOG
    )
    s.add_argument("model")
    s.add_argument("--what", nargs="*", help="subset of: recon samples interp map scatter")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", default="out", help="output folder")
    s.set_defaults(fn=cmd_plot)

    s = sub.add_parser("demo", help="pictures from every shipped image model")
    s.add_argument("--out", default="out/demo")
    s.set_defaults(fn=cmd_demo)

    try:
        from gen.music.cli import add_music_commands
    except ImportError:
        pass
    else:
        add_music_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `gen` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status = args.fn(args)
    except GenError as e:
        print(f"gen {args.cmd}: error: {e}", file=sys.stderr)
        return 2
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
