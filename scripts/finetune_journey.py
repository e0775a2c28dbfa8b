"""A musician's journey, measured end to end: a folder of your own MIDI, prepared, then a
shipped melody model fine-tuned on it from the command line, evaluated before and after.

    python scripts/bach_soprano_midi.py runs/bach_midi        # "your own MIDI" (Bach sopranos)
    python scripts/finetune_journey.py runs/bach_midi --steps 300 --out runs/journey

Each step is the `gen` command a user types (run here as a subprocess and timed):

1. ``gen data music --midi FOLDER --out OUT/data --bars 2`` (split 90/5/5 by file);
2. ``gen eval MODEL --data OUT/data --json OUT/before.json`` (held-out test split);
3. ``gen train RECIPE --data OUT/data --init MODEL --steps N --out OUT/ft``;
4. ``gen eval OUT/ft/model --data OUT/data --json OUT/after.json``.

Then the style of the folder against what each model samples: note density, pitch range,
mean interval and the fraction of notes in key of the held-out windows, and of ``--samples``
prior samples (T=0.5) from the model before and after. Everything goes to OUT/journey.json
and a Markdown table to stdout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def _gen(*argv: str) -> float:
    """Run one `gen` command (its output shown); returns its wall time in seconds."""
    print("$ gen " + " ".join(argv), flush=True)
    t0 = time.time()
    subprocess.run([sys.executable, "-m", "gen", *argv], check=True)
    return round(time.time() - t0, 1)


def main() -> None:
    """Run the four commands, then compare sample statistics; print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("midi", type=Path, help="a folder of MIDI files")
    ap.add_argument("--model", default="cat-mel_2bar_small", help="shipped model to tune")
    ap.add_argument("--recipe", default=None, help="its config (default: the model's name)")
    ap.add_argument("--steps", type=int, default=300, help="fine-tuning steps")
    ap.add_argument("--samples", type=int, default=500, help="prior samples per model")
    ap.add_argument("--out", type=Path, default=Path("runs/journey"))
    args = ap.parse_args()

    import numpy as np

    import gen
    from gen.music.attributes import sample_statistics, training_examples

    out = args.out
    data, ft = out / "data", out / "ft"
    bars = str(gen.load(args.model).config.bars)
    seconds = {
        "prepare": _gen("data", "music", "--midi", str(args.midi), "--out", str(data),
                        "--bars", bars),
        "eval_before": _gen("eval", args.model, "--data", str(data), "--json",
                            str(out / "before.json")),
        "fine_tune": _gen("train", args.recipe or args.model, "--data", str(data), "--init",
                          args.model, "--steps", str(args.steps), "--out", str(ft),
                          "--no-resume"),
        "eval_after": _gen("eval", str(ft / "model"), "--data", str(data), "--json",
                           str(out / "after.json")),
    }
    evals = {k: json.loads((out / f"{k}.json").read_text()) for k in ("before", "after")}
    held_out, _ = training_examples(gen.load(args.model), str(data), "test")
    style = {"held-out windows": sample_statistics(gen.load(args.model), held_out)}
    for key, name in (("before", args.model), ("after", str(ft / "model"))):
        model = gen.load(name)
        samples = np.concatenate([model.sample(min(100, args.samples - s), temperature=0.5,
                                               seed=s)
                                  for s in range(0, args.samples, 100)])
        style[f"samples {key}"] = sample_statistics(model, samples)
    stats = json.loads((data / "stats.json").read_text())
    report = {"model": args.model, "steps": args.steps, "folder": str(args.midi),
              "files": stats["tunes"], "windows": stats["windows"][bars]["total"],
              "seconds": seconds, "eval": evals, "style": style}
    (out / "journey.json").write_text(json.dumps(report, indent=2) + "\n")

    print(f"\n{args.model} fine-tuned for {args.steps} steps on {args.midi} "
          f"({stats['tunes']['read']} files; windows {report['windows']})\n")
    print("| | sampled accuracy | teacher-forced | NLL (nats/window) | KL (bits) |")
    print("|---|---|---|---|---|")
    for key in ("before", "after"):
        e = evals[key]
        print(f"| {key} | {e['sampled_accuracy']:.4f} | {e['tf_accuracy']:.4f} | "
              f"{e['nll_nats']:.3f} | {e['kl_bits']:.1f} |")
    print("\n| | note density | pitch range | mean interval | in key |")
    print("|---|---|---|---|---|")
    for key, s in style.items():
        print(f"| {key} | {s['note_density']:.3f} | {s['pitch_range']:.1f} | "
              f"{s['mean_interval']:.2f} | {s['in_key']:.3f} |")
    print("\nwall seconds: " + ", ".join(f"{k} {v:g}" for k, v in seconds.items()))


if __name__ == "__main__":
    main()
