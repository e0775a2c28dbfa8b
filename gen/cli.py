"""The `gen` command: generic verbs that work for every model. Each verb calls the public API
and the model's head io (gen.<head>.io: read inputs, write outputs); none re-implements model
logic. Only argument parsing happens at import time, so `gen --help` needs no torch.

gen list                                        shipped models and trainable configs
gen train CONFIG --out DIR [--set lr=3e-4] [--data DIR] [--init MODEL]
gen eval MODEL                                  the head's held-out metrics
gen sample MODEL --n 8 --out out/               samples (+ MIDI, audio, piano roll for music)
gen reconstruct MODEL [INPUT ...] --out out/
gen interpolate MODEL A B --steps 8 --out out/
gen grid MODEL TL TR BL BR --rows 4 --cols 4 --out out/
gen ship RUN NAME                               float16 export, evaluation, card
gen data music [--midi FOLDER] --out DIR        prepare a music dataset (cached windows)
gen extract FILE_OR_FOLDER ... [--track N]      the melody windows MIDI files yield: the track
                                                used, repairs, cuts, and why none
gen plot MODEL --out out/                       the model's standard pictures
gen attributes MODEL / gen prior MODEL          music: attribute vectors / learned prior,
                                                stored beside the model
gen shift MODEL [INPUT ...] --attribute NAME[=AMOUNT]
                                                move music along attribute vectors
gen sample MODEL --prior learned                samples from the learned prior

Counts, steps, sizes and tempi are bounded (gen/core/limits.py); a value outside its range is
a usage error (status 2) that names the argument, the value and the range.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from gen.core import limits as L
from gen.core.errors import GenError

MODEL_HELP = "a shipped model name (see `gen list`) or a folder written by save_pretrained"
INPUT_HELP = ("inputs: for image models an MNIST test index, a picture or a .npy array; for "
              "music models a shipped example number, a MIDI file (FILE.mid#N: window N) or "
              "a .npy token array")


# ----------------------------------------------------------------------------- helpers
def _model(name: str) -> Any:
    import gen

    return gen.load(name)


def _io(model: Any) -> Any:
    from gen.core.registry import head_of

    return head_of(model).io_module()


def _out(args: argparse.Namespace) -> Path:
    from gen.core.files import output_dir

    return output_dir(args.out)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {k: getattr(args, k) for k in ("cols", "bpm", "program", "gap_bars", "audio", "plot")
            if hasattr(args, k)}


def _check_out(path: str | None) -> None:
    """Refuse an output path that is a file or lies in a folder that cannot be written,
    before any work (nothing is created here)."""
    if not path:
        return
    p = Path(path)
    shown = L.clip(str(p), 100)
    if p.exists() and not p.is_dir():
        raise GenError(f"--out {shown}: exists and is not a folder")
    anc = p
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        raise GenError(f"--out {shown}: {L.clip(str(anc), 100)} is a file, not a folder")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise GenError(f"--out {shown}: the folder {L.clip(str(anc), 100)} is not writable")


def _read(model: Any, specs: list[str], args: argparse.Namespace) -> Any:
    """The head io's ``read`` of input specs, with the head-specific options that were set."""
    if len(specs) > L.MAX_INPUTS:
        raise GenError(f"inputs: {len(specs):,} given; at most {L.MAX_INPUTS} per call "
                       "(gen.core.limits.MAX_INPUTS)")
    io = _io(model)
    return io.read(model, specs, **_head_kwargs(io.read, {"track": getattr(args, "track", None)},
                                                model))


def _precheck(model: Any, count: int, args: argparse.Namespace) -> None:
    """Refuse output options that would exceed a budget (e.g. the audio length) before the
    model runs: the head io's ``check_output(model, count, options)``, when it has one."""
    check = getattr(_io(model), "check_output", None)
    if check is not None:
        check(model, count, _options(args))


def _write(model: Any, outputs: Any, args: argparse.Namespace, stem: str,
           titles: list[str]) -> None:
    for p in _io(model).write(model, outputs, _out(args), stem, titles, _options(args)):
        print(f"wrote {p}")


