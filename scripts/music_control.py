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
    if model.pretrained_dir is not None and (model.pretrained_dir / "card.md").is_file():
        update_card(model.pretrained_dir / "card.md", card_section(report))
    print(text)


START, END = "<!-- musical control: scripts/music_control.py -->", "<!-- end of musical control -->"


def card_section(report: dict) -> str:
    """The model card's "Musical control" section: what the vectors and the learned prior
    do, from the tables just measured."""
    tab, pt = report["attribute_table"], report["prior_table"]
    change, kept = tab["relative_change"], tab["agreement_with_unshifted"]
    own = ", ".join(f"{k.replace('_', ' ')} {change[k][k]:+.0%}"
                    for k in change if k in change[k])
    keep = f"{min(kept.values()):.0%}-{max(kept.values()):.0%}"
    rows = pt["rows"]
    held = rows["held-out"]
    keys = [k for k in ("note_density", "pitch_range", "mean_interval", "in_key") if k in held]
    options = (f" --components {report['prior']['components']} --n {pt['n']}"
               if "prior" in report else f" --skip-fit --n {pt['n']}")
    lines = [START, "## Musical control", "",
             f"Measured by `python scripts/music_control.py {report['model']}{options}` on "
             f"{tab['examples']} test examples and {pt['n']} samples per prior at temperature "
             f"{pt['temperature']:g}.", "",
             "**Attribute vectors** (`attributes.safetensors`; `model.shift`): each vector, "
             f"added once, moves its own attribute by: {own}. The shifted pieces keep {keep} "
             "of the unshifted reconstruction's tokens (frames for piano rolls).", "",
             "**Samples by prior** (`sample(prior=...)`; `prior.safetensors` holds the "
             "learned mixture and its calibrated spread):", "",
             "| source | " + " | ".join(k.replace("_", " ") for k in keys)
             + " | self-reconstruction |",
             "|---|" + "---|" * (len(keys) + 1)]
    for label, row in rows.items():
        cells = [f"{row[k]:.3g}" if label == "held-out" else
                 f"{row[k]:.3g} ({row[k] / held[k] - 1:+.0%})" for k in keys]
        rec = f"{row['self_reconstruction']:.3f}" if "self_reconstruction" in row else ""
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {rec} |")
    return "\n".join(lines + ["", END])


def update_card(path: Path, section: str) -> None:
    """Put ``section`` into the card at ``path``, replacing an earlier one."""
    text = path.read_text()
    if START in text and END in text:
        text = text[:text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    write_text(path, text)


if __name__ == "__main__":
    main()
