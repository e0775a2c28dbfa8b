"""The Music tab: widgets for the melody VAEs, wired to the public `gen` API.

Everything music-related is a library call: ``gen.load``, ``MusicVAE.reconstruct / sample /
interpolate / grid``, ``gen.music.extract_file`` (the extraction report that says why a MIDI
file yields no melody), ``gen.music.to_midi``, ``gen.music.render_audio`` and the shipped
held-out examples of ``gen.music.examples``. This file turns widget values into melody
tokens and token arrays into pictures, MIDI files and audio for people.

Models and examples are loaded once, when the tab is built. Handlers are methods of
``MusicActions``, which never changes after construction; each request writes its files into
a fresh folder ``<out_dir>/requests/<time>-<random>/`` under fixed names (never a name a
user chose), and folders older than an hour are removed as new ones are made.

The result of the last action (its melodies) lives in a per-session ``gr.State``: the audio
is rendered from it right after the picture and the MIDI are shown, and moving the bpm
slider rewrites the audio and MIDI from it.
"""

from __future__ import annotations

import functools
import re
import shutil
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

import gen
from apps.common import MAX_UPLOAD_MB, user_errors
from gen.core.errors import GenError
from gen.music import MusicVAE, extract_file, render_audio, to_midi, to_midi_zip
from gen.music.convert import MIDI_SUFFIXES, ExtractionReport
from gen.music.examples import load_examples
from gen.music.render import SineFallbackWarning, pianoroll_image
from gen.music.tokens import pitch_name, tokens_to_notes

# role -> shipped model name (or a directory written by save_pretrained)
DEFAULT_MUSIC_MODELS: dict[str, str] = {
    "2-bar": "cat-mel_2bar_small",
    "16-bar": "hierdec-mel_16bar_small",
}
# role -> (melody length in bars, words for people)
ROLES: dict[str, tuple[int, str]] = {"2-bar": (2, "2-bar model"), "16-bar": (16, "16-bar model")}
SLOTS = ("a", "b", "c", "d")  # melody inputs; the grid's corners: top left, top right, ...
CORNERS = ("top left", "top right", "bottom left", "bottom right")
SOURCES = [("Example", "example"), ("Upload MIDI", "upload")]
MAX_COUNT = 16  # samples per click
MAX_STEPS = 16  # interpolation steps
GRID_SIZES = (2, 5)  # a grid is size x size melodies
TEMPERATURE = (0.1, 1.5)
BPM = (40, 240, 120)  # minimum, maximum, default
SEED_MAX = 2**31 - 1
SAMPLE_RATE = 22050  # audio: half CD rate renders twice as fast and is plenty for a melody
GAP_BARS = 1  # a bar of rest between melodies in the MIDI and the audio
KEEP_S = 3600  # request folders older than this are deleted


# --------------------------------------------------------------------------- models
@dataclass(frozen=True)
class MusicModels:
    """The melody models by role ("2-bar", "16-bar"), where each came from, why any is missing."""

    models: Mapping[str, MusicVAE]
    sources: Mapping[str, str]
    missing: Mapping[str, str]

    def get(self, role: str) -> MusicVAE:
        """The model for ``role``; a GenError saying why when it is not available."""
        if role not in ROLES:
            raise GenError(f"Choose the model {' or '.join(map(repr, ROLES))}, not {role!r}.")
        if role not in self.models:
            why = self.missing.get(role, "not configured")
            raise GenError(f"The {ROLES[role][1]} is not available ({why}).")
        return self.models[role]

    def has(self, role: str) -> bool:
        """Whether the model for ``role`` is loaded."""
        return role in self.models


