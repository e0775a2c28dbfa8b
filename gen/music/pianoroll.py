"""Polyphonic piano rolls: the representation, the benchmark data and MIDI conversion.

A piano roll is a (T, 88) array of 0/1 (uint8): row t is frame t, column k is MIDI pitch
``LOWEST_PITCH + k`` (A0..C8), 1 = the key sounds during that frame. Frames sit on a grid of
``frames_per_quarter`` subdivisions of the quarter note, so tempo is not part of the roll.
A roll has no onsets: a key held over consecutive frames is one sustained note, so two
repeated notes of the same pitch merge into one (the convention of the benchmark data).

    MIDI file / pretty_midi --midi_to_roll--> (T, 88) uint8 + RollReport
    (T, 88) --roll_to_pretty_midi / roll_to_midi--> pretty_midi / MIDI file
    benchmark .mat --load_benchmark--> list of (T, 88) uint8

The benchmark: Boulanger-Lewandowski, Bengio & Vincent (2012), "Modeling Temporal
Dependencies in High-Dimensional Sequences", ICML (JSB Chorales, Nottingham, MuseData,
Piano-midi.de), vendored under data/polyphonic/ (see its README.md; never downloaded).

Heavy libraries (pretty_midi, scipy) are imported inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gen.core.errors import DataError, GenError
from gen.core.files import atomic_write

KEYS = 88  # piano keys, A0..C8
LOWEST_PITCH = 21  # MIDI pitch of column 0 (A0)
HIGHEST_PITCH = LOWEST_PITCH + KEYS - 1  # 108 (C8)
SPLITS = ("train", "valid", "test")
BPM_RANGE = (20.0, 400.0)  # accepted tempo when writing MIDI, quarter notes per minute
MAX_FRAMES_PER_QUARTER = 96

_PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Krumhansl & Kessler (1982) key profiles, as used by the Krumhansl-Schmuckler key finder
# (Krumhansl 1990, "Cognitive Foundations of Musical Pitch"); index 0 = the tonic.
_MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_EPS = 1e-6  # frames: grid positions closer than this to an integer are snapped to it


@dataclass(frozen=True)
class Benchmark:
    """One vendored benchmark file and how to play its rolls back."""

    name: str  # the key in BENCHMARKS
    title: str  # human name
    file: str  # file name under benchmark_dir()
    sha256: str  # of the vendored file, checked before every first load in a process
    frames_per_quarter: int  # 1 = one frame per quarter note, 2 = per eighth note
    bpm: float  # suggested playback tempo (the data carry none), quarter notes per minute
    program: int  # suggested General MIDI program, 0-based (0 piano, 19 church organ)


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("jsb", "JSB Chorales", "JSB_Chorales.mat",
                  "ac0e608527cc411c7e21ef7d38be47f0de7fb6b13b3ae168b8eccf1c2a9b18d4",
                  frames_per_quarter=1, bpm=80.0, program=19),
        Benchmark("nottingham", "Nottingham", "Nottingham.mat",
                  "d154f7ca2e90799dc1dc011d8fc048f2fc6ef3f7c69d974b9cf27a471634fbea",
                  frames_per_quarter=2, bpm=120.0, program=21),  # accordion: folk dances
        Benchmark("musedata", "MuseData", "MuseData.mat",
                  "e8d9eb422ec3833c25f43a9f854d4ee0b9118a20b45f2c183395cdc30ffa14ff",
                  frames_per_quarter=2, bpm=100.0, program=0),
        Benchmark("piano-midi", "Piano-midi.de", "Piano_midi.mat",
                  "990a8a71d5764a7eaa3e78d9e5023d1470380fe2db3a1448265a97a24c8b1c34",
                  frames_per_quarter=2, bpm=120.0, program=0),
    )
}

# (resolved path, size, mtime_ns) -> sha256 hex digest: each file is hashed once per process.
_SHA256_CACHE: dict[tuple[str, int, int], str] = {}


def _pretty_midi() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pretty_midi
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise GenError("piano rolls need pretty_midi: pip install pretty_midi") from e
    return pretty_midi


# ----------------------------------------------------------------------------- benchmark data

def benchmark_dir() -> Path:
    """The repository's vendored benchmark folder, ``<repo>/data/polyphonic``."""
    return Path(__file__).resolve().parents[2] / "data" / "polyphonic"