def _stack(inputs: Any, outputs: Any) -> Any:
    """Inputs above outputs when they have the same shape (else the outputs alone)."""
    import numpy as np
    import torch

    if isinstance(inputs, list) or isinstance(outputs, list):  # pieces of several lengths
        return list(inputs) + list(outputs)
    if tuple(inputs.shape[1:]) != tuple(outputs.shape[1:]):
        return outputs
    if isinstance(outputs, torch.Tensor):
        return torch.cat([torch.as_tensor(inputs, dtype=outputs.dtype), outputs])
    return np.concatenate([np.asarray(inputs, dtype=outputs.dtype), outputs])


def _head_kwargs(fn: Any, given: dict[str, Any], model: Any) -> dict[str, Any]:
    """The options of ``given`` that were set, refusing those ``fn`` does not take."""
    params = inspect.signature(fn).parameters
    out = {}
    for k, v in given.items():
        if v is None:
            continue
        if k not in params:
            raise GenError(f"--{k.replace('_', '-')} does not apply to "
                           f"{type(model).__name__} models")
        out[k] = v
    return out


# ----------------------------------------------------------------------------- verbs
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


def _check_recipe(args: argparse.Namespace) -> None:
    """The config with its overrides must build a model within the size limits: checked on
    torch's meta device before any data is read or weight allocated."""
    from gen.core import registry

    rec = registry.get_recipe(args.config)
    if args.init is None:
        rec = registry.apply_overrides(rec, [*args.set, *(
            [f"steps={args.steps}"] if args.steps is not None else [])])
        L.check_model_size(rec.model, f"gen train {rec.name}")


def cmd_train(args: argparse.Namespace) -> None:
    """Train a named config; resumable, and runs under torchrun for several processes."""
    import gen

    _check_recipe(args)
    t0 = time.time()
    out = gen.train(args.config, args.out, steps=args.steps, resume=not args.no_resume,
                    overrides=args.set, data=args.data, init=args.init)
    print(f"model written to {out} ({time.time() - t0:.0f} s)")


def cmd_eval(args: argparse.Namespace) -> None:
    """Evaluate a model with its head's metrics and print them as JSON."""
    from gen.core.registry import head_of

    model = _model(args.model)
    fn = head_of(model).resolve("evaluate")
    kw = _head_kwargs(fn, {"data": args.data, "split": args.split, "limit": args.limit,
                           "k": args.k, "pairs": args.pairs}, model)
    t0 = time.time()
    res = fn(model, **kw)
    res["eval_seconds"] = round(time.time() - t0, 1)
    text = json.dumps(res, indent=2)
    print(text)
    if args.json:
        from gen.core.files import write_text

        write_text(args.json, text + "\n")


def cmd_sample(args: argparse.Namespace) -> None:
    """Sample from the prior and write the results."""
    model = _model(args.model)
    _precheck(model, args.n, args)
    kw = {"prior": args.prior} if args.prior != "normal" else {}
    out = model.sample(n=args.n, temperature=args.temperature, seed=args.seed,
                       prior_scale=args.prior_scale, greedy=args.greedy, **kw)
    how = "greedy" if args.greedy else f"temperature {args.temperature:g}"
    _write(model, out, args, "samples",
           [f"sample {i} ({how}, {args.prior} prior, scale {args.prior_scale:g}, seed "
            f"{args.seed})" for i in range(args.n)])


def _music_model(name: str, verb: str) -> Any:
    model = _model(name)
    if not hasattr(model, "attribute_vectors"):
        raise GenError(f"gen {verb} works on music models; {name} is a "
                       f"{type(model).__name__}")
    return model


def cmd_attributes(args: argparse.Namespace) -> None:
    """Compute the attribute vectors from the training data; store them beside the model."""
    from gen.music.attributes import compute_vectors, training_examples

    model = _music_model(args.model, "attributes")
    if model.pretrained_dir is None:
        raise GenError(f"{args.model}: not a model folder to store the vectors in")
    examples, source = training_examples(model, args.data, "train", args.limit)
    meta = compute_vectors(model, examples, source)
    print(json.dumps(meta, indent=2))
    print(f"wrote {model.pretrained_dir / 'attributes.safetensors'}")


