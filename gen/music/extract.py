"""Melody extraction: MIDI file / pretty_midi / NoteSequence -> melody token windows (N, T),
with a report that says which track was used, what was repaired and, when nothing was found,
why.

The core follows MusicVAE's ``OneHotMelodyConverter`` (Roberts et al. 2018, Magenta
``music_vae/data.py``): split at tempo / time-signature changes; keep 16-step bars (4/4, 2/2);
drop drums and notes outside 21-108; extract monophonic melodies where the highest of
simultaneous onsets wins and a rest of ``gap_bars`` bars or more ends a melody; slide a window
of ``bars`` bars over each melody with a one-bar hop; drop duplicates.

For the files musicians have, four rules are added (``ExtractionOptions``; the folk corpus the
shipped models learnt from uses ``ExtractionOptions.musicvae()``, MusicVAE's rules unchanged):

- **one melody track** (``track``): by default the track chosen by ``MELODY_RULE``
  (``melody_track``); chord, bass and drum tracks add no windows. The report names the track
  used and lists the others (name, program); ``track=N`` or a track name picks another one,
  ``track="all"`` takes every track as MusicVAE does.
- **top voice** (``top_voice``): a note that starts while a higher note of its track is still
  held is left out, so a held melody note is not cut by a later, lower onset (the left hand of
  an Alberti bass). MusicVAE lets any later onset end the held note.
- **repairs** (``repair``): overlapping notes of the same pitch on one track are merged and
  zero-length notes dropped, before quantization.
- **silent windows** (``drop_silent_windows``): windows without any note onset (rests, or one
  note held from before the window) are dropped.

Every repair, and every budget cut (``gen.core.limits``: the first ``MIDI_MAX_SECONDS`` of a
long file, at most ``MIDI_MAX_NOTES`` notes, ``MAX_WINDOWS_PER_FILE`` windows), is a line of
the report (``ExtractionReport.details``).
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gen.core import limits
from gen.core.errors import DataError, GenError
from gen.music.melody import (
    MAX_PITCH,
    MIN_PITCH,
    NUM_SPECIAL,
    STEPS_PER_BAR,
    STEPS_PER_QUARTER,
    events_to_tokens,
    pitch_name,
)
from gen.music.midi import load_midi, note_seq_module, to_note_sequence

# Why a source yielded no windows (the first words of ExtractionReport.reason).
UNREADABLE = "unreadable"
NO_NOTES = "no notes"
DRUMS_ONLY = "drums only"
OUT_OF_RANGE = "no notes in range"
BAD_TIME_SIGNATURE = "unsupported time signature"
TOO_SHORT = "too short"
NO_SUCH_TRACK = "no such track"

# Time signatures whose bar regroups into 16-step model bars: 2/4 (two notated bars per model
# bar) and 4/2 (half a notated bar). Opt-in: they shift where the model's bar lines fall.
_REGROUPABLE = {"2/4", "4/2"}
_NATIVE = {"4/4", "2/2"}

# The melody-track rule (melody_track), in numbers.
MIN_TRACK_NOTES = 8  # a track with fewer notes is a candidate only when no track has more
MIN_TRACK_SHARE = 0.1  # ... or with fewer than this share of the busiest track's notes
ONE_AT_A_TIME = 0.75  # "mostly one note at a time": this share of notes start alone
MELODY_SPAN = 12  # candidates lie within this many semitones of the highest track
ONSET_TOLERANCE_S = 0.03  # onsets this close are simultaneous; overlaps this short are legato
MELODY_RULE = (
    f"the melody track is the non-drum track with the highest mean pitch among those that "
    f"play mostly one note at a time (at least {ONE_AT_A_TIME:.0%} of their notes start while "
    f"no other note of the track sounds) and whose mean pitch lies within {MELODY_SPAN} "
    f"semitones of the highest track's; when none plays mostly one note at a time, the "
    f"highest track is used and its top voice is the melody. Tracks with fewer than "
    f"{MIN_TRACK_NOTES} notes or {MIN_TRACK_SHARE:.0%} of the busiest track's notes are "
    f"considered only when no other track qualifies."
)


@dataclass(frozen=True)
class ExtractionOptions:
    """The melody rules. The defaults are MusicVAE's mel_2bar / mel_16bar converters plus the
    rules for musicians' files of the module docstring; ``musicvae()`` gives MusicVAE's rules
    exactly (used for the folk corpus the shipped models learnt from)."""

    time_signatures: tuple[str, ...] = ("4/4", "2/2")  # kept meters; "2/4", "4/2" regroup
    gap_bars: float = 1.0  # a rest this many bars long (or longer) ends a melody
    min_pitch: int = MIN_PITCH  # notes below are ignored (MusicVAE: piano range)
    max_pitch: int = MAX_PITCH  # notes above are ignored
    programs: tuple[int, ...] | None = None  # keep only these GM programs (None: all)
    max_bars: int | None = None  # truncate longer melodies before slicing (None: keep all)
    track: int | str | None = None  # None: the melody track (MELODY_RULE); a track number or
    #                                 name from the report's ``tracks``; "all": every track
    top_voice: bool = True  # a later, lower onset does not cut a held higher note
    repair: bool = True  # merge overlapping same-pitch notes, drop zero-length ones
    drop_silent_windows: bool = True  # drop windows without any note onset

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
        if not self.gap_bars > 0:
            raise GenError(f"gap_bars must be > 0, got {self.gap_bars}")
        if self.track is not None and (not isinstance(self.track, (int, str))
                                       or isinstance(self.track, bool)):
            raise GenError(f"track must be a track number, a track name or 'all', got "
                           f"{limits.shown(self.track)}")
        if isinstance(self.track, int):
            limits.check_whole(self.track, "track", 0, 2**16)

    @classmethod
    def musicvae(cls, **changes: Any) -> ExtractionOptions:
        """MusicVAE's rules exactly: every track, later onsets cut held notes, no repairs,
        silent windows kept (``changes`` override other fields)."""
        return cls(**{"track": "all", "top_voice": False, "repair": False,
                      "drop_silent_windows": False, **changes})


MUSICVAE_FIELDS = {"track": "all", "top_voice": False, "repair": False,
                   "drop_silent_windows": False}  # the values caches before these rules had


@dataclass(frozen=True)
class TrackInfo:
    """One track of a source as the extraction sees it (pretty_midi's instruments: a MIDI
    track split by channel and program)."""

    index: int  # the number to pick it by (NoteSequence instrument number)
    name: str  # the track name stored in the file ("" when none)
    program: int  # General MIDI program 0-127
    instrument: str  # the program's General MIDI name, or "drums"
    is_drum: bool
    notes: int  # notes with velocity > 0
    mean_pitch: float  # mean MIDI pitch of those notes
    one_at_a_time: float  # share of notes that start while no other note of the track sounds

    def label(self) -> str:
        """E.g. ``1 'Flute' (Flute, program 73): 52 notes, mean pitch D5, 100% one at a time``."""
        name = f" {self.name[:40]!r}" if self.name else ""
        if self.is_drum:
            return f"{self.index}{name} (drums): {self.notes} notes"
        return (f"{self.index}{name} ({self.instrument}, program {self.program}): "
                f"{self.notes} notes, mean pitch {pitch_name(round(self.mean_pitch))}, "
                f"{self.one_at_a_time:.0%} one at a time")


@dataclass
class ExtractionReport:
    """What one source yielded, which track it came from, what was repaired or cut, and why
    nothing was found when nothing was."""

    source: str
    bars: int
    windows: int = 0
    melodies: int = 0
    longest_melody_bars: int = 0
    notes: int = 0
    time_signatures: list[str] = field(default_factory=list)
    reason: str | None = None  # None when windows > 0
    track: int | None = None  # the track the windows come from (None: every track)
    track_choice: str = ""  # why that track: the rule, the user's choice, or "every track"
    tracks: list[dict[str, Any]] = field(default_factory=list)  # TrackInfo of every track
    repairs: list[str] = field(default_factory=list)  # what was repaired, one line each
    notices: list[str] = field(default_factory=list)  # budget cuts and header repairs
    window_tracks: list[int] = field(default_factory=list)  # (N,) the track of each window
    window_starts: list[float] = field(default_factory=list)  # (N,) where each window starts
    #   in the file, in bars of 4 quarter notes from its start (0 = the first bar)

    def line(self) -> str:
        """One human-readable line, e.g. ``a.mid: 12 windows (2 bars) from 3 melodies``."""
        if self.windows:
            return (f"{self.source}: {self.windows} windows ({self.bars} bars) from "
                    f"{self.melodies} melodies")
        return f"{self.source}: 0 windows ({self.bars} bars): {self.reason}"

    def details(self) -> list[str]:
        """The track used, the other tracks, repairs and budget cuts: one line each."""
        out = []
        if self.track is not None:
            used = next((t for t in self.tracks if t["index"] == self.track), None)
            if used is not None:
                out.append(f"melody track {TrackInfo(**used).label()} ({self.track_choice})")
            others = [TrackInfo(**t).label() for t in self.tracks if t["index"] != self.track]
            if others:
                out.append("other tracks (not used; pick one with track=N / --track N): "
                           + "; ".join(others[:16]) + (f"; and {len(others) - 16} more"
                                                       if len(others) > 16 else ""))
        elif self.track_choice and len(self.tracks) > 1:
            out.append(f"every track used ({self.track_choice})")
        return out + list(self.notices) + list(self.repairs)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)


# ----------------------------------------------------------------------------- tracks
def _one_at_a_time(spans: list[tuple[float, float]]) -> float:
    """Share of notes (start, end) that start while no other note sounds, (K,) -> float."""
    spans = sorted(spans)
    sounding: list[float] = []  # end times, a heap
    alone, i, n = 0, 0, len(spans)
    while i < n:
        s = spans[i][0]
        j = i
        while j < n and spans[j][0] - s <= ONSET_TOLERANCE_S:
            j += 1
        while sounding and sounding[0] <= s + ONSET_TOLERANCE_S:
            heapq.heappop(sounding)
        if j - i == 1 and not sounding:
            alone += 1
        for k in range(i, j):
            heapq.heappush(sounding, spans[k][1])
        i = j
    return alone / n if n else 0.0


def _program_name(program: int) -> str:
    try:
        from gen.music.midi import _pretty_midi

        return str(_pretty_midi().program_to_instrument_name(int(program)))
    except (GenError, ValueError):  # pragma: no cover - pretty_midi ships with note_seq
        return f"program {program}"


def track_table(sequence: Any) -> list[TrackInfo]:
    """The tracks of a NoteSequence (its instruments) with the numbers the melody rule uses,
    in instrument order; notes with velocity 0 are not counted."""
    names = {i.instrument: i.name for i in sequence.instrument_infos}
    by: dict[int, list[Any]] = {}
    for n in sequence.notes:
        if n.velocity > 0:
            by.setdefault(n.instrument, []).append(n)
    out = []
    for inst in sorted(by):
        notes = by[inst]
        drum = bool(notes[0].is_drum)
        prog = int(notes[0].program)
        out.append(TrackInfo(
            index=int(inst), name=names.get(inst, ""), program=prog,
            instrument="drums" if drum else _program_name(prog), is_drum=drum,
            notes=len(notes), mean_pitch=float(np.mean([n.pitch for n in notes])),
            one_at_a_time=_one_at_a_time([(n.start_time, n.end_time) for n in notes])))
    return out


def melody_track(tracks: list[TrackInfo]) -> tuple[int | None, str]:
    """The melody track by ``MELODY_RULE`` and the reason in words; (None, why) when no track
    has pitched notes."""
    pitched = [t for t in tracks if not t.is_drum and t.notes]
    if not pitched:
        return None, "no pitched track"
    if len(pitched) == 1:
        return pitched[0].index, "the only pitched track"
    busiest = max(t.notes for t in pitched)
    cands = [t for t in pitched
             if t.notes >= max(MIN_TRACK_NOTES, MIN_TRACK_SHARE * busiest)] or pitched
    top = max(t.mean_pitch for t in cands)
    near = [t for t in cands if t.mean_pitch >= top - MELODY_SPAN]
    mono = [t for t in near if t.one_at_a_time >= ONE_AT_A_TIME]
    pick = max(mono or near, key=lambda t: (t.mean_pitch, t.notes, -t.index))
    if mono:
        why = ("the highest track that plays mostly one note at a time" if len(mono) > 1
               or len(near) > 1 else "the highest track")
    else:
        why = "the highest track; none plays mostly one note at a time, so its top voice"
    return pick.index, f"chosen by rule: {why}"


def list_tracks(source: Any) -> tuple[list[TrackInfo], int | None]:
    """The tracks of a MIDI path / PrettyMIDI / NoteSequence and the one the melody rule
    picks (None when none has pitched notes); for a dropdown of tracks."""
    seq = load_midi(source)[0] if isinstance(source, (str, Path)) else to_note_sequence(source)
    tracks = track_table(seq)
    return tracks, melody_track(tracks)[0]


def _resolve_track(choice: int | str, tracks: list[TrackInfo]) -> tuple[int | None, str]:
    """The instrument number of a user's track choice; (None, reason) when there is none."""
    listing = "; ".join(t.label() for t in tracks[:16]) or "none with notes"
    if isinstance(choice, str) and not choice.strip().lstrip("-").isdigit():
        want = choice.strip().lower()
        hits = ([t for t in tracks if t.name.strip().lower() == want]
                or [t for t in tracks if t.instrument.lower() == want])
        if not hits:
            return None, (f"{NO_SUCH_TRACK}: no track is named {limits.shown(choice)} (by its "
                          f"name or its instrument); tracks: {listing}")
        chosen = hits[0]
    else:
        k = int(choice)
        chosen = next((t for t in tracks if t.index == k), None)
        if chosen is None:
            return None, f"{NO_SUCH_TRACK}: track {k} has no notes; tracks: {listing}"
    if chosen.is_drum:
        return None, f"{NO_SUCH_TRACK}: track {chosen.index} is a drum track; tracks: {listing}"
    return chosen.index, "chosen by the user"