def _sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _SHA256_CACHE:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _SHA256_CACHE[key] = h.hexdigest()
    return _SHA256_CACHE[key]


def load_benchmark(name: str, split: str, directory: str | Path | None = None,
                   ) -> list[np.ndarray]:
    """The pieces of one split of a benchmark, each a (T, 88) uint8 piano roll.

    ``name`` is a key of BENCHMARKS ("jsb", "nottingham", "musedata", "piano-midi"), ``split``
    one of "train", "valid", "test". ``directory`` defaults to benchmark_dir(). The file's
    sha256 is checked first (hashed once per process); a missing or altered file, or an
    unknown name or split, raises DataError.
    """
    if name not in BENCHMARKS:
        raise DataError(f"unknown benchmark {name!r}; valid names: {', '.join(BENCHMARKS)}")
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
    bench = BENCHMARKS[name]
    folder = Path(directory) if directory is not None else benchmark_dir()
    path = folder / bench.file
    if not path.is_file():
        raise DataError(
            f"{path}: benchmark file missing. The {bench.title} data are vendored in the "
            "repository under data/polyphonic/ (they are never downloaded); restore the file "
            "from the repository.")
    actual = _sha256(path)
    if actual != bench.sha256:
        raise DataError(
            f"{path}: sha256 mismatch: expected {bench.sha256}, got {actual}. The file is "
            "damaged or not the published benchmark; restore it from the repository.")
    from scipy.io import loadmat

    try:
        mat = loadmat(str(path))
    except Exception as e:  # noqa: BLE001 - any parser failure is a data problem
        raise DataError(f"{path}: not a readable MATLAB file ({str(e)[:160]})") from None
    key = f"{split}data"
    if key not in mat:
        raise DataError(f"{path}: has no variable {key!r}")
    rolls = []
    for i, piece in enumerate(np.asarray(mat[key]).ravel()):
        roll = np.ascontiguousarray(piece, dtype=np.uint8)
        if roll.ndim != 2 or roll.shape[1] != KEYS:
            raise DataError(f"{path}: {key}[{i}] has shape {roll.shape}, expected (T, {KEYS})")
        rolls.append(roll)
    return rolls


# ----------------------------------------------------------------------------- validation

