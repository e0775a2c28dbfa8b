"""Melody extraction: MIDI file / pretty_midi / NoteSequence -> melody token windows (N, T),
with a report that says what was found and, when nothing was, why.

Follows MusicVAE's ``OneHotMelodyConverter`` (Roberts et al. 2018, Magenta
``music_vae/data.py``): split at tempo / time-signature changes; keep 16-step bars (4/4, 2/2);
drop drums and notes outside 21-108; per instrument, extract monophonic melodies where the
highest of simultaneous onsets wins and a rest of ``gap_bars`` bars or more ends a melody;
slide a window of ``bars`` bars over each melody with a one-bar hop; drop duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gen.core.errors import DataError, GenError
from gen.music.melody import (
    MAX_PITCH,
    MIN_PITCH,
    STEPS_PER_BAR,
    STEPS_PER_QUARTER,
    events_to_tokens,
)
from gen.music.midi import (
    note_seq_module,
    read_midi,
    to_note_sequence,
)

# Why a source yielded no windows (the first words of ExtractionReport.reason).
UNREADABLE = "unreadable"
NO_NOTES = "no notes"
DRUMS_ONLY = "drums only"
OUT_OF_RANGE = "no notes in range"
BAD_TIME_SIGNATURE = "unsupported time signature"
TOO_SHORT = "too short"

# Time signatures whose bar regroups into 16-step model bars: 2/4 (two notated bars per model
# bar) and 4/2 (half a notated bar). Opt-in: they shift where the model's bar lines fall.
_REGROUPABLE = {"2/4", "4/2"}
_NATIVE = {"4/4", "2/2"}


@dataclass(frozen=True)
class ExtractionOptions:
    """The melody rules; the defaults are MusicVAE's mel_2bar / mel_16bar converters."""

    time_signatures: tuple[str, ...] = ("4/4", "2/2")  # kept meters; "2/4", "4/2" regroup
    gap_bars: float = 1.0  # a rest this many bars long (or longer) ends a melody
    min_pitch: int = MIN_PITCH  # notes below are ignored (MusicVAE: piano range)
    max_pitch: int = MAX_PITCH  # notes above are ignored
    programs: tuple[int, ...] | None = None  # keep only these GM programs (None: all)
    max_bars: int | None = None  # truncate longer melodies before slicing (None: keep all)

    def __post_init__(self) -> None:
        bad = [t for t in self.time_signatures if t not in _NATIVE | _REGROUPABLE]
        if bad:
            raise GenError(
                f"time_signatures: {bad} cannot map onto 16-step bars; choose from "
                f"{sorted(_NATIVE | _REGROUPABLE)}"
            )
        if not MIN_PITCH <= self.min_pitch <= self.max_pitch <= MAX_PITCH:
            raise GenError(
                f"min_pitch/max_pitch must satisfy {MIN_PITCH} <= min <= max <= {MAX_PITCH}, "
                f"got {self.min_pitch}/{self.max_pitch}"
            )
        if self.gap_bars <= 0:
            raise GenError(f"gap_bars must be > 0, got {self.gap_bars}")


@dataclass
class ExtractionReport:
    """What one source yielded, and why not when it yielded nothing."""

    source: str
    bars: int
    windows: int = 0
    melodies: int = 0
    longest_melody_bars: int = 0
    notes: int = 0
    time_signatures: list[str] = field(default_factory=list)
    reason: str | None = None  # None when windows > 0

    def line(self) -> str:
        """One human-readable line, e.g. ``a.mid: 12 windows (2 bars) from 3 melodies``."""
        if self.windows:
            return (f"{self.source}: {self.windows} windows ({self.bars} bars) from "
                    f"{self.melodies} melodies")
        return f"{self.source}: 0 windows ({self.bars} bars): {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)


# ----------------------------------------------------------------------------- extraction
def _ts_name(ts: Any) -> str:
    return f"{ts.numerator}/{ts.denominator}"


