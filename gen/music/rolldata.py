"""Piano-roll datasets: benchmark splits or a MIDI folder -> windows of at most
``max_frames`` frames, batched as padded float tensors (gen.music.rollmodel.PAD after each
piece's end).

Training cuts a piece longer than ``max_frames`` into windows every ``max_frames // 2``
frames (overlapping, the last one ending at the piece's end); evaluation cuts it into
consecutive windows that cover every frame exactly once (``score_windows``), so that whole
test pieces are scored frame for frame and no padded frame is ever scored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from gen.core.errors import DataError
from gen.music.pianoroll import BENCHMARKS, load_benchmark, transpose_roll
from gen.music.rollmodel import pad_rolls


def train_windows(rolls: list[np.ndarray], max_frames: int) -> list[np.ndarray]:
    """Pieces -> windows of <= max_frames frames; long pieces overlap by half a window."""
    out = []
    hop = max(1, max_frames // 2)
    for r in rolls:
        if len(r) <= max_frames:
            out.append(r)
            continue
        starts = list(range(0, len(r) - max_frames + 1, hop))
        if starts[-1] + max_frames < len(r):
            starts.append(len(r) - max_frames)
        out.extend(r[s:s + max_frames] for s in starts)
    return out


def score_windows(rolls: list[np.ndarray], max_frames: int) -> tuple[list[np.ndarray],
                                                                     np.ndarray]:
    """Pieces -> consecutive windows of <= max_frames frames covering each piece once, and
    the index of the piece each window comes from (N,)."""
    out, piece = [], []
    for i, r in enumerate(rolls):
        for s in range(0, len(r), max_frames):
            out.append(r[s:s + max_frames])
            piece.append(i)
    return out, np.array(piece, dtype=np.int64)


class RollDataset:
    """Variable-length rolls; ``ds[indices]`` -> padded float batch (B, T_max, 88).

    ``transpose`` > 0 shifts each training draw by a random number of semitones in
    [-transpose, transpose] (drawn from torch's global generator, so resumes are exact).
    """

    def __init__(self, rolls: list[np.ndarray], transpose: int = 0) -> None:
        self.rolls = [np.ascontiguousarray(r, dtype=np.uint8) for r in rolls]
        self.transpose = int(transpose)

    def __len__(self) -> int:
        return len(self.rolls)

    def __getitem__(self, idx: Any) -> torch.Tensor:
        ids = torch.as_tensor(idx).reshape(-1).tolist()
        rolls = [self.rolls[i] for i in ids]
        if self.transpose:
            shifts = torch.randint(-self.transpose, self.transpose + 1, (len(rolls),))
            rolls = [transpose_roll(r, int(s)) for r, s in zip(rolls, shifts)]
        return pad_rolls(rolls)

    @property
    def frames(self) -> int:
        """Total frames in the dataset."""
        return int(sum(len(r) for r in self.rolls))


def load_rolls(source: str, split: str, frames_per_quarter: int,
               limit: int | None = None) -> list[np.ndarray]:
    """Pieces of one split: ``source`` is a benchmark name (``gen.music.pianoroll.BENCHMARKS``)
    or a folder of MIDI files (split by file name hash: 80/10/10 train/valid/test)."""
    if source in BENCHMARKS:
        b = BENCHMARKS[source]
        if b.frames_per_quarter != frames_per_quarter:
            raise DataError(f"{source}: its frames are 1/{b.frames_per_quarter} of a quarter "
                            f"note, the model's config says frames_per_quarter="
                            f"{frames_per_quarter}")
        rolls = load_benchmark(source, split)
    else:
        rolls = midi_folder_rolls(Path(source), split, frames_per_quarter)
    return rolls[:limit] if limit else rolls


def _split_of(name: str) -> str:
    import zlib

    h = zlib.crc32(name.encode()) % 10
    return "test" if h == 0 else "valid" if h == 1 else "train"


def midi_folder_rolls(folder: Path, split: str, frames_per_quarter: int,
                      max_frames: int = 8192) -> list[np.ndarray]:
    """Every .mid/.midi file of ``folder`` (recursively) in ``split`` -> rolls transposed to
    C; files without notes are skipped."""
    from gen.music.pianoroll import midi_to_roll

    if not folder.is_dir():
        raise DataError(f"{folder}: not a benchmark name ({', '.join(BENCHMARKS)}) nor a "
                        "folder of MIDI files")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    if not files:
        raise DataError(f"{folder}: no .mid or .midi files")
    rolls = []
    for p in files:
        if _split_of(str(p.relative_to(folder))) != split:
            continue
        try:
            roll, report = midi_to_roll(p, frames_per_quarter, max_frames, transpose_to_c=True)
        except DataError:
            continue
        if not report.reason and len(roll):
            rolls.append(roll)
    return rolls


def build_roll_data(config: Any, rank: int = 0, world_size: int = 1, source: str = "jsb",
                    limit: int | None = None, transpose: int = 0,
                    eval_split: str = "valid", train_frames: int | None = None
                    ) -> tuple[RollDataset, RollDataset]:
    """(train, eval) datasets for a piano-roll recipe (the registry's data builder).

    ``train_frames``: the longest training window (default the model's ``max_frames``);
    shorter windows train faster, while the model still reads and scores ``max_frames``."""
    fpq, w = int(config.frames_per_quarter), int(config.max_frames)
    tw = w if train_frames is None else min(w, int(train_frames))
    train = train_windows(load_rolls(source, "train", fpq, limit), tw)
    ev, _ = score_windows(load_rolls(source, eval_split, fpq, limit), w)
    if not train:
        raise DataError(f"{source}: no training pieces")
    if not ev:
        ev = train[: max(1, len(train) // 10)]
    return RollDataset(train, transpose), RollDataset(ev, 0)