# ----------------------------------------------------------------------------- repairs
def _copy(note: Any) -> Any:
    """A copy of a NoteSequence note (changing it leaves the caller's sequence alone)."""
    c = type(note)()
    c.CopyFrom(note)
    return c


def _budget(notes: list[Any], sequence: Any) -> tuple[list[Any], list[str]]:
    """Cut a sequence's notes to the MIDI budgets (the first MIDI_MAX_SECONDS / MIDI_MAX_BEATS,
    at most MIDI_MAX_NOTES notes): for NoteSequence / PrettyMIDI inputs that did not come
    through ``scan_midi``. Returns the notes (copies where ends were clipped) and notices."""
    notices = []
    tempos = sorted((t.time, t.qpm) for t in sequence.tempos if t.qpm > 0) or [(0.0, 120.0)]
    # the time at which MIDI_MAX_BEATS beats have passed
    beats, t0, qpm = 0.0, 0.0, 120.0 if tempos[0][0] > 0 else tempos[0][1]
    beat_time = None
    for t, q in tempos + [(float("inf"), 0.0)]:
        seg = (t - t0) * qpm / 60.0
        if beats + seg >= limits.MIDI_MAX_BEATS:
            beat_time = t0 + (limits.MIDI_MAX_BEATS - beats) * 60.0 / qpm
            break
        beats, t0, qpm = beats + seg, t, q
    cut = min(limits.MIDI_MAX_SECONDS, beat_time if beat_time is not None else float("inf"))
    which = "MIDI_MAX_SECONDS" if cut == limits.MIDI_MAX_SECONDS else "MIDI_MAX_BEATS"
    if len(notes) > limits.MIDI_MAX_NOTES:
        notes = sorted(notes, key=lambda n: n.start_time)
        if notes[limits.MIDI_MAX_NOTES].start_time < cut:
            cut, which = notes[limits.MIDI_MAX_NOTES].start_time, "MIDI_MAX_NOTES"
    if not any(n.end_time > cut for n in notes):
        return notes, notices
    kept = []
    for n in notes:
        if n.start_time >= cut:
            continue
        if n.end_time > cut:
            n = _copy(n)  # the caller's sequence is not changed
            n.end_time = cut
        kept.append(n)
    notices.append(f"read only the first {int(cut // 60)}:{int(cut % 60):02d} of a longer "
                   f"sequence (gen.core.limits.{which})")
    return kept, notices