def cmd_prior(args: argparse.Namespace) -> None:
    """Fit the learned prior to the training codes; store it beside the model."""
    from gen.core.prior import fit_prior
    from gen.music.attributes import calibrate_prior, training_examples

    model = _music_model(args.model, "prior")
    if model.pretrained_dir is None:
        raise GenError(f"{args.model}: not a model folder to store the prior in")
    examples, source = training_examples(model, args.data, "train", args.limit)
    meta = fit_prior(model, examples, source, args.components)
    if args.calibrate:
        meta = calibrate_prior(model, examples, meta)
        meta.pop("calibration")  # the search is in prior.json; print the outcome only
    print(json.dumps(meta, indent=2))
    print(f"wrote {model.pretrained_dir / 'prior.safetensors'}")


def cmd_shift(args: argparse.Namespace) -> None:
    """Move inputs along an attribute vector; print the attributes before and after."""
    model = _music_model(args.model, "shift")
    _precheck(model, 2 * max(len(args.inputs), 4), args)
    amounts: dict[str, float] = {}
    for item in args.attribute:  # NAME (takes --amount) or NAME=AMOUNT; vectors add up
        name, eq, value = item.partition("=")
        try:
            amounts[name.strip()] = _number(-10.0, 10.0)(value) if eq else args.amount
        except argparse.ArgumentTypeError as e:
            raise GenError(f"--attribute {L.shown(item)}: the amount {e}") from None
    x = _read(model, args.inputs, args)
    y = model.shift(x, amounts)
    before, after = model.attributes(x), model.attribute_values(y)
    for name in before:
        b, a = before[name], after[name]
        print(f"{name:18s} " + "  ".join(f"{u:.3g} -> {v:.3g}" for u, v in zip(b, a)))
    n = len(x)
    how = " + ".join(f"{v:g} x {k}" for k, v in amounts.items())
    _write(model, _stack(x, y), args, "shift",
           [f"input {i}" for i in range(n)] + [f"input {i} + {how}" for i in range(n)])


def cmd_reconstruct(args: argparse.Namespace) -> None:
    """Encode inputs and decode them again (inputs above, reconstructions below)."""
    model = _model(args.model)
    _precheck(model, 2 * max(len(args.inputs), 4), args)
    x = _read(model, args.inputs, args)
    y = model.reconstruct(x)
    both = _stack(x, y)
    n = len(x)
    titles = ([f"input {i}" for i in range(n)] if len(both) > n else []) + [
        f"reconstruction {i}" for i in range(n)]
    _write(model, both, args, "reconstruction", titles)


def cmd_interpolate(args: argparse.Namespace) -> None:
    """Decode the latent path between two inputs, endpoints included."""
    model = _model(args.model)
    _precheck(model, args.steps, args)
    a, b = _read(model, [args.a], args), _read(model, [args.b], args)
    path = model.interpolate(a, b, steps=args.steps, method=args.method)
    _write(model, path, args, "interpolation",
           [f"step {i} of {args.steps} ({args.method})" for i in range(args.steps)])


def cmd_grid(args: argparse.Namespace) -> None:
    """Decode a rows x cols grid between four corner inputs."""
    model = _model(args.model)
    _precheck(model, args.rows * args.cols, args)
    corners = _read(model, args.corners, args)
    out = model.grid(corners, rows=args.rows, cols=args.cols, method=args.method)
    _write(model, out, args, "grid",
           [f"row {r}, col {c}" for r in range(args.rows) for c in range(args.cols)])


def cmd_ship(args: argparse.Namespace) -> None:
    """Export a run in float16, evaluate the shipped weights, write eval.json and the card."""
    from gen.core.registry import head_of
    from gen.core.ship import model_dir, ship

    dest = Path(args.dest) if args.dest else Path(__file__).parent / "pretrained" / args.name
    model = _model(str(model_dir(args.run)))
    fn = head_of(model).resolve("evaluate")
    kw = _head_kwargs(fn, {"data": args.data, "limit": args.limit, "k": args.k}, model)
    print(f"shipped {ship(args.run, args.name, dest, note=args.note, **kw)}")


