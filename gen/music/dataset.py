"""Melody datasets: prepare (convert + extract + split + cache) and load them for training.

A prepared dataset is a folder (git-ignored, under ``data/cache/music/`` by default)::

    stats.json        settings, tunes read / failed and why, windows per collection and split
    tunes.npz         (corpus only) the converted notes of every tune, to re-extract quickly
    mel_2bar.npz      train / valid / test windows (N, 32) uint8 + the tune index of each
    mel_16bar.npz     the same for 16 bars (N, 256)

Windows are split by tune (never by window, or windows of one tune would leak across
splits), deduplicated within each split, and stored as plain numpy arrays (no pickle).
A second ``prepare`` with the same settings reuses the folder; with other extraction
settings it re-extracts from ``tunes.npz`` without parsing the corpus again.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing as mp
import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gen.core.errors import DataError
from gen.core.files import atomic_write, write_text
from gen.core.limits import MAX_WINDOW_BARS, check_whole
from gen.music.corpus import FOLK_COLLECTIONS, TuneNotes, TuneRef
from gen.music.extract import MUSICVAE_FIELDS, ExtractionOptions, extract_file, extract_windows
from gen.music.melody import NUM_SPECIAL, STEPS_PER_BAR, transpose_range
from gen.music.midi import find_midi_files

FORMAT_VERSION = 1  # bump when conversion or extraction changes meaning (invalidates caches)
SPLITS = ("train", "valid", "test")
DEFAULT_SPLIT = (0.9, 0.05, 0.05)
DEFAULT_BARS = (2, 16)
STATS_NAME = "stats.json"
TUNES_NAME = "tunes.npz"


def windows_name(bars: int) -> str:
    """File name of the windows of ``bars`` bars: ``mel_2bar.npz``."""
    return f"mel_{bars}bar.npz"


def default_cache_root() -> Path:
    """Where prepared datasets live: ``$GEN_MUSIC_CACHE``, else ``data/cache/music`` of the
    source checkout, else ``~/.cache/gen/music``."""
    env = os.environ.get("GEN_MUSIC_CACHE")
    if env:
        return Path(env)
    repo_data = Path(__file__).resolve().parents[2] / "data"
    if repo_data.is_dir():
        return repo_data / "cache" / "music"
    return Path.home() / ".cache" / "gen" / "music"


def dataset_name(collections: Iterable[str] | None = None, limit: int | None = None) -> str:
    """Folder name of a corpus dataset: ``folk``, ``folk-limit150``, ``airdsAirs+miscFolk``."""
    cols = tuple(collections or FOLK_COLLECTIONS)
    name = "folk" if cols == FOLK_COLLECTIONS else "+".join(cols)
    return name + (f"-limit{limit}" if limit else "")


def split_of(key: str, split: tuple[float, float, float] = DEFAULT_SPLIT) -> str:
    """Deterministic train/valid/test assignment of a tune or file by a hash of its id."""
    u = int(hashlib.sha1(key.encode()).hexdigest()[:12], 16) / 16**12
    if u < split[0]:
        return "train"
    return "valid" if u < split[0] + split[1] else "test"


def _check_split(split: tuple[float, ...]) -> tuple[float, float, float]:
    """Three finite, non-negative fractions summing to 1 (NaN and infinity refused)."""
    ok = len(split) == 3 and all(isinstance(s, (int, float)) and math.isfinite(s) and s >= 0
                                 for s in split)
    if not ok or abs(sum(split) - 1) > 1e-6:
        shown = ", ".join(f"{s:g}" if isinstance(s, (int, float)) else "?" for s in split[:4])
        raise DataError(f"split must be three finite, non-negative fractions summing to 1 "
                        f"(train, valid, test), got {shown}")
    return (float(split[0]), float(split[1]), float(split[2]))


def _check_bars(bars: Iterable[int]) -> tuple[int, ...]:
    """Window lengths in bars, sorted and distinct, each in 1..MAX_WINDOW_BARS."""
    out = tuple(sorted({check_whole(b, "bars", 1, MAX_WINDOW_BARS) for b in bars}))
    if not out:
        raise DataError("bars: give at least one window length")
    return out


# ----------------------------------------------------------------------------- workers
def _quiet_worker() -> None:
    import warnings

    warnings.simplefilter("ignore")


def _extract_tune(tune: TuneNotes, options: ExtractionOptions, bars: tuple[int, ...]
                  ) -> dict[int, tuple[np.ndarray, str | None]]:
    from gen.music.corpus import tune_to_note_sequence

    if tune.status != "ok":
        return {b: (np.zeros((0, b * STEPS_PER_BAR), np.uint8), tune.reason) for b in bars}
    res = extract_windows(tune_to_note_sequence(tune), bars, options, source=tune.tune_id)
    return {b: (w, rep.reason) for b, (w, rep) in res.items()}


def _convert_job(args: tuple[TuneRef, ExtractionOptions, tuple[int, ...]]
                 ) -> tuple[TuneNotes, dict[int, tuple[np.ndarray, str | None]]]:
    from gen.music.corpus import convert_tune

    ref, options, bars = args
    tune = convert_tune(ref)
    return tune, _extract_tune(tune, options, bars)


def _extract_job(args: tuple[TuneNotes, ExtractionOptions, tuple[int, ...]]
                 ) -> tuple[TuneNotes, dict[int, tuple[np.ndarray, str | None]]]:
    tune, options, bars = args
    return tune, _extract_tune(tune, options, bars)


def _midi_job(args: tuple[str, ExtractionOptions, tuple[int, ...]]
              ) -> tuple[str, dict[int, tuple[np.ndarray, str | None]], list[str]]:
    path, options, bars = args
    res = extract_file(path, bars, options)
    details = res[bars[0]][1].details()  # track used, repairs, budget cuts
    return path, {b: (w, rep.reason) for b, (w, rep) in res.items()}, details


def _run_jobs(fn: Callable, jobs: list, workers: int, progress: bool, desc: str) -> list:
    """Map ``fn`` over ``jobs`` on ``workers`` processes with a progress bar; keeps order."""
    from tqdm.auto import tqdm

    bar = tqdm(total=len(jobs), desc=desc, disable=not progress, dynamic_ncols=True,
               mininterval=1.0, unit="tune")
    out: list = []
    if workers <= 1 or len(jobs) < 8:
        for job in jobs:
            out.append(fn(job))
            bar.update(1)
    else:
        # fork where available: no re-import of the caller's script (spawn would re-run an
        # unguarded `gen.train(...)`); the workers run music21/note_seq only, never torch.
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        ctx = mp.get_context(method)
        with ctx.Pool(workers, initializer=_quiet_worker) as pool:
            for res in pool.imap(fn, jobs, chunksize=4):
                out.append(res)
                bar.update(1)
    bar.close()
    return out


# ----------------------------------------------------------------------------- caching
def _save_tunes(path: Path, tunes: list[TuneNotes]) -> None:
    counts = [0 if t.pitch is None else len(t.pitch) for t in tunes]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def cat(attr: str, dtype: Any) -> np.ndarray:
        parts = [getattr(t, attr) for t in tunes if getattr(t, attr) is not None]
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

    atomic_write(path, lambda tmp: np.savez_compressed(
        tmp,
        tune_id=np.array([t.tune_id for t in tunes], dtype=str),
        collection=np.array([t.collection for t in tunes], dtype=str),
        status=np.array([t.status for t in tunes], dtype=str),
        reason=np.array([t.reason for t in tunes], dtype=str),
        time_signature=np.array([t.time_signature for t in tunes], dtype=str),
        repeats_expanded=np.array([t.repeats_expanded for t in tunes], dtype=bool),
        offsets=offsets, pitch=cat("pitch", np.uint8), start=cat("start", np.float32),
        end=cat("end", np.float32), part=cat("part", np.uint8),
    ))


def _load_tunes(path: Path) -> list[TuneNotes]:
    with np.load(path, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    out = []
    for i in range(len(d["tune_id"])):
        a, b = int(d["offsets"][i]), int(d["offsets"][i + 1])
        t = TuneNotes(str(d["tune_id"][i]), str(d["collection"][i]), str(d["status"][i]),
                      str(d["reason"][i]), str(d["time_signature"][i]),
                      bool(d["repeats_expanded"][i]))
        if b > a:
            t.pitch, t.start, t.end, t.part = (d["pitch"][a:b], d["start"][a:b],
                                               d["end"][a:b], d["part"][a:b])
        out.append(t)
    return out


def _reason_kind(reason: str) -> str:
    """Group reasons by their kind: 'unsupported time signature 3/4 (...)' -> '... 3/4'."""
    return re.sub(r" \(supported:.*\)$", "", reason.split(":")[0] if reason.startswith(
        ("too short", "drums only", "no notes in range", "unreadable", "no such track"))
        else reason)


def _write_dataset(
    out_dir: Path, items: list[tuple[str, str, dict[int, tuple[np.ndarray, str | None]]]],
    bars: tuple[int, ...], split: tuple[float, float, float], settings: dict[str, Any],
    extra_stats: dict[str, Any],
) -> dict[str, Any]:
    """Split by item, dedupe per split, write ``mel_*bar.npz`` and ``stats.json``.

    items: (item id, group name (collection or folder), {bars: (windows, reason)}).
    """
    stats: dict[str, Any] = {"settings": settings, **extra_stats, "windows": {},
                             "no_windows": {}, "overlap_with_train": {}}
    splits = [split_of(item_id, split) for item_id, _, _ in items]
    for b in bars:
        arrays, per_group = {}, defaultdict(Counter)
        raw = Counter()
        for s in SPLITS:
            seen: dict[bytes, int] = {}
            for i, ((_item_id, group, res), sp) in enumerate(zip(items, splits)):
                if sp != s:
                    continue
                wins = res[b][0]
                raw[s] += len(wins)
                for w in wins:
                    key = w.tobytes()
                    if key not in seen:
                        seen[key] = i
                        per_group[group][s] += 1
            T = b * STEPS_PER_BAR
            arrays[s] = (np.frombuffer(b"".join(seen), dtype=np.uint8).reshape(-1, T).copy()
                         if seen else np.zeros((0, T), np.uint8))
            arrays[f"{s}_item"] = np.array(list(seen.values()), dtype=np.int32)
        ids = np.array([it[0] for it in items], dtype=str)
        atomic_write(out_dir / windows_name(b),
                     lambda tmp, a=arrays, i=ids: np.savez_compressed(tmp, **a, item_ids=i))
        train_keys = {w.tobytes() for w in arrays["train"]}
        stats["windows"][str(b)] = {
            "total": {s: int(len(arrays[s])) for s in SPLITS},
            "before_dedupe": {s: int(raw[s]) for s in SPLITS},
            "per_collection": {g: {s: int(c[s]) for s in SPLITS} for g, c in
                               sorted(per_group.items())},
        }
        stats["overlap_with_train"][str(b)] = {
            s: round(float(np.mean([w.tobytes() in train_keys for w in arrays[s]])), 4)
            if len(arrays[s]) else 0.0 for s in ("valid", "test")}
        reasons = Counter(_reason_kind(res[b][1]) for _, _, res in items
                          if not len(res[b][0]) and res[b][1])
        stats["no_windows"][str(b)] = dict(reasons.most_common())
    stats["items_per_split"] = dict(Counter(splits))
    write_text(out_dir / STATS_NAME, json.dumps(stats, indent=2) + "\n")
    return stats


def _cache_ok(out_dir: Path, settings: dict[str, Any], bars: tuple[int, ...]) -> bool:
    f = out_dir / STATS_NAME
    if not f.is_file() or not all((out_dir / windows_name(b)).is_file() for b in bars):
        return False
    try:
        return json.loads(f.read_text()).get("settings") == settings
    except json.JSONDecodeError:
        return False


def _options_dict(options: ExtractionOptions) -> dict[str, Any]:
    """The options as cache settings. The rules added for musicians' files are recorded only
    when they differ from MusicVAE's, so corpus caches written before them stay valid."""
    d = {k: v for k, v in asdict(options).items()
         if not (k in MUSICVAE_FIELDS and v == MUSICVAE_FIELDS[k])}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