def _as_array(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _check_roll(roll: Any, what: str = "roll") -> np.ndarray:
    """Any (T, 88) array of 0/1 (bool, int or float) -> (T, 88) uint8; GenError otherwise."""
    a = _as_array(roll)
    if a.ndim != 2 or a.shape[1] != KEYS:
        raise GenError(f"{what}: expected shape (T, {KEYS}) (frames x piano keys), "
                       f"got {tuple(a.shape)}")
    if a.dtype != bool:
        if not np.issubdtype(a.dtype, np.number):
            raise GenError(f"{what}: expected numbers 0/1, got dtype {a.dtype}")
        if a.size and not np.all((a == 0) | (a == 1)):
            bad = a[(a != 0) & (a != 1)].ravel()[0]
            raise GenError(f"{what}: values must be 0 or 1, found {bad}")
    return a.astype(np.uint8)


def _check_int(value: Any, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) \
            or not lo <= int(value) <= hi:
        raise GenError(f"{what}: must be an integer in {lo}..{hi}, got {value!r}")
    return int(value)


# ----------------------------------------------------------------------------- MIDI -> roll

@dataclass
class RollReport:
    """What midi_to_roll found and did. ``reason`` is set when no roll could be made."""

    source: str  # file name, or "<PrettyMIDI>" for an in-memory object
    frames_per_quarter: int
    frames: int = 0  # rows of the returned roll
    instruments: int = 0  # pitched instruments merged into the roll
    notes_kept: int = 0
    notes_out_of_range: int = 0  # pitched notes outside 21..108 (after any transposition)
    drum_notes: int = 0  # notes of drum instruments (channel 10), always dropped
    tempi: list[float] = field(default_factory=list)  # successive tempi in bpm (quarter notes)
    time_signatures: list[str] = field(default_factory=list)  # successive meters, e.g. "3/4"
    truncated: bool = False
    original_frames: int = 0  # length before the cut (== frames unless truncated)
    notes_cut: int = 0  # notes starting after the cut
    key: str | None = None  # estimated key, when transpose_to_c
    transposition: int = 0  # semitones added to every pitch; add -transposition to undo
    reason: str | None = None  # why nothing usable was found
    notices: list[str] = field(default_factory=list)  # what the MIDI reader cut or repaired

    @property
    def tempo_changes(self) -> int:
        """Number of tempo changes (after the initial tempo)."""
        return max(0, len(self.tempi) - 1)

    @property
    def time_signature_changes(self) -> int:
        """Number of meter changes (after the first meter)."""
        return max(0, len(self.time_signatures) - 1)

    def lines(self) -> list[str]:
        """Plain-English summary, one sentence per line."""
        unit = {1: "quarter note", 2: "eighth note", 4: "sixteenth note"}.get(
            self.frames_per_quarter, f"1/{self.frames_per_quarter} of a quarter note")
        out = []
        if self.reason:
            out.append(f"{self.source}: no piano roll: {self.reason}.")
        else:
            out.append(f"{self.source}: {self.frames} frames (one per {unit}), "
                       f"{_n(self.notes_kept, 'note')} from {_n(self.instruments, 'instrument')}.")
        out.extend(self.notices)
        if self.drum_notes:
            out.append(f"Dropped {_n(self.drum_notes, 'drum note')} (a piano roll has no drums).")
        if self.notes_out_of_range:
            out.append(f"Dropped {_n(self.notes_out_of_range, 'note')} outside the piano range "
                       f"{LOWEST_PITCH}..{HIGHEST_PITCH} (A0..C8).")
        if self.tempo_changes:
            tempi = " -> ".join(f"{t:g}" for t in self.tempi)
            out.append(f"{self.tempo_changes} tempo change(s) ({tempi} bpm); frames follow "
                       "the beat, so the roll keeps the rhythm, not the timing.")
        if self.time_signature_changes:
            out.append(f"{self.time_signature_changes} time-signature change(s) "
                       f"({' -> '.join(self.time_signatures)}).")
        if self.truncated:
            out.append(f"Cut to the first {self.frames} of {self.original_frames} frames"
                       + (f" ({_n(self.notes_cut, 'later note')} dropped)." if self.notes_cut
                          else "."))
        if self.key is not None:
            if self.transposition:
                target = "C major" if self.key.endswith("major") else "C minor"
                direction = "up" if self.transposition > 0 else "down"
                out.append(f"Estimated key {self.key}: transposed {direction} "
                           f"{abs(self.transposition)} semitone(s) to {target} "
                           f"(shift by {-self.transposition:+d} to undo).")
            else:
                out.append(f"Estimated key {self.key}: no transposition needed.")
        return out


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _tempo_map(pm: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Knots of the piecewise-linear seconds -> quarter-notes map: times (M,), quarter
    positions (M,), tempo in quarter notes per minute from each knot on (M,)."""
    times, tempi = pm.get_tempo_changes()
    times = np.asarray(times, dtype=np.float64)
    tempi = np.asarray(tempi, dtype=np.float64)
    if times.size == 0:  # pretty_midi always has one; be safe
        times, tempi = np.zeros(1), np.full(1, 120.0)
    quarters = np.zeros_like(times)
    quarters[1:] = np.cumsum(np.diff(times) * tempi[:-1] / 60.0)
    return times, quarters, tempi


def _to_quarters(t: np.ndarray, knots: tuple[np.ndarray, np.ndarray, np.ndarray],
                 ) -> np.ndarray:
    times, quarters, tempi = knots
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1)
    return quarters[i] + (t - times[i]) * tempi[i] / 60.0


def _snap(x: np.ndarray) -> np.ndarray:
    r = np.round(x)
    return np.where(np.abs(x - r) < _EPS, r, x)


def _note_frames(s: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Note spans in frame units (float, (N,)) -> frames [first, stop) (int64, (N,)).

    A note sounds in every frame it overlaps for at least half the frame; a note that
    qualifies for no frame gets the frame its onset falls in."""
    s = np.maximum(_snap(s), 0.0)
    e = np.maximum(_snap(e), s)
    fs = np.floor(s)
    fl = np.maximum(np.ceil(e) - 1, fs)  # the last frame the note touches
    ov_first = np.minimum(e, fs + 1) - s
    ov_last = e - np.maximum(s, fl)
    first = np.where(ov_first >= 0.5 - _EPS, fs, fs + 1)
    stop = np.where(ov_last >= 0.5 - _EPS, fl + 1, fl)
    short = stop <= first
    first = np.where(short, fs, first)
    stop = np.where(short, fs + 1, stop)
    return first.astype(np.int64), stop.astype(np.int64)


def estimate_key(pitches: np.ndarray, weights: np.ndarray) -> tuple[int, str] | None:
    """Krumhansl-Schmuckler key estimate from MIDI pitches (N,) and durations (N,).

    Correlates the duration-weighted pitch-class histogram with the 24 rotated
    Krumhansl-Kessler profiles. Returns (tonic pitch class 0..11, "D major" / "A minor"
    style name), or None when the histogram is flat or empty."""
    hist = np.bincount(np.asarray(pitches, dtype=np.int64) % 12,
                       weights=np.asarray(weights, dtype=np.float64), minlength=12)
    if hist.sum() <= 0 or np.allclose(hist, hist[0]):
        return None
    best: tuple[float, int, str] | None = None
    for mode, profile in (("major", _MAJOR_PROFILE), ("minor", _MINOR_PROFILE)):
        for tonic in range(12):
            r = float(np.corrcoef(hist, np.roll(profile, tonic))[0, 1])
            if best is None or r > best[0]:
                best = (r, tonic, mode)
    assert best is not None
    return best[1], f"{_PITCH_NAMES[best[1]]} {best[2]}"


def _shift_to_c(tonic: int) -> int:
    """Smallest shift (-5..+6 semitones) that moves ``tonic`` to C."""
    s = (-tonic) % 12
    return s - 12 if s > 6 else s


def midi_to_roll(source: str | Path | Any, frames_per_quarter: int, max_frames: int = 8192,
                 transpose_to_c: bool = False) -> tuple[np.ndarray, RollReport]:
    """A MIDI file (path) or ``pretty_midi.PrettyMIDI`` -> ((T, 88) uint8 roll, RollReport).

    All pitched instruments are merged; drums are dropped. Frame f covers the f-th
    1/``frames_per_quarter`` of a quarter note counted from the start of the file, on the
    file's own tempo map (so tempo changes move the grid, not the rhythm). A note sounds in
    every frame it overlaps for at least half the frame; a shorter note keeps its onset frame.
    Notes outside 21..108 are dropped and counted. A piece longer than ``max_frames`` is cut
    (the length is computed before anything is allocated). With ``transpose_to_c`` the key is
    estimated (Krumhansl-Schmuckler) and the piece shifted by the smallest interval to C
    major / C minor; ``report.transposition`` says by how much.

    When nothing usable is found the roll is (0, 88) and ``report.reason`` says why.
    Unreadable MIDI raises DataError.
    """
    fpq = _check_int(frames_per_quarter, "frames_per_quarter", 1, MAX_FRAMES_PER_QUARTER)
    max_frames = _check_int(max_frames, "max_frames", 1, 10**8)
    pretty_midi = _pretty_midi()
    notices: list[str] = []  # what the MIDI reader cut or repaired
    if isinstance(source, pretty_midi.PrettyMIDI):
        pm, name = source, "<PrettyMIDI>"
    elif isinstance(source, str | Path):
        from gen.music.midi import read_pretty_midi

        path = Path(source)
        name = path.name
        if not path.is_file():
            raise DataError(f"{path}: no such MIDI file")
        # the byte-level budget check (size, notes, length, malformed headers) runs first
        pm, check = read_pretty_midi(path)
        notices = list(check.notices)
    else:
        raise GenError(f"source: expected a MIDI file path or a pretty_midi.PrettyMIDI, "
                       f"got {type(source).__name__}")

    report = RollReport(source=name, frames_per_quarter=fpq, notices=notices)
    knots = _tempo_map(pm)
    tempi = [round(float(t), 3) for t in knots[2]]
    report.tempi = [t for i, t in enumerate(tempi) if i == 0 or t != tempi[i - 1]]
    meters = [f"{ts.numerator}/{ts.denominator}" for ts in pm.time_signature_changes]
    report.time_signatures = [m for i, m in enumerate(meters) if i == 0 or m != meters[i - 1]]

    pitched = [inst for inst in pm.instruments if not inst.is_drum and inst.notes]
    report.drum_notes = sum(len(inst.notes) for inst in pm.instruments if inst.is_drum)
    report.instruments = len(pitched)
    notes = [n for inst in pitched for n in inst.notes]
    empty = np.zeros((0, KEYS), dtype=np.uint8)
    if not notes:
        report.reason = ("it contains only drum notes, which a piano roll does not represent"
                         if report.drum_notes else "it contains no notes")
        return empty, report

    pitch = np.array([n.pitch for n in notes], dtype=np.int64)
    start = _to_quarters(np.array([n.start for n in notes], dtype=np.float64), knots) * fpq
    end = _to_quarters(np.array([n.end for n in notes], dtype=np.float64), knots) * fpq
    first, stop = _note_frames(start, end)

    if transpose_to_c:
        est = estimate_key(pitch, np.maximum(end - start, 1e-3))
        if est is not None:
            tonic, report.key = est
            report.transposition = _shift_to_c(tonic)
            pitch = pitch + report.transposition

    in_range = (pitch >= LOWEST_PITCH) & (pitch <= HIGHEST_PITCH)
    report.notes_out_of_range = int((~in_range).sum())
    if not in_range.any():
        report.reason = (f"all {len(notes)} notes lie outside the piano range "
                         f"{LOWEST_PITCH}..{HIGHEST_PITCH} (A0..C8)")
        return empty, report
    pitch, first, stop = pitch[in_range], first[in_range], stop[in_range]

    # Length: to the last sounding frame, or to the file's last event (trailing rests count).
    end_frame = _to_quarters(np.array([pm.get_end_time()]), knots)[0] * fpq
    total = int(max(stop.max(), np.floor(end_frame + 0.5 + _EPS)))
    report.original_frames = total
    if total > max_frames:
        report.truncated = True
        keep = first < max_frames
        report.notes_cut = int((~keep).sum())
        pitch, first, stop = pitch[keep], first[keep], np.minimum(stop[keep], max_frames)
        total = max_frames
    report.frames = total
    report.notes_kept = int(len(pitch))

    # Difference array: +1 at each note's first frame, -1 after its last (bounded by total).
    diff = np.zeros((total + 1, KEYS), dtype=np.int32)
    col = pitch - LOWEST_PITCH
    np.add.at(diff, (first, col), 1)
    np.add.at(diff, (stop, col), -1)
    roll = (np.cumsum(diff[:-1], axis=0) > 0).astype(np.uint8)
    return roll, report


def transpose_roll(roll: Any, semitones: int) -> np.ndarray:
    """(T, 88) roll shifted by ``semitones`` (positive = up); keys pushed off the keyboard are
    dropped. ``transpose_roll(roll, -report.transposition)`` undoes midi_to_roll's shift."""
    a = _check_roll(roll)
    s = int(semitones)
    out = np.zeros_like(a)
    if abs(s) < KEYS:
        if s >= 0:
            out[:, s:] = a[:, :KEYS - s]
        else:
            out[:, :KEYS + s] = a[:, -s:]
    return out


# ----------------------------------------------------------------------------- roll -> MIDI

def roll_to_pretty_midi(roll: Any, frames_per_quarter: int, bpm: float = 120.0,
                        program: int = 0, velocity: int = 80) -> Any:
    """(T, 88) 0/1 roll -> ``pretty_midi.PrettyMIDI`` with one instrument at a fixed tempo.

    A key held over consecutive frames is one note. A text event marks the end of the last
    frame so that trailing silent frames survive a round trip through midi_to_roll."""
    a = _check_roll(roll)
    fpq = _check_int(frames_per_quarter, "frames_per_quarter", 1, MAX_FRAMES_PER_QUARTER)
    try:
        bpm = float(bpm)
    except (TypeError, ValueError):
        raise GenError(f"bpm: must be a number in {BPM_RANGE[0]:g}..{BPM_RANGE[1]:g}, "
                       f"got {bpm!r}") from None
    if not BPM_RANGE[0] <= bpm <= BPM_RANGE[1]:
        raise GenError(f"bpm: must be in {BPM_RANGE[0]:g}..{BPM_RANGE[1]:g}, got {bpm:g}")
    program = _check_int(program, "program (General MIDI, 0-based)", 0, 127)
    velocity = _check_int(velocity, "velocity", 1, 127)
    pretty_midi = _pretty_midi()
    dt = 60.0 / bpm / fpq  # seconds per frame
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    inst = pretty_midi.Instrument(program=program, name="piano roll")
    # Runs of 1s per key: +1 / -1 steps of the zero-padded column, ordered key by key.
    padded = np.zeros((KEYS, a.shape[0] + 2), dtype=np.int8)
    padded[:, 1:-1] = a.T
    d = np.diff(padded, axis=1)
    on_key, on_frame = np.nonzero(d == 1)
    _, off_frame = np.nonzero(d == -1)
    for k, f0, f1 in zip(on_key, on_frame, off_frame):
        inst.notes.append(pretty_midi.Note(velocity=velocity, pitch=int(k) + LOWEST_PITCH,
                                           start=float(f0) * dt, end=float(f1) * dt))
    inst.notes.sort(key=lambda n: (n.start, n.pitch))
    pm.instruments.append(inst)
    if a.shape[0]:
        pm.text_events.append(pretty_midi.Text("end", a.shape[0] * dt))
    return pm


def roll_to_midi(roll_or_rolls: Any, path: str | Path, frames_per_quarter: int,
                 bpm: float = 120.0, program: int = 0, velocity: int = 80,
                 gap_frames: int | None = None) -> Path:
    """Write one roll (T, 88), a batch (B, T, 88) or a list of rolls to a MIDI file.

    Several rolls play one after another with ``gap_frames`` silent frames between them
    (default one 4/4 bar, ``4 * frames_per_quarter``). The file is written atomically (a
    temporary file in the same folder, then os.replace: gen.core.files.atomic_write).
    Returns the path."""
    fpq = _check_int(frames_per_quarter, "frames_per_quarter", 1, MAX_FRAMES_PER_QUARTER)
    if isinstance(roll_or_rolls, list | tuple):
        rolls = [_check_roll(r, f"rolls[{i}]") for i, r in enumerate(roll_or_rolls)]
    else:
        arr = _as_array(roll_or_rolls)
        if arr.ndim == 3:
            rolls = [_check_roll(r, f"rolls[{i}]") for i, r in enumerate(arr)]
        else:
            rolls = [_check_roll(arr)]
    if not rolls:
        raise GenError("rolls: nothing to write (an empty list)")
    gap = 4 * fpq if gap_frames is None else _check_int(gap_frames, "gap_frames", 0, 10**6)
    parts = []
    for i, r in enumerate(rolls):
        if i:
            parts.append(np.zeros((gap, KEYS), dtype=np.uint8))
        parts.append(r)
    pm = roll_to_pretty_midi(np.concatenate(parts), fpq, bpm=bpm, program=program,
                             velocity=velocity)
    return atomic_write(path, lambda tmp: pm.write(str(tmp)))


# ----------------------------------------------------------------------------- batching

def roll_list(rolls: Any) -> list[np.ndarray]:
    """One roll (T, 88), a batch (N, T, 88) or a list of rolls -> a list of (T_i, 88) uint8
    (values unchecked: see ``_check_roll`` where they must be 0/1)."""
    if isinstance(rolls, list | tuple):
        return [np.asarray(r, dtype=np.uint8) for r in rolls]
    a = np.asarray(rolls, dtype=np.uint8)
    return list(a) if a.ndim == 3 else [a]


def roll_windows(roll: Any, length: int, hop: int) -> np.ndarray:
    """Windows of ``length`` frames every ``hop`` frames: (T, 88) -> (N, length, 88) uint8.

    Windows start at 0, hop, 2*hop, ... and only whole windows are kept (N = 0 when the roll
    is shorter than ``length``). The result is a copy."""
    a = _check_roll(roll)
    length = _check_int(length, "length", 1, 10**8)
    hop = _check_int(hop, "hop", 1, 10**8)
    if a.shape[0] < length:
        return np.zeros((0, length, KEYS), dtype=np.uint8)
    view = np.lib.stride_tricks.sliding_window_view(a, length, axis=0)  # (N', 88, length)
    return np.ascontiguousarray(view[::hop].transpose(0, 2, 1))


def pad_batch(rolls: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Variable-length rolls [(T_i, 88)] -> (zero-padded (B, Tmax, 88) uint8, lengths (B,)
    int64). Frames at t >= lengths[b] are padding, not silence: mask them out of losses."""
    checked = [_check_roll(r, f"rolls[{i}]") for i, r in enumerate(rolls)]
    lengths = np.array([r.shape[0] for r in checked], dtype=np.int64)
    tmax = int(lengths.max()) if len(checked) else 0
    out = np.zeros((len(checked), tmax, KEYS), dtype=np.uint8)
    for i, r in enumerate(checked):
        out[i, :r.shape[0]] = r
    return out, lengths