def _repair(notes: list[Any]) -> tuple[list[Any], list[str]]:
    """Merge overlapping notes of one pitch on one track, drop zero-length notes."""
    zero = [n for n in notes if n.end_time <= n.start_time]
    rest = sorted((n for n in notes if n.end_time > n.start_time),
                  key=lambda n: (n.instrument, n.pitch, n.start_time))
    out: list[Any] = []
    merged = 0
    for n in rest:
        prev = out[-1] if out else None
        if (prev is not None and prev.instrument == n.instrument and prev.pitch == n.pitch
                and n.start_time < prev.end_time):
            if n.end_time > prev.end_time:
                prev = _copy(prev)
                prev.end_time = n.end_time
                out[-1] = prev
            merged += 1
            continue
        out.append(n)
    lines = []
    if merged:
        lines.append(f"merged {merged} note(s) that overlapped a note of the same pitch on "
                     "the same track")
    if zero:
        lines.append(f"dropped {len(zero)} zero-length note(s)")
    return sorted(out, key=lambda n: (n.start_time, -n.pitch)), lines


def _top_voice(notes: list[Any]) -> tuple[list[Any], int]:
    """Quantized notes of one track -> its top voice: a note that starts while a higher note
    is held is left out. Returns (kept notes, how many later onsets were left out)."""
    kept, dropped = [], 0
    top_start, top_end, top_pitch = -1, -1, -1
    for n in sorted(notes, key=lambda n: (n.quantized_start_step, -n.pitch)):
        s = n.quantized_start_step
        if s < top_end and n.pitch < top_pitch:
            dropped += s > top_start  # simultaneous lower notes: the chord rule drops them
            continue
        kept.append(n)
        top_start, top_end, top_pitch = s, n.quantized_end_step, n.pitch
    return kept, dropped