# ----------------------------------------------------------------------------- prepare
def prepare_corpus(
    out_dir: str | Path | None = None, collections: Iterable[str] | None = None,
    limit: int | None = None, workers: int | None = None,
    options: ExtractionOptions | None = None, bars: Iterable[int] = DEFAULT_BARS,
    split: tuple[float, float, float] = DEFAULT_SPLIT, force: bool = False,
    progress: bool = True, log: Callable[[str], None] = print,
) -> Path:
    """Convert the music21 folk corpus to melody windows (see the module docstring).

    Args:
        out_dir: dataset folder; default ``default_cache_root() / dataset_name(...)``.
        collections: music21 corpus folders (default: the five folk collections).
        limit: convert only about this many tunes (spread over the collections).
        workers: processes (default: all cores).
        options: melody rules (default: MusicVAE's exactly, ``ExtractionOptions.musicvae()``:
            every voice of a tune, the rules the shipped models learnt from).
        bars: window lengths to extract.
        split: train/valid/test fractions of the tunes.
        force: convert again even if a matching cache exists.
    Returns:
        The dataset folder.
    """
    from gen.music.corpus import list_tunes

    cols = tuple(collections or FOLK_COLLECTIONS)
    options = options or ExtractionOptions.musicvae()
    bars = _check_bars(bars)
    split = _check_split(split)
    out = Path(out_dir) if out_dir else default_cache_root() / dataset_name(cols, limit)
    workers = workers or os.cpu_count() or 1
    source = {"format": FORMAT_VERSION, "source": "music21-corpus", "collections": list(cols),
              "limit": limit}
    settings = {**source, "options": _options_dict(options), "bars": list(bars),
                "split": list(split)}
    if not force and _cache_ok(out, settings, bars):
        log(f"music data: reusing {out} (same settings; --force to rebuild)")
        return out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    tunes_file, source_file = out / TUNES_NAME, out / "tunes.json"
    reuse_notes = (not force and tunes_file.is_file() and source_file.is_file()
                   and json.loads(source_file.read_text()) == source)
    if reuse_notes:
        tunes = _load_tunes(tunes_file)
        log(f"music data: re-extracting {len(tunes)} converted tunes from {tunes_file}")
        results = _run_jobs(_extract_job, [(t, options, bars) for t in tunes], workers,
                            progress, "extract")
    else:
        refs = list_tunes(cols, limit)
        log(f"music data: converting {len(refs)} tunes from {', '.join(cols)} "
            f"on {workers} process(es)")
        results = _run_jobs(_convert_job, [(r, options, bars) for r in refs], workers,
                            progress, "convert")
        tunes = [t for t, _ in results]
        _save_tunes(tunes_file, tunes)
        source_file.write_text(json.dumps(source) + "\n")
    elapsed = time.time() - t0
    failed = Counter(t.reason for t in tunes if t.status != "ok")
    examples: dict[str, list[str]] = defaultdict(list)
    for t in tunes:
        if t.status != "ok" and len(examples[t.reason]) < 3:
            examples[t.reason].append(t.tune_id)
    ok = [t for t in tunes if t.status == "ok"]
    extra = {
        "tunes": {"read": len(tunes), "converted": len(ok), "failed": sum(failed.values()),
                  "failed_why": dict(failed.most_common()),
                  "failed_examples": dict(examples),
                  "per_collection": dict(Counter(t.collection for t in tunes))},
        "time_signatures": dict(Counter(t.time_signature for t in ok).most_common()),
        "repeats_expanded": sum(t.repeats_expanded for t in ok),
        "seconds": round(elapsed, 1),
        "tunes_per_second": round(len(tunes) / max(elapsed, 1e-9), 2),
        "workers": workers,
        "notes_reused": reuse_notes,
    }
    items = [(t.tune_id, t.collection, res) for t, res in results]
    stats = _write_dataset(out, items, bars, split, settings, extra)
    log(summarize(stats, out))
    return out


