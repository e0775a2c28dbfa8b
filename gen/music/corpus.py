"""The folk tunes that ship inside the ``music21`` package: ABC text -> notes -> NoteSequence.

We convert with music21 (note_seq's ABC parser reads only about a third of these tunes) and
work around its known ABC pitfalls:
- ties: music21 also ties notes of different pitch (ABC's ``-`` used as a slur); we merge
  tied notes ourselves, same pitch only;
- meter: its reader invents partial-bar meters mid-tune, so the tune's *first* time signature
  is the tune's meter;
- pickups: the first bar is shifted right by its ``paddingLeft`` so bar lines fall on the grid;
- repeats are expanded (the slow part, but about 40% of the 16-bar windows); an end-repeat
  without a start-repeat goes back to the previous end-repeat, as in standard notation
  (music21 would go back to the beginning).
Only ``music21`` and numpy are needed here; both are imported lazily by the functions.
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gen.core.errors import DataError

# The monophonic folk collections (about 13,000 tunes); see data/README-music.md for licences.
FOLK_COLLECTIONS = ("essenFolksong", "oneills1850", "ryansMammoth", "airdsAirs", "miscFolk")
QPM = 120.0  # tempo given to every tune; quantisation is relative to the beat, so it is moot
_X_LINE = re.compile(r"^X:", re.MULTILINE)


@dataclass(frozen=True)
class TuneRef:
    """One tune of the corpus: a stable id ``collection/file.abc#k`` and its ABC text."""

    tune_id: str
    collection: str
    text: str


@dataclass
class TuneNotes:
    """A converted tune: notes in quarter notes from the first bar line, one row per note.

    ``status`` is "ok" or "failed" (then ``reason`` says why).
    """

    tune_id: str
    collection: str
    status: str = "ok"
    reason: str = ""
    time_signature: str = ""
    repeats_expanded: bool = False
    pitch: np.ndarray | None = None  # (K,) uint8 MIDI pitches
    start: np.ndarray | None = None  # (K,) float32 onsets in quarter notes
    end: np.ndarray | None = None  # (K,) float32 offsets in quarter notes
    part: np.ndarray | None = None  # (K,) uint8 voice index (becomes the NoteSequence instrument)


def corpus_dir() -> Path:
    """The ``corpus`` folder inside the installed music21 package."""
    spec = importlib.util.find_spec("music21")
    if spec is None or spec.origin is None:
        raise DataError("the folk corpus ships with music21, which is not installed: "
                        "pip install music21")
    path = Path(spec.origin).parent / "corpus"
    if not path.is_dir():
        raise DataError(f"{path}: music21 is installed without its corpus folder")
    return path


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def split_abc(text: str) -> list[str]:
    """An ABC tunebook -> the text of each tune (from its ``X:`` line to the next)."""
    starts = [m.start() for m in _X_LINE.finditer(text)]
    return [text[a:b].strip() + "\n" for a, b in zip(starts, starts[1:] + [len(text)])]