def load_music_models(spec: Mapping[str, str | Path | None] | None = None) -> MusicModels:
    """Load the 2-bar and the 16-bar melody models with ``gen.load``.

    ``spec`` maps roles ("2-bar", "16-bar") to shipped names or save_pretrained directories
    and overrides ``DEFAULT_MUSIC_MODELS``; ``None`` switches a role off. A model that cannot
    be loaded, or is not a melody VAE of the role's length, is reported in ``missing``.
    """
    spec = {**DEFAULT_MUSIC_MODELS, **(spec or {})}
    unknown = sorted(set(spec) - set(ROLES))
    if unknown:
        raise GenError(f"unknown music model role(s) {unknown}; roles are {sorted(ROLES)}")
    models: dict[str, MusicVAE] = {}
    sources: dict[str, str] = {}
    missing: dict[str, str] = {}
    for role in ROLES:  # in display order
        name = spec.get(role)
        if name is None:
            missing[role] = "switched off"
            continue
        sources[role] = str(name)
        try:
            model = gen.load(name)
        except GenError as e:
            missing[role] = str(e)
            continue
        bars, words = ROLES[role]
        if not isinstance(model, MusicVAE):
            missing[role] = f"the {words} must be a melody VAE, got a {type(model).__name__}"
        elif model.config.bars != bars:
            missing[role] = f"the {words} must model {bars} bars, this one {model.config.bars}"
        else:
            models[role] = model
    return MusicModels(models, sources, missing)


# --------------------------------------------------------------------------- pictures
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
    try:
        st = Path(path).stat()
    except OSError:
        raise GenError(f"{shown_name(path)} is no longer here (uploads are kept for an hour); "
                       "upload it again.") from None
    return _extract(str(path), st.st_size, st.st_mtime_ns, int(bars))


def shown_name(path: str | Path) -> str:
    """A file's name, safe to show in Markdown (the user chose it)."""
    name = re.sub(r"[^\w .,()+=-]", "_", Path(str(path)).name)
    return name[:60] + ("…" if len(name) > 60 else "")


def window_label(i: int, tokens: np.ndarray) -> str:
    """'window 3 · 14 notes · D4-B5' for the dropdown of an upload's windows (i from 0)."""
    notes = tokens_to_notes(tokens)
    if not notes:
        return f"window {i + 1} · rests only"
    lo, hi = min(p for p, _, _ in notes), max(p for p, _, _ in notes)
    return f"window {i + 1} · {len(notes)} notes · {pitch_name(lo)}-{pitch_name(hi)}"


# --------------------------------------------------------------------------- handlers
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


