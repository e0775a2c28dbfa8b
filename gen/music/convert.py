"""Converters between music objects and melody tokens, kept apart from the models.

    MIDI file / pretty_midi / NoteSequence --(to_tensors)--> tokens (N, T)
    tokens (N, T) --(from_tensors)--> NoteSequences / pretty_midi / MIDI file

Melody extraction follows MusicVAE's ``OneHotMelodyConverter`` (Roberts et al. 2018, Magenta
``music_vae/data.py``): split at tempo / time-signature changes; keep 16-step bars (4/4, 2/2);
drop drums and notes outside 21-108; per instrument, extract monophonic melodies where the
highest of simultaneous onsets wins and a rest of ``gap_bars`` bars or more ends a melody;
slide a window of ``bars`` bars over each melody with a one-bar hop; drop duplicates.

Heavy libraries (note_seq, pretty_midi) are imported inside the functions that need them.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gen.core.errors import DataError, GenError
from gen.music.tokens import (
    MAX_PITCH,
    MIN_PITCH,
    STEPS_PER_BAR,
    STEPS_PER_QUARTER,
    events_to_tokens,
    tokens_to_notes,
    validate_tokens,
)

MIDI_SUFFIXES = (".mid", ".midi", ".kar")
OUTPUT_VELOCITY = 80  # MusicVAE's velocity for decoded notes

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


def note_seq_module() -> Any:
    """Import note_seq lazily (it pulls protobuf; pydub warns about ffmpeg on import)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydub: ffmpeg missing, audioop deprecated
            import note_seq
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise GenError(
            "the music head needs note-seq: pip install note-seq==0.0.5 'protobuf<7'"
        ) from e
    return note_seq


def _pretty_midi() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pretty_midi
    except ImportError as e:  # pragma: no cover
        raise GenError("the music head needs pretty_midi: pip install pretty_midi") from e
    return pretty_midi


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


# ----------------------------------------------------------------------------- reading
def is_note_sequence(obj: object) -> bool:
    """True for a note_seq ``NoteSequence`` proto (checked without importing note_seq)."""
    return type(obj).__name__ == "NoteSequence" and hasattr(obj, "notes")


def is_pretty_midi(obj: object) -> bool:
    """True for a ``pretty_midi.PrettyMIDI`` object (checked without importing it)."""
    return type(obj).__name__ == "PrettyMIDI" and hasattr(obj, "instruments")


def read_midi(path: str | Path) -> Any:
    """MIDI file -> NoteSequence. Raises DataError naming the file when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    data = path.read_bytes()
    ns_mod = note_seq_module()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pretty_midi warns about meta events on tracks
            return ns_mod.midi_to_note_sequence(data)
    except Exception as e:  # pretty_midi raises many exception types on bad bytes
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"{path}: {UNREADABLE}: not a valid MIDI file ({msg[:160]})") from e


def to_note_sequence(source: Any) -> Any:
    """A NoteSequence from a NoteSequence, a ``pretty_midi.PrettyMIDI`` or a MIDI path."""
    if is_note_sequence(source):
        return source
    if is_pretty_midi(source):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return note_seq_module().midi_to_note_sequence(source)
    if isinstance(source, (str, Path)):
        return read_midi(source)
    raise DataError(
        f"cannot read a melody from a {type(source).__name__}; expected a MIDI path, "
        "a pretty_midi.PrettyMIDI, a NoteSequence or a token array"
    )


def find_midi_files(path: str | Path) -> list[Path]:
    """A MIDI file itself, or every ``*.mid``/``*.midi``/``*.kar`` under a folder (sorted)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"{path}: no such file or folder")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MIDI_SUFFIXES)
    if not files:
        raise DataError(f"{path}: folder holds no MIDI files ({', '.join(MIDI_SUFFIXES)})")
    return files


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


# ----------------------------------------------------------------------------- writing
def _check_bpm_program(bpm: float, program: int) -> None:
    if not 1 <= bpm <= 1000:
        raise GenError(f"bpm must be between 1 and 1000, got {bpm}")
    if not 0 <= int(program) <= 127 or int(program) != program:
        raise GenError(f"program must be a General MIDI program number 0-127, got {program}")


def as_melody_list(tokens_or_melodies: Any) -> list[np.ndarray]:
    """Token array (T,) / (N, T), or a list of (T,) arrays -> list of int64 (T,) arrays."""
    if (isinstance(tokens_or_melodies, (list, tuple)) and tokens_or_melodies
            and not isinstance(tokens_or_melodies[0], (int, np.integer))):
        return [validate_tokens(m).reshape(-1) for m in tokens_or_melodies]
    arr = validate_tokens(tokens_or_melodies)
    return list(arr.reshape(-1, arr.shape[-1])) if arr.ndim > 1 else [arr]