def list_tunes(collections: tuple[str, ...] = FOLK_COLLECTIONS,
               limit: int | None = None) -> list[TuneRef]:
    """Tunes of the chosen collections in a fixed order.

    ``limit`` keeps about ``limit`` tunes in total, spread evenly over the collections (the
    first ones of each), for quick experiments.
    """
    root = corpus_dir()
    per: list[list[TuneRef]] = []
    for coll in collections:
        folder = root / coll
        if not folder.is_dir():
            known = sorted(p.name for p in root.iterdir() if p.is_dir() and not
                           p.name.startswith("_"))
            raise DataError(f"collections: {coll!r} is not a music21 corpus folder; "
                            f"folk collections are {list(FOLK_COLLECTIONS)} (all: {known})")
        refs = []
        for f in sorted(folder.rglob("*.abc")):
            rel = f.relative_to(folder).as_posix()
            for k, tune in enumerate(split_abc(_read_text(f)), start=1):
                refs.append(TuneRef(f"{coll}/{rel}#{k}", coll, tune))
        per.append(refs)
    if limit is None:
        return [r for refs in per for r in refs]
    if limit < 1:
        raise DataError(f"limit must be >= 1, got {limit}")
    quota = [limit // len(per) + (i < limit % len(per)) for i in range(len(per))]
    return [r for refs, q in zip(per, quota) for r in refs[:q]]


def _fix_repeat_ends(part: Any) -> None:
    """Insert the start-repeat implied by a second end-repeat with no start of its own."""
    from music21 import bar

    if list(part.spanners.getElementsByClass("RepeatBracket")):
        return  # variant endings: leave music21's reading alone
    measures = list(part.getElementsByClass("Measure"))
    open_start, boundary = False, 0
    for i, m in enumerate(measures):
        if isinstance(m.leftBarline, bar.Repeat) and m.leftBarline.direction == "start":
            open_start = True
        if isinstance(m.rightBarline, bar.Repeat) and m.rightBarline.direction == "end":
            if not open_start and 0 < boundary <= i:
                measures[boundary].leftBarline = bar.Repeat(direction="start")
            open_start, boundary = False, i + 1


def _part_notes(part: Any, shift: float) -> list[tuple[int, float, float]]:
    """(pitch, start, end) in quarters for one voice, tied notes of the same pitch merged."""
    notes: list[list[float]] = []
    open_ties: dict[int, int] = {}  # pitch -> index in notes of a note whose tie continues
    for n in part.flatten().notes:
        ql = float(n.duration.quarterLength)
        if n.duration.isGrace or ql <= 0:
            continue
        start = float(n.offset) + shift
        end = start + ql
        tie = n.tie.type if n.tie is not None else None
        for p in n.pitches:
            midi = int(round(p.ps))
            j = open_ties.pop(midi, None)
            if j is not None and abs(notes[j][2] - start) < 1e-6:
                notes[j][2] = end  # same pitch, contiguous: one longer note
                idx = j
            else:
                notes.append([midi, start, end])
                idx = len(notes) - 1
            if tie in ("start", "continue") and len(n.pitches) == 1:
                open_ties[midi] = idx
        # ties that the next note did not continue are dropped
        open_ties = {k: v for k, v in open_ties.items() if notes[v][2] >= start + ql - 1e-6}
    return [(int(p), s, e) for p, s, e in notes]


def convert_tune(ref: TuneRef, expand_repeats: bool = True) -> TuneNotes:
    """Parse one tune with music21 into notes; failures come back as status "failed"."""
    from music21 import converter

    out = TuneNotes(ref.tune_id, ref.collection)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = converter.parse(ref.text, format="abc")
            ts = next(iter(score.recurse().getElementsByClass("TimeSignature")), None)
            if ts is None:
                out.status, out.reason = "failed", "no time signature (free meter)"
                return out
            out.time_signature = ts.ratioString
            parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
            first = next(iter(parts[0].getElementsByClass("Measure")), None)
            shift = float(first.paddingLeft) if first is not None else 0.0
            if expand_repeats:
                expanded = []
                ok = True
                for p in parts:
                    try:
                        _fix_repeat_ends(p)
                        expanded.append(p.expandRepeats())
                    except Exception:  # music21 raises several types on odd repeat marks
                        ok = False
                        break
                if ok:
                    parts = expanded
                out.repeats_expanded = ok
            rows = [(pitch, s, e, i) for i, p in enumerate(parts)
                    for pitch, s, e in _part_notes(p, shift)]
    except Exception as e:  # a parser error anywhere in music21
        out.status = "failed"
        out.reason = f"music21 could not parse it ({type(e).__name__})"
        return out
    if not rows:
        out.status, out.reason = "failed", "no notes"
        return out
    arr = np.array(rows, dtype=np.float64)
    out.pitch = arr[:, 0].astype(np.uint8)
    out.start = arr[:, 1].astype(np.float32)
    out.end = arr[:, 2].astype(np.float32)
    out.part = arr[:, 3].astype(np.uint8)
    return out


def tune_to_note_sequence(tune: TuneNotes) -> Any:
    """A converted tune -> NoteSequence (its first time signature, 120 qpm, one voice each)."""
    from gen.music.midi import note_seq_module

    ns_mod = note_seq_module()
    seq = ns_mod.NoteSequence()
    seq.ticks_per_quarter = 220
    seq.tempos.add(qpm=QPM, time=0.0)
    num, den = (int(x) for x in tune.time_signature.split("/"))
    seq.time_signatures.add(numerator=num, denominator=den, time=0.0)
    sec = 60.0 / QPM
    if tune.pitch is not None:
        for p, s, e, v in zip(tune.pitch.tolist(), tune.start.tolist(), tune.end.tolist(),
                              tune.part.tolist()):
            seq.notes.add(pitch=p, velocity=80, instrument=v, program=0,
                          start_time=max(0.0, s) * sec, end_time=max(0.0, e) * sec)
        seq.total_time = float(max(tune.end.max(), 0.0)) * sec
    return seq
