"""What the Music tab does, without widgets: the melody VAEs by role and ``MusicActions``.

Everything music-related is a library call: ``gen.load``, the models' public methods, and
``gen.music.io`` (the extraction report that says why a MIDI file yields no melody, MIDI and
zip writing, audio rendering, piano-roll pictures and the shipped held-out examples). This
module turns widget values into melody tokens and token arrays into pictures, MIDI files and
audio. Bad input raises ``GenError``; the layout shows it as a message.

Every call of a model method (reconstruct, sample, interpolate, grid) is in the "model calls"
section below, so a change of the core's signatures is edited there only.

Each request writes its files into a fresh folder ``<out_dir>/requests/<time>-<random>/``
under fixed names (``apps.common.RequestFolders``). A result (its melodies) is returned as a
plain dict that the layout keeps per session: the audio is rendered from it after the picture
and the MIDI are shown, and a new tempo rewrites the audio and MIDI from it.
"""

from __future__ import annotations

import functools
import sys
import tempfile
import threading
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from apps.common import (
    RequestFolders,
    RoleModels,
    check_upload,
    in_range,
    load_roles,
    md,
    shown_name,
)
from gen.core.errors import GenError
from gen.music.io import (
    ExtractionReport,
    MusicVAE,
    SineFallbackWarning,
    extract_file,
    load_examples,
    pianoroll_image,
    pitch_name,
    render_audio,
    to_midi,
    to_midi_zip,
    tokens_to_notes,
)

# role -> shipped model name (or a directory written by save_pretrained)
DEFAULT_MUSIC_MODELS: dict[str, str] = {
    "2-bar": "cat-mel_2bar_small",
    "16-bar": "hierdec-mel_16bar_small",
}
# role -> (melody length in bars, words for people)
ROLES: dict[str, tuple[int, str]] = {"2-bar": (2, "2-bar model"), "16-bar": (16, "16-bar model")}
SLOTS = ("a", "b", "c", "d")  # melody inputs; the grid's corners: top left, top right, ...
MAX_COUNT = 16  # samples per click
MAX_STEPS = 16  # interpolation steps
GRID_SIZES = (2, 5)  # a grid is size x size melodies
TEMPERATURE = (0.1, 1.5)
BPM = (40, 240, 120)  # minimum, maximum, default
SEED_MAX = 2**31 - 1
SAMPLE_RATE = 22050  # audio: half CD rate renders twice as fast and is plenty for a melody
GAP_BARS = 1  # a bar of rest between melodies in the MIDI and the audio
SINE_NOTICE = "fluidsynth is not installed: the audio is plain sine waves."
Picture = np.ndarray  # (H, W, 3) uint8
Shown = tuple[Picture, str, str, str, dict]  # piano roll, MIDI, zip, note, result


# --------------------------------------------------------------------------- models
def _check_role(role: str, model: Any) -> None:
    bars, words = ROLES[role]
    if not isinstance(model, MusicVAE):
        raise GenError(f"the {words} must be a melody VAE, got a {type(model).__name__}")
    if model.config.bars != bars:
        raise GenError(f"the {words} must model {bars} bars, this one {model.config.bars}")


def load_music_models(spec: Mapping[str, str | Path | None] | None = None) -> RoleModels:
    """Load the 2-bar and the 16-bar melody models with ``gen.load``.

    ``spec`` maps roles ("2-bar", "16-bar") to shipped names or save_pretrained directories
    and overrides ``DEFAULT_MUSIC_MODELS``; ``None`` switches a role off. A model that cannot
    be loaded, or is not a melody VAE of the role's length, is reported in ``missing``.
    """
    words = {role: w for role, (_, w) in ROLES.items()}
    return load_roles("music", words, DEFAULT_MUSIC_MODELS, spec, _check_role)


# --------------------------------------------------------------------------- model calls
def _reconstruct(model: MusicVAE, tokens: np.ndarray) -> np.ndarray:
    return model.reconstruct(tokens)  # (N, T) -> (N, T), greedy decoding of the code


def _sample(model: MusicVAE, n: int, temperature: float, seed: int) -> np.ndarray:
    return model.sample(n=n, temperature=temperature, seed=seed)  # (n, T)