def prepare_midi(
    path: str | Path, out_dir: str | Path | None = None, workers: int | None = None,
    options: ExtractionOptions | None = None, bars: Iterable[int] = DEFAULT_BARS,
    split: tuple[float, float, float] = DEFAULT_SPLIT, force: bool = False,
    progress: bool = True, log: Callable[[str], None] = print,
) -> Path:
    """The same pipeline for a user's MIDI file or folder; files are the split unit.

    ``options`` default to ``ExtractionOptions()``: the melody track of each file, its top
    voice, repairs, silent windows dropped (see gen.music.extract); every file is read within
    the MIDI budgets of gen.core.limits.
    """
    files = find_midi_files(path)
    root = Path(path).resolve()
    options = options or ExtractionOptions()
    bars = _check_bars(bars)
    split = _check_split(split)
    if out_dir is None:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", root.stem)[:40] or "midi"
        digest = hashlib.sha1(str(root).encode()).hexdigest()[:8]
        out_dir = default_cache_root() / f"midi-{slug}-{digest}"
    out = Path(out_dir)
    stamp = [(str(f), f.stat().st_size, int(f.stat().st_mtime)) for f in files]
    settings = {"format": FORMAT_VERSION, "source": "midi", "path": str(root),
                "files": hashlib.sha1(json.dumps(stamp).encode()).hexdigest(),
                "options": _options_dict(options), "bars": list(bars), "split": list(split)}
    if not force and _cache_ok(out, settings, bars):
        log(f"music data: reusing {out} (same files and settings; --force to rebuild)")
        return out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    results = _run_jobs(_midi_job, [(str(f), options, bars) for f in files],
                        workers or os.cpu_count() or 1, progress, "extract")
    rel = {str(f): (f.resolve().relative_to(root).as_posix() if root.is_dir() else f.name)
           for f in files}
    items = [(rel[p], "midi", res) for p, res, _ in results]
    unreadable = Counter(res[bars[0]][1] for _, res, _ in results
                         if res[bars[0]][1] and res[bars[0]][1].startswith("unreadable"))
    extra = {"tunes": {"read": len(files), "failed": sum(unreadable.values()),
                       "failed_why": dict(unreadable)},
             "seconds": round(time.time() - t0, 1),
             # per file: the melody track used, what was repaired or cut (extraction report)
             "extraction": {rel[p]: details for p, _, details in results if details}}
    stats = _write_dataset(out, items, bars, split, settings, extra)
    log(summarize(stats, out))
    return out


