"""What the Music tab does, without widgets: its models by role and ``MusicActions``.

Roles: two melody VAEs (2 and 16 bars, ``gen.music.io``) and polyphonic piano-roll VAEs
(chorales, folk tunes with chords, piano pieces, classical pieces; ``gen.music.rollio``).
``apps/music/pieces.py`` puts both kinds behind one interface (examples, uploads, model
calls, files); ``apps/music/view.py`` draws pieces as cards with their own play controls.
Bad input raises ``GenError``; the layout shows it as a message.

Each request writes its files into a fresh folder ``<out_dir>/requests/<time>-<random>/``
under fixed names (``apps.common.RequestFolders``); the page plays each piece's audio from
there (``media_dir``). A result (its pieces) is returned as a plain dict that the layout
keeps per session: the audio is rendered from it after the cards and the MIDI are shown,
and a new tempo or instrument rewrites the audio and MIDI from it. ``shift`` re-decodes a
result's pieces moved along the model's attribute vectors (``gen.music.attributes``) and
``sample`` draws from N(0, I) or the model's learned prior (``gen.core.prior``).
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


@dataclass(frozen=True)
class Role:
    """One of the Music tab's roles: its default model (a shipped name, or a directory
    written by save_pretrained), what a model for it must be (melody bars, or a piano-roll
    benchmark), words for people, and its label in the model menu."""

    model: str
    need: int | str
    words: str
    label: str


ROLES: dict[str, Role] = {
    "2-bar": Role("cat-mel_2bar_small", 2, "2-bar melody model", "2-bar melodies"),
    "16-bar": Role("hierdec-mel_16bar_small", 16, "16-bar melody model", "16-bar melodies"),
    "chorales": Role("nade-roll_jsb", "jsb", "chorale model (piano roll)",
                     "Bach chorales (chords)"),
    "folk-chords": Role("nade-roll_nottingham", "nottingham",
                        "folk-with-chords model (piano roll)", "folk tunes with chords"),
    "piano": Role("nade-roll_piano-midi", "piano-midi", "piano model (piano roll)",
                  "classical piano (Piano-midi.de)"),
    "classical": Role("nade-roll_musedata", "musedata", "classical model (piano roll)",
                      "classical pieces (MuseData)"),
}
DEFAULT_MUSIC_MODELS: dict[str, str] = {role: r.model for role, r in ROLES.items()}
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
                  "drawn, z ~ N(0, scale²) (with the learned prior: each mixture component's "
                  "spread times the scale). Below 1: typical pieces; above 1: unusual ones.")
# prior -> its words in the app (gen.core.prior.PRIORS)
PRIOR_CHOICES: dict[str, str] = {
    "normal": "standard normal N(0, I)",
    "learned": "learned (fitted to the training codes)",
}
PRIOR_INFO = ("where sample codes come from. Standard normal: the prior the VAE was trained "
              "towards; much of it holds codes no real piece encodes to, so samples can "
              "wander (between keys, with fewer notes). Learned: a mixture of Gaussians "
              "fitted to the codes of the training pieces, so samples come from where real "
              "music lives.")
SHIFT = (-2.0, 2.0)  # attribute amounts, in multiples of an attribute vector
SHIFT_STEP = 0.1
# attribute (gen.music.attributes) -> (words, unit in words, number format of its values)
ATTRIBUTES: dict[str, tuple[str, str, str]] = {
    "note_density": ("note density", "onsets per step", ".2f"),
    "mean_interval": ("mean interval", "semitones between consecutive notes", ".2f"),
    "pitch_range": ("pitch range", "semitones, lowest to highest", ".1f"),
    "syncopation_16th": ("16th-note syncopation", "onsets on an off-beat 16th", ".0%"),
    "syncopation_8th": ("8th-note syncopation", "onsets on an off-beat 8th", ".0%"),
    "offbeat": ("off-beat onsets", "onsets on an off-beat frame", ".0%"),
    "polyphony": ("polyphony", "keys sounding per frame", ".2f"),
    "mean_pitch": ("mean pitch", "MIDI pitch, 60 = C4", ".1f"),
}
SHIFT_INFO = ("Each slider moves the codes of this result's {what} along an attribute "
              "vector (MusicVAE's recipe: the mean code of the training pieces in the top "
              "quarter of that attribute minus the mean code of those in the bottom quarter), "
              "then decodes them greedily. Amount 1 is one such vector (-: less, +: more); 0 "
              "everywhere gives the model's plain reconstruction. Sliders add up.")
Shown = tuple[str, str, str, str, dict]  # cards (HTML), MIDI, zip, note, result
Shifted = tuple[str, str, str, str, dict, str | None]  # table, cards, MIDI, zip, result, notice


# --------------------------------------------------------------------------- models
def _check_role(role: str, model: Any) -> None:
    need, words = ROLES[role].need, ROLES[role].words
    if isinstance(need, int):
        if not isinstance(model, MusicVAE):
            raise GenError(f"the {words} must be a melody VAE, got a {type(model).__name__}")
        if model.config.bars != need:
            raise GenError(f"the {words} must model {need} bars, this one {model.config.bars}")
        return
    if not isinstance(model, PianoRollVAE):
        raise GenError(f"the {words} must be a piano-roll VAE, got a {type(model).__name__}")
    got = benchmark_of(model)
    if got != need:
        raise GenError(f"the {words} must be a model of the {need} benchmark, this one is "
                       f"of {got}")


def load_music_models(spec: Mapping[str, str | Path | None] | None = None) -> RoleModels:
    """Load the Music tab's models with ``gen.load``: roles "2-bar", "16-bar" (melody
    VAEs), "chorales", "folk-chords", "piano" and "classical" (piano-roll VAEs).

    ``spec`` maps roles to shipped names or save_pretrained directories and overrides
    ``DEFAULT_MUSIC_MODELS``; ``None`` switches a role off. A model that cannot be loaded,
    or does not fit its role, is reported in ``missing``.
    """
    words = {role: r.words for role, r in ROLES.items()}
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


def attribute_table(names: Sequence[str],
                    columns: Sequence[tuple[str, Mapping[str, np.ndarray]]],
                    shifted: Mapping[str, float], what: str) -> str:
    """A Markdown table of attribute values, the mean over the pieces: one column per
    (header, {name: (N,)}) of ``columns`` and, with two or more, the change from the
    second-last column to the last; the shifted attributes in bold."""
    def fmt(name: str, value: float, sign: str = "") -> str:
        return format(float(value), sign + ATTRIBUTES[name][2])

    heads = [h for h, _ in columns] + (["change"] if len(columns) > 1 else [])
    rows = [f"| attribute ({what}) | " + " | ".join(heads) + " |",
            "|---|" + "---|" * len(heads)]
    for name in names:
        words, unit, _ = ATTRIBUTES[name]
        label = f"**{words}**" if name in shifted else words
        means = [float(np.mean(v[name])) for _, v in columns]
        cells = [fmt(name, m) for m in means]
        if len(means) > 1:
            cells.append(fmt(name, means[-1] - means[-2], "+"))
        rows.append(f"| {label} ({unit}) | " + " | ".join(cells) + " |")
    return "\n".join(rows)


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
    shiftable: tuple[int, ...] | None = None  # the pieces the attribute sliders move (all)


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
        # attribute vectors and learned priors, loaded here once (not lazily by a handler)
        self.vectors: dict[str, list[str]] = {}
        self.vectors_missing: dict[str, str] = {}
        self.priors_missing: dict[str, str] = {}
        for role, kind in self.kinds.items():
            names, why = kind.vector_names()
            self.vectors[role] = [n for n in ATTRIBUTES if n in names]
            if why or not names:
                self.vectors_missing[role] = why or "it has no attribute vectors"
            missing = kind.prior_missing()
            if missing:
                self.priors_missing[role] = missing
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
                "shiftable": None if result.shiftable is None else list(result.shiftable),
                "id": uuid.uuid4().hex}  # plain values: Gradio hashes the state to see changes

    def _result(self, state: dict[str, Any]) -> Result:
        role = state["role"]
        kind = self.kind(role)
        if kind.kind != state.get("kind"):
            raise GenError("The model changed since this result; run the action again.")
        shiftable = state.get("shiftable")
        return Result(state["kind"], role, state["stem"],
                      [kind.decode(x) for x in state["items"]], list(state["parts"]),
                      list(state["titles"]), int(state["cols"]),
                      None if shiftable is None else tuple(int(i) for i in shiftable))

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
                        self._cols(kind, 2), shiftable=(0,))  # A itself; its code is rec's
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

    def prior_choices(self, role: str) -> tuple[list[tuple[str, str]], str]:
        """The priors ``role``'s model can sample from as (words, value), and their help."""
        self.kind(role)
        missing = self.priors_missing.get(role)
        if missing:
            return ([(PRIOR_CHOICES["normal"], "normal")],
                    f"{PRIOR_INFO} This model ships no learned prior: {missing}.")
        return [(w, v) for v, w in PRIOR_CHOICES.items()], PRIOR_INFO

    def _prior(self, role: str, prior: Any) -> str:
        if prior not in PRIOR_CHOICES:
            raise GenError(f"The prior is 'normal' or 'learned', not {prior!r}.")
        if prior == "learned" and role in self.priors_missing:
            raise GenError(f"The {self.models.words[role]} has no learned prior "
                           f"({self.priors_missing[role]}); sample with prior 'normal'.")
        return str(prior)

    def sample(self, role: str, count: Any, variation: Any, temperature: Any, seed: Any,
               bpm: Any, program: Any, prior: Any = "normal") -> Shown:
        """``count`` pieces from the prior (``prior`` "normal": N(0, I); "learned": the
        mixture fitted to the training codes): codes drawn at scale ``variation``, decoded
        with randomness ``temperature``, both seeded by ``seed``."""
        kind = self.kind(role)
        count = in_range(count, "count", 1, MAX_COUNT, whole=True)
        scale = in_range(variation, "variation (prior scale)", *PRIOR_SCALE)
        t = in_range(temperature, "temperature", *TEMPERATURE)
        seed = in_range(seed, "seed", 0, SEED_MAX, whole=True)
        bpm, program = _bpm(bpm), _program(program)
        prior = self._prior(role, prior)
        items = kind.sample(count, t, scale, seed, prior)
        result = Result(kind.kind, role, "samples", items,
                        [f"sample_{i + 1:02d}" for i in range(count)],
                        [f"sample {i + 1}" for i in range(count)], self._cols(kind, count))
        which = ("the learned prior (fitted to the training codes)" if prior == "learned"
                 else "the standard normal prior N(0, I)")
        note = (f"**{count} sample{'s' if count > 1 else ''}** from {which}: variation "
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

    # ----------------------------------------------------------------- attribute shifts
    def shift_panel(self, state: dict[str, Any] | None) -> tuple[str, str, list[str]]:
        """What the attribute section says about the last result (Markdown), a table of its
        pieces' attribute values, and the attributes to offer as sliders (none without
        vectors)."""
        if not state:
            return ("Make a result first (reconstruct, sample, interpolate or grid); then "
                    "sliders here shift its pieces along musical attributes."), "", []
        result = self._result(state)
        role = result.role
        names = self.vectors.get(role, [])
        if not names:
            why = self.vectors_missing.get(role, "it has no attribute vectors")
            return (f"No attribute sliders: the {self.models.words[role]} ships no attribute "
                    f"vectors ({md(why)})."), "", []
        items = self._shiftable(result)
        what = _plural(len(items), self.kind(role).noun)
        before = self.kind(role).attributes(items)
        table = attribute_table(names, [("as shown", before)], {}, what)
        return SHIFT_INFO.format(what=what), "Attribute values, the mean over the pieces:\n\n" \
            + table, names

    def _shiftable(self, result: Result) -> list[np.ndarray]:
        idx = result.shiftable if result.shiftable is not None else range(len(result.items))
        return [result.items[i] for i in idx]

    def shift(self, state: dict[str, Any] | None, amounts: Mapping[str, Any], bpm: Any,
              program: Any) -> Shifted:
        """The last result's pieces shifted along attribute vectors: encode, add amount x
        vector for each attribute in ``amounts`` (each within ``SHIFT``; all of them add
        up), decode greedily. Returns a Markdown table of the attribute values before and
        after, the shifted pieces as cards with their audio, their MIDI and zip, the shifted
        result (for a new tempo or instrument) and the audio's notice (or None)."""
        if not state:
            raise GenError("Make a result first (reconstruct, sample, interpolate or grid), "
                           "then shift it.")
        result = self._result(state)
        role = result.role
        kind = self.kind(role)
        names = self.vectors.get(role, [])
        asked: dict[str, float] = {}
        for name, value in amounts.items():
            if name not in ATTRIBUTES:
                raise GenError(f"There is no attribute {name!r}; the attributes are "
                               f"{', '.join(ATTRIBUTES)}.")
            amount = in_range(0.0 if value is None else value,
                              f"amount for {ATTRIBUTES[name][0]}", *SHIFT)
            if amount and name not in names:
                have = (f"its attributes are {', '.join(ATTRIBUTES[n][0] for n in names)}"
                        if names else self.vectors_missing.get(role, "it has none"))
                raise GenError(f"The {self.models.words[role]} has no {ATTRIBUTES[name][0]} "
                               f"vector ({have}); leave {ATTRIBUTES[name][0]} at 0.")
            if amount:
                asked[name] = amount
        if not names:
            raise GenError(f"The {self.models.words[role]} ships no attribute vectors "
                           f"({self.vectors_missing.get(role, '')}), so it cannot shift.")
        bpm, program = _bpm(bpm), _program(program)
        items = self._shiftable(result)
        idx = result.shiftable if result.shiftable is not None else range(len(result.items))
        shifted = kind.shift(items, asked)
        # re-decoding alone changes pieces too (a sample drawn at a temperature comes back
        # greedy): the change is measured from the unshifted re-decoding (amount 0)
        plain = kind.shift(items, {}) if asked else shifted
        what = _plural(len(items), kind.noun)
        table = attribute_table(names, [("as shown", kind.attributes(items)),
                                        ("re-decoded, amount 0", kind.attributes(plain)),
                                        ("shifted", kind.attributes(shifted))], asked, what)
        how = (" and ".join(f"{ATTRIBUTES[n][0]} {a:+g}" for n, a in asked.items())
               if asked else "nothing (every amount 0): the model's reconstruction")
        out = Result(kind.kind, role, "shifted", shifted,
                     [f"{result.parts[i]}_shifted" for i in idx],
                     [f"{result.titles[i]}, shifted" for i in idx],
                     self._cols(kind, len(shifted), result.cols if result.kind == "grid"
                                else 0))
        midi, archive = self._files(out, bpm, program)
        wavs, _, sine = self._wavs(kind, shifted, bpm, program)
        note = (f"**Shifted** by {how}: the {what} of this result re-decoded. "
                "Attribute values, the mean over the pieces (the change: shifted minus "
                "re-decoded without a shift):\n\n" + table)
        return (note, self._cards(out, wavs, bpm), midi, archive, self._state(out),
                SINE_NOTICE if sine else None)

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
