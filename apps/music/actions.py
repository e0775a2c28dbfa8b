"""What the Music tab does, without widgets: its models by role and ``MusicActions``.

Four roles: two melody VAEs (2 and 16 bars, ``gen.music.io``) and two polyphonic piano-roll
VAEs (chorales and folk tunes with chords, ``gen.music.rollio``). ``apps/music/pieces.py``
puts both kinds behind one interface (examples, uploads, model calls, files);
``apps/music/view.py`` draws pieces as cards with their own play controls. Bad input raises
``GenError``; the layout shows it as a message.

Each request writes its files into a fresh folder ``<out_dir>/requests/<time>-<random>/``
under fixed names (``apps.common.RequestFolders``); the page plays each piece's audio from
there (``media_dir``). A result (its pieces) is returned as a plain dict that the layout
keeps per session: the audio is rendered from it after the cards and the MIDI are shown,
and a new tempo or instrument rewrites the audio and MIDI from it.
"""

from __future__ import annotations

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

from apps.common import RequestFolders, RoleModels, in_range, load_roles, md, shown_name
from apps.music.pieces import (
    GAP_BARS,
    Kind,
    MelodyKind,
    Piece,
    RollKind,
    join_wavs,
    kind_of,
)
from apps.music.view import Card, cards_html
from gen.core.errors import GenError
from gen.music.io import MusicVAE, SineFallbackWarning
from gen.music.rollio import PianoRollVAE, benchmark_of

# role -> shipped model name (or a directory written by save_pretrained)
DEFAULT_MUSIC_MODELS: dict[str, str] = {
    "2-bar": "cat-mel_2bar_small",
    "16-bar": "hierdec-mel_16bar_small",
    "chorales": "nade-roll_jsb",
    "folk-chords": "nade-roll_nottingham",
}
# role -> (what it must be: melody bars or a piano-roll benchmark, words for people)
ROLES: dict[str, tuple[int | str, str]] = {
    "2-bar": (2, "2-bar melody model"),
    "16-bar": (16, "16-bar melody model"),
    "chorales": ("jsb", "chorale model (piano roll)"),
    "folk-chords": ("nottingham", "folk-with-chords model (piano roll)"),
}
SLOTS = ("a", "b", "c", "d")  # inputs; the grid's corners: top left, top right, ...
MAX_COUNT = 16  # samples per click
MAX_STEPS = 16  # interpolation steps
GRID_SIZES = (2, 5)  # a grid is size x size pieces
TEMPERATURE = (0.1, 1.5)
PRIOR_SCALE = (0.1, 2.0)  # "variation": the prior's scale when sampling codes
BPM = (40, 240, 120)  # minimum, maximum, default
SEED_MAX = 2**31 - 1
SINE_NOTICE = "fluidsynth is not installed: the audio is plain sine waves."
VARIATION_INFO = ("prior scale: how far from the centre of the latent space the codes are "
                  "drawn, z ~ N(0, scale²). Below 1: typical pieces; above 1: unusual ones.")
Shown = tuple[str, str, str, str, dict]  # cards (HTML), MIDI, zip, note, result


# --------------------------------------------------------------------------- models
def _check_role(role: str, model: Any) -> None:
    need, words = ROLES[role]
    if isinstance(need, int):
        if not isinstance(model, MusicVAE):
            raise GenError(f"the {words} must be a melody VAE, got a {type(model).__name__}")
        if model.config.bars != need:
            raise GenError(f"the {words} must model {need} bars, this one {model.config.bars}")
        return
    if not isinstance(model, PianoRollVAE):
        raise GenError(f"the {words} must be a piano-roll VAE, got a {type(model).__name__}")
    if benchmark_of(model) != need:
        raise GenError(f"the {words} must use the {need} frame grid, this one "
                       f"{model.config.frames_per_quarter} frames per quarter note")


def load_music_models(spec: Mapping[str, str | Path | None] | None = None) -> RoleModels:
    """Load the Music tab's models with ``gen.load``: roles "2-bar", "16-bar" (melody
    VAEs), "chorales" and "folk-chords" (piano-roll VAEs).

    ``spec`` maps roles to shipped names or save_pretrained directories and overrides
    ``DEFAULT_MUSIC_MODELS``; ``None`` switches a role off. A model that cannot be loaded,
    or does not fit its role, is reported in ``missing``.
    """
    words = {role: w for role, (_, w) in ROLES.items()}
    return load_roles("music", words, DEFAULT_MUSIC_MODELS, spec, _check_role)


