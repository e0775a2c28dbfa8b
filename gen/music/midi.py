"""MIDI in and out for the music head: reading files (pretty_midi / note_seq), finding MIDI
files, and writing melody tokens as MIDI (one file, or a zip of one file per melody).

Heavy libraries (note_seq, pretty_midi) are imported inside the functions that need them.
"""

from __future__ import annotations

import math
import struct
import warnings
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
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


# ----------------------------------------------------------------------------- checking
@dataclass
class MidiCheck:
    """What the byte-level check of a MIDI file found, before any parser ran.

    ``data`` holds the bytes handed to the parser: the file itself, or a repaired / cut copy
    (unknown chunks left out, every track ended at the cut with its held notes released).
    ``notices`` says in words what was cut or repaired (empty when the file is read as is).
    """

    source: str
    size_bytes: int
    format: int
    tracks: int  # track chunks read
    ticks_per_quarter: int
    notes: int  # note onsets in the part that is read
    beats: float  # length of the part that is read, in quarter notes
    seconds: float  # the same in seconds, by the file's tempo map
    cut: bool = False  # True when the file was longer than a budget and only its start is read
    notices: list[str] = field(default_factory=list)
    data: bytes = field(default=b"", repr=False)


class _Damaged(Exception):
    """A malformed track: the message says where and what, in words."""


# status byte -> data bytes for the channel messages (upper nibble) and system messages
_CHANNEL_DATA = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}
_SYSTEM_DATA = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0, 0xF8: 0, 0xFA: 0, 0xFB: 0, 0xFC: 0,
                0xFE: 0}


class _Track:
    """A resumable walk over the events of one track chunk ``data[start:end]``, without
    building any message object.

    ``advance(tick_limit, event_limit)`` reads events until the next one is at
    ``tick_limit`` or later, or ``event_limit`` events were read, checking the structure as
    mido would read it (running status, data bytes below 128, events inside the chunk);
    a malformed track raises _Damaged saying what is wrong.
    """

    def __init__(self, data: bytes, start: int, end: int, first: bool) -> None:
        self.data, self.start, self.end, self.first = data, start, end, first
        self.i = start  # offset of the next event (its delta time)
        self.tick = 0  # tick of the last event read
        self.status = 0  # running status
        self.events = 0
        self.complete = False  # the chunk end or its end-of-track marker was reached
        self.next_tick = 0  # tick of the next event (when not complete)
        self.note_ticks = array("q")
        self.change_ticks = array("q")  # tempo and time-signature events (first track)
        self.tempos: list[tuple[int, int]] = []  # (tick, microseconds per quarter)
        self.held: dict[tuple[int, int], int] = {}  # (channel, pitch) -> notes sounding

    def music_next(self) -> bool:
        """Whether an event other than the end-of-track marker follows."""
        if self.complete:
            return False
        try:
            _, j = _vlq(self.data, self.i, self.end)
        except _Damaged:  # damage after the cut: something follows, and it is not read
            return True
        return not (j + 1 < self.end and self.data[j] == 0xFF and self.data[j + 1] == 0x2F)

    def advance(self, tick_limit: int, event_limit: int) -> int:
        """Read events (see the class docstring); returns how many were read."""
        data, end, i, tick, status = self.data, self.end, self.i, self.tick, self.status
        note_ticks, held = self.note_ticks, self.held
        read = 0
        while i < end:
            delta, j = _vlq(data, i, end)
            if tick + delta >= tick_limit or read >= event_limit:
                self.next_tick = tick + delta
                break
            i = j
            tick += delta
            if i >= end:
                raise _Damaged("ends between an event's time and the event")
            b = data[i]
            if b >= 0x80:
                i += 1
                if b < 0xF0:
                    status = b
            elif not status:
                raise _Damaged(f"has a data byte where an event should start (byte "
                               f"{i - self.start})")
            else:
                b = status
            read += 1
            if b < 0xF0:
                n = _CHANNEL_DATA[b & 0xF0]
                if i + n > end:
                    raise _Damaged("ends inside a note or controller event")
                if data[i] > 0x7F or (n == 2 and data[i + 1] > 0x7F):
                    raise _Damaged(f"has a data byte above 127 (byte {i - self.start})")
                kind = b & 0xF0
                if kind == 0x90 and data[i + 1]:
                    note_ticks.append(tick)
                    key = (b & 0x0F, data[i])
                    held[key] = held.get(key, 0) + 1
                elif kind == 0x80 or kind == 0x90:
                    key = (b & 0x0F, data[i])
                    if held.get(key):
                        held[key] -= 1
                i += n
            elif b == 0xFF:
                if i >= end:
                    raise _Damaged("ends inside a meta event")
                mtype = data[i]
                length, i = _vlq(data, i + 1, end)
                if i + length > end:
                    raise _Damaged("ends inside a meta event")
                if mtype == 0x2F:
                    self.complete = True
                    i = end
                    break
                self._meta(mtype, data[i:i + length], tick)
                i += length
            elif b in (0xF0, 0xF7):
                length, i = _vlq(data, i, end)
                if i + length > end:
                    raise _Damaged("ends inside a system-exclusive event")
                i += length
            elif b in _SYSTEM_DATA:
                i += _SYSTEM_DATA[b]
                if i > end:
                    raise _Damaged("ends inside a system event")
            else:
                raise _Damaged(f"has the undefined status byte 0x{b:02X} (byte "
                               f"{i - 1 - self.start})")
        else:
            self.complete = True
        self.i, self.tick, self.status = i, tick, status
        self.events += read
        return read

    def _meta(self, mtype: int, body: bytes, tick: int) -> None:
        """Check the meta events mido decodes (tempo, time and key signature)."""
        if mtype == 0x51:
            if len(body) != 3:
                raise _Damaged(f"has a tempo event of {len(body)} bytes (3 expected)")
            uspq = int.from_bytes(body, "big")
            if uspq == 0:
                raise _Damaged("sets a tempo of 0 microseconds per quarter note")
            if self.first:
                self.tempos.append((tick, uspq))
                self.change_ticks.append(tick)
        elif mtype == 0x58:
            if len(body) != 4:
                raise _Damaged(f"has a time signature event of {len(body)} bytes (4 expected)")
            if body[0] == 0 or body[1] > 7:
                raise _Damaged(f"has the impossible time signature {body[0]}/2^{body[1]}")
            if self.first:
                self.change_ticks.append(tick)
        elif mtype == 0x59:
            if len(body) != 2 or not (-7 <= int.from_bytes(body[:1], "big", signed=True) <= 7
                                      and body[1] in (0, 1)):
                raise _Damaged("has a key signature event that names no key")

    def ended_at(self, cut: int) -> bytes:
        """The chunk body up to the current position, held notes released at tick ``cut``,
        then an end-of-track marker."""
        body = bytearray(self.data[self.start:self.i])
        delta = max(0, cut - self.tick)
        for (ch, pitch), n in sorted(self.held.items()):
            for _ in range(n):
                body += vlq_bytes(delta) + bytes([0x80 | ch, pitch, 0])
                delta = 0
        body += vlq_bytes(delta) + b"\xff\x2f\x00"
        return bytes(body)