class MusicActions:
    """What the Music tab's buttons do. Built once; read-only afterwards.

    Melody inputs arrive as four widget values ``(source, example, upload, window)``: source
    "example" takes the held-out example named ``example`` (``gen.music.examples``) of the
    chosen model's length; "upload" takes window number ``window`` (from 0) of the MIDI file
    ``upload``.

    A background thread started here imports the MIDI and audio libraries and runs every
    model once, so the first click does not pay for them.
    """

    def __init__(self, models: MusicModels, out_dir: str | Path) -> None:
        self.models = models
        self.out_dir = Path(out_dir)
        self.examples: dict[str, dict[str, np.ndarray]] = {}
        self.examples_missing: dict[str, str] = {}
        for role in models.models:
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
            from gen.music.convert import note_seq_module
            from gen.music.render import synthesize

            note_seq_module()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                synthesize(np.array([40] + [0] * 15), sample_rate=SAMPLE_RATE)
            for model in self.models.models.values():
                model.sample(n=1, temperature=0.5, seed=0)
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
    def _request_dir(self) -> Path:
        """A new empty folder for one request's files; old ones are removed here."""
        root = self.out_dir / "requests"
        root.mkdir(parents=True, exist_ok=True)
        now = time.time()
        for old in root.iterdir():
            try:
                if now - old.stat().st_mtime > KEEP_S:
                    shutil.rmtree(old, ignore_errors=True)
            except OSError:  # removed by a concurrent request
                pass
        folder = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:10]}"
        folder.mkdir()
        return folder

    def _write(self, tokens: np.ndarray, stem: str, part_names: Sequence[str], bpm: float
               ) -> Written:
        """The whole result as ``<stem>.mid`` and one MIDI per melody in ``<stem>_midi.zip``."""
        bpm = _bpm(bpm)
        folder = self._request_dir()
        midi = to_midi(tokens, folder / f"{stem}.mid", bpm=bpm, gap_bars=GAP_BARS)
        archive = to_midi_zip(tokens, folder / f"{stem}_midi.zip", part_names, bpm=bpm)
        return Written(str(midi), str(archive))

    @staticmethod
    def _result(kind: str, tokens: np.ndarray, parts: Sequence[str]) -> dict[str, Any]:
        """The per-session state of a result (plain lists: Gradio hashes it to see changes)."""
        return {"kind": kind, "tokens": tokens.astype(int).tolist(), "parts": list(parts),
                "id": uuid.uuid4().hex}

    @staticmethod
    def _timing(n: int, bars: int, bpm: float) -> str:
        total = n * bars + (n - 1) * GAP_BARS
        secs = total * 4 * 60.0 / _bpm(bpm)
        return (f"MIDI and audio: {n} melod{'y' if n == 1 else 'ies'} of {bars} bars with "
                f"{GAP_BARS} bar of rest between, {total} bars, {secs:.0f} s at {_bpm(bpm):g} bpm.")

    # ----------------------------------------------------------------- actions
    def reconstruct(self, role: str, *values: Any) -> tuple[Any, ...]:
        """Melody A and the model's reconstruction of it (greedy decoding of the code).

        ``values``: melody A's four widget values, then the bpm.
        """
        model = self.models.get(role)
        *melody_values, bpm = values
        (a,) = self._melodies(role, melody_values)
        rec = model.reconstruct(a.tokens[None])[0]
        both = np.stack([a.tokens, rec])
        parts = ["melody_a", "reconstruction"]
        files = self._write(both, "reconstruction", parts, bpm)
        same = int((rec == a.tokens).sum())
        cols = 2 if model.config.bars <= 4 else 1
        picture = pianoroll_image(both, [f"A: {a.name}", "reconstruction"], cols)
        note = (f"**Reconstruction** of A ({_md(a.name)}): {same} of {len(rec)} steps "
                f"({same / len(rec):.0%}) come back the same. "
                + self._timing(2, model.config.bars, bpm))
        return picture, files.midi, files.zip, note, self._result("reconstruction", both, parts)

    def sample(self, role: str, count: Any, temperature: Any, seed: Any, bpm: Any
               ) -> tuple[Any, ...]:
        """``count`` melodies from the prior; ``temperature`` scales the decoder's randomness."""
        model = self.models.get(role)
        count = _int(count, "count", 1, MAX_COUNT)
        t = float(temperature)
        if not TEMPERATURE[0] <= t <= TEMPERATURE[1]:
            raise GenError(f"Choose a temperature between {TEMPERATURE[0]} and "
                           f"{TEMPERATURE[1]}, not {t:g}.")
        seed = _int(seed, "seed", 0, SEED_MAX)
        mels = model.sample(n=count, temperature=t, seed=seed)
        parts = [f"sample_{i + 1:02d}" for i in range(count)]
        files = self._write(mels, "samples", parts, bpm)
        cols = min(count, 4) if model.config.bars <= 4 else 1
        picture = pianoroll_image(mels, [f"sample {i + 1}" for i in range(count)], cols)
        note = (f"**{count} sample{'s' if count > 1 else ''}** from the prior at temperature "
                f"{t:g}, seed {seed}. " + self._timing(count, model.config.bars, bpm))
        return picture, files.midi, files.zip, note, self._result("samples", mels, parts)

    def interpolate(self, role: str, *values: Any) -> tuple[Any, ...]:
        """The decoded latent path from A to B (slerp), endpoints included, step by step.

        ``values``: melody A's and B's four widget values each, then the steps and the bpm.
        """
        model = self.models.get(role)
        *melody_values, steps, bpm = values
        steps = _int(steps, "steps", 2, MAX_STEPS)
        a, b = self._melodies(role, melody_values)
        mels = model.interpolate(a.tokens, b.tokens, steps=steps, method="slerp")
        parts = [f"step_{i + 1:02d}" for i in range(steps)]
        titles = [f"step {i + 1}" for i in range(steps)]
        titles[0] += f" = A: {a.name} (reconstructed)"
        titles[-1] += f" = B: {b.name} (reconstructed)"
        files = self._write(mels, "interpolation", parts, bpm)
        cols = min(steps, 4) if model.config.bars <= 4 else 1
        picture = pianoroll_image(mels, titles, cols)
        note = (f"**Interpolation** from A ({_md(a.name)}) to B ({_md(b.name)}) in {steps} "
                "steps along a great circle of the latent space (slerp); the first and last "
                "steps are the model's reconstructions of A and B. "
                + self._timing(steps, model.config.bars, bpm))
        return picture, files.midi, files.zip, note, self._result("interpolation", mels, parts)

    def grid(self, role: str, *values: Any) -> tuple[Any, ...]:
        """A size x size grid of decoded codes between A, B (top) and C, D (bottom).

        ``values``: the four widget values of melodies A, B, C and D, then size and bpm.
        """
        model = self.models.get(role)
        *melody_values, size, bpm = values
        size = _int(size, "grid size", *GRID_SIZES)
        corners = self._melodies(role, melody_values)
        mels = model.grid(np.stack([m.tokens for m in corners]), rows=size, cols=size)
        cells = [(r, c) for r in range(size) for c in range(size)]
        parts = [f"row{r + 1}_col{c + 1}" for r, c in cells]
        titles = [f"row {r + 1}, col {c + 1}" for r, c in cells]
        for (r, c), m in zip([(0, 0), (0, size - 1), (size - 1, 0), (size - 1, size - 1)],
                             corners):
            titles[r * size + c] = f"{titles[r * size + c]}: {m.name}"
        files = self._write(mels, "grid", parts, bpm)
        picture = pianoroll_image(mels, titles, size)
        note = (f"**{size}x{size} grid** between A (top left), B (top right), C (bottom left) "
                "and D (bottom right), corners reconstructed; the MIDI plays it row by row. "
                + self._timing(size * size, model.config.bars, bpm))
        return picture, files.midi, files.zip, note, self._result("grid", mels, parts)

    # ----------------------------------------------------------------- rendering
    def audio(self, result: dict[str, Any] | None, bpm: Any) -> str | None:
        """The last result as a WAV file (fluidsynth; sine waves with a notice without it)."""
        if not result:
            return None
        tokens = np.asarray(result["tokens"], dtype=np.int64)
        folder = self._request_dir()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SineFallbackWarning)
            wav = render_audio(tokens, folder / "audio.wav", bpm=_bpm(bpm), gap_bars=GAP_BARS,
                               sample_rate=SAMPLE_RATE)
        if any(issubclass(w.category, SineFallbackWarning) for w in caught):
            gr.Warning("fluidsynth is not installed: the audio is plain sine waves.")
        return str(wav)

    def render(self, result: dict[str, Any] | None, bpm: Any) -> tuple[Any, ...]:
        """The last result's MIDI files and audio again, at tempo ``bpm``."""
        if not result:
            return gr.skip(), gr.skip(), gr.skip()
        tokens = np.asarray(result["tokens"], dtype=np.int64)
        files = self._write(tokens, result["kind"], result["parts"], bpm)
        return files.midi, files.zip, self.audio(result, bpm)

    # ----------------------------------------------------------------- widgets' helpers
    def choose_model(self, role: str, *chosen: Any) -> tuple[Any, ...]:
        """The four example dropdowns for ``role``'s melody length.

        ``chosen``: the examples picked for A-D so far; each stays picked when the new model
        has an example of that name, else A-D take examples 1-4.
        """
        self.models.get(role)
        names = self.example_names(role)
        chosen = chosen + (None,) * (len(SLOTS) - len(chosen))
        return tuple(
            gr.Dropdown(choices=names, value=c if c in names else names[i % len(names)])
            if names else gr.Dropdown(choices=[], value=None)
            for i, c in enumerate(chosen[: len(SLOTS)])
        )

    def windows(self, role: str, upload: Any) -> tuple[Any, str]:
        """An uploaded file -> the dropdown of its windows and what was found, or why not."""
        if not upload:
            return gr.Dropdown(choices=[], value=None), ""
        bars = self.models.get(role).config.bars
        name = shown_name(upload)
        wins, report = extract_upload(upload, bars)
        if not len(wins):
            return (gr.Dropdown(choices=[], value=None),
                    f"**{name}**: no {bars}-bar melody: {_md(str(report.reason))}.")
        choices = [(window_label(i, w), i) for i, w in enumerate(wins)]
        found = (f"**{name}**: {len(wins)} window{'s' if len(wins) > 1 else ''} of {bars} bars "
                 f"from {report.melodies} melod{'y' if report.melodies == 1 else 'ies'}.")
        return gr.Dropdown(choices=choices, value=0), found