def _bpm(value: Any) -> float:
    return in_range(value, "tempo", BPM[0], BPM[1], unit=" bpm")


def _program(value: Any) -> int:
    return in_range(value, "instrument (General MIDI program)", 0, 127, whole=True)


def instrument_name(program: int) -> str:
    """'Church Organ' for General MIDI program 19 (0-based)."""
    import pretty_midi

    return str(pretty_midi.program_to_instrument_name(int(program)))


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"1 {word}"
    return f"{n} {'melodies' if word == 'melody' else word + 's'}"


@dataclass(frozen=True)
class Result:
    """A result's pieces with their names (file stems) and titles, ready to show."""

    kind: str
    role: str
    stem: str
    items: list[np.ndarray]
    parts: list[str]
    titles: list[str]
    cols: int


# --------------------------------------------------------------------------- actions
class MusicActions:
    """What the Music tab's buttons do. Built once; read-only afterwards.

    Inputs arrive as four widget values ``(source, example, upload, window)``: source
    "example" takes the held-out example named ``example`` of the chosen model; "upload"
    takes window number ``window`` (from 0) of the MIDI file ``upload``.

    Each action returns the cards (HTML, audio still to come), the MIDI file, the zip of one
    MIDI per piece, a Markdown note and the result (a plain dict for ``audio``/``render``).

    A background thread started here imports the MIDI and audio libraries and runs every
    model once, so the first click does not pay for them.
    """

    def __init__(self, models: RoleModels, out_dir: str | Path) -> None:
        self.models = models
        self.out_dir = Path(out_dir)
        self.media_dir = self.out_dir / "requests"
        self.requests = RequestFolders(self.media_dir)
        self.kinds: dict[str, Kind] = {r: kind_of(models.get(r)) for r in models.loaded()}
        self.examples: dict[str, dict[str, np.ndarray]] = {}
        self.examples_missing: dict[str, str] = {}
        for role, kind in self.kinds.items():
            try:
                examples = kind.examples()
            except GenError as e:
                self.examples_missing[role] = str(e)
                continue
            for _, data in examples:
                data.flags.writeable = False  # shared by every request
            self.examples[role] = dict(examples)
        # not a daemon: interrupting torch or fluidsynth at exit would abort the process
        threading.Thread(target=self._warm_up, name="music-tab-warm-up").start()

    def _warm_up(self) -> None:
        try:
            with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for role, kind in self.kinds.items():
                    names = self.examples.get(role)
                    if names:
                        kind.write_wav(next(iter(names.values())), Path(tmp) / "warm.wav",
                                       kind.default_bpm, kind.default_program)
                    kind.warm_up()
        except Exception as e:  # only a speed-up; the handlers report real problems
            print(f"warning: music tab warm-up failed: {e}", file=sys.stderr)

    # ----------------------------------------------------------------- inputs
    def kind(self, role: str) -> Kind:
        """The kind of music ``role``'s model makes; a GenError when it is not available."""
        self.models.get(role)
        return self.kinds[role]

    def example_names(self, role: str) -> list[str]:
        """Names of the held-out examples for ``role`` (may be empty)."""
        return list(self.examples.get(role, {}))

    def piece(self, role: str, label: str, source: str, example: Any, upload: Any,
              window: Any) -> Piece:
        """Widget values of input ``label`` ("A".."D") -> its piece for ``role``'s model."""
        kind = self.kind(role)
        if source == "example":
            names = self.examples.get(role)
            if not names:
                why = self.examples_missing.get(role, "no model")
                raise GenError(f"{label}: no examples for this model ({why}); "
                               "upload a MIDI file instead.")
            if example not in names:
                raise GenError(f"{label}: {example!r} is not one of the examples of the "
                               f"{self.models.words[role]}; pick one from the list.")
            return Piece(names[example], str(example))
        if source != "upload":
            raise GenError(f"{label}: the source is 'example' or 'upload', not {source!r}.")
        if not upload:
            raise GenError(f"{label}: upload a MIDI file first (or choose an example).")
        name = shown_name(upload)
        up = kind.upload(upload)
        if not up.windows:
            raise GenError(f"{label}: {name} has no usable {kind.noun}: {up.reason}.")
        try:
            index = int(window if window not in (None, "") else 0)
        except (TypeError, ValueError):
            raise GenError(f"{label}: pick a window of {name} from the list.") from None
        n = len(up.windows)
        if not 0 <= index < n:
            raise GenError(f"{label}: {name} has {n} window{'s' if n > 1 else ''}; pick one "
                           f"of 0-{n - 1}, not {index}.")
        where = up.windows[index][0].split(" · ")[0]
        return Piece(np.array(up.windows[index][1]), f"{name}, {where}")

    def _pieces(self, role: str, values: Sequence[Any]) -> list[Piece]:
        """Groups of four widget values -> pieces A, B, ... in order."""
        return [self.piece(role, SLOTS[i].upper(), *values[4 * i: 4 * i + 4])
                for i in range(len(values) // 4)]

    # ----------------------------------------------------------------- showing
    def _cards(self, result: Result, wavs: Sequence[Path] | None = None,
               bpm: float | None = None) -> str:
        kind = self.kind(result.role)
        cards = [
            Card(title, kind.notes(item), len(item), kind.steps_per_beat, kind.steps_per_bar,
                 wavs[i] if wavs else None,
                 kind.seconds(item, bpm) if bpm else None)
            for i, (title, item) in enumerate(zip(result.titles, result.items))
        ]
        return cards_html(cards, result.cols, "Click a roll to enlarge it.")

    def _files(self, result: Result, bpm: float, program: int) -> tuple[str, str]:
        """The whole result as ``<stem>.mid`` and one MIDI per piece in ``<stem>_midi.zip``."""
        kind = self.kind(result.role)
        folder = self.requests.new()
        midi = kind.write_midi(result.items, folder / f"{result.stem}.mid", bpm, program)
        archive = kind.write_zip(result.items, result.parts, folder / f"{result.stem}_midi.zip",
                                 bpm, program)
        return str(midi), str(archive)

    def _state(self, result: Result) -> dict[str, Any]:
        kind = self.kind(result.role)
        return {"kind": result.kind, "role": result.role, "stem": result.stem,
                "items": [kind.encode(x) for x in result.items], "parts": result.parts,
                "titles": result.titles, "cols": result.cols,
                "id": uuid.uuid4().hex}  # plain values: Gradio hashes the state to see changes

    def _result(self, state: dict[str, Any]) -> Result:
        role = state["role"]
        kind = self.kind(role)
        if kind.kind != state.get("kind"):
            raise GenError("The model changed since this result; run the action again.")
        return Result(state["kind"], role, state["stem"],
                      [kind.decode(x) for x in state["items"]], list(state["parts"]),
                      list(state["titles"]), int(state["cols"]))

    def _show(self, result: Result, note: str, bpm: float, program: int) -> Shown:
        midi, archive = self._files(result, bpm, program)
        return self._cards(result), midi, archive, note, self._state(result)

    def _timing(self, result: Result, bpm: float, program: int) -> str:
        kind = self.kind(result.role)
        n = len(result.items)
        secs = sum(kind.seconds(x, bpm) for x in result.items) + (n - 1) * GAP_BARS * 240 / bpm
        bars = [kind.bars(x) for x in result.items]
        each = f"{bars[0]:g} bars" if len(set(bars)) == 1 else f"up to {max(bars):g} bars"
        return (f"Audio and MIDI: {_plural(n, kind.noun)} of {each} with {GAP_BARS} bar of "
                f"rest between, {secs:.0f} s at {bpm:g} bpm, played by "
                f"{instrument_name(program)} (General MIDI {program}).")

    def _cols(self, kind: Kind, n: int, grid: int = 0) -> int:
        if grid:
            return grid
        if isinstance(kind, MelodyKind) and kind.n_bars <= 4:
            return min(n, 4)
        return 1 if isinstance(kind, MelodyKind) else min(n, 2)

    # ----------------------------------------------------------------- actions
    def reconstruct(self, role: str, *values: Any) -> Shown:
        """Input A and the model's reconstruction of it (greedy decoding of the code).

        ``values``: A's four widget values, then the bpm and the instrument.
        """
        kind = self.kind(role)
        *piece_values, bpm, program = values
        bpm, program = _bpm(bpm), _program(program)
        (a,) = self._pieces(role, piece_values)
        rec = kind.reconstruct([a.data])[0]
        result = Result(kind.kind, role, "reconstruction", [a.data, rec],
                        [f"{kind.noun}_a", "reconstruction"], [f"A: {a.name}", "reconstruction"],
                        self._cols(kind, 2))
        if isinstance(kind, MelodyKind):
            same = int((rec == a.data).sum())
            how = f"{same} of {len(rec)} steps ({same / len(rec):.0%}) come back the same."
        else:
            t = min(len(rec), len(a.data))
            x, y = a.data[:t].astype(bool), rec[:t].astype(bool)
            hits = int((x & y).sum())
            union = int((x | y).sum())
            how = (f"frame accuracy (Bay et al.: shared notes / all notes) "
                   f"{hits / union if union else 1.0:.0%}.")
        note = f"**Reconstruction** of A ({md(a.name)}): {how} " + self._timing(result, bpm,
                                                                                 program)
        return self._show(result, note, bpm, program)

    def sample(self, role: str, count: Any, variation: Any, temperature: Any, seed: Any,
               bpm: Any, program: Any) -> Shown:
        """``count`` pieces from the prior: codes drawn at scale ``variation``, decoded with
        randomness ``temperature``, both seeded by ``seed``."""
        kind = self.kind(role)
        count = in_range(count, "count", 1, MAX_COUNT, whole=True)
        scale = in_range(variation, "variation (prior scale)", *PRIOR_SCALE)
        t = in_range(temperature, "temperature", *TEMPERATURE)
        seed = in_range(seed, "seed", 0, SEED_MAX, whole=True)
        bpm, program = _bpm(bpm), _program(program)
        items = kind.sample(count, t, scale, seed)
        result = Result(kind.kind, role, "samples", items,
                        [f"sample_{i + 1:02d}" for i in range(count)],
                        [f"sample {i + 1}" for i in range(count)], self._cols(kind, count))
        note = (f"**{count} sample{'s' if count > 1 else ''}** from the prior: variation "
                f"(prior scale) {scale:g}, temperature {t:g}, seed {seed}. "
                + self._timing(result, bpm, program))
        return self._show(result, note, bpm, program)

    def interpolate(self, role: str, *values: Any) -> Shown:
        """The decoded latent path from A to B (slerp), endpoints included, step by step.

        ``values``: A's and B's four widget values each, then steps, bpm and instrument.
        """
        kind = self.kind(role)
        *piece_values, steps, bpm, program = values
        steps = in_range(steps, "number of steps", 2, MAX_STEPS, whole=True)
        bpm, program = _bpm(bpm), _program(program)
        a, b = self._pieces(role, piece_values)
        items = kind.interpolate(a.data, b.data, steps)
        titles = [f"step {i + 1}" for i in range(steps)]
        titles[0] += f" = A: {a.name} (reconstructed)"
        titles[-1] += f" = B: {b.name} (reconstructed)"
        result = Result(kind.kind, role, "interpolation", items,
                        [f"step_{i + 1:02d}" for i in range(steps)], titles,
                        self._cols(kind, steps))
        note = (f"**Interpolation** from A ({md(a.name)}) to B ({md(b.name)}) in {steps} "
                "steps along a great circle of the latent space (slerp); the first and last "
                "steps are the model's reconstructions of A and B. "
                + self._timing(result, bpm, program))
        return self._show(result, note, bpm, program)

    def grid(self, role: str, *values: Any) -> Shown:
        """A size x size grid of decoded codes between A, B (top) and C, D (bottom).

        ``values``: the four widget values of A, B, C and D, then size, bpm and instrument.
        """
        kind = self.kind(role)
        *piece_values, size, bpm, program = values
        size = in_range(size, "grid size", *GRID_SIZES, whole=True)
        bpm, program = _bpm(bpm), _program(program)
        corners = self._pieces(role, piece_values)
        items = kind.grid([c.data for c in corners], size)
        cells = [(r, c) for r in range(size) for c in range(size)]
        titles = [f"row {r + 1}, col {c + 1}" for r, c in cells]
        for (r, c), m in zip([(0, 0), (0, size - 1), (size - 1, 0), (size - 1, size - 1)],
                             corners):
            titles[r * size + c] = f"{titles[r * size + c]}: {m.name}"
        result = Result(kind.kind, role, "grid", items,
                        [f"row{r + 1}_col{c + 1}" for r, c in cells], titles, size)
        note = (f"**{size}x{size} grid** between A (top left), B (top right), C (bottom left) "
                "and D (bottom right), corners reconstructed; the MIDI plays it row by row. "
                + self._timing(result, bpm, program))
        return self._show(result, note, bpm, program)

    # ----------------------------------------------------------------- rendering
    def _wavs(self, kind: Kind, items: Sequence[np.ndarray], bpm: float, program: int
              ) -> tuple[list[Path], Path, bool]:
        """One WAV per piece and one of all of them; whether they are plain sine waves."""
        folder = self.requests.new()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SineFallbackWarning)
            wavs = [kind.write_wav(x, folder / f"{i + 1:02d}.wav", bpm, program)
                    for i, x in enumerate(items)]
        sine = any(issubclass(w.category, SineFallbackWarning) for w in caught)
        whole = join_wavs(wavs, GAP_BARS * 240.0 / bpm, folder / "audio.wav")
        return wavs, whole, sine

    def audio(self, state: dict[str, Any] | None, bpm: Any, program: Any
              ) -> tuple[str, str | None, str | None]:
        """The last result's cards with one play control per piece, all of it as one WAV,
        and a notice when the audio is plain sine waves (no fluidsynth); ``("", None,
        None)`` without a result."""
        if not state:
            return "", None, None
        result = self._result(state)
        bpm, program = _bpm(bpm), _program(program)
        wavs, whole, sine = self._wavs(self.kind(result.role), result.items, bpm, program)
        return self._cards(result, wavs, bpm), str(whole), SINE_NOTICE if sine else None

    def render(self, state: dict[str, Any] | None, bpm: Any, program: Any
               ) -> tuple[str, str, str, str | None, str | None] | None:
        """The last result's MIDI, zip, cards and audio again at tempo ``bpm`` with
        instrument ``program``, and the audio's notice; None without a result."""
        if not state:
            return None
        result = self._result(state)
        midi, archive = self._files(result, _bpm(bpm), _program(program))
        return (midi, archive, *self.audio(state, bpm, program))

    def preview(self, role: str, slot: str, source: str, example: Any, upload: Any,
                window: Any, bpm: Any, program: Any) -> str:
        """One input as a card with its own play control, before it is used; '' while it
        is not chosen yet (no file uploaded)."""
        if source == "upload" and not upload:
            return ""
        kind = self.kind(role)
        piece = self.piece(role, slot.upper(), source, example, upload, window)
        bpm, program = _bpm(bpm), _program(program)
        folder = self.requests.new()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SineFallbackWarning)
            wav = kind.write_wav(piece.data, folder / f"input_{slot}.wav", bpm, program)
        card = Card(f"{slot.upper()}: {piece.name}", kind.notes(piece.data), len(piece.data),
                    kind.steps_per_beat, kind.steps_per_bar, wav,
                    kind.seconds(piece.data, bpm))
        return cards_html([card])

    # ----------------------------------------------------------------- widgets' contents
    def choose_model(self, role: str, *chosen: Any) -> tuple[list[str], list[str | None]]:
        """The example names for ``role`` and the one each of A-D shows.

        ``chosen``: the examples picked for A-D so far; each stays picked when the new model
        has an example of that name, else A-D take examples 1-4.
        """
        self.kind(role)
        names = self.example_names(role)
        chosen = (chosen + (None,) * len(SLOTS))[: len(SLOTS)]
        values = [c if c in names else names[i % len(names)] if names else None
                  for i, c in enumerate(chosen)]
        return names, values

    def defaults(self, role: str) -> dict[str, Any]:
        """What the controls show for ``role``'s model: tempo, instrument, words."""
        kind = self.kind(role)
        return {"bpm": kind.default_bpm, "program": kind.default_program,
                "example_label": kind.example_label, "temperature_info": kind.temperature_info,
                "noun": kind.noun, "roll": isinstance(kind, RollKind)}

    def windows(self, role: str, upload: Any) -> tuple[list[tuple[str, int]], str]:
        """An uploaded file -> (label, index) of each of its windows and what was found, or
        why nothing was (Markdown; empty without a file)."""
        if not upload:
            return [], ""
        up = self.kind(role).upload(upload)
        return [(label, i) for i, (label, _) in enumerate(up.windows)], up.found