def _vlq(data: bytes, i: int, end: int) -> tuple[int, int]:
    """A MIDI variable-length quantity at ``i`` -> (value, next offset)."""
    v = 0
    for _ in range(4):
        if i >= end:
            raise _Damaged("ends inside a time or length field")
        b = data[i]
        i += 1
        v = (v << 7) | (b & 0x7F)
        if b < 0x80:
            return v, i
    raise _Damaged("has a time or length field longer than 4 bytes")


def vlq_bytes(n: int) -> bytes:
    """n >= 0 as a MIDI variable-length quantity."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _seconds_at(tick: int, tempos: list[tuple[int, int]], tpq: int) -> float:
    """Seconds at ``tick`` by the first track's tempo map (as pretty_midi computes them)."""
    t, last_tick, uspq = 0.0, 0, 500_000
    for at, new in tempos:
        if at >= tick:
            break
        t += (at - last_tick) * uspq / 1e6 / tpq
        last_tick, uspq = at, new
    return t + (tick - last_tick) * uspq / 1e6 / tpq


def _tick_at(seconds: float, tempos: list[tuple[int, int]], tpq: int) -> int:
    """The first tick at or after ``seconds`` by the tempo map (inverse of _seconds_at)."""
    t, last_tick, uspq = 0.0, 0, 500_000
    for at, new in tempos:
        seg = (at - last_tick) * uspq / 1e6 / tpq
        if t + seg >= seconds:
            break
        t += seg
        last_tick, uspq = at, new
    return last_tick + math.ceil((seconds - t) * 1e6 * tpq / uspq)


def _clock(seconds: float) -> str:
    """Seconds as m:ss."""
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