def tokens_to_note_sequence(
    tokens: Sequence[int], qpm: float = 120.0, program: int = 0, velocity: int = OUTPUT_VELOCITY,
) -> Any:
    """One melody (T,) -> a NoteSequence (4/4, one tempo) with notes on ``program``."""
    _check_bpm_program(qpm, program)
    ns_mod = note_seq_module()
    seq = ns_mod.NoteSequence()
    seq.ticks_per_quarter = 220
    seq.tempos.add(qpm=qpm, time=0.0)
    seq.time_signatures.add(numerator=4, denominator=4, time=0.0)
    step_s = 60.0 / qpm / STEPS_PER_QUARTER
    for pitch, start, end in tokens_to_notes(tokens):
        seq.notes.add(pitch=pitch, velocity=velocity, program=int(program), instrument=0,
                      start_time=start * step_s, end_time=end * step_s)
    seq.total_time = max((n.end_time for n in seq.notes), default=0.0)
    return seq


def tokens_to_pretty_midi(
    tokens_or_melodies: Any, bpm: float = 120.0, program: int = 0, gap_bars: int = 0,
    velocity: int = OUTPUT_VELOCITY,
) -> Any:
    """Melodies played one after another (``gap_bars`` silent bars between) as a PrettyMIDI."""
    _check_bpm_program(bpm, program)
    if gap_bars < 0:
        raise GenError(f"gap_bars must be >= 0, got {gap_bars}")
    pm_mod = _pretty_midi()
    pm = pm_mod.PrettyMIDI(initial_tempo=float(bpm))
    pm.time_signature_changes.append(pm_mod.TimeSignature(4, 4, 0.0))
    inst = pm_mod.Instrument(program=int(program), name="melody")
    step_s = 60.0 / bpm / STEPS_PER_QUARTER
    offset = 0
    for mel in as_melody_list(tokens_or_melodies):
        for pitch, start, end in tokens_to_notes(mel):
            inst.notes.append(pm_mod.Note(velocity=int(velocity), pitch=pitch,
                                          start=(offset + start) * step_s,
                                          end=(offset + end) * step_s))
        offset += len(mel) + gap_bars * STEPS_PER_BAR
    pm.instruments.append(inst)
    return pm


def to_midi(
    tokens_or_melodies: Any, path: str | Path, bpm: float = 120.0, program: int = 0,
    gap_bars: int = 1,
) -> Path:
    """Write melodies to one MIDI file, in sequence with ``gap_bars`` bars of rest between.

    ``tokens_or_melodies``: tokens (T,) or (N, T), a list of them, or a NoteSequence /
    PrettyMIDI (written as is). ``program``: General MIDI program (0 = piano).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_pretty_midi(tokens_or_melodies):
        pm = tokens_or_melodies
    elif is_note_sequence(tokens_or_melodies):
        pm = note_seq_module().note_sequence_to_pretty_midi(tokens_or_melodies)
    else:
        pm = tokens_to_pretty_midi(tokens_or_melodies, bpm, program, gap_bars)
    pm.write(str(path))
    return path


def to_midi_zip(
    melodies: Any, path: str | Path, names: Sequence[str], bpm: float = 120.0, program: int = 0
) -> Path:
    """Write one MIDI file per melody (N, T) into a zip archive at ``path``.

    ``names`` (N,) become the member names ``<name>.mid``; they are reduced to safe file
    names, so a user's text never becomes a path.
    """
    import io
    import zipfile

    mels = as_melody_list(melodies)
    if len(names) != len(mels):
        raise GenError(f"names: got {len(names)} for {len(mels)} melodies")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (mel, name) in enumerate(zip(mels, names)):
            buf = io.BytesIO()
            tokens_to_pretty_midi(mel, bpm, program, 0).write(buf)
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("._") or f"melody_{i:02d}"
            z.writestr(f"{safe}.mid", buf.getvalue())
    tmp.replace(path)
    return path


class MelodyConverter:
    """Magenta-style converter: ``to_tensors(item) -> (N, T)``, ``from_tensors(tokens)``.

    ``bars`` sets the depth T = bars * 16 that sizes the model.
    """

    def __init__(self, bars: int, options: ExtractionOptions | None = None) -> None:
        self.bars = bars
        self.options = options or ExtractionOptions()

    @property
    def length(self) -> int:
        """Tokens per melody, T."""
        return self.bars * STEPS_PER_BAR

    def to_tensors(self, item: Any) -> np.ndarray:
        """MIDI path / PrettyMIDI / NoteSequence -> all its windows (N, T) uint8 (maybe N=0)."""
        name = str(item) if isinstance(item, (str, Path)) else type(item).__name__
        return extract_windows(to_note_sequence(item), self.bars, self.options, name)[self.bars][0]

    def from_tensors(self, tokens: Any, qpm: float = 120.0, program: int = 0) -> list[Any]:
        """Tokens (N, T) -> N NoteSequences."""
        return [tokens_to_note_sequence(m, qpm, program) for m in as_melody_list(tokens)]