def cmd_data(args: argparse.Namespace) -> None:
    """Prepare a dataset: the music head's cached melody windows."""
    from gen.music.dataset import prepare_corpus, prepare_midi
    from gen.music.extract import ExtractionOptions

    split = tuple(args.split)
    if args.midi:
        opts = ExtractionOptions(time_signatures=tuple(args.time_signatures), track=args.track)
    else:
        if args.track is not None:
            raise GenError("--track applies to --midi files; the folk corpus uses every voice")
        opts = ExtractionOptions.musicvae(time_signatures=tuple(args.time_signatures))
    if args.midi:
        if not args.out:
            raise GenError("--out is needed with --midi (the prepared dataset folder)")
        out = prepare_midi(args.midi, args.out, args.workers, opts, tuple(args.bars), split,
                           args.force)
    else:
        out = prepare_corpus(args.out, args.collections, args.limit, args.workers, opts,
                             tuple(args.bars), split, args.force)
    print(f"prepared dataset: {out}")


def cmd_extract(args: argparse.Namespace) -> int:
    """Per-file report of the melody windows a MIDI file or folder yields."""
    import numpy as np

    from gen.core.files import out_file
    from gen.music.extract import ExtractionOptions, extract_file
    from gen.music.midi import find_midi_files

    opts = ExtractionOptions(time_signatures=tuple(args.time_signatures), track=args.track)
    files = [f for p in args.paths for f in find_midi_files(p)]
    reports, windows, owners = [], [], []
    for i, f in enumerate(files):
        wins, rep = extract_file(f, args.bars, opts)[args.bars]
        reports.append(rep.to_dict())
        print(rep.line())
        for line in rep.details():
            print(f"  {line}")
        windows.append(wins)
        owners.extend([i] * len(wins))
    total = sum(len(w) for w in windows)
    empty = sum(1 for r in reports if not r["windows"])
    print(f"{len(files)} file(s): {total} windows of {args.bars} bars; {empty} file(s) "
          "yielded none")
    if args.out:
        from gen.core.files import atomic_write, write_text

        out = _out(args)
        write_text(out_file(out, "extract_report.json"), json.dumps(reports, indent=2) + "\n")
        t = args.bars * 16
        arrays = {"windows": np.concatenate(windows) if total else np.zeros((0, t), np.uint8),
                  "file_index": np.array(owners, dtype=np.int32),
                  "files": np.array([str(f) for f in files], dtype=str)}
        npz = out_file(out, f"windows_{args.bars}bar.npz")
        atomic_write(npz, lambda tmp: np.savez_compressed(tmp, **arrays))
        print(f"wrote {out / 'extract_report.json'} and {npz}")
    return 0 if total else 1


def cmd_plot(args: argparse.Namespace) -> None:
    """The model's standard pictures (reconstructions, samples, maps; piano rolls)."""
    for name in args.models or []:
        model = _model(name)
        out = _out(args) / Path(name).name if len(args.models) > 1 else _out(args)
        for p in _io(model).ship_pictures(model, out, Path(name).name):
            print(f"wrote {p}")