_BUDGET_WORDS = {
    "MIDI_MAX_BEATS": lambda L: f"{L.MIDI_MAX_BEATS:,} beats",
    "MIDI_MAX_TICKS": lambda L: f"{L.MIDI_MAX_TICKS:,} ticks",
    "MIDI_MAX_SECONDS": lambda L: f"{L.MIDI_MAX_SECONDS:g} s",
    "MIDI_MAX_EVENTS": lambda L: f"{L.MIDI_MAX_EVENTS:,} MIDI events",
    "MIDI_MAX_NOTES": lambda L: f"{L.MIDI_MAX_NOTES:,} notes",
    "MIDI_MAX_TIME_CHANGES": lambda L: f"{L.MIDI_MAX_TIME_CHANGES:,} tempo and time-signature "
                                       "changes",
}


def scan_midi(data: bytes, name: str = "<bytes>") -> MidiCheck:
    """Check MIDI bytes against the MIDI budgets of ``gen.core.limits`` before any parser runs.

    Names malformed files in words with a DataError (empty, not MIDI, truncated, 0 ticks per
    quarter note, SMPTE time division, a header whose track count does not match the file,
    damaged tracks). A file longer than a budget (``MIDI_MAX_SECONDS``, ``MIDI_MAX_BEATS``,
    ``MIDI_MAX_TICKS``, ``MIDI_MAX_NOTES``, ``MIDI_MAX_EVENTS``, ``MIDI_MAX_TIME_CHANGES``)
    is cut: every track ends at the same tick, notes sounding there end there, and a notice
    names the limit. The work is bounded by the budgets, never by what the file claims: the
    tracks are walked side by side, a window of ticks at a time, without building messages.

    Returns the check; its ``data`` are the bytes to hand to the parser.
    """
    from gen.core import limits as L

    size = len(data)
    if size == 0:
        raise DataError(f"{name}: unreadable: empty file (0 bytes)")
    if size > L.MIDI_MAX_BYTES:
        raise DataError(f"{name}: unreadable: {size / 2**20:.1f} MB is larger than the "
                        f"{L.MIDI_MAX_BYTES // 2**20} MB accepted for MIDI files "
                        "(gen.core.limits.MIDI_MAX_BYTES)")
    if data[:4] != b"MThd":
        what = ("a RIFF MIDI (.rmi) wrapper; save it as a standard MIDI file"
                if data[:4] == b"RIFF" else "it does not start with the MIDI header 'MThd'")
        raise DataError(f"{name}: unreadable: not a MIDI file ({what})")
    if size < 14:
        raise DataError(f"{name}: unreadable: truncated: the file ends inside its header "
                        f"({size} of 14 bytes)")
    hlen, fmt, ntracks, division = struct.unpack(">IHHH", data[4:14])
    if hlen < 6 or 8 + hlen > size:
        raise DataError(f"{name}: unreadable: damaged header (its length field says {hlen} "
                        "bytes)")
    if fmt > 2:
        raise DataError(f"{name}: unreadable: unknown MIDI format {fmt} (0, 1 or 2 expected)")
    if division & 0x8000:
        fps, tpf = 256 - (division >> 8), division & 0xFF
        raise DataError(
            f"{name}: unreadable: the file counts time in SMPTE frames ({fps} frames per "
            f"second, {tpf} ticks per frame) instead of ticks per quarter note, so it has no "
            "beats to put bar lines on; export it again with a musical time base")
    if division == 0:
        raise DataError(f"{name}: unreadable: the header gives 0 ticks per quarter note, so "
                        "no note has a time")
    if ntracks == 0:
        raise DataError(f"{name}: unreadable: the header announces 0 tracks")
    tpq = division
    notices: list[str] = []
    chunks: list[tuple[int, int]] = []  # (body start, body end) of each MTrk chunk
    unknown, pos = 0, 8 + hlen
    while pos < size:
        if pos + 8 > size:
            if len(chunks) >= ntracks:
                notices.append(f"ignored {size - pos} stray byte(s) after the last track")
                break
            raise DataError(f"{name}: unreadable: truncated: the file ends inside the header "
                            f"of track {len(chunks) + 1} of {ntracks}")
        cid = data[pos:pos + 4]
        clen = struct.unpack(">I", data[pos + 4:pos + 8])[0]
        body = pos + 8
        if body + clen > size:
            if cid == b"MTrk" and len(chunks) < ntracks:
                raise DataError(
                    f"{name}: unreadable: truncated: track {len(chunks) + 1} of {ntracks} "
                    f"declares {clen:,} bytes but only {size - body:,} remain (the file was "
                    "cut off)")
            notices.append(f"ignored a damaged chunk after track {len(chunks)}")
            break
        if cid == b"MTrk":
            chunks.append((body, body + clen))
        else:
            unknown += 1
        pos = body + clen
    if len(chunks) < ntracks:
        raise DataError(f"{name}: unreadable: damaged header: it announces {ntracks} tracks "
                        f"but the file holds {len(chunks)} (it may have been cut off)")
    if unknown:
        notices.append(f"skipped {unknown} chunk(s) that are not MIDI tracks")
    if len(chunks) > ntracks:
        notices.append(f"the header announces {ntracks} track(s) but the file holds "
                       f"{len(chunks)}: all {len(chunks)} are read")
    if len(chunks) > L.MIDI_MAX_TRACKS:
        notices.append(f"read the first {L.MIDI_MAX_TRACKS} of {len(chunks)} tracks "
                       "(limit gen.core.limits.MIDI_MAX_TRACKS)")
        chunks = chunks[:L.MIDI_MAX_TRACKS]

    def run(k: int, track: _Track, tick_limit: int, event_limit: int) -> int:
        try:
            return track.advance(tick_limit, event_limit)
        except _Damaged as e:
            raise DataError(f"{name}: unreadable: damaged track {k + 1} of {len(chunks)}: "
                            f"it {e}") from None

    # 1. the tempo map and the time changes of the first track (pretty_midi reads them there)
    at = {"MIDI_MAX_BEATS": L.MIDI_MAX_BEATS * tpq, "MIDI_MAX_TICKS": L.MIDI_MAX_TICKS}
    head = _Track(data, *chunks[0], first=True)
    run(0, head, min(at.values()), L.MIDI_MAX_EVENTS)
    at["MIDI_MAX_SECONDS"] = _tick_at(L.MIDI_MAX_SECONDS, head.tempos, tpq)
    if not head.complete and head.next_tick < min(at.values()):
        at["MIDI_MAX_EVENTS"] = head.next_tick
    if len(head.change_ticks) > L.MIDI_MAX_TIME_CHANGES:
        at["MIDI_MAX_TIME_CHANGES"] = head.change_ticks[L.MIDI_MAX_TIME_CHANGES]
    cut = min(at.values())
    # 2. every track up to the cut, side by side a window of ticks at a time, sharing one
    #    event budget: when it runs out, the cut is the start of that window
    tracks = [_Track(data, s, e, first=k == 0) for k, (s, e) in enumerate(chunks)]
    budget, reached = L.MIDI_MAX_EVENTS, 0
    step = max(1, cut // 512)
    while reached < cut and not all(t.complete for t in tracks):
        target = min(cut, reached + step)
        for k, t in enumerate(tracks):
            budget -= run(k, t, target, budget + 1)
            if budget < 0:
                at["MIDI_MAX_EVENTS"] = reached
                cut = reached
                break
        else:
            reached = target
            continue
        break
    note_ticks = sorted(x for t in tracks for x in t.note_ticks if x < cut)
    if len(note_ticks) > L.MIDI_MAX_NOTES:
        at["MIDI_MAX_NOTES"] = note_ticks[L.MIDI_MAX_NOTES]
        cut = min(cut, note_ticks[L.MIDI_MAX_NOTES])
    # 3. end the tracks that go on past the cut at the cut
    going_on = [not t.complete or t.tick >= cut for t in tracks]
    lost = [k for k, t in enumerate(tracks) if going_on[k] and (
        t.tick >= cut or t.music_next() or any(t.held.values()))]
    end_tick = cut if lost else max(t.tick for t in tracks)
    if lost:
        why = min(at, key=lambda k: at[k])
        further = max(max(t.tick, t.next_tick) for t in tracks)
        goes_on = (f"; it goes on to beat {further / tpq:,.0f} at least"
                   if further > 1.1 * cut + tpq else "")
        notices.insert(0, (
            f"read only the first {_clock(_seconds_at(cut, head.tempos, tpq))} "
            f"({cut / tpq:,.0f} beats) of a longer file{goes_on} (limit "
            f"{_BUDGET_WORDS[why](L)}: gen.core.limits.{why})"))
    if not (unknown or len(chunks) != ntracks or any(going_on) or chunks[-1][1] != size
            or hlen != 6):
        out = data
    else:
        fmt = 1 if fmt == 0 and len(chunks) > 1 else fmt  # format 0 holds one track
        parts = [b"MThd", struct.pack(">IHHH", 6, fmt, len(chunks), tpq)]
        sounding = 0
        for k, (start, end) in enumerate(chunks):
            if going_on[k]:
                t = _Track(data, start, end, first=k == 0)
                run(k, t, cut, 2**62)
                sounding += sum(t.held.values())
                body = t.ended_at(cut if k in lost else t.tick)  # else: a late end marker
            else:
                body = data[start:end]
            parts += [b"MTrk", struct.pack(">I", len(body)), body]
        out = b"".join(parts)
        if lost and sounding:
            notices.insert(1, f"{sounding} note(s) sounding at the cut were ended there")
    kept = sum(1 for x in note_ticks if x < cut)
    return MidiCheck(source=name, size_bytes=size, format=fmt, tracks=len(chunks),
                     ticks_per_quarter=tpq, notes=kept, beats=end_tick / tpq,
                     seconds=_seconds_at(end_tick, head.tempos, tpq), cut=bool(lost),
                     notices=notices, data=out)


# ----------------------------------------------------------------------------- reading
def is_note_sequence(obj: object) -> bool:
    """True for a note_seq ``NoteSequence`` proto (checked without importing note_seq)."""
    return type(obj).__name__ == "NoteSequence" and hasattr(obj, "notes")


def is_pretty_midi(obj: object) -> bool:
    """True for a ``pretty_midi.PrettyMIDI`` object (checked without importing it)."""
    return type(obj).__name__ == "PrettyMIDI" and hasattr(obj, "instruments")


def _file_bytes(path: str | Path) -> tuple[Path, bytes]:
    """The bytes of a MIDI file, its size checked before reading."""
    from gen.core.limits import MIDI_MAX_BYTES

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    size = path.stat().st_size
    if size > MIDI_MAX_BYTES:
        raise DataError(f"{path}: unreadable: {size / 2**20:.1f} MB is larger than the "
                        f"{MIDI_MAX_BYTES // 2**20} MB accepted for MIDI files "
                        "(gen.core.limits.MIDI_MAX_BYTES)")
    try:
        return path, path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror})") from None