def _int(value: Any, what: str, lo: int, hi: int) -> int:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise GenError(f"The {what} must be a whole number, not {value!r}.") from None
    if v != int(v) or not lo <= v <= hi:
        raise GenError(f"Choose a {what} between {lo} and {hi}, not {value!r}.")
    return int(v)


def _bpm(value: Any) -> float:
    try:
        bpm = float(value)
    except (TypeError, ValueError):
        raise GenError(f"The tempo must be a number of beats per minute, not {value!r}.") from None
    if not BPM[0] <= bpm <= BPM[1]:
        raise GenError(f"Choose a tempo between {BPM[0]} and {BPM[1]} bpm, not {bpm:g}.")
    return bpm


def _md(text: str) -> str:
    """Text safe inside Markdown (no markup, no HTML)."""
    return re.sub(r"([\\`*_\[\]<>|~])", r"\\\1", text)


# --------------------------------------------------------------------------- widgets
def melody_input(slot: str, act: MusicActions, role: str | None) -> tuple[list, gr.Markdown]:
    """A melody chooser: Example / Upload MIDI sub-tabs over a hidden source value.

    Returns the four input components ``[source, example, upload, window]`` that
    ``MusicActions.melody`` takes, and the Markdown that says what an upload yielded.
    """
    names = act.example_names(role) if role else []
    source = "example" if names else "upload"
    index = SLOTS.index(slot)
    src = gr.Radio(SOURCES, value=source, label="source", visible=False,
                   elem_id=f"music-{slot}-source")
    with gr.Tabs(selected=source, elem_id=f"music-{slot}-tabs"):
        with gr.Tab("Example", id="example") as example_tab:
            example = gr.Dropdown(
                names,
                value=names[index % len(names)] if names else None,
                label="held-out folk tune",
                allow_custom_value=True,  # choices change with the model; checked by the handler
                elem_id=f"music-{slot}-example",
            )
            if not names and role:
                gr.Markdown(f"Examples not available: {_md(act.examples_missing.get(role, ''))}")
        with gr.Tab("Upload MIDI", id="upload") as upload_tab:
            upload = gr.File(
                label=f"a MIDI file (up to {MAX_UPLOAD_MB} MB)",
                file_types=list(MIDI_SUFFIXES),
                type="filepath",
                elem_id=f"music-{slot}-upload",
                height=110,
            )
            window = gr.Dropdown(
                [],
                value=None,
                label="melody window",
                allow_custom_value=True,  # an API caller may pass a window without listing
                elem_id=f"music-{slot}-window",
            )
            found = gr.Markdown(elem_id=f"music-{slot}-found")
    for tab, value in ((example_tab, "example"), (upload_tab, "upload")):
        tab.select(None, None, src, js=f"() => '{value}'")
    return [src, example, upload, window], found


