"""Melody tokens: MusicVAE's 90-class monophonic encoding (numpy only, no music libraries).

One token per 16th-note step (16 steps per 4/4 bar), as in Magenta's ``MelodyOneHotEncoding``
with pitches 21-108 (the piano range):

    0        HOLD      no event: the sounding note (or the rest) continues
    1        NOTE_OFF  the sounding note stops; silence until the next onset
    2 .. 89  pitch p = token + 19 starts (MIDI 21 = A0 .. 108 = C8); it ends the previous note

A 2-bar melody is 32 tokens, a 16-bar melody 256. Sequences here are arrays (N, T) or (T,).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gen.core.errors import DataError

HOLD = 0
NOTE_OFF = 1
NUM_SPECIAL = 2
MIN_PITCH = 21
MAX_PITCH = 108
NUM_CLASSES = NUM_SPECIAL + MAX_PITCH - MIN_PITCH + 1  # 90
STEPS_PER_BAR = 16
STEPS_PER_QUARTER = 4

# note_seq's Melody event values for the two special events.
EVENT_NO_EVENT = -2
EVENT_NOTE_OFF = -1


def token_to_pitch(token: int) -> int:
    """Token in [2, 89] -> MIDI pitch in [21, 108]."""
    return int(token) + MIN_PITCH - NUM_SPECIAL


def events_to_tokens(events: Sequence[int]) -> np.ndarray:
    """note_seq ``Melody`` events (-2 no event, -1 note off, else pitch) -> tokens (T,) uint8."""
    ev = np.asarray(events, dtype=np.int64)
    bad = (ev < EVENT_NO_EVENT) | ((ev >= 0) & ((ev < MIN_PITCH) | (ev > MAX_PITCH)))
    if bad.any():
        raise DataError(f"melody event {int(ev[bad][0])} is outside {MIN_PITCH}-{MAX_PITCH}")
    out = np.where(ev == EVENT_NO_EVENT, HOLD,
                   np.where(ev == EVENT_NOTE_OFF, NOTE_OFF, ev - MIN_PITCH + NUM_SPECIAL))
    return out.astype(np.uint8)


def tokens_to_events(tokens: Sequence[int]) -> list[int]:
    """Tokens (T,) -> note_seq ``Melody`` events (inverse of ``events_to_tokens``)."""
    t = validate_tokens(tokens, name="tokens").reshape(-1)
    ev = np.where(t == HOLD, EVENT_NO_EVENT,
                  np.where(t == NOTE_OFF, EVENT_NOTE_OFF, t + MIN_PITCH - NUM_SPECIAL))
    return [int(e) for e in ev]


def validate_tokens(tokens: object, length: int | None = None, name: str = "melody") -> np.ndarray:
    """Check an int array of tokens (..., T): integer, within [0, 89], T == ``length`` if given.

    Returns it as an int64 numpy array. Raises DataError naming the bad value and position.
    """
    arr = np.asarray(tokens)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.int64)
        else:
            raise DataError(f"{name}: tokens must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.ndim == 0:
        raise DataError(f"{name}: expected a token sequence (T,) or a batch (N, T), got a scalar")
    if length is not None and arr.shape[-1] != length:
        raise DataError(
            f"{name}: has {arr.shape[-1]} steps; this model needs {length} "
            f"({length // STEPS_PER_BAR} bars x {STEPS_PER_BAR} steps)"
        )
    bad = (arr < 0) | (arr >= NUM_CLASSES)
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"{name}: token {int(arr[pos])} at position {pos} is outside 0-{NUM_CLASSES - 1} "
            f"(0 hold, 1 note-off, 2-89 pitches {MIN_PITCH}-{MAX_PITCH})"
        )
    return arr


def tokens_to_notes(tokens: Sequence[int]) -> list[tuple[int, int, int]]:
    """Tokens (T,) -> notes [(pitch, start_step, end_step)], end exclusive.

    A note sounds from its onset until the next onset, note-off or the end of the sequence.
    """
    notes: list[tuple[int, int, int]] = []
    cur: tuple[int, int] | None = None  # (pitch, start)
    t = validate_tokens(tokens, name="tokens").reshape(-1)
    for step, tok in enumerate(t.tolist()):
        if tok == HOLD:
            continue
        if cur is not None:
            notes.append((cur[0], cur[1], step))
            cur = None
        if tok >= NUM_SPECIAL:
            cur = (token_to_pitch(tok), step)
    if cur is not None:
        notes.append((cur[0], cur[1], len(t)))
    return notes


def canonicalize(tokens: Sequence[int]) -> np.ndarray:
    """Replace note-offs that stop nothing (no note sounding) by HOLD, (..., T) -> (..., T).

    Both spellings mean the same music; only this one survives a trip through a MIDI file.
    """
    arr = validate_tokens(tokens, name="tokens")
    flat = arr.reshape(-1, arr.shape[-1]).copy()
    for row in flat:
        sounding = False
        for i, tok in enumerate(row):
            if tok == NOTE_OFF:
                if not sounding:
                    row[i] = HOLD
                sounding = False
            elif tok >= NUM_SPECIAL:
                sounding = True
    return flat.reshape(arr.shape)


def survives_midi(tokens: Sequence[int], steps_per_bar: int = STEPS_PER_BAR) -> bool:
    """Whether a canonical melody (T,) comes back unchanged from MIDI by melody extraction.

    MIDI cannot say where silence before the first note or after the last one begins or
    ends, so the first onset must lie in the first bar and the last note must end inside
    the last bar (not at or before its first step).
    """
    t = validate_tokens(tokens, name="tokens").reshape(-1)
    notes = tokens_to_notes(t)
    if not notes:
        return False
    return notes[0][1] < steps_per_bar and notes[-1][2] > len(t) - steps_per_bar


def transpose_range(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row (lowest, highest) semitone shift keeping every pitch in 21-108, (N, T) -> (N,) x2.

    Rows without any pitch get (0, 0).
    """
    tok = np.asarray(tokens, dtype=np.int64)
    is_pitch = tok >= NUM_SPECIAL
    hi_tok = np.where(is_pitch, tok, -1).max(axis=-1)
    lo_tok = np.where(is_pitch, tok, NUM_CLASSES).min(axis=-1)
    has = is_pitch.any(axis=-1)
    lo = np.where(has, NUM_SPECIAL - lo_tok, 0)
    hi = np.where(has, NUM_CLASSES - 1 - hi_tok, 0)
    return lo, hi


def pitch_name(pitch: int) -> str:
    """MIDI pitch -> name such as 'C4' (middle C = 60)."""
    names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    return f"{names[pitch % 12]}{pitch // 12 - 1}"


def describe(tokens: Sequence[int]) -> str:
    """Human-readable one-line rendering: pitch names, '-' hold, '.' note-off, '|' bar lines."""
    t = validate_tokens(tokens, name="tokens").reshape(-1)
    parts = []
    for i, tok in enumerate(t.tolist()):
        if i and i % STEPS_PER_BAR == 0:
            parts.append("|")
        parts.append("-" if tok == HOLD else "." if tok == NOTE_OFF else pitch_name(
            token_to_pitch(tok)))
    return " ".join(parts)