def summarize(stats: dict[str, Any], where: Path | str = "") -> str:
    """A few lines for people: tunes read / failed, windows per split."""
    t = stats.get("tunes", {})
    lines = [f"music data {where}: {t.get('read', 0)} tunes read, {t.get('failed', 0)} failed"
             + (f" ({stats['tunes_per_second']} tunes/s)" if "tunes_per_second" in stats else "")]
    for why, n in list(t.get("failed_why", {}).items())[:5]:
        lines.append(f"  failed: {n} x {why}")
    for b, w in stats.get("windows", {}).items():
        tot = w["total"]
        lines.append(f"  {b}-bar windows: train {tot['train']}, valid {tot['valid']}, "
                     f"test {tot['test']}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- loading
def load_windows(dataset: str | Path, bars: int, split: str = "train") -> np.ndarray:
    """Windows (N, bars*16) uint8 of one split of a prepared dataset folder."""
    if split not in SPLITS:
        raise DataError(f"split must be one of {SPLITS}, got {split!r}")
    f = Path(dataset) / windows_name(bars)
    if not f.is_file():
        raise DataError(f"{f}: missing; prepare the data first (`gen data music`)")
    with np.load(f, allow_pickle=False) as z:
        if split not in z.files:
            raise DataError(f"{f}: has no array {split!r}; rebuild it with --force")
        return z[split]


def window_collections(dataset: str | Path, bars: int, split: str = "train") -> np.ndarray:
    """The collection (the part of a tune id before "/", e.g. "oneills1850") of each window
    of ``load_windows(dataset, bars, split)``: (N,) str; "" when the cache has no ids."""
    with np.load(Path(dataset) / windows_name(bars), allow_pickle=False) as z:
        if f"{split}_item" not in z.files or "item_ids" not in z.files:
            return np.full(len(z[split]), "", dtype=object)
        ids = z["item_ids"][z[f"{split}_item"]]
    return np.array([str(i).split("/")[0] if "/" in str(i) else "" for i in ids], dtype=object)


class MelodyDataset:
    """Melody windows indexed by a LongTensor -> tokens (B, T) int64.

    With ``transpose > 0`` each example is shifted by a random number of semitones in
    [-transpose, transpose], clipped per example so every pitch stays within 21-108; the
    shifts come from torch's global RNG (seeded by the trainer).
    """

    def __init__(self, windows: np.ndarray, transpose: int = 0) -> None:
        self.windows = torch.from_numpy(np.ascontiguousarray(windows).astype(np.int64))
        self.transpose = int(transpose)
        lo, hi = transpose_range(windows) if len(windows) else (np.zeros(0), np.zeros(0))
        self.lo = torch.from_numpy(np.maximum(lo, -self.transpose).astype(np.int64))
        self.hi = torch.from_numpy(np.minimum(hi, self.transpose).astype(np.int64))

    def __len__(self) -> int:
        return int(self.windows.shape[0])

    def __getitem__(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.windows[idx]  # (B, T)
        if self.transpose <= 0:
            return x
        lo, hi = self.lo[idx], self.hi[idx]
        shift = lo + (torch.rand(lo.shape) * (hi - lo + 1).float()).long().clamp(max=hi - lo)
        return torch.where(x >= NUM_SPECIAL, x + shift.unsqueeze(1), x)


def resolve_dataset(
    source: str = "folk", cache_dir: str | Path | None = None, limit: int | None = None,
    collections: Iterable[str] | None = None, bars: int = 2, prepare: bool = True,
    workers: int | None = None, progress: bool = True,
) -> Path:
    """The prepared dataset folder for a data source, preparing it when missing.

    ``source``: "folk" (the music21 corpus), a prepared dataset folder (holding stats.json),
    or a MIDI file/folder.
    """
    p = Path(source) if source != "folk" else None
    if p is not None and (p / STATS_NAME).is_file():
        return p
    if p is not None and not p.exists():
        raise DataError(f"data source {source!r}: expected 'folk', a prepared dataset folder "
                        "or a MIDI file/folder")
    if p is None:
        out = Path(cache_dir) if cache_dir else default_cache_root() / dataset_name(
            collections, limit)
    else:
        out = Path(cache_dir) if cache_dir else None
    if out is not None and (out / windows_name(bars)).is_file():
        return out
    if not prepare:
        raise DataError(f"{out or source}: no prepared {bars}-bar windows; run "
                        "`gen data music` first")
    if p is None:
        return prepare_corpus(out, collections, limit, workers, progress=progress)
    return prepare_midi(p, out, workers, progress=progress)


def build_music_data(
    config: Any, rank: int = 0, world_size: int = 1, source: str = "folk",
    cache_dir: str | None = None, limit: int | None = None,
    collections: tuple[str, ...] | None = None, transpose: int = 5, eval_split: str = "valid",
    workers: int | None = None,
) -> tuple[MelodyDataset, MelodyDataset]:
    """(train, eval) datasets for a music recipe (the registry's data builder).

    ``transpose``: semitone range of the training-time transposition (0 disables).
    Under torchrun the data must be prepared beforehand (processes would race to write it).
    """
    bars = int(config.bars)
    ds = resolve_dataset(source, cache_dir, limit, collections, bars,
                         prepare=world_size == 1, workers=workers, progress=rank == 0)
    train = load_windows(ds, bars, "train")
    ev = load_windows(ds, bars, eval_split)
    if len(train) == 0:
        raise DataError(f"{ds}: no {bars}-bar training windows (see {ds / STATS_NAME})")
    if len(ev) == 0:  # tiny datasets: evaluate on a slice of train rather than on nothing
        ev = train[: max(1, len(train) // 10)]
    return MelodyDataset(train, transpose), MelodyDataset(ev, 0)
