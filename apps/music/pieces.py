"""The two kinds of music the Music tab plays with, behind one small interface.

``MelodyKind`` wraps a monophonic melody VAE (``gen.music.io``: melody tokens (T,) int64,
16 steps per bar); ``RollKind`` wraps a polyphonic piano-roll VAE (``gen.music.rollio``:
rolls (T, 88) uint8, ``frames_per_quarter`` frames per beat). Each says how to get inputs
(held-out examples, the windows of an uploaded MIDI file), calls its model, writes MIDI,
zip and WAV files and lists the notes to draw. ``MusicActions`` (actions.py) works on
pieces of either kind through this interface only.

Every call of a model method (reconstruct, sample, interpolate, grid) is in a "model calls"
block of a kind below, and those of attribute vectors and the learned prior (the same for
both kinds) in one block of ``Kind``, so a change of the core's signatures is edited there
only.
"""

from __future__ import annotations

import functools
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from apps.common import check_upload, md, shown_name
from gen.core.errors import GenError
from gen.music import rollio
from gen.music.io import (
    ExtractionOptions,
    MusicVAE,
    extract_file,
    load_examples,
    pitch_name,
    render_audio,
    to_midi,
    to_midi_zip,
    tokens_to_notes,
)

# gen.music.rollio does not export this yet (see the report of issue 12); it turns a roll into
# the notes [(pitch, start, end)] that the library's own roll pictures draw.
from gen.music.rollio import roll_notes

SAMPLE_RATE = 22050  # audio: half CD rate renders twice as fast and is plenty here
GAP_BARS = 1  # a bar of rest between pieces in the whole-result MIDI and audio
ROLL_BARS = 8  # piano rolls are used 8 bars at a time: a chord per frame is slow to decode
Note = tuple[int, int, int]  # (MIDI pitch, start step, end step)


@dataclass(frozen=True)
class Piece:
    """One chosen input: its data (tokens (T,) or a roll (T, 88)) and a short name."""

    data: np.ndarray
    name: str


@dataclass(frozen=True)
class Upload:
    """What an uploaded MIDI file yields: its windows as (label, data), and a Markdown line
    that says what was found or, with ``reason`` set, why nothing was."""

    windows: list[tuple[str, np.ndarray]]
    found: str
    reason: str | None = None