# ----------------------------------------------------------------------------- extraction
def _ts_name(ts: Any) -> str:
    return f"{ts.numerator}/{ts.denominator}"


@dataclass
class _Melody:
    """One extracted melody: note_seq events, its track, and its first step in the piece."""

    events: list[int]
    track: int
    start_step: int
    offset_bars: float = 0.0  # where its piece starts in the file, in 16-step bars


def _melodies(quantized: Any, options: ExtractionOptions) -> tuple[list[_Melody], int]:
    """All melodies of a quantized NoteSequence, instrument by instrument, and the number of
    notes the top-voice rule left out.

    The same loop as Magenta's ``extract_melodies``: search from bar 0, extract one melody
    (highest onset wins, a long rest ends it, padded to the bar), continue at the next bar.
    """
    ns = note_seq_module()
    spb = STEPS_PER_BAR
    out: list[_Melody] = []
    hidden = 0
    by_inst: dict[int, list[Any]] = {}
    for n in quantized.notes:
        if not n.is_drum:
            by_inst.setdefault(n.instrument, []).append(n)
    skeleton = None
    if options.top_voice or len(by_inst) > 1:  # one sequence per track: O(notes) in all
        skeleton = type(quantized)()
        skeleton.CopyFrom(quantized)
        del skeleton.notes[:]
    for inst in sorted(by_inst):
        source = quantized
        if skeleton is not None:
            notes = by_inst[inst]
            if options.top_voice:
                notes, dropped = _top_voice(notes)
                hidden += dropped
            source = type(quantized)()
            source.CopyFrom(skeleton)
            source.notes.extend(notes)
        start = 0
        while True:
            mel = ns.Melody()
            mel.from_quantized_sequence(
                source, search_start_step=start, instrument=inst,
                gap_bars=options.gap_bars, ignore_polyphonic_notes=True, pad_end=True,
                filter_drums=True,
            )
            if len(mel) == 0:
                break
            events = list(mel)
            if options.max_bars is not None:
                events = events[: options.max_bars * spb]
            out.append(_Melody(events, int(inst), int(mel.start_step)))
            start = mel.end_step + (start - mel.end_step) % spb
    return out, hidden