def _melodies(quantized: Any, options: ExtractionOptions) -> list[list[int]]:
    """All melodies (note_seq event lists) of a quantized NoteSequence, instrument by instrument.

    The same loop as Magenta's ``extract_melodies``: search from bar 0, extract one melody
    (highest onset wins, a long rest ends it, padded to the bar), continue at the next bar.
    """
    ns = note_seq_module()
    spb = STEPS_PER_BAR
    out: list[list[int]] = []
    instruments = sorted({n.instrument for n in quantized.notes if not n.is_drum})
    for inst in instruments:
        start = 0
        while True:
            mel = ns.Melody()
            mel.from_quantized_sequence(
                quantized, search_start_step=start, instrument=inst,
                gap_bars=options.gap_bars, ignore_polyphonic_notes=True, pad_end=True,
                filter_drums=True,
            )
            if len(mel) == 0:
                break
            events = list(mel)
            if options.max_bars is not None:
                events = events[: options.max_bars * spb]
            out.append(events)
            start = mel.end_step + (start - mel.end_step) % spb
    return out


def slice_windows(events: Sequence[int], bars: int, hop_bars: int = 1) -> list[tuple[int, ...]]:
    """Windows of ``bars`` bars sliding by ``hop_bars`` over one melody's events."""
    w, hop = bars * STEPS_PER_BAR, hop_bars * STEPS_PER_BAR
    return [tuple(events[i - w: i]) for i in range(w, len(events) + 1, hop)]