def _parser_failed(name: str, e: BaseException) -> DataError:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    text = text.replace("Midi decoding error ", "")
    return DataError(f"{name}: unreadable: the MIDI parser stopped ({text[:120]})")


def load_midi(path: str | Path) -> tuple[Any, MidiCheck]:
    """MIDI file -> (NoteSequence, the check with its notices), within the MIDI budgets.

    The file is checked by ``scan_midi`` first (malformed files named in words, long ones
    cut); only then does pretty_midi / note_seq parse it. Raises DataError naming the file.
    """
    path, data = _file_bytes(path)
    check = scan_midi(data, str(path))
    ns_mod = note_seq_module()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pretty_midi warns about meta events on tracks
            seq = ns_mod.midi_to_note_sequence(check.data)
    except Exception as e:  # pretty_midi raises many exception types on bad bytes
        raise _parser_failed(str(path), e) from e
    return seq, check


def read_midi(path: str | Path) -> Any:
    """MIDI file -> NoteSequence (see ``load_midi``). Raises DataError naming the file."""
    return load_midi(path)[0]


def read_pretty_midi(path: str | Path) -> tuple[Any, MidiCheck]:
    """MIDI file -> (pretty_midi.PrettyMIDI, check), within the same budgets as ``load_midi``
    (for readers that want pretty_midi objects, e.g. piano rolls)."""
    import io

    path, data = _file_bytes(path)
    check = scan_midi(data, str(path))
    pm_mod = _pretty_midi()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pm_mod.PrettyMIDI(io.BytesIO(check.data)), check
    except Exception as e:  # noqa: BLE001 - any parser failure means "not valid MIDI"
        raise _parser_failed(str(path), e) from e


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
    """The tempo within gen.core.limits.BPM_RANGE and a General MIDI program, else GenError."""
    from gen.core import limits

    limits.check_number(bpm, "bpm", *limits.BPM_RANGE)
    limits.check_whole(program, "program (General MIDI program number)", *limits.PROGRAM_RANGE)


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
    from gen.core.limits import MAX_GAP_BARS, check_whole

    gap_bars = check_whole(gap_bars, "gap_bars", 0, MAX_GAP_BARS)
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