def slice_windows(events: list[int] | tuple[int, ...], bars: int, hop_bars: int = 1
                  ) -> list[tuple[int, ...]]:
    """Windows of ``bars`` bars sliding by ``hop_bars`` over one melody's events."""
    w, hop = bars * STEPS_PER_BAR, hop_bars * STEPS_PER_BAR
    return [tuple(events[i - w: i]) for i in range(w, len(events) + 1, hop)]


def _quarters_at(seconds: float, sequence: Any) -> float:
    """Quarter notes from the start of ``sequence`` to ``seconds``, by its tempo map."""
    tempos = sorted((t.time, t.qpm) for t in sequence.tempos if t.qpm > 0)
    quarters, t0, qpm = 0.0, 0.0, 120.0
    for t, q in tempos:
        if t >= seconds:
            break
        quarters += (t - t0) * qpm / 60.0
        t0, qpm = t, q
    return quarters + (seconds - t0) * qpm / 60.0


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def extract_windows(
    sequence: Any, bars: int | Iterable[int], options: ExtractionOptions | None = None,
    source: str = "<sequence>", notices: list[str] | None = None, budgeted: bool = False,
) -> dict[int, tuple[np.ndarray, ExtractionReport]]:
    """Melody windows of a NoteSequence for each window length in ``bars``.

    Returns {bars: (windows (N, bars*16) uint8 deduplicated in first-seen order, report)}.
    Never raises for musical reasons: a report with ``reason`` says why N is 0. ``notices``
    (e.g. from ``scan_midi``) go into every report. The sequence is cut to the MIDI budgets
    of ``gen.core.limits`` before any quantization, unless ``budgeted`` says that
    ``scan_midi`` has already cut the file it came from (and said so in ``notices``).
    """
    ns_mod = note_seq_module()
    options = options or ExtractionOptions()
    bar_list = [bars] if isinstance(bars, int) else list(bars)
    for b in bar_list:
        limits.check_whole(b, "bars", 1, limits.MAX_WINDOW_BARS)
    reports = {b: ExtractionReport(source=source, bars=b, notices=list(notices or []))
               for b in bar_list}
    repairs: list[str] = []

    def finish(reason: str | None, melodies: list[list[int]]
               ) -> dict[int, tuple[np.ndarray, ExtractionReport]]:
        out = {}
        for b, rep in reports.items():
            seen: dict[tuple[int, ...], None] = {}
            silent: set[tuple[int, ...]] = set()
            capped = 0
            origins: list[tuple[int, float]] = []
            for m in melodies:
                for k, w in enumerate(slice_windows(m.events, b)):
                    if w in seen or w in silent:
                        continue
                    if all(e < 0 for e in w):  # no onset: rests, or a note held from before
                        silent.add(w)
                        if options.drop_silent_windows:
                            continue
                    if len(seen) >= limits.MAX_WINDOWS_PER_FILE:
                        capped += 1
                        continue
                    seen[w] = None
                    origins.append((m.track, m.offset_bars + m.start_step / STEPS_PER_BAR + k))
            wins = (np.stack([events_to_tokens(w) for w in seen]) if seen
                    else np.zeros((0, b * STEPS_PER_BAR), np.uint8))
            rep.windows, rep.melodies = len(wins), len(melodies)
            rep.longest_melody_bars = max((len(m.events) // STEPS_PER_BAR for m in melodies),
                                          default=0)
            rep.window_tracks = [t for t, _ in origins]
            rep.window_starts = [round(x, 3) for _, x in origins]
            rep.repairs = list(repairs)
            if silent:
                rep.repairs.append(
                    f"{'dropped' if options.drop_silent_windows else 'kept'} {len(silent)} "
                    "distinct window(s) "
                    "without a note onset (rests, or one note held from before the window)")
            if capped:
                rep.notices.append(f"kept the first {limits.MAX_WINDOWS_PER_FILE:,} distinct "
                                   f"windows; {capped:,} more left out "
                                   "(gen.core.limits.MAX_WINDOWS_PER_FILE)")
            rep.reason = None if len(wins) else reason or (
                f"{TOO_SHORT}: the longest melody is {rep.longest_melody_bars} bar(s); a window "
                f"needs {b} (a rest of {options.gap_bars:g} bar(s) or more ends a melody)"
                if not silent or not options.drop_silent_windows else
                f"{NO_NOTES}: every {b}-bar window is silent (rests or one held note)")
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
    notes, cut = (notes, []) if budgeted else _budget(notes, sequence)
    for rep in reports.values():
        rep.notices.extend(cut)
    tracks = track_table(sequence)
    for rep in reports.values():
        rep.tracks = [asdict(t) for t in tracks]
    pitched = [n for n in notes if not n.is_drum]
    if not pitched:
        return finish(f"{DRUMS_ONLY}: all {len(notes)} notes are percussion", [])
    if options.track == "all":
        chosen, why = None, "every track, as MusicVAE does"
    elif options.track is None:
        chosen, why = melody_track(tracks)
    else:
        chosen, why = _resolve_track(options.track, tracks)
        if chosen is None:
            return finish(why, [])
    for rep in reports.values():
        rep.track, rep.track_choice = chosen, why
    if chosen is not None:
        pitched = [n for n in pitched if n.instrument == chosen]
    if options.programs is not None:
        pitched = [n for n in pitched if n.program in options.programs]
        if not pitched:
            return finish(f"{OUT_OF_RANGE}: no notes on programs {list(options.programs)}", [])
    kept = [n for n in pitched if options.min_pitch <= n.pitch <= options.max_pitch]
    if not kept:
        lo, hi = min(n.pitch for n in pitched), max(n.pitch for n in pitched)
        return finish(f"{OUT_OF_RANGE}: pitches {lo}-{hi} all lie outside "
                      f"{options.min_pitch}-{options.max_pitch}", [])
    if len(kept) < len(pitched):
        out = [n.pitch for n in pitched if not options.min_pitch <= n.pitch <= options.max_pitch]
        repairs.append(f"left out {len(out)} note(s) outside the models' range "
                       f"{options.min_pitch}-{options.max_pitch} (pitches {min(out)}-{max(out)})")
    if options.repair:
        kept, lines = _repair(kept)
        repairs.extend(lines)
    seq = type(sequence)()
    seq.CopyFrom(sequence)
    del seq.notes[:]
    seq.notes.extend(kept)  # MusicVAE ignores out-of-range notes before extraction
    if cut:  # the budget cut the sequence: nothing is split or quantized past the cut
        seq.total_time = max(n.end_time for n in kept)

    melodies: list[_Melody] = []
    seen_ts: list[str] = []
    rejected_ts: list[str] = []
    hidden = 0
    pieces = ns_mod.sequences_lib.split_note_sequence_on_time_changes(seq)
    if len(pieces) > 1:
        at = [p.subsequence_info.start_time_offset for p in pieces[1:]]
        repairs.append(
            f"split into {len(pieces)} parts at tempo or time-signature changes (at "
            + ", ".join(_clock(t) for t in at[:4]) + (", ..." if len(at) > 4 else "")
            + "): no melody crosses a change")
    for piece in pieces:
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
        found, left_out = _melodies(q, options)
        offset = _quarters_at(piece.subsequence_info.start_time_offset, seq) / 4
        for m in found:
            m.offset_bars = offset
        melodies.extend(found)
        hidden += left_out
    if hidden:
        repairs.append(f"top voice: left out {hidden} lower note(s) that started while a "
                       "higher note of the track was held (they would have cut it)")
    for rep in reports.values():
        rep.time_signatures = seen_ts
    if not melodies and rejected_ts:
        uniq = ", ".join(dict.fromkeys(rejected_ts))
        return finish(f"{BAD_TIME_SIGNATURE} {uniq} (supported: "
                      f"{', '.join(options.time_signatures)})", [])
    return finish(None, melodies)


def _with_track(options: ExtractionOptions | None, track: int | str | None
                ) -> ExtractionOptions:
    options = options or ExtractionOptions()
    return options if track is None else dataclasses.replace(options, track=track)


def extract_file(
    path: str | Path, bars: int | Iterable[int], options: ExtractionOptions | None = None,
) -> dict[int, tuple[np.ndarray, ExtractionReport]]:
    """Like ``extract_windows`` for a MIDI file; an unreadable file gives a report, no error.

    The file is checked against the MIDI budgets before it is parsed (``midi.scan_midi``):
    malformed files are named in words in ``reason``; long ones are cut, with a notice.
    """
    bar_list = [bars] if isinstance(bars, int) else list(bars)
    try:
        seq, check = load_midi(path)
    except DataError as e:
        reason = str(e).split(": ", 1)[1] if ": " in str(e) else str(e)
        return {b: (np.zeros((0, b * STEPS_PER_BAR), np.uint8),
                    ExtractionReport(source=str(path), bars=b, reason=reason)) for b in bar_list}
    return extract_windows(seq, bar_list, options, source=str(path), notices=check.notices,
                           budgeted=True)


def melody_windows(
    source: Any, bars: int, options: ExtractionOptions | None = None,
    track: int | str | None = None,
) -> np.ndarray:
    """All windows (N, bars*16) of a MIDI path / pretty_midi / NoteSequence.

    ``track``: a track number or name (see ``list_tracks``), or "all"; default the melody
    track by ``MELODY_RULE``. Raises DataError naming the source and the reason when there
    are none.
    """
    name = str(source) if isinstance(source, (str, Path)) else type(source).__name__
    options = _with_track(options, track)
    if isinstance(source, (str, Path)):
        seq, check = load_midi(source)
        notices, budgeted = check.notices, True
    else:
        seq, notices, budgeted = to_note_sequence(source), [], False
    wins, rep = extract_windows(seq, bars, options, source=name, notices=notices,
                                budgeted=budgeted)[bars]
    if not len(wins):
        raise DataError(f"{name}: no {bars}-bar melody windows: {rep.reason}")
    return wins


def melody_window(
    source: Any, bars: int, index: int = 0, options: ExtractionOptions | None = None,
    track: int | str | None = None,
) -> np.ndarray:
    """Window number ``index`` (default the first) of a source, (bars*16,) int64."""
    wins = melody_windows(source, bars, options, track)
    if not -len(wins) <= index < len(wins):
        name = str(source) if isinstance(source, (str, Path)) else type(source).__name__
        raise DataError(
            f"{name}: window index {index} is out of range; it has {len(wins)} "
            f"{bars}-bar windows (0-{len(wins) - 1})"
        )
    return wins[index].astype(np.int64)


__all__ = [
    "BAD_TIME_SIGNATURE", "DRUMS_ONLY", "MELODY_RULE", "NO_NOTES", "NO_SUCH_TRACK",
    "NUM_SPECIAL", "OUT_OF_RANGE", "TOO_SHORT", "UNREADABLE", "ExtractionOptions",
    "ExtractionReport", "TrackInfo", "extract_file", "extract_windows", "list_tracks",
    "melody_track", "melody_window", "melody_windows", "slice_windows", "track_table",
]