def extract_windows(
    sequence: Any, bars: int | Iterable[int], options: ExtractionOptions | None = None,
    source: str = "<sequence>",
) -> dict[int, tuple[np.ndarray, ExtractionReport]]:
    """Melody windows of a NoteSequence for each window length in ``bars``.

    Returns {bars: (windows (N, bars*16) uint8 deduplicated in first-seen order, report)}.
    Never raises for musical reasons: a report with ``reason`` says why N is 0.
    """
    ns_mod = note_seq_module()
    options = options or ExtractionOptions()
    bar_list = [bars] if isinstance(bars, int) else list(bars)
    reports = {b: ExtractionReport(source=source, bars=b) for b in bar_list}

    def finish(reason: str | None, melodies: list[list[int]]
               ) -> dict[int, tuple[np.ndarray, ExtractionReport]]:
        out = {}
        for b, rep in reports.items():
            seen: dict[tuple[int, ...], None] = {}
            for ev in melodies:
                for w in slice_windows(ev, b):
                    seen.setdefault(w, None)
            wins = (np.stack([events_to_tokens(w) for w in seen]) if seen
                    else np.zeros((0, b * STEPS_PER_BAR), np.uint8))
            rep.windows, rep.melodies = len(wins), len(melodies)
            rep.longest_melody_bars = max((len(m) // STEPS_PER_BAR for m in melodies), default=0)
            rep.reason = None if len(wins) else reason or (
                f"{TOO_SHORT}: the longest melody is {rep.longest_melody_bars} bar(s); a window "
                f"needs {b} (a rest of {options.gap_bars:g} bar(s) or more ends a melody)")
            out[b] = (wins, rep)
        return out

    notes = list(sequence.notes)
    for rep in reports.values():
        rep.notes = len(notes)
    if not notes:
        return finish(NO_NOTES, [])
    notes = [n for n in notes if n.velocity > 0]
    if not notes:
        return finish(f"{NO_NOTES} (every note has velocity 0)", [])
    pitched = [n for n in notes if not n.is_drum]
    if not pitched:
        return finish(f"{DRUMS_ONLY}: all {len(notes)} notes are percussion", [])
    if options.programs is not None:
        pitched = [n for n in pitched if n.program in options.programs]
        if not pitched:
            return finish(f"{OUT_OF_RANGE}: no notes on programs {list(options.programs)}", [])
    kept = [n for n in pitched if options.min_pitch <= n.pitch <= options.max_pitch]
    if not kept:
        lo, hi = min(n.pitch for n in pitched), max(n.pitch for n in pitched)
        return finish(f"{OUT_OF_RANGE}: pitches {lo}-{hi} all lie outside "
                      f"{options.min_pitch}-{options.max_pitch}", [])
    seq = type(sequence)()
    seq.CopyFrom(sequence)
    del seq.notes[:]
    seq.notes.extend(kept)  # MusicVAE ignores out-of-range notes before extraction

    melodies: list[list[int]] = []
    seen_ts: list[str] = []
    rejected_ts: list[str] = []
    for piece in ns_mod.sequences_lib.split_note_sequence_on_time_changes(seq):
        if not piece.notes:
            continue
        ts = _ts_name(piece.time_signatures[0]) if piece.time_signatures else "4/4"
        if ts not in seen_ts:
            seen_ts.append(ts)
        if ts not in options.time_signatures:
            rejected_ts.append(ts)
            continue
        if ts in _REGROUPABLE:
            del piece.time_signatures[:]
            piece.time_signatures.add(numerator=4, denominator=4, time=0.0)
        try:
            q = ns_mod.quantize_note_sequence(piece, STEPS_PER_QUARTER)
        except (ns_mod.sequences_lib.BadTimeSignatureError,
                ns_mod.sequences_lib.MultipleTimeSignatureError,
                ns_mod.sequences_lib.MultipleTempoError,
                ns_mod.sequences_lib.NegativeTimeError) as e:
            rejected_ts.append(f"{ts} ({type(e).__name__})")
            continue
        if ns_mod.steps_per_bar_in_quantized_sequence(q) != STEPS_PER_BAR:
            rejected_ts.append(ts)
            continue
        melodies.extend(_melodies(q, options))
    for rep in reports.values():
        rep.time_signatures = seen_ts
    if not melodies and rejected_ts:
        uniq = ", ".join(dict.fromkeys(rejected_ts))
        return finish(f"{BAD_TIME_SIGNATURE} {uniq} (supported: "
                      f"{', '.join(options.time_signatures)})", [])
    return finish(None, melodies)


def extract_file(
    path: str | Path, bars: int | Iterable[int], options: ExtractionOptions | None = None,
) -> dict[int, tuple[np.ndarray, ExtractionReport]]:
    """Like ``extract_windows`` for a MIDI file; an unreadable file gives a report, no error."""
    bar_list = [bars] if isinstance(bars, int) else list(bars)
    try:
        seq = read_midi(path)
    except DataError as e:
        reason = str(e).split(": ", 1)[1] if ": " in str(e) else str(e)
        return {b: (np.zeros((0, b * STEPS_PER_BAR), np.uint8),
                     ExtractionReport(source=str(path), bars=b, reason=reason)) for b in bar_list}
    return extract_windows(seq, bar_list, options, source=str(path))


def melody_windows(
    source: Any, bars: int, options: ExtractionOptions | None = None
) -> np.ndarray:
    """All windows (N, bars*16) of a MIDI path / pretty_midi / NoteSequence.

    Raises DataError naming the source and the reason when there are none.
    """
    name = str(source) if isinstance(source, (str, Path)) else type(source).__name__
    wins, rep = extract_windows(to_note_sequence(source), bars, options, source=name)[bars]
    if not len(wins):
        raise DataError(f"{name}: no {bars}-bar melody windows: {rep.reason}")
    return wins


def melody_window(
    source: Any, bars: int, index: int = 0, options: ExtractionOptions | None = None
) -> np.ndarray:
    """Window number ``index`` (default the first) of a source, (bars*16,) int64."""
    wins = melody_windows(source, bars, options)
    if not -len(wins) <= index < len(wins):
        name = str(source) if isinstance(source, (str, Path)) else type(source).__name__
        raise DataError(
            f"{name}: window index {index} is out of range; it has {len(wins)} "
            f"{bars}-bar windows (0-{len(wins) - 1})"
        )
    return wins[index].astype(np.int64)
