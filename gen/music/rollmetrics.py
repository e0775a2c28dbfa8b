"""Metrics on piano rolls: frame accuracy, frame and note F1, and corpus statistics.

Every function takes one (T, 88) roll or a list of them (pred and target paired piece by
piece, equal shapes) and pools counts over all pieces, frames and keys before dividing, so
long pieces weigh more (as in the benchmark's frame-weighted NLL). Per-unit accuracy is left
out on purpose: predicting silence everywhere scores 95.6% on JSB Chorales.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from gen.core.errors import GenError


class Scores(NamedTuple):
    """Precision, recall and F1, each in [0, 1]."""

    precision: float
    recall: float
    f1: float


def _rolls(x: Any, what: str) -> list[np.ndarray]:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray) and x.ndim == 2:
        items = [x]
    elif isinstance(x, np.ndarray) and x.ndim == 3:
        items = list(x)
    else:
        items = list(x)
    out = []
    for i, r in enumerate(items):
        if hasattr(r, "detach"):
            r = r.detach().cpu().numpy()
        a = np.asarray(r)
        if a.ndim != 2:
            raise GenError(f"{what}[{i}]: expected a (T, K) roll, got shape {a.shape}")
        out.append(a != 0)
    return out


def _pairs(pred: Any, target: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    p, t = _rolls(pred, "pred"), _rolls(target, "target")
    if len(p) != len(t):
        raise GenError(f"pred has {len(p)} rolls, target {len(t)}: they must pair up")
    for i, (a, b) in enumerate(zip(p, t)):
        if a.shape != b.shape:
            raise GenError(f"roll {i}: pred shape {a.shape} != target shape {b.shape}")
    return list(zip(p, t))


def _ratio(num: float, den: float, empty: float) -> float:
    return float(num / den) if den else empty


def _frame_counts(pred: Any, target: Any) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for p, t in _pairs(pred, target):
        tp += int(np.count_nonzero(p & t))
        fp += int(np.count_nonzero(p & ~t))
        fn += int(np.count_nonzero(~p & t))
    return tp, fp, fn


def frame_accuracy(pred: Any, target: Any) -> float:
    """Bay, Ehmann & Downie (2009) frame-level accuracy TP / (TP + FP + FN), with the counts
    summed over all pieces, frames and keys. pred, target: (T, K) or lists of them. 1.0 when
    both are entirely silent (nothing to find, nothing wrongly found)."""
    tp, fp, fn = _frame_counts(pred, target)
    return _ratio(tp, tp + fp + fn, 1.0)


def frame_f1(pred: Any, target: Any) -> Scores:
    """Frame-level precision TP/(TP+FP), recall TP/(TP+FN) and F1 over all (frame, key)
    cells of all pieces. An empty denominator counts as 1.0 (nothing to get wrong)."""
    tp, fp, fn = _frame_counts(pred, target)
    return Scores(_ratio(tp, tp + fp, 1.0), _ratio(tp, tp + fn, 1.0),
                  _ratio(2 * tp, 2 * tp + fp + fn, 1.0))


def _onsets(roll: np.ndarray) -> np.ndarray:
    """(T, K) bool -> (T, K) bool: True where a note (a maximal run of a held key) starts."""
    prev = np.zeros_like(roll)
    prev[1:] = roll[:-1]
    return roll & ~prev


def note_f1(pred: Any, target: Any) -> Scores:
    """Note-level precision, recall and F1. A note is a maximal run of a held key; a
    predicted note matches a reference note with the same pitch and onset frame (offsets are
    ignored). At most one note per key starts in a frame, so matching is one-to-one.
    An empty denominator counts as 1.0."""
    tp = n_pred = n_ref = 0
    for p, t in _pairs(pred, target):
        op, ot = _onsets(p), _onsets(t)
        tp += int(np.count_nonzero(op & ot))
        n_pred += int(np.count_nonzero(op))
        n_ref += int(np.count_nonzero(ot))
    return Scores(_ratio(tp, n_pred, 1.0), _ratio(tp, n_ref, 1.0),
                  _ratio(2 * tp, n_pred + n_ref, 1.0))


def roll_statistics(rolls: Sequence[Any], lowest_pitch: int = 21) -> dict[str, float]:
    """Summary of a list of (T, 88) rolls (or one roll), pooled over all frames:

    - ``pieces``, ``frames``, ``notes``: counts (a note is a maximal run of a held key);
    - ``polyphony``: mean number of keys sounding per frame (silent frames included);
    - ``silent_fraction``: fraction of frames with no key sounding;
    - ``mean_pitch``: mean MIDI pitch over all sounding (frame, key) cells;
    - ``pitch_range``: mean over pieces with notes of (highest - lowest sounding pitch);
    - ``mean_note_length``: mean note length in frames;
    - ``onset_density``: notes per frame (new notes starting per frame, on average).

    Undefined values (no frames, no notes) are NaN.
    """
    items = _rolls(rolls, "rolls")
    frames = sum(r.shape[0] for r in items)
    cells = sum(int(np.count_nonzero(r)) for r in items)
    silent = sum(int(np.count_nonzero(~r.any(axis=1))) for r in items)
    notes = sum(int(np.count_nonzero(_onsets(r))) for r in items)
    pitch_sum = 0.0
    ranges = []
    for r in items:
        per_key = np.count_nonzero(r, axis=0)  # (K,)
        pitch_sum += float((per_key * (lowest_pitch + np.arange(r.shape[1]))).sum())
        used = np.nonzero(per_key)[0]
        if used.size:
            ranges.append(float(used[-1] - used[0]))
    nan = float("nan")
    return {
        "pieces": float(len(items)),
        "frames": float(frames),
        "notes": float(notes),
        "polyphony": cells / frames if frames else nan,
        "silent_fraction": silent / frames if frames else nan,
        "mean_pitch": pitch_sum / cells if cells else nan,
        "pitch_range": float(np.mean(ranges)) if ranges else nan,
        "mean_note_length": cells / notes if notes else nan,
        "onset_density": notes / frames if frames else nan,
    }
