"""Measure musical control on a music model (issue 13): attribute vectors and the learned
prior are computed from the training data and stored beside the model, then

- the attribute table: for held-out examples, add each vector (amount 1) and measure the
  relative change of every attribute against the unshifted reconstructions (a heat map
  PNG), and how much of the unshifted decoding each shift keeps;
- the prior table: sample statistics of samples from N(0, I) and from the learned prior
  beside the held-out examples, and how well the model reconstructs its own samples.

    python scripts/music_control.py cat-mel_2bar_small --n 1000 --out docs/images
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gen
from gen.core.files import write_text
from gen.core.prior import fit_prior
from gen.music.attributes import (
    attribute_table,
    calibrate_prior,
    compute_vectors,
    heatmap,
    prior_table,
    training_examples,
)


def main() -> None:
    """Compute, store and measure; print the tables as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--data", default=None, help="dataset (default: the model's own)")
    ap.add_argument("--train-limit", type=int, default=20000,
                    help="training examples for the vectors and the prior")
    ap.add_argument("--n", type=int, default=1000, help="held-out examples and samples")
    ap.add_argument("--components", type=int, default=32, help="mixture components")
    ap.add_argument("--temperature", type=float, default=0.5)
    ap.add_argument("--out", default="out/control")
    ap.add_argument("--skip-fit", action="store_true", help="use the stored vectors/prior")
    args = ap.parse_args()
    model = gen.load(args.model)
    name = Path(args.model).name
    t0 = time.time()
    report: dict = {"model": name}
    if not args.skip_fit:
        train, src = training_examples(model, args.data, "train", args.train_limit)
        report["vectors"] = compute_vectors(model, train, src)
        meta = fit_prior(model, train, src, args.components)
        report["prior"] = calibrate_prior(model, train, meta)
    test, _ = training_examples(model, args.data, "test", args.n)
    tab = attribute_table(model, test)
    report["attribute_table"] = tab
    out = Path(args.out)
    heatmap(tab, out / f"attributes-{name}.png",
            f"{name}: relative change of each attribute (columns) when a vector (rows) is "
            f"added, {tab['examples']} test examples")
    report["prior_table"] = prior_table(model, test, args.n, args.temperature)
    report["seconds"] = round(time.time() - t0, 1)
    text = json.dumps(report, indent=2)
    write_text(out / f"control-{name}.json", text + "\n")
    print(text)


if __name__ == "__main__":
    main()