def _interpolate(model: MusicVAE, a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    return model.interpolate(a, b, steps=steps, method="slerp")  # (steps, T)


def _grid(model: MusicVAE, corners: np.ndarray, size: int) -> np.ndarray:
    return model.grid(corners, rows=size, cols=size)  # (4, T) -> (size * size, T)


# --------------------------------------------------------------------------- uploads
@functools.lru_cache(maxsize=64)
def _extract(path: str, size: int, mtime_ns: int, bars: int) -> tuple[np.ndarray, ExtractionReport]:
    """The library's extraction of one uploaded file, cached by (path, size, mtime, bars)."""
    wins, report = extract_file(path, bars)[bars]
    wins = wins.astype(np.int64)
    wins.flags.writeable = False  # shared between requests
    return wins, report


def extract_upload(path: str | Path, bars: int) -> tuple[np.ndarray, ExtractionReport]:
    """Melody windows (N, bars*16) int64 of an uploaded MIDI file and the library's report."""
    st = check_upload(path, "MIDI files").stat()
    return _extract(str(path), st.st_size, st.st_mtime_ns, int(bars))


def window_label(i: int, tokens: np.ndarray) -> str:
    """'window 3 · 14 notes · D4-B5' for the dropdown of an upload's windows (i from 0)."""
    notes = tokens_to_notes(tokens)
    if not notes:
        return f"window {i + 1} · rests only"
    lo, hi = min(p for p, _, _ in notes), max(p for p, _, _ in notes)
    return f"window {i + 1} · {len(notes)} notes · {pitch_name(lo)}-{pitch_name(hi)}"


def _bpm(value: Any) -> float:
    return in_range(value, "tempo", BPM[0], BPM[1], unit=" bpm")


def _timing(n: int, bars: int, bpm: float) -> str:
    total = n * bars + (n - 1) * GAP_BARS
    secs = total * 4 * 60.0 / bpm
    return (f"MIDI and audio: {n} melod{'y' if n == 1 else 'ies'} of {bars} bars with "
            f"{GAP_BARS} bar of rest between, {total} bars, {secs:.0f} s at {bpm:g} bpm.")


@dataclass(frozen=True)
class Melody:
    """One chosen melody: tokens (T,) int64 and a short name for titles and messages."""

    tokens: np.ndarray
    name: str


@dataclass(frozen=True)
class Written:
    """Files written for one result: the whole sequence as one MIDI, one MIDI per melody."""

    midi: str
    zip: str


# --------------------------------------------------------------------------- actions
class MusicActions:
    """What the Music tab's buttons do. Built once; read-only afterwards.

    Melody inputs arrive as four widget values ``(source, example, upload, window)``: source
    "example" takes the held-out example named ``example`` of the chosen model's length;
    "upload" takes window number ``window`` (from 0) of the MIDI file ``upload``.

    Each action returns the piano roll, the MIDI file, the zip of one MIDI per melody, a
    Markdown note and the result (a plain dict for ``audio`` and ``render``).

    A background thread started here imports the MIDI and audio libraries and runs every
    model once, so the first click does not pay for them.
    """

    def __init__(self, models: RoleModels, out_dir: str | Path) -> None:
        self.models = models
        self.out_dir = Path(out_dir)
        self.requests = RequestFolders(self.out_dir / "requests")
        self.examples: dict[str, dict[str, np.ndarray]] = {}
        self.examples_missing: dict[str, str] = {}
        for role in models.loaded():
            try:
                examples = load_examples(ROLES[role][0])
            except GenError as e:
                self.examples_missing[role] = str(e)
                continue
            for _, tokens in examples:
                tokens.flags.writeable = False  # shared by every request
            self.examples[role] = dict(examples)
        threading.Thread(target=self._warm_up, name="music-tab-warm-up", daemon=True).start()

    def _warm_up(self) -> None:
        try:
            tune = np.array([40] + [0] * 15 + [42] + [0] * 15)  # two one-bar notes
            with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                extract_file(to_midi(tune, Path(tmp) / "warm.mid"), 2)  # imports note_seq
                render_audio(tune, Path(tmp) / "warm.wav", sample_rate=SAMPLE_RATE)
            for model in self.models.models.values():
                _sample(model, 1, 0.5, 0)
        except Exception as e:  # only a speed-up; the handlers report real problems
            print(f"warning: music tab warm-up failed: {e}", file=sys.stderr)

    # ----------------------------------------------------------------- inputs
    def example_names(self, role: str) -> list[str]:
        """Names of the held-out examples for ``role``'s melody length (may be empty)."""
        return list(self.examples.get(role, {}))

    def melody(self, role: str, label: str, source: str, example: Any, upload: Any,
               window: Any) -> Melody:
        """Widget values of melody ``label`` ("A".."D") -> its tokens for ``role``'s model."""
        bars = self.models.get(role).config.bars
        if source == "example":
            names = self.examples.get(role)
            if not names:
                why = self.examples_missing.get(role, "no model")
                raise GenError(f"Melody {label}: no examples for this model ({why}); "
                               "upload a MIDI file instead.")
            if example not in names:
                raise GenError(f"Melody {label}: {example!r} is not one of the {bars}-bar "
                               "examples; pick one from the list.")
            return Melody(names[example], str(example))
        if source != "upload":
            raise GenError(f"Melody {label}: the source is 'example' or 'upload', not {source!r}.")
        if not upload:
            raise GenError(f"Melody {label}: upload a MIDI file first (or choose an example).")
        name = shown_name(upload)
        wins, report = extract_upload(upload, bars)
        if not len(wins):
            raise GenError(f"Melody {label}: {name} has no {bars}-bar melody: {report.reason}.")
        try:
            index = int(window if window not in (None, "") else 0)
        except (TypeError, ValueError):
            raise GenError(f"Melody {label}: pick a window of {name} from the list.") from None
        if not 0 <= index < len(wins):
            raise GenError(f"Melody {label}: {name} has {len(wins)} windows of {bars} bars; "
                           f"pick one of 0-{len(wins) - 1}, not {index}.")
        return Melody(np.array(wins[index]), f"{name} #{index + 1}")

    def _melodies(self, role: str, values: Sequence[Any]) -> list[Melody]:
        """Groups of four widget values -> melodies A, B, ... in order."""
        return [self.melody(role, SLOTS[i].upper(), *values[4 * i: 4 * i + 4])
                for i in range(len(values) // 4)]

    # ----------------------------------------------------------------- files
    def _write(self, tokens: np.ndarray, stem: str, part_names: Sequence[str], bpm: float
               ) -> Written:
        """The whole result as ``<stem>.mid`` and one MIDI per melody in ``<stem>_midi.zip``."""
        folder = self.requests.new()
        midi = to_midi(tokens, folder / f"{stem}.mid", bpm=bpm, gap_bars=GAP_BARS)
        archive = to_midi_zip(tokens, folder / f"{stem}_midi.zip", part_names, bpm=bpm)
        return Written(str(midi), str(archive))

    def _show(self, kind: str, mels: np.ndarray, parts: Sequence[str], titles: Sequence[str],
              cols: int, note: str, bpm: float) -> Shown:
        """Write the files of a result and draw it: (roll, MIDI, zip, note, result)."""
        files = self._write(mels, kind, parts, bpm)
        result = {"kind": kind, "tokens": mels.astype(int).tolist(), "parts": list(parts),
                  "id": uuid.uuid4().hex}  # plain lists: Gradio hashes the state to see changes
        return pianoroll_image(mels, list(titles), cols), files.midi, files.zip, note, result

    # ----------------------------------------------------------------- actions
    def reconstruct(self, role: str, *values: Any) -> Shown:
        """Melody A and the model's reconstruction of it (greedy decoding of the code).

        ``values``: melody A's four widget values, then the bpm.
        """
        model = self.models.get(role)
        *melody_values, bpm = values
        bpm = _bpm(bpm)
        (a,) = self._melodies(role, melody_values)
        rec = _reconstruct(model, a.tokens[None])[0]
        both = np.stack([a.tokens, rec])
        same = int((rec == a.tokens).sum())
        note = (f"**Reconstruction** of A ({md(a.name)}): {same} of {len(rec)} steps "
                f"({same / len(rec):.0%}) come back the same. "
                + _timing(2, model.config.bars, bpm))
        return self._show("reconstruction", both, ["melody_a", "reconstruction"],
                          [f"A: {a.name}", "reconstruction"],
                          2 if model.config.bars <= 4 else 1, note, bpm)

    def sample(self, role: str, count: Any, temperature: Any, seed: Any, bpm: Any) -> Shown:
        """``count`` melodies from the prior; ``temperature`` scales the decoder's randomness."""
        model = self.models.get(role)
        count = in_range(count, "count", 1, MAX_COUNT, whole=True)
        t = in_range(temperature, "temperature", *TEMPERATURE)
        seed = in_range(seed, "seed", 0, SEED_MAX, whole=True)
        bpm = _bpm(bpm)
        mels = _sample(model, count, t, seed)
        note = (f"**{count} sample{'s' if count > 1 else ''}** from the prior at temperature "
                f"{t:g}, seed {seed}. " + _timing(count, model.config.bars, bpm))
        return self._show("samples", mels, [f"sample_{i + 1:02d}" for i in range(count)],
                          [f"sample {i + 1}" for i in range(count)],
                          min(count, 4) if model.config.bars <= 4 else 1, note, bpm)

    def interpolate(self, role: str, *values: Any) -> Shown:
        """The decoded latent path from A to B (slerp), endpoints included, step by step.

        ``values``: melody A's and B's four widget values each, then the steps and the bpm.
        """
        model = self.models.get(role)
        *melody_values, steps, bpm = values
        steps = in_range(steps, "number of steps", 2, MAX_STEPS, whole=True)
        bpm = _bpm(bpm)
        a, b = self._melodies(role, melody_values)
        mels = _interpolate(model, a.tokens, b.tokens, steps)
        titles = [f"step {i + 1}" for i in range(steps)]
        titles[0] += f" = A: {a.name} (reconstructed)"
        titles[-1] += f" = B: {b.name} (reconstructed)"
        note = (f"**Interpolation** from A ({md(a.name)}) to B ({md(b.name)}) in {steps} "
                "steps along a great circle of the latent space (slerp); the first and last "
                "steps are the model's reconstructions of A and B. "
                + _timing(steps, model.config.bars, bpm))
        return self._show("interpolation", mels, [f"step_{i + 1:02d}" for i in range(steps)],
                          titles, min(steps, 4) if model.config.bars <= 4 else 1, note, bpm)

    def grid(self, role: str, *values: Any) -> Shown:
        """A size x size grid of decoded codes between A, B (top) and C, D (bottom).

        ``values``: the four widget values of melodies A, B, C and D, then size and bpm.
        """
        model = self.models.get(role)
        *melody_values, size, bpm = values
        size = in_range(size, "grid size", *GRID_SIZES, whole=True)
        bpm = _bpm(bpm)
        corners = self._melodies(role, melody_values)
        mels = _grid(model, np.stack([m.tokens for m in corners]), size)
        cells = [(r, c) for r in range(size) for c in range(size)]
        titles = [f"row {r + 1}, col {c + 1}" for r, c in cells]
        for (r, c), m in zip([(0, 0), (0, size - 1), (size - 1, 0), (size - 1, size - 1)],
                             corners):
            titles[r * size + c] = f"{titles[r * size + c]}: {m.name}"
        note = (f"**{size}x{size} grid** between A (top left), B (top right), C (bottom left) "
                "and D (bottom right), corners reconstructed; the MIDI plays it row by row. "
                + _timing(size * size, model.config.bars, bpm))
        return self._show("grid", mels, [f"row{r + 1}_col{c + 1}" for r, c in cells], titles,
                          size, note, bpm)

    # ----------------------------------------------------------------- rendering
    def audio(self, result: dict[str, Any] | None, bpm: Any) -> tuple[str | None, str | None]:
        """The last result as a WAV file, and a notice when it is plain sine waves (no
        fluidsynth); ``(None, None)`` without a result."""
        if not result:
            return None, None
        tokens = np.asarray(result["tokens"], dtype=np.int64)
        folder = self.requests.new()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SineFallbackWarning)
            wav = render_audio(tokens, folder / "audio.wav", bpm=_bpm(bpm), gap_bars=GAP_BARS,
                               sample_rate=SAMPLE_RATE)
        sine = any(issubclass(w.category, SineFallbackWarning) for w in caught)
        return str(wav), SINE_NOTICE if sine else None

    def render(self, result: dict[str, Any] | None, bpm: Any
               ) -> tuple[str, str, str | None, str | None] | None:
        """The last result's MIDI, zip and audio again at tempo ``bpm``, and the audio's
        notice; None without a result."""
        if not result:
            return None
        tokens = np.asarray(result["tokens"], dtype=np.int64)
        files = self._write(tokens, result["kind"], result["parts"], _bpm(bpm))
        return (files.midi, files.zip, *self.audio(result, bpm))

    # ----------------------------------------------------------------- widgets' contents
    def choose_model(self, role: str, *chosen: Any) -> tuple[list[str], list[str | None]]:
        """The example names for ``role``'s melody length and the one each of A-D shows.

        ``chosen``: the examples picked for A-D so far; each stays picked when the new model
        has an example of that name, else A-D take examples 1-4.
        """
        self.models.get(role)
        names = self.example_names(role)
        chosen = (chosen + (None,) * len(SLOTS))[: len(SLOTS)]
        values = [c if c in names else names[i % len(names)] if names else None
                  for i, c in enumerate(chosen)]
        return names, values

    def windows(self, role: str, upload: Any) -> tuple[list[tuple[str, int]], str]:
        """An uploaded file -> (label, index) of each of its windows and what was found, or
        why nothing was (Markdown; empty without a file)."""
        if not upload:
            return [], ""
        bars = self.models.get(role).config.bars
        name = shown_name(upload)
        wins, report = extract_upload(upload, bars)
        if not len(wins):
            return [], f"**{name}**: no {bars}-bar melody: {md(str(report.reason))}."
        choices = [(window_label(i, w), i) for i, w in enumerate(wins)]
        found = (f"**{name}**: {len(wins)} window{'s' if len(wins) > 1 else ''} of {bars} bars "
                 f"from {report.melodies} melod{'y' if report.melodies == 1 else 'ies'}.")
        return choices, found