# ----------------------------------------------------------------------------- parser
def _whole(lo: int, hi: int | None = None) -> Any:
    """An argparse type: a whole number in lo..hi (hi None: no upper bound)."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a whole number{f' in {lo}..{hi}' if hi is not None else ''}, "
                f"got {L.shown(text)}") from None
        if v < lo or (hi is not None and v > hi):
            bound = f">= {lo}" if hi is None else f"in {lo}..{hi}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {L.shown(v)}")
        return v

    return parse


def _number(lo: float, hi: float) -> Any:
    """An argparse type: a finite number in [lo, hi]."""

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a number in {lo:g}..{hi:g}, got {L.shown(text)}") from None
        if not (v == v and abs(v) != float("inf")):
            raise argparse.ArgumentTypeError(
                f"expected a finite number in {lo:g}..{hi:g}, got {L.shown(text)}")
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"must be in {lo:g}..{hi:g}, got {v:g}")
        return v

    return parse


def _track(text: str) -> int | str:
    """An argparse type: a track number, a track name, or "all"."""
    text = text.strip()
    if not text or len(text) > 80:
        raise argparse.ArgumentTypeError(
            f"expected a track number, a track name (up to 80 characters) or 'all', got "
            f"{L.shown(text)}")
    if text.lstrip("-").isdigit():
        return _whole(0, 2**16)(text)
    return text


_count = _whole(1)
_seed = _whole(0, L.MAX_SEED)
_bpm = _number(*L.BPM_RANGE)


def _output_args(p: argparse.ArgumentParser, cols: bool = True) -> None:
    p.add_argument("--out", default="out", help="output folder (created; default out/)")
    if cols:
        g = p.add_argument_group("image output")
        g.add_argument("--cols", type=_whole(1, L.MAX_PICTURE_COLUMNS), default=None,
                       help=f"columns of the picture grid (1-{L.MAX_PICTURE_COLUMNS})")
    g = p.add_argument_group("music output")
    g.add_argument("--bpm", type=_bpm, default=None,
                   help=f"tempo of MIDI and audio, {L.BPM_RANGE[0]:g}-{L.BPM_RANGE[1]:g} "
                        "(melodies 120; piano rolls: the model's)")
    g.add_argument("--program", type=_whole(*L.PROGRAM_RANGE), default=None,
                   help="General MIDI program 0-127 (0 piano, 73 flute, 40 violin; piano "
                        "rolls: the model's)")
    g.add_argument("--gap-bars", type=_whole(0, L.MAX_GAP_BARS), default=1,
                   help=f"silent bars between melodies in the combined file, 0-{L.MAX_GAP_BARS} "
                        "(1)")
    g.add_argument("--no-audio", dest="audio", action="store_false", help="skip the WAV")
    g.add_argument("--no-plot", dest="plot", action="store_false", help="skip the piano roll")


def _training_data_args(p: argparse.ArgumentParser) -> None:
    """MODEL, --data and --limit of the verbs that learn from a model's training data."""
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--data", help="training data (default: the model's own)")
    p.add_argument("--limit", type=_whole(100, L.MAX_EVAL_ITEMS), default=20000,
                   help="training examples to use (20000)")


def _track_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--track", type=_track, default=None,
                   help="MIDI inputs: the track to read the melody from (a number or a name "
                        "from `gen extract`; 'all': every track); default the melody track: "
                        "the highest track that plays mostly one note at a time")