def _unavailable(models: MusicModels, roles: Sequence[str]) -> None:
    lines = [
        f"- the {ROLES[r][1]} ({_md(models.sources.get(r, '-'))}): {_md(models.missing[r])}"
        for r in roles
    ]
    gr.Markdown("**Not available:**\n" + "\n".join(lines))


INTRO = """\
Melody VAEs in the style of MusicVAE (Roberts et al. 2018) over 2-bar or 16-bar monophonic
melodies, 16 steps per bar. Choose melodies A-D from held-out folk tunes (never seen in
training) or from your own MIDI file, then reconstruct, sample, interpolate or fill a grid.
"""


def music_tab(models: MusicModels, out_dir: str | Path) -> MusicActions:
    """Build the Music tab's widgets in the current Blocks context and wire them to the library.

    Missing models are explained instead of offered; without any model the tab shows only
    why. Returns the handlers object (useful for tests and benchmarks).
    """
    act = MusicActions(models, out_dir)
    ui = user_errors
    roles = [r for r in ROLES if models.has(r)]
    gr.Markdown(INTRO)
    if models.missing:
        _unavailable(models, [r for r in ROLES if r in models.missing])
    if not roles:
        return act
    with gr.Row():
        model = gr.Dropdown(
            [(f"{r} ({models.sources[r]})", r) for r in roles],
            value=roles[0],
            label="model",
            elem_id="music-model",
            scale=2,
        )
        bpm = gr.Slider(BPM[0], BPM[1], value=BPM[2], step=1, label="tempo (bpm)",
                        elem_id="music-bpm", scale=3)
    slots: list[list] = []
    with gr.Row(equal_height=False):
        for slot, corner in zip(SLOTS, CORNERS):
            with gr.Column(min_width=240):
                gr.Markdown(f"**Melody {slot.upper()}** (grid: {corner})")
                inputs, found = melody_input(slot, act, roles[0])
                slots.append(inputs)
                gr.on(
                    [model.change, inputs[2].change],
                    ui(act.windows),
                    [model, inputs[2]],
                    [inputs[3], found],
                    api_name=f"music_windows_{slot}",
                    show_progress="minimal",
                )
    examples = [s[1] for s in slots]
    model.change(ui(act.choose_model), [model, *examples], examples, api_name="music_examples")

    result = gr.State(None)
    with gr.Tabs(elem_id="music-actions"):
        with gr.Tab("Reconstruct", id="reconstruct"):
            rec_btn = gr.Button("Reconstruct A", variant="primary", elem_id="music-reconstruct")
        with gr.Tab("Sample", id="sample"):
            with gr.Row():
                count = gr.Slider(1, MAX_COUNT, value=4, step=1, label="count",
                                  elem_id="music-count")
                temperature = gr.Slider(*TEMPERATURE, value=0.5, step=0.05, label="temperature",
                                        elem_id="music-temperature")
                seed = gr.Number(0, precision=0, minimum=0, maximum=SEED_MAX, label="seed",
                                 elem_id="music-seed")
            sample_btn = gr.Button("Sample", variant="primary", elem_id="music-sample")
        with gr.Tab("Interpolate", id="interpolate"):
            steps = gr.Slider(2, MAX_STEPS, value=5, step=1, label="steps (endpoints included)",
                              elem_id="music-steps")
            interp_btn = gr.Button("Interpolate A → B", variant="primary",
                                   elem_id="music-interpolate")
        with gr.Tab("Grid", id="grid"):
            size = gr.Slider(*GRID_SIZES, value=3, step=1, label="grid size (rows = columns)",
                             elem_id="music-grid-size")
            grid_btn = gr.Button("Grid between A, B, C, D", variant="primary",
                                 elem_id="music-grid")
    note = gr.Markdown(elem_id="music-note")
    roll = gr.Image(label="piano roll", show_label=False, elem_id="music-roll", type="numpy",
                    format="png", interactive=False, buttons=["download"])
    audio = gr.Audio(
        label="listen",
        elem_id="music-audio",
        type="filepath",
        interactive=False,
        buttons=["download"],
        # the browser's own player: a waveform of minutes of audio is slow to draw
        waveform_options=gr.WaveformOptions(show_recording_waveform=False),
    )
    with gr.Row():
        midi = gr.File(label="MIDI: everything, one melody after another",
                       elem_id="music-midi", interactive=False)
        parts = gr.File(label="MIDI: one file per melody (zip)", elem_id="music-zip",
                        interactive=False)

    shown = [roll, midi, parts, note, result]
    a, b, c, d = slots
    rec_btn.click(ui(act.reconstruct), [model, *a, bpm], shown, api_name="music_reconstruct")
    sample_btn.click(ui(act.sample), [model, count, temperature, seed, bpm], shown,
                     api_name="music_sample")
    interp_btn.click(ui(act.interpolate), [model, *a, *b, steps, bpm], shown,
                     api_name="music_interpolate")
    grid_btn.click(ui(act.grid), [model, *a, *b, *c, *d, size, bpm], shown,
                   api_name="music_grid")
    # The audio follows every new result; the bpm slider rewrites MIDI and audio.
    result.change(ui(act.audio), [result, bpm], audio, api_name="music_audio",
                  show_progress="minimal")
    bpm.release(ui(act.render), [result, bpm], [midi, parts, audio], api_name="music_render")
    return act
