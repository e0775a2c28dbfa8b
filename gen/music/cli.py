"""The music verbs of the ``gen`` command.

``add_music_commands(subparsers)`` registers them on an argparse sub-parser collection;
each sets ``func`` and ``fn`` (the same ``f(args) -> int`` exit status). ``main(argv)``
runs them standalone (``python -m gen.music ...``). Every verb writes only fixed file names
inside ``--out``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gen.core.errors import GenError

_HELP_MODEL = ("shipped model name (see `gen list`) or a directory written by save_pretrained, "
               "e.g. runs/mel2/model")
_EPILOG_TOKENS = ("Inputs are MIDI files (the first melody window unless --index says "
                  "otherwise) or .npy token arrays (T,) / (N, T).")


# ----------------------------------------------------------------------------- helpers
def safe_name(name: str, default: str = "item") -> str:
    """A file-name-safe version of ``name``: letters, digits, '-', '_', '.' only, no leading
    dot, at most 80 characters; used for every name derived from user input."""
    s = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(str(name)).name).lstrip(".")[:80]
    return s or default


def out_file(out_dir: Path, name: str) -> Path:
    """``out_dir / name`` for a fixed or sanitised ``name``; refuses paths that escape it."""
    out_dir = out_dir.resolve()
    path = (out_dir / name).resolve()
    if path.parent != out_dir:
        raise GenError(f"refusing to write {name!r} outside the output folder {out_dir}")
    return path


def _out(args: argparse.Namespace) -> Path:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise GenError(f"--out {out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _load_model(name: str) -> Any:
    from gen.api import load
    from gen.music.model import MusicVAE

    model = load(name)
    if not isinstance(model, MusicVAE):
        raise GenError(f"--model {name}: is a {type(model).__name__}, not a music model")
    return model


def _melody(model: Any, src: str, index: int) -> np.ndarray:
    """One melody (T,) from a MIDI file (window ``index``) or a .npy token file (row)."""
    from gen.music.convert import melody_window
    from gen.music.melody import validate_tokens

    p = Path(src)
    if p.suffix.lower() == ".npy":
        if not p.is_file():
            raise GenError(f"{p}: no such file")
        try:
            arr = np.load(p, allow_pickle=False)
        except ValueError as e:
            raise GenError(f"{p}: not a numpy token array ({e})") from e
        arr = validate_tokens(arr, model.config.seq_len, name=str(p))
        arr = arr.reshape(-1, model.config.seq_len)
        if not -len(arr) <= index < len(arr):
            raise GenError(f"{p}: index {index} out of range; it holds {len(arr)} melodies")
        return arr[index]
    return melody_window(p, model.config.bars, index)


def _write_set(model: Any, melodies: np.ndarray, out: Path, stem: str, args: argparse.Namespace,
               titles: list[str] | None = None, each: bool = True) -> list[Path]:
    """Write ``stem.mid`` (all in sequence), ``stem_XX.mid`` each, ``stem.npy``, and
    optionally ``stem.wav`` and ``stem.png``."""
    from gen.music.convert import to_midi

    written = [to_midi(melodies, out_file(out, f"{stem}.mid"), args.bpm, args.program,
                       args.gap_bars)]
    if each:
        for i, m in enumerate(melodies):
            written.append(to_midi(m, out_file(out, f"{stem}_{i:02d}.mid"), args.bpm,
                                   args.program, 0))
    np.save(out_file(out, f"{stem}.npy"), np.asarray(melodies, dtype=np.int64))
    written.append(out_file(out, f"{stem}.npy"))
    if args.audio:
        from gen.music.render import render_audio

        written.append(render_audio(melodies, out_file(out, f"{stem}.wav"), args.bpm,
                                    args.program, args.gap_bars))
    if args.plot:
        from gen.music.render import plot_pianoroll

        written.append(plot_pianoroll(melodies, out_file(out, f"{stem}.png"), titles))
    return written


def _report(written: list[Path]) -> None:
    for p in written:
        print(f"wrote {p}")


def _add_output_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--bpm", type=float, default=120.0, help="tempo of the MIDI/audio (120)")
    p.add_argument("--program", type=int, default=0,
                   help="General MIDI program 0-127 (0 piano, 73 flute, 40 violin)")
    p.add_argument("--gap-bars", type=int, default=1,
                   help="silent bars between melodies in the combined file (1)")
    p.add_argument("--no-audio", dest="audio", action="store_false",
                   help="skip WAV rendering (fluidsynth, else sine synthesis)")
    p.add_argument("--no-plot", dest="plot", action="store_false",
                   help="skip the piano-roll PNG")


# ----------------------------------------------------------------------------- verbs
def cmd_prepare(args: argparse.Namespace) -> int:
    """Convert the folk corpus (or a MIDI folder) into cached melody windows."""
    from gen.music.convert import ExtractionOptions
    from gen.music.dataset import prepare_corpus, prepare_midi

    opts = ExtractionOptions(time_signatures=tuple(args.time_signatures))
    split = tuple(args.split)
    if args.midi:
        prepare_midi(args.midi, args.out, args.workers, opts, args.bars, split, args.force)
    else:
        prepare_corpus(args.out, args.collections, args.limit, args.workers, opts, args.bars,
                       split, args.force)
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    """Per-file report of the melody windows a MIDI file or folder yields."""
    from gen.music.convert import ExtractionOptions, extract_file, find_midi_files

    opts = ExtractionOptions(time_signatures=tuple(args.time_signatures))
    files = [f for p in args.paths for f in find_midi_files(p)]
    reports, windows, owners = [], [], []
    for i, f in enumerate(files):
        wins, rep = extract_file(f, args.bars, opts)[args.bars]
        reports.append(rep.to_dict())
        print(rep.line())
        windows.append(wins)
        owners.extend([i] * len(wins))
    total = sum(len(w) for w in windows)
    empty = sum(1 for r in reports if not r["windows"])
    print(f"{len(files)} file(s): {total} windows of {args.bars} bars; {empty} file(s) "
          "yielded none")
    if args.out:
        out = _out(args)
        out_file(out, "extract_report.json").write_text(json.dumps(reports, indent=2) + "\n")
        T = args.bars * 16
        np.savez_compressed(
            out_file(out, f"windows_{args.bars}bar.npz"),
            windows=np.concatenate(windows) if total else np.zeros((0, T), np.uint8),
            file_index=np.array(owners, dtype=np.int32),
            files=np.array([str(f) for f in files], dtype=str))
        print(f"wrote {out / 'extract_report.json'} and {out / f'windows_{args.bars}bar.npz'}")
    return 0 if total else 1


def cmd_sample(args: argparse.Namespace) -> int:
    """Sample new melodies from the prior."""
    model = _load_model(args.model)
    mels = model.sample(n=args.n, temperature=args.temperature, seed=args.seed)
    out = _out(args)
    _report(_write_set(model, mels, out, "samples", args,
                       [f"sample {i} (t={args.temperature:g}, seed={args.seed})"
                        for i in range(len(mels))]))
    return 0


def cmd_reconstruct(args: argparse.Namespace) -> int:
    """Encode a melody and decode it again."""
    model = _load_model(args.model)
    x = _melody(model, args.input, args.index)
    y = model.reconstruct(x[None])[0]
    acc = float((x == y).mean())
    out = _out(args)
    pair = np.stack([x, y])
    _report(_write_set(model, pair, out, "reconstruction", args,
                       ["original", f"reconstruction (token accuracy {acc:.3f})"]))
    print(f"token accuracy of the reconstruction: {acc:.4f}")
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    """Interpolate between two melodies (slerp of the posterior means, endpoints included)."""
    from gen.music.evaluate import hamming

    model = _load_model(args.model)
    a = _melody(model, args.start, args.start_index)
    b = _melody(model, args.end, args.end_index)
    path = model.interpolate(a[None], b[None], steps=args.steps, method=args.method)
    out = _out(args)
    d = hamming(path, a[None])
    _report(_write_set(model, path, out, "interpolation", args,
                       [f"step {i} (Hamming to start {v:.2f})" for i, v in enumerate(d)]))
    print("Hamming distance to the start melody: " + " ".join(f"{v:.2f}" for v in d))
    return 0


def cmd_grid(args: argparse.Namespace) -> int:
    """A rows x cols grid of melodies between four corner melodies."""
    model = _load_model(args.model)
    idx = args.indices or [0, 0, 0, 0]
    if len(idx) != 4:
        raise GenError(f"--indices needs 4 values (one per corner), got {len(idx)}")
    corners = np.stack([_melody(model, c, i) for c, i in zip(args.corners, idx)])
    mels = model.grid(corners, rows=args.rows, cols=args.cols, method=args.method)
    out = _out(args)
    titles = [f"row {r}, col {c}" for r in range(args.rows) for c in range(args.cols)]
    _report(_write_set(model, mels, out, "grid", args, titles))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Evaluate a model on held-out windows; write eval.json + card.md, optionally ship it."""
    import torch

    from gen.music.dataset import load_windows, resolve_dataset, window_collections
    from gen.music.evaluate import evaluate_music, make_card

    model = _load_model(args.model)
    bars = model.config.bars
    ds = resolve_dataset(args.data, bars=bars, prepare=False)
    wins = load_windows(ds, bars, args.split)
    groups = window_collections(ds, bars, args.split)
    if args.limit_windows and len(wins) > args.limit_windows:
        rng = np.random.default_rng(0)
        keep = np.sort(rng.choice(len(wins), args.limit_windows, replace=False))
        wins, groups = wins[keep], groups[keep]
    if args.ship:  # evaluate exactly the weights that ship: float16, loaded back as float32
        with torch.no_grad():
            for t in model.state_dict().values():
                if t.is_floating_point():
                    t.copy_(t.half().float())
    t0 = time.time()
    res = evaluate_music(model, wins, pairs=args.pairs, steps=args.steps, groups=groups)
    res.update({"split": args.split, "data": str(args.data), "float16": bool(args.ship),
                "eval_seconds": round(time.time() - t0, 1)})
    name = args.name or Path(args.model).name
    run_dir = Path(args.model).parent if Path(args.model).is_dir() else None
    card = make_card(model, name, res, ds, run_dir, note=args.note)
    if args.out:
        out = _out(args)
        out_file(out, "eval.json").write_text(json.dumps(res, indent=2) + "\n")
        out_file(out, "card.md").write_text(card)
        print(f"wrote {out / 'eval.json'} and {out / 'card.md'}")
    if args.ship:
        from gen.music.render import plot_pianoroll

        dest = model.save_pretrained(args.ship, card=card, dtype=torch.float16)
        out_file(Path(dest), "eval.json").write_text(json.dumps(res, indent=2) + "\n")
        mels = model.sample(n=4, temperature=0.5, seed=0)
        plot_pianoroll(mels, Path(dest) / "samples.png",
                       [f"{name}: sample {i} (temperature 0.5, seed 0)" for i in range(4)])
        print(f"shipped {dest} (config.json, model.safetensors, card.md, eval.json, "
              "samples.png)")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    """Piano-roll PNG of the melody windows of MIDI or .npy files."""
    from gen.music.convert import melody_windows
    from gen.music.melody import validate_tokens
    from gen.music.render import plot_pianoroll

    out = _out(args)
    for src in args.inputs:
        p = Path(src)
        if p.suffix.lower() == ".npy":
            if not p.is_file():
                raise GenError(f"{p}: no such file")
            mels = validate_tokens(np.load(p, allow_pickle=False), name=str(p))
            mels = mels.reshape(-1, mels.shape[-1])
        else:
            mels = melody_windows(p, args.bars)
        mels = mels[: args.max]
        png = plot_pianoroll(mels, out_file(out, safe_name(p.stem, "melody") + ".png"),
                             [f"{p.name} window {i}" for i in range(len(mels))])
        print(f"wrote {png}")
    return 0