class _Parser(argparse.ArgumentParser):
    """argparse with messages that never echo a long argument."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        message = re.sub(r"'([^']{60})[^']+'", lambda m: f"'{m.group(1)}…'", message)
        message = re.sub(r"\S{61,}", lambda m: m.group(0)[:60] + "…", message)
        super().error(L.clip(message, 400))


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the `gen` command."""
    p = _Parser(
        prog="gen", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND",
                           parser_class=_Parser)

    def verb(name: str, fn: Any, help_: str, description: str | None = None
             ) -> argparse.ArgumentParser:
        s = sub.add_parser(name, help=help_, description=description or help_)
        s.set_defaults(fn=fn)
        return s

    verb("list", cmd_list, "list shipped models and training configs")

    s = verb("train", cmd_train, "train a named config (resumes from OUT/checkpoint)",
             "Train a named config from `gen list`. Writes OUT/checkpoint.safetensors (atomic, "
             "resumed on restart), OUT/metrics.jsonl, OUT/run.json and finally OUT/model/. "
             "For several processes: torchrun --standalone --nproc_per_node=2 -m gen train "
             "CONFIG --out OUT.")
    s.add_argument("config", help="config name, e.g. mnist-vae or cat-mel_2bar_small")
    s.add_argument("--out", required=True, help="run directory")
    s.add_argument("--steps", type=_whole(1, L.MAX_TRAIN_STEPS),
                   help="override the number of optimiser steps")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting, e.g. --set lr=3e-4 --set batch_size=64 --set "
                        "beta=0.5 (training, model and data.* options; repeatable)")
    s.add_argument("--data", help="train on this dataset: a folder prepared by `gen data` "
                                  "(music) or an IDX / npz file of 28x28 images")
    s.add_argument("--init", help="fine-tune this model (shipped name or folder): its "
                                  "architecture and weights replace the config's; --steps then "
                                  "counts fine-tuning steps, and the learning rate, KL warm-up "
                                  "and scheduled sampling go on from the end of the config's "
                                  "training")
    s.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint")

    s = verb("eval", cmd_eval, "evaluate a model with its head's metrics",
             "Images: negative ELBO and importance-sampled NLL (VAEs) or MSE / PSNR, and codes "
             "vs PCA, on the MNIST test set. Music: teacher-forced and sampled accuracy, KL, "
             "NLL and the interpolation check on a prepared dataset's test windows.")
    s.add_argument("model", help=MODEL_HELP)
    s.add_argument("--data", help="dataset (music: 'folk' or a prepared folder; images: an "
                                  "IDX / npz file with labels)")
    s.add_argument("--split", default=None, help="which split (default test)")
    s.add_argument("--limit", type=_whole(1, L.MAX_EVAL_ITEMS),
                   help="evaluate a subset of N examples")
    s.add_argument("--k", type=_whole(1, L.MAX_IMPORTANCE_SAMPLES),
                   help=f"images: importance samples, 1-{L.MAX_IMPORTANCE_SAMPLES} (1000)")
    s.add_argument("--pairs", type=_whole(1, L.MAX_INTERPOLATION_PAIRS),
                   help="music: pairs for the interpolation check (32)")
    s.add_argument("--json", help="also write the metrics to this file")

    s = verb("sample", cmd_sample, "draw new examples from a VAE's prior",
             "Draw z ~ N(0, prior_scale^2 I) and decode. For music, --temperature divides the "
             "decoder's logits (0.5 conservative, 1.0 the model's own distribution) and "
             "--greedy takes the most likely note at every step; image decoders draw nothing, "
             "so only --prior-scale applies to them.")
    s.add_argument("model", help=MODEL_HELP)
    s.add_argument("--n", type=_whole(1, L.MAX_SAMPLES), default=8,
                   help=f"how many, 1-{L.MAX_SAMPLES} (8)")
    s.add_argument("--temperature", type=_number(*L.TEMPERATURE_RANGE), default=1.0,
                   help=f"decoder randomness (music), {L.TEMPERATURE_RANGE[0]:g}-"
                        f"{L.TEMPERATURE_RANGE[1]:g} (1.0)")
    s.add_argument("--prior-scale", type=_number(*L.PRIOR_SCALE_RANGE), default=1.0,
                   help="standard deviation of the prior draws (1.0)")
    s.add_argument("--greedy", action="store_true", help="most likely output (music)")
    s.add_argument("--seed", type=_seed, default=0, help="random seed (0)")
    s.add_argument("--prior", choices=("normal", "learned"), default="normal",
                   help="normal: N(0, I); learned: the mixture fitted to the training codes "
                        "(`gen prior`), which keeps samples where real music lives")
    _output_args(s)

    s = verb("reconstruct", cmd_reconstruct, "encode and decode inputs",
             "Encode inputs and decode them greedily; writes inputs and reconstructions. "
             + INPUT_HELP + ". Without inputs: test digits 0-7 / the first 4 examples.")
    s.add_argument("model", help=MODEL_HELP)
    s.add_argument("inputs", nargs="*", help=f"inputs (see above; at most {L.MAX_INPUTS})")
    _track_arg(s)
    _output_args(s)

    s = verb("interpolate", cmd_interpolate, "decode the latent path between two inputs",
             "Decode the path between the codes of A and B, endpoints included. " + INPUT_HELP)
    s.add_argument("model", help=MODEL_HELP)
    s.add_argument("a", help="start input")
    s.add_argument("b", help="end input")
    s.add_argument("--steps", type=_whole(2, L.MAX_INTERPOLATION_STEPS), default=8,
                   help=f"points on the path incl. ends, 2-{L.MAX_INTERPOLATION_STEPS} (8)")
    s.add_argument("--method", choices=("slerp", "lerp"), default="slerp")
    _track_arg(s)
    _output_args(s)

    s = verb("grid", cmd_grid, "a 2-D grid between four corner inputs",
             "Decode a rows x cols grid between four inputs (top left, top right, bottom "
             "left, bottom right). " + INPUT_HELP)
    s.add_argument("model", help=MODEL_HELP)
    s.add_argument("corners", nargs=4, metavar="CORNER", help="four inputs")
    s.add_argument("--rows", type=_whole(2, L.MAX_GRID_SIDE), default=4,
                   help=f"rows, 2-{L.MAX_GRID_SIDE} (4)")
    s.add_argument("--cols", type=_whole(2, L.MAX_GRID_SIDE), default=4,
                   help=f"columns, 2-{L.MAX_GRID_SIDE} (4)")
    s.add_argument("--method", choices=("slerp", "lerp"), default="lerp")
    _track_arg(s)
    _output_args(s, cols=False)

    s = verb("ship", cmd_ship, "export a run as a shipped model with its card",
             "Store RUN's model in float16 under gen/pretrained/NAME (or --dest), evaluate the "
             "shipped weights with the head's metrics, and write eval.json, card.md and "
             "pictures there.")
    s.add_argument("run", help="a run folder (with model/) or a model folder")
    s.add_argument("name", help="name of the shipped model (usually its config's)")
    s.add_argument("--dest", help="destination folder (default gen/pretrained/NAME)")
    s.add_argument("--note", default="", help="training conditions for the card")
    s.add_argument("--data", help="evaluation dataset (see gen eval)")
    s.add_argument("--limit", type=_whole(1, L.MAX_EVAL_ITEMS),
                   help="evaluate a subset of N examples")
    s.add_argument("--k", type=_whole(1, L.MAX_IMPORTANCE_SAMPLES),
                   help="images: importance samples (1000)")

    s = verb("data", cmd_data, "prepare a dataset (music: cached melody windows)",
             "Convert the folk tunes shipped with music21 (or --midi FILE_OR_FOLDER) into "
             "2-bar and 16-bar melody windows with MusicVAE's rules, split train/valid/test by "
             "tune, and cache them with a stats.json. A second run with the same settings "
             "reuses the cache. Image data needs no preparation (MNIST ships with the install; "
             "other sets are IDX / npz files given to --data).")
    s.add_argument("head", choices=("music",), help="which head's data")
    s.add_argument("--out", default=None, help="dataset folder (default data/cache/music/...)")
    s.add_argument("--midi", default=None, help="a MIDI file or folder instead of the corpus")
    s.add_argument("--collections", nargs="+", default=None,
                   help="music21 corpus folders (default: the five folk collections)")
    s.add_argument("--limit", type=_whole(1, 10**6), default=None,
                   help="convert only about N tunes")
    s.add_argument("--workers", type=_whole(1, L.MAX_WORKERS), default=None,
                   help="processes (default: cores)")
    s.add_argument("--bars", type=_whole(1, L.MAX_WINDOW_BARS), nargs="+", default=[2, 16],
                   help="window lengths (2 16)")
    s.add_argument("--time-signatures", nargs="+", default=["4/4", "2/2"],
                   help="meters to keep: 4/4 2/2 natively; 2/4 and 4/2 regrouped")
    s.add_argument("--split", type=_number(0.0, 1.0), nargs=3, default=[0.9, 0.05, 0.05],
                   metavar=("TRAIN", "VALID", "TEST"), help="fractions of tunes (0.9 0.05 0.05)")
    s.add_argument("--force", action="store_true", help="rebuild even if the cache matches")
    _track_arg(s)

    s = verb("extract", cmd_extract, "report the melody windows each MIDI file yields",
             "Run the melody extraction on MIDI files or folders and report, per file, how "
             "many windows it yields and, when none, why. Exit status 1 when nothing was found.")
    s.add_argument("paths", nargs="+", help="MIDI files or folders")
    s.add_argument("--bars", type=int, choices=(2, 16), default=2, help="window length (2)")
    s.add_argument("--time-signatures", nargs="+", default=["4/4", "2/2"])
    s.add_argument("--out", default=None,
                   help="also write extract_report.json and windows_<bars>bar.npz here")
    _track_arg(s)

    s = verb("attributes", cmd_attributes, "compute a music model's attribute vectors",
             "Encode the training data, measure note density, mean interval, pitch range and "
             "syncopation (piano rolls: off-beat onsets, polyphony, mean pitch) and store, "
             "per attribute, the mean code of the top quartile minus that of the bottom "
             "quartile beside the model (attributes.safetensors + .json).")
    _training_data_args(s)
    s = verb("prior", cmd_prior, "fit a music model's learned prior",
             "Fit a Gaussian mixture to the codes of the training data, choose its spread "
             "(0.5-1.2) so that decoded samples have the training data's note density, "
             "pitch range and intervals, and store it beside the model (prior.safetensors "
             "+ .json); then `gen sample MODEL --prior learned`.")
    _training_data_args(s)
    s.add_argument("--components", type=_whole(1, 256), default=32,
                   help="mixture components, 1-256 (32)")
    s.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                   help="keep the fitted mixture's spread (1) instead of choosing it")
    s = verb("shift", cmd_shift, "move music along an attribute vector",
             "Encode inputs, add AMOUNT x the attribute's vector, decode greedily; prints the "
             "attribute values before and after. " + INPUT_HELP + ".")
    s.add_argument("model", help=MODEL_HELP)
    s.add_argument("inputs", nargs="*", help="inputs (default: the first 4 examples)")
    s.add_argument("--attribute", required=True, action="append", metavar="NAME[=AMOUNT]",
                   help="note_density, mean_interval, pitch_range, syncopation_16th, "
                        "syncopation_8th (piano rolls: offbeat, polyphony, mean_pitch); "
                        "repeat it to add several vectors, each with its own =AMOUNT")
    s.add_argument("--amount", type=_number(-10.0, 10.0), default=1.0,
                   help="multiple of the vector for a NAME without =AMOUNT, -10..10 (1)")
    _output_args(s)

    s = verb("plot", cmd_plot, "the standard pictures of one or more models")
    s.add_argument("models", nargs="+", help=MODEL_HELP)
    s.add_argument("--out", default="out", help="output folder (one sub-folder per model)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `gen` console script; returns the exit status.

    Bad arguments and bad inputs are one line on stderr and status 2 (argparse's usage
    errors too); nothing is a traceback. An unexpected failure is status 1 with one line
    (GEN_DEBUG=1 shows its traceback).
    """
    args = build_parser().parse_args(argv)

    def fail(message: str, status: int = 2) -> int:
        print(f"gen {args.cmd}: error: {L.clip(message, 2000)}", file=sys.stderr)
        return status

    try:
        _check_out(getattr(args, "out", None))
        status = args.fn(args)
    except GenError as e:
        return fail(str(e))
    except MemoryError:
        return fail("out of memory; try smaller counts or sizes")
    except OSError as e:
        where = f"{L.clip(str(e.filename), 100)}: " if e.filename else ""
        return fail(f"{where}{e.strerror or e}")
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except Exception as e:  # noqa: BLE001 - the last net: one line, not a traceback
        if os.environ.get("GEN_DEBUG"):
            raise
        if "allocate" in str(e) and "memory" in str(e):
            return fail("out of memory; try smaller counts or sizes")
        return fail(f"unexpected {type(e).__name__}: {L.clip(str(e), 200)} (a bug in gen; "
                    "GEN_DEBUG=1 shows the traceback)", 1)
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
