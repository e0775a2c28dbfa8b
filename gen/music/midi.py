"""MIDI in and out for the music head: reading files (pretty_midi / note_seq), finding MIDI
files, and writing melody tokens as MIDI (one file, or a zip of one file per melody).

Heavy libraries (note_seq, pretty_midi) are imported inside the functions that need them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gen.core.errors import DataError, GenError
from gen.core.files import atomic_write, safe_name
from gen.music.melody import STEPS_PER_BAR, STEPS_PER_QUARTER, tokens_to_notes, validate_tokens

MIDI_SUFFIXES = (".mid", ".midi", ".kar")
OUTPUT_VELOCITY = 80  # MusicVAE's velocity for decoded notes


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
        raise DataError(f"{path}: unreadable: not a valid MIDI file ({msg[:160]})") from e


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
    if is_pretty_midi(tokens_or_melodies):
        pm = tokens_or_melodies
    elif is_note_sequence(tokens_or_melodies):
        pm = note_seq_module().note_sequence_to_pretty_midi(tokens_or_melodies)
    else:
        pm = tokens_to_pretty_midi(tokens_or_melodies, bpm, program, gap_bars)
    return atomic_write(path, lambda tmp: pm.write(str(tmp)))


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

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for i, (mel, name) in enumerate(zip(mels, names)):
                buf = io.BytesIO()
                tokens_to_pretty_midi(mel, bpm, program, 0).write(buf)
                z.writestr(f"{safe_name(str(name), f'melody_{i:02d}')}.mid", buf.getvalue())

    return atomic_write(path, write)