# ----------------------------------------------------------------------------- parser
def add_music_commands(subparsers: Any) -> None:
    """Register the music verbs on ``parser.add_subparsers()``; each sets ``args.func`` and
    ``args.fn`` to a handler ``f(args) -> int`` (exit status; GenError for bad input)."""
    from gen.music.dataset import DEFAULT_BARS, DEFAULT_SPLIT

    def verb(name: str, fn: Any, help_: str, description: str) -> argparse.ArgumentParser:
        p = subparsers.add_parser(name, help=help_, description=description)
        p.set_defaults(func=fn, fn=fn)  # `gen` dispatches on fn, our main() on func
        return p

    ts_help = ("meters to keep: 4/4 2/2 natively; 2/4 and 4/2 are regrouped into 16-step bars")

    p = verb("music-prepare", cmd_prepare, "convert the folk corpus (or MIDI) to melody windows",
             "Convert the folk tunes shipped with music21 (or --midi FILE_OR_FOLDER) into 2-bar "
             "and 16-bar melody windows with MusicVAE's rules, split train/valid/test by tune, "
             "and cache them with a stats.json. A second run with the same settings reuses "
             "the cache.")
    p.add_argument("--out", default=None,
                   help="dataset folder (default data/cache/music/folk[-limitN])")
    p.add_argument("--midi", default=None, help="a MIDI file or folder instead of the corpus")
    p.add_argument("--collections", nargs="+", default=None,
                   help="music21 corpus folders (default: essenFolksong oneills1850 "
                        "ryansMammoth airdsAirs miscFolk)")
    p.add_argument("--limit", type=int, default=None, help="convert only about N tunes")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--bars", type=int, nargs="+", default=list(DEFAULT_BARS),
                   help="window lengths in bars (2 16)")
    p.add_argument("--time-signatures", nargs="+", default=["4/4", "2/2"], help=ts_help)
    p.add_argument("--split", type=float, nargs=3, default=list(DEFAULT_SPLIT),
                   metavar=("TRAIN", "VALID", "TEST"),
                   help="fractions of tunes per split (0.9 0.05 0.05)")
    p.add_argument("--force", action="store_true", help="rebuild even if the cache matches")

    p = verb("music-extract", cmd_extract, "report the melody windows each MIDI file yields",
             "Run the melody extraction on MIDI files or folders and report, per file, how "
             "many windows it yields and, when none, why (unreadable, no notes, drums only, "
             "unsupported time signature, too short). Exit status 1 when nothing was found.")
    p.add_argument("paths", nargs="+", help="MIDI files or folders")
    p.add_argument("--bars", type=int, default=2, help="window length in bars: 2 (default) or 16")
    p.add_argument("--time-signatures", nargs="+", default=["4/4", "2/2"], help=ts_help)
    p.add_argument("--out", default=None,
                   help="also write extract_report.json and windows_<bars>bar.npz here")

    p = verb("music-sample", cmd_sample, "sample new melodies from a music model",
             "Draw z ~ N(0, I) and decode; --temperature divides the decoder's logits "
             "(0.5 is conservative, 1.0 the model's own distribution). Writes samples.mid "
             "(all in sequence), samples_XX.mid, samples.npy, samples.wav and samples.png.")
    p.add_argument("--model", required=True, help=_HELP_MODEL)
    p.add_argument("--n", type=int, default=4, help="number of melodies (4)")
    p.add_argument("--temperature", type=float, default=0.5, help="softmax temperature (0.5)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    _add_output_args(p)

    p = verb("music-reconstruct", cmd_reconstruct, "encode and decode a melody",
             "Encode one melody window and decode it greedily. Writes reconstruction.mid "
             "(original then reconstruction), the two single files, .npy, .wav and .png. "
             + _EPILOG_TOKENS)
    p.add_argument("--model", required=True, help=_HELP_MODEL)
    p.add_argument("--input", required=True, help="MIDI file or .npy token array")
    p.add_argument("--index", type=int, default=0, help="which window of the input (0 first)")
    _add_output_args(p)

    p = verb("music-interpolate", cmd_interpolate, "interpolate between two melodies",
             "Decode the path between the posterior means of two melodies (endpoints "
             "included). Writes interpolation.mid (the whole path in sequence), "
             "interpolation_XX.mid per step, .npy, .wav and .png. " + _EPILOG_TOKENS)
    p.add_argument("--model", required=True, help=_HELP_MODEL)
    p.add_argument("--start", required=True, help="first melody: MIDI file or .npy")
    p.add_argument("--end", required=True, help="last melody: MIDI file or .npy")
    p.add_argument("--start-index", type=int, default=0, help="window of --start (0)")
    p.add_argument("--end-index", type=int, default=0, help="window of --end (0)")
    p.add_argument("--steps", type=int, default=8,
                   help="melodies on the path, endpoints included (8)")
    p.add_argument("--method", choices=["slerp", "lerp"], default="slerp",
                   help="path through latent space (slerp)")
    _add_output_args(p)

    p = verb("music-grid", cmd_grid, "a 2-D grid of melodies between four corners",
             "Decode a rows x cols grid between four corner melodies (top-left, top-right, "
             "bottom-left, bottom-right). Writes grid.mid (row by row), grid_XX.mid, .npy, "
             ".wav and .png. " + _EPILOG_TOKENS)
    p.add_argument("--model", required=True, help=_HELP_MODEL)
    p.add_argument("--corners", nargs=4, required=True, metavar=("TL", "TR", "BL", "BR"),
                   help="four MIDI / .npy files")
    p.add_argument("--indices", type=int, nargs=4, default=None,
                   help="window of each corner file (default 0 0 0 0)")
    p.add_argument("--rows", type=int, default=4, help="grid rows (4)")
    p.add_argument("--cols", type=int, default=4, help="grid columns (4)")
    p.add_argument("--method", choices=["slerp", "lerp"], default="lerp",
                   help="interpolation along rows and columns (lerp)")
    _add_output_args(p)

    p = verb("music-eval", cmd_eval, "evaluate a music model on held-out windows",
             "Teacher-forced and sampled (greedy) token accuracy, KL in bits and the "
             "interpolation check (Hamming distance to the start rises along the path) on "
             "the prepared test windows. With --out, writes eval.json and a model card; with "
             "--ship, a complete shipped-model folder.")
    p.add_argument("--model", required=True, help=_HELP_MODEL)
    p.add_argument("--data", default="folk",
                   help="'folk' (data/cache/music/folk) or a prepared dataset folder")
    p.add_argument("--split", choices=["train", "valid", "test"], default="test",
                   help="which split (test)")
    p.add_argument("--limit-windows", type=int, default=None,
                   help="evaluate a fixed random subset of N windows")
    p.add_argument("--pairs", type=int, default=32,
                   help="melody pairs for the interpolation check (32)")
    p.add_argument("--steps", type=int, default=11, help="steps per interpolation path (11)")
    p.add_argument("--name", default=None, help="model name for the card")
    p.add_argument("--note", default="",
                   help="training conditions for the card, e.g. whether the machine was shared")
    p.add_argument("--out", default=None, help="write eval.json and card.md here")
    p.add_argument("--ship", default=None,
                   help="also write a shippable model folder here (config.json, "
                        "model.safetensors, card.md, samples.png), e.g. "
                        "gen/pretrained/cat-mel_2bar_small")

    p = verb("music-plot", cmd_plot, "piano-roll PNGs of MIDI or token files",
             "Draw the melody windows of each input as a piano roll, one PNG per input.")
    p.add_argument("inputs", nargs="+", help="MIDI files or .npy token arrays")
    p.add_argument("--bars", type=int, default=2, help="window length for MIDI inputs (2)")
    p.add_argument("--max", type=int, default=8, help="at most this many windows per input (8)")
    p.add_argument("--out", required=True, help="output folder")


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: ``python -m gen.music VERB ...``."""
    parser = argparse.ArgumentParser(prog="python -m gen.music",
                                     description="music verbs of gen")
    add_music_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except GenError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