def fit_wav(path: Path, seconds: float) -> Path:
    """Cut or pad the WAV file at ``path`` to exactly ``seconds`` (the piece's length, so a
    loop stays in time); a cut ends with a 20 ms fade."""
    import soundfile

    audio, rate = soundfile.read(str(path), dtype="float32")
    n = int(round(seconds * rate))
    if len(audio) >= n:
        audio = audio[:n].copy()
        fade = min(n, int(0.02 * rate))
        if fade:
            audio[n - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    else:
        audio = np.concatenate([audio, np.zeros(n - len(audio), np.float32)])
    soundfile.write(str(path), audio, rate, subtype="PCM_16")
    return path


def join_wavs(paths: Sequence[Path], gap_s: float, out: Path) -> Path:
    """WAV files one after another with ``gap_s`` seconds of silence between -> ``out``."""
    import soundfile

    parts, rate = [], SAMPLE_RATE
    for i, p in enumerate(paths):
        audio, rate = soundfile.read(str(p), dtype="float32")
        if i:
            parts.append(np.zeros(int(round(gap_s * rate)), np.float32))
        parts.append(audio)
    soundfile.write(str(out), np.concatenate(parts), rate, subtype="PCM_16")
    return out


def _plural_windows(n: int, bars: int) -> str:
    return f"{n} window{'s' if n != 1 else ''} of {bars} bars"


def _track_words(track: dict[str, Any]) -> str:
    """'2 Lead (Flute)' for a track of an extraction report (numbered from 1)."""
    name = f" {track['name'][:40]}" if track.get("name") else ""
    return f"{int(track['index']) + 1}{name} ({track.get('instrument', '?')})"


def pitch_span(notes: Sequence[Note]) -> str:
    """'D4-B5' for notes, '' without notes."""
    if not notes:
        return ""
    return f"{pitch_name(min(p for p, _, _ in notes))}-{pitch_name(max(p for p, _, _ in notes))}"


# --------------------------------------------------------------------------- the interface
class Kind:
    """What the Music tab needs from one model; subclasses fill it in for a kind of music."""

    kind = ""  # "melody" or "roll", stored with results
    noun = "melody"  # what one piece is called in messages
    example_label = ""  # label of the examples dropdown
    steps_per_beat = 4
    default_bpm = 120.0
    default_program = 0  # General MIDI program (0-based)
    temperature_info = ""

    def __init__(self, model: Any) -> None:
        self.model = model

    @property
    def steps_per_bar(self) -> int:
        """Grid steps per 4/4 bar."""
        return 4 * self.steps_per_beat

    def seconds(self, data: np.ndarray, bpm: float) -> float:
        """How long a piece plays at ``bpm`` (its full length, rests included)."""
        return len(data) / self.steps_per_beat * 60.0 / bpm

    def bars(self, data: np.ndarray) -> float:
        """A piece's length in bars."""
        return len(data) / self.steps_per_bar

    # the rest is the kind's own
    def warm_up(self) -> None:
        """Run the model once, cheaply."""
        raise NotImplementedError

    def notes(self, data: np.ndarray) -> list[Note]:
        """The notes to draw: [(pitch, start, end)] in grid steps."""
        raise NotImplementedError

    def examples(self) -> list[tuple[str, np.ndarray]]:
        """Held-out examples (name, data); GenError when there are none."""
        raise NotImplementedError

    def upload(self, path: str | Path) -> Upload:
        """The windows of an uploaded MIDI file and what was found."""
        raise NotImplementedError

    def reconstruct(self, items: list[np.ndarray]) -> list[np.ndarray]:
        """The model's greedy reconstructions of ``items``."""
        raise NotImplementedError

    def sample(self, n: int, temperature: float, prior_scale: float, seed: int,
               prior: str = "normal") -> list[np.ndarray]:
        """``n`` pieces from the prior ("normal": N(0, I); "learned": the model's mixture
        fitted to its training codes)."""
        raise NotImplementedError

    def interpolate(self, a: np.ndarray, b: np.ndarray, steps: int) -> list[np.ndarray]:
        """The decoded latent path from a to b (slerp), endpoints included."""
        raise NotImplementedError

    def grid(self, corners: list[np.ndarray], size: int) -> list[np.ndarray]:
        """A size x size grid between four corners, row by row."""
        raise NotImplementedError

    def write_midi(self, items: list[np.ndarray], path: Path, bpm: float, program: int
                   ) -> Path:
        """All pieces in one MIDI file, a bar of rest between."""
        raise NotImplementedError

    def write_zip(self, items: list[np.ndarray], names: list[str], path: Path, bpm: float,
                  program: int) -> Path:
        """One MIDI file per piece (``<name>.mid``, fixed names) in a zip archive."""
        raise NotImplementedError

    def write_wav(self, item: np.ndarray, path: Path, bpm: float, program: int) -> Path:
        """One piece as a WAV file of exactly its length."""
        raise NotImplementedError

    # attribute vectors and the learned prior (gen.music.attributes, gen.core.prior): the
    # same calls for both kinds; ``batch`` and ``pieces`` convert between the kinds' forms
    def batch(self, items: Sequence[np.ndarray]) -> Any:
        """Pieces as the model takes them (an array (N, T) or a list of rolls)."""
        raise NotImplementedError

    def pieces(self, out: Any) -> list[np.ndarray]:
        """The model's output as a list of pieces."""
        raise NotImplementedError

    def vector_names(self) -> tuple[list[str], str]:
        """The attributes the model has vectors for, and '' or why it has none."""
        try:
            return list(self.model.attribute_vectors()), ""
        except GenError as e:
            return [], str(e)

    def prior_missing(self) -> str:
        """'' when the model ships a learned prior, else why not (the library's words)."""
        try:
            self.model.learned_prior()
        except GenError as e:
            return str(e)
        return ""

    def attributes(self, items: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """Attribute values of pieces: {name: (N,) float}."""
        return self.model.attributes(self.batch(items))

    def shift(self, items: Sequence[np.ndarray], amounts: dict[str, float]
              ) -> list[np.ndarray]:
        """Encode the pieces, add ``amount`` x the vector of each attribute, decode greedily
        to the pieces' lengths."""
        return self.pieces(self.model.shift(self.batch(items), amounts))

    def encode(self, data: np.ndarray) -> Any:
        """A piece as plain JSON-able values (results live in a gr.State)."""
        raise NotImplementedError

    def decode(self, value: Any) -> np.ndarray:
        """``encode``'s inverse."""
        raise NotImplementedError


# --------------------------------------------------------------------------- melodies
@functools.lru_cache(maxsize=64)
def _extract(path: str, size: int, mtime_ns: int, bars: int, track: str | None = None
             ) -> tuple[np.ndarray, Any]:
    """The library's extraction of one uploaded file, cached by (path, size, mtime, bars,
    track); ``track`` None: the melody track the library picks, "all": every track."""
    options = ExtractionOptions(track=track) if track else None
    wins, report = extract_file(path, bars, options)[bars]
    wins = wins.astype(np.int64)
    wins.flags.writeable = False  # shared between requests
    return wins, report


def window_labels(report: Any, count: int) -> list[str | None]:
    """'track 2 Lead (Flute), bars 5-6' for each of the first ``count`` windows of an
    extraction report, from its ``window_tracks`` and ``window_starts`` (the library's
    bounded parse of the file); None where the report does not say."""
    tracks = {int(t["index"]): t for t in report.tracks}
    bars = int(report.bars)
    out: list[str | None] = []
    for i in range(count):
        if i >= min(len(report.window_tracks), len(report.window_starts)):
            out.append(None)
            continue
        track = tracks.get(int(report.window_tracks[i]))
        start = float(report.window_starts[i])
        where = f"bars {start + 1:g}-{start + bars:g}"
        out.append(f"track {_track_words(track)}, {where}" if track else where)
    return out


class MelodyKind(Kind):
    """A melody VAE: 2 or 16 bars of one voice, 16 steps per bar."""

    kind = "melody"
    noun = "melody"
    example_label = "held-out folk tune"
    temperature_info = ("decoder randomness: divides the logits of each note choice. Low: "
                        "the likeliest notes; high: surprising ones. At one seed it changes a "
                        "few notes; a new seed or more variation changes the tune.")

    def __init__(self, model: MusicVAE) -> None:
        super().__init__(model)
        self.n_bars = int(model.config.bars)

    def notes(self, data: np.ndarray) -> list[Note]:
        """Melody tokens -> notes [(pitch, start, end)] in 16th-note steps."""
        return tokens_to_notes(data)

    def examples(self) -> list[tuple[str, np.ndarray]]:
        """The shipped held-out folk tunes of the model's length."""
        return load_examples(self.n_bars)

    def upload(self, path: str | Path) -> Upload:
        """Melody windows of the model's length, each labelled with its track and bars: first
        those of the melody track the library picks, then those of the other tracks."""
        st = check_upload(path, "MIDI files").stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        name = shown_name(path)
        main, report = _extract(*key, self.n_bars)
        every, report_all = _extract(*key, self.n_bars, "all")
        seen = {tuple(w) for w in main}
        other = [i for i, w in enumerate(every) if tuple(w) not in seen]
        wins = [*main, *(every[i] for i in other)]
        if not wins:
            return Upload([], f"**{md(name)}**: no {self.n_bars}-bar melody: "
                          f"{md(str(report.reason))}.", str(report.reason))
        # where each window is in the file: the reports' window_tracks / window_starts
        main_where = window_labels(report, len(main))
        all_where = window_labels(report_all, len(every))
        places = [*main_where, *(all_where[i] for i in other)]
        others = [every[i] for i in other]
        labels = []
        for i, (w, place) in enumerate(zip(wins, places)):
            notes = tokens_to_notes(w)
            where = place or f"window {i + 1}"
            what = f"{len(notes)} notes, {pitch_span(notes)}" if notes else "rests only"
            labels.append((f"{where} · {what}", w))
        found = f"**{md(name)}**: {_plural_windows(len(wins), self.n_bars)}"
        used = next((t for t in report.tracks if t.get("index") == report.track), None)
        if used is not None and len(main):
            found += (f": {len(main)} from the melody track {md(_track_words(used))} "
                      f"({md(report.track_choice)})")
            found += f", {len(others)} from the other tracks." if others else "."
        else:
            found += "."
        lines = [*report.notices, *report.repairs]  # budget cuts and repairs, in words
        if lines:
            found += " " + " ".join(md(f"{x[:1].upper()}{x[1:]}.") for x in lines)
        return Upload(labels, found)

    # ------------------------------------------------------------- model calls
    def warm_up(self) -> None:
        """Run the model once (the first click then does not pay for it)."""
        self.model.sample(n=1, temperature=0.5, seed=0)

    def reconstruct(self, items: list[np.ndarray]) -> list[np.ndarray]:
        """Greedy decoding of each melody's code: (N, T) -> (N, T)."""
        return list(self.model.reconstruct(np.stack(items)))

    def sample(self, n: int, temperature: float, prior_scale: float, seed: int,
               prior: str = "normal") -> list[np.ndarray]:
        """(n, T) melodies from z ~ N(0, prior_scale^2 I) (or the learned prior, its spread
        times prior_scale) decoded at ``temperature``."""
        return list(self.model.sample(n=n, temperature=temperature, seed=seed,
                                      prior_scale=prior_scale, prior=prior))

    def batch(self, items: Sequence[np.ndarray]) -> np.ndarray:
        """Melodies (N, T)."""
        return np.stack(items)

    def pieces(self, out: Any) -> list[np.ndarray]:
        """(N, T) -> N melodies (T,) int64."""
        return [np.asarray(x, dtype=np.int64) for x in out]

    def interpolate(self, a: np.ndarray, b: np.ndarray, steps: int) -> list[np.ndarray]:
        """(steps, T) melodies along a great circle from a to b."""
        return list(self.model.interpolate(a, b, steps=steps, method="slerp"))

    def grid(self, corners: list[np.ndarray], size: int) -> list[np.ndarray]:
        """(size * size, T) melodies between four corners (4, T)."""
        return list(self.model.grid(np.stack(corners), rows=size, cols=size))

    # ------------------------------------------------------------- files
    def write_midi(self, items: list[np.ndarray], path: Path, bpm: float, program: int
                   ) -> Path:
        """All melodies in one MIDI file, a bar of rest between."""
        return to_midi(np.stack(items), path, bpm=bpm, program=program, gap_bars=GAP_BARS)

    def write_zip(self, items: list[np.ndarray], names: list[str], path: Path, bpm: float,
                  program: int) -> Path:
        """One MIDI file per melody in a zip."""
        return to_midi_zip(np.stack(items), path, names, bpm=bpm, program=program)

    def write_wav(self, item: np.ndarray, path: Path, bpm: float, program: int) -> Path:
        """One melody as a WAV file of exactly its bars."""
        render_audio(item[None], path, bpm=bpm, program=program, gap_bars=0,
                     sample_rate=SAMPLE_RATE)
        return fit_wav(path, self.seconds(item, bpm))

    def encode(self, data: np.ndarray) -> list[int]:
        """Tokens as a list of ints."""
        return np.asarray(data, dtype=np.int64).tolist()

    def decode(self, value: Any) -> np.ndarray:
        """A list of ints -> tokens (T,) int64."""
        return np.asarray(value, dtype=np.int64)


# --------------------------------------------------------------------------- piano rolls
@functools.lru_cache(maxsize=32)
def _roll(model: Any, path: str, size: int, mtime_ns: int) -> tuple[np.ndarray | None, Any]:
    """The library's conversion of one uploaded file: (roll, report), or (None, words)."""
    try:
        roll, report = rollio.midi_roll(model, path)
    except GenError as e:
        return None, str(e)
    roll.flags.writeable = False
    return roll, report


class RollKind(Kind):
    """A piano-roll VAE: chords as stacked keys, ``frames_per_quarter`` frames per beat.

    The tab uses ``ROLL_BARS`` bars at a time (examples, upload windows, samples): decoding
    a NADE key by key is slow on a CPU, and 8 bars are a phrase or two.
    """

    kind = "roll"
    noun = "piece"
    example_label = "held-out test piece"
    temperature_info = ("decoder randomness: divides the logit of each key, chosen key by key "
                        "(NADE). Low: the likeliest chords; high: more surprising ones. A new "
                        "seed or more variation changes the piece.")

    def __init__(self, model: rollio.PianoRollVAE) -> None:
        super().__init__(model)
        c = model.config
        self.steps_per_beat = int(c.frames_per_quarter)
        self.frames = min(int(c.max_frames), ROLL_BARS * 4 * self.steps_per_beat)
        self.default_bpm = float(c.bpm)
        self.default_program = int(c.program)

    def notes(self, data: np.ndarray) -> list[Note]:
        """A roll -> notes [(pitch, start, end)] in frames (a held key is one note), at the
        written pitch (the model's ``pitch_offset`` undone, as in its MIDI and audio)."""
        return roll_notes(data, 21 - int(self.model.config.pitch_offset))

    def examples(self) -> list[tuple[str, np.ndarray]]:
        """The benchmark's held-out test pieces, their first ``ROLL_BARS`` bars."""
        out = []
        for title, roll in rollio.examples(self.model):
            cut = roll[: self.frames]
            if cut.any():
                base = title.rsplit(" (", 1)[0]
                out.append((f"{base} (bars 1-{int(np.ceil(self.bars(cut)))})", cut))
        return out

    def upload(self, path: str | Path) -> Upload:
        """All pitched tracks merged into one roll, cut into windows of ``ROLL_BARS`` bars."""
        st = check_upload(path, "MIDI files").stat()
        roll, report = _roll(self.model, str(path), st.st_size, st.st_mtime_ns)
        name = shown_name(path)
        if roll is None:  # the library's words, with the file's name instead of its path
            why = str(report).replace(str(path), name).replace(Path(path).name, name)
            return Upload([], f"**{md(name)}**: {md(why)}", why)
        lines = " ".join(report.lines()[1:])  # the first line names the machine path
        tracks = report.instruments
        merged = f"{tracks} track{'s' if tracks != 1 else ''} merged"
        windows = []
        bar = self.steps_per_bar
        for start in range(0, len(roll), self.frames):
            cut = roll[start: start + self.frames]
            notes = self.notes(cut)
            if not notes:
                continue
            first, last = start // bar + 1, int(np.ceil((start + len(cut)) / bar))
            windows.append((f"bars {first}-{last} ({merged}) · {len(notes)} notes, "
                            f"{pitch_span(notes)}", cut))
        if not windows:
            return Upload([], f"**{md(name)}**: no notes in the piano roll.", "no notes")
        found = (f"**{md(name)}**: {report.frames} frames, {report.notes_kept} notes from "
                 f"{merged}; {len(windows)} window{'s' if len(windows) > 1 else ''} of up to "
                 f"{ROLL_BARS} bars. {md(lines)}")
        return Upload(windows, found.strip())

    # ------------------------------------------------------------- model calls
    def warm_up(self) -> None:
        """Run the model once over a few frames (a whole sample would take seconds)."""
        self.model.sample(1, temperature=1.0, seed=0, frames=2)

    def reconstruct(self, items: list[np.ndarray]) -> list[np.ndarray]:
        """Greedy decoding of each roll's code, each to its own length."""
        return rollio.roll_list(self.model.reconstruct(list(items)))

    def sample(self, n: int, temperature: float, prior_scale: float, seed: int,
               prior: str = "normal") -> list[np.ndarray]:
        """(n, frames, 88) rolls from z ~ N(0, prior_scale^2 I) (or the learned prior)
        decoded at ``temperature``."""
        return rollio.roll_list(self.model.sample(n, temperature=temperature, seed=seed,
                                                  prior_scale=prior_scale, prior=prior,
                                                  frames=self.frames))

    def batch(self, items: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Rolls as a list (they may differ in length)."""
        return list(items)

    def pieces(self, out: Any) -> list[np.ndarray]:
        """(N, T, 88) or a list -> N rolls (T_i, 88)."""
        return rollio.roll_list(out)

    def interpolate(self, a: np.ndarray, b: np.ndarray, steps: int) -> list[np.ndarray]:
        """(steps, T, 88) rolls along a great circle from a to b (T: the longer input)."""
        return rollio.roll_list(self.model.interpolate(a, b, steps, "slerp"))

    def grid(self, corners: list[np.ndarray], size: int) -> list[np.ndarray]:
        """(size * size, T, 88) rolls between four corners."""
        return rollio.roll_list(self.model.grid(list(corners), rows=size, cols=size))

    # ------------------------------------------------------------- files
    def write_midi(self, items: list[np.ndarray], path: Path, bpm: float, program: int
                   ) -> Path:
        """All rolls in one MIDI file, a bar of silence between."""
        return rollio.write_midi(self.model, list(items), path, bpm=bpm, program=program)

    def write_zip(self, items: list[np.ndarray], names: list[str], path: Path, bpm: float,
                  program: int) -> Path:
        """One MIDI file per roll in a zip (``names`` are the app's fixed names)."""
        part = path.with_name(f".{path.stem}_part.mid")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for item, name in zip(items, names):
                rollio.write_midi(self.model, [item], part, bpm=bpm, program=program)
                z.writestr(f"{name}.mid", part.read_bytes())
        part.unlink(missing_ok=True)
        return path

    def write_wav(self, item: np.ndarray, path: Path, bpm: float, program: int) -> Path:
        """One roll as a WAV file of exactly its length."""
        rollio.roll_to_wav(self.model, [item], path, bpm=bpm, program=program)
        return fit_wav(path, self.seconds(item, bpm))

    def encode(self, data: np.ndarray) -> dict[str, Any]:
        """A roll as its frame count and its bits in hex (a 64-frame roll: 1.4 kB)."""
        a = np.asarray(data, dtype=np.uint8)
        return {"frames": int(a.shape[0]), "bits": np.packbits(a).tobytes().hex()}

    def decode(self, value: Any) -> np.ndarray:
        """``encode``'s inverse: (T, 88) uint8."""
        bits = np.unpackbits(np.frombuffer(bytes.fromhex(value["bits"]), np.uint8))
        t = int(value["frames"])
        return bits[: t * 88].reshape(t, 88).astype(np.uint8)


def kind_of(model: Any) -> Kind:
    """The Kind wrapping ``model``; a GenError for a model the Music tab cannot play."""
    if isinstance(model, MusicVAE):
        return MelodyKind(model)
    if isinstance(model, rollio.PianoRollVAE):
        return RollKind(model)
    raise GenError(f"the Music tab plays melody and piano-roll VAEs, not a {type(model).__name__}")

