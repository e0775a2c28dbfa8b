"""The Music tab's widgets: built section by section, then wired to ``MusicActions`` last.

``music_tab(models, out_dir)`` builds the tab in the current Blocks context. The result of
the last action (its pieces) lives in a per-session ``gr.State``: the audio (one play control
per piece, and all of them as one file) is rendered from it right after the cards and the MIDI
are shown; releasing the tempo slider or choosing another instrument rewrites audio and MIDI
from it. A failed action clears the results (they no longer match the inputs); a successful
one scrolls them into view. Under the results, one slider per attribute vector of the
result's model shifts its pieces (``/music_shift``), shown as cards of their own with the
attribute values before and after.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import gradio as gr

from apps.common import (
    MAX_UPLOAD_MB,
    RoleModels,
    clear_js,
    md,
    reveal_js,
    source_tabs,
    unavailable_text,
    user_errors,
)
from apps.music.actions import (
    ATTRIBUTES,
    BPM,
    GRID_SIZES,
    MAX_COUNT,
    MAX_STEPS,
    PRIOR_SCALE,
    ROLES,
    SEED_MAX,
    SHIFT,
    SHIFT_STEP,
    SLOTS,
    TEMPERATURE,
    VARIATION_INFO,
    MusicActions,
    instrument_name,
)
from apps.music.pieces import ROLL_BARS
from apps.music.view import VIEW_JS
from gen.core.errors import GenError
from gen.music.io import MIDI_SUFFIXES

CORNERS = ("top left", "top right", "bottom left", "bottom right")
SOURCES = [("Example", "example"), ("Upload MIDI", "upload")]
INTRO = f"""\
Recurrent VAEs in the style of MusicVAE (Roberts et al. 2018): **melody** models over 2 or
16 bars of one voice, and **piano-roll** models that play chords (Bach chorales; folk tunes
with their accompaniment; classical piano and ensemble pieces), with a NADE over the 88 keys
of each frame. Choose inputs A-D from held-out pieces (never seen in training) or your own
MIDI file, listen to them, then reconstruct, sample, interpolate or fill a grid. Every
piece in a result has its own play control. Piano-roll pieces are used {ROLL_BARS} bars at a
time (a NADE decodes key by key: slow on a CPU).
"""


def _cards(elem_id: str) -> gr.HTML:
    return gr.HTML("", elem_id=elem_id, js_on_load=VIEW_JS, min_height=0)


# --------------------------------------------------------------------------- widgets
def piece_input(slot: str, act: MusicActions, role: str | None) -> tuple[list, gr.Markdown,
                                                                         gr.HTML]:
    """An input chooser: Example / Upload MIDI sub-tabs over a hidden source value, and a
    preview card (piano roll and play control) of the chosen piece.

    Returns the four input components ``[source, example, upload, window]`` that
    ``MusicActions.piece`` takes, the Markdown that says what an upload yielded, and the
    preview.
    """
    names = act.example_names(role) if role else []
    source = "example" if names else "upload"
    index = SLOTS.index(slot)
    label = act.defaults(role)["example_label"] if role else "example"
    with source_tabs(SOURCES, source, f"music-{slot}", "source") as (src, tab):
        with tab("example"):
            example = gr.Dropdown(
                names,
                value=names[index % len(names)] if names else None,
                label=label,
                allow_custom_value=True,  # choices change with the model; checked by the handler
                elem_id=f"music-{slot}-example",
            )
            if not names and role:
                gr.Markdown(f"Examples not available: {md(act.examples_missing.get(role, ''))}")
        with tab("upload"):
            upload = gr.File(label=f"a MIDI file (up to {MAX_UPLOAD_MB} MB)",
                             file_types=list(MIDI_SUFFIXES), type="filepath",
                             elem_id=f"music-{slot}-upload", height=110)
            window = gr.Dropdown(
                [],
                value=None,
                label="window (track and bars)",
                allow_custom_value=True,  # an API caller may pass a window without listing
                elem_id=f"music-{slot}-window",
            )
            found = gr.Markdown(elem_id=f"music-{slot}-found")
    preview = _cards(f"music-{slot}-preview")
    return [src, example, upload, window], found, preview


# --------------------------------------------------------------------------- sections
def _inputs(models: RoleModels, act: MusicActions, roles: list[str]) -> dict[str, Any]:
    first = act.defaults(roles[0])
    with gr.Row(equal_height=False):
        model = gr.Dropdown([(ROLES[r].label, r) for r in roles], value=roles[0],
                            label="model", elem_id="music-model", min_width=200,
                            info=", ".join(f"{ROLES[r].label}: {models.sources[r]}"
                                           for r in roles))
        bpm = gr.Slider(BPM[0], BPM[1], value=first["bpm"], step=1, label="tempo (bpm)",
                        elem_id="music-bpm", min_width=200)
        instrument = gr.Dropdown([(f"{instrument_name(p)} ({p})", p) for p in range(128)],
                                 value=first["program"], label="instrument (General MIDI)",
                                 elem_id="music-instrument", min_width=200,
                                 info="for the audio and the MIDI files")
    slots, found, previews = [], [], []
    with gr.Row(equal_height=False):
        for slot, corner in zip(SLOTS, CORNERS):
            with gr.Column(min_width=260):
                gr.Markdown(f"**Input {slot.upper()}** (grid: {corner})")
                inputs, what, preview = piece_input(slot, act, roles[0])
                slots.append(inputs)
                found.append(what)
                previews.append(preview)
    return {"model": model, "bpm": bpm, "instrument": instrument, "slots": slots,
            "found": found, "previews": previews}


def _actions(first: dict[str, Any], act: MusicActions, role: str) -> dict[str, Any]:
    with gr.Tabs(elem_id="music-actions", overflow_behavior="wrap"):
        with gr.Tab("Reconstruct", id="reconstruct"):
            rec = gr.Button("Reconstruct A", variant="primary", elem_id="music-reconstruct")
        with gr.Tab("Sample", id="sample"):
            with gr.Row():
                count = gr.Slider(1, MAX_COUNT, value=4, step=1, label="count",
                                  elem_id="music-count")
                variation = gr.Slider(*PRIOR_SCALE, value=1.0, step=0.05,
                                      label="variation (prior scale)", info=VARIATION_INFO,
                                      elem_id="music-variation")
                temperature = gr.Slider(*TEMPERATURE, value=0.5, step=0.05, label="temperature",
                                        info=first["temperature_info"],
                                        elem_id="music-temperature")
                seed = gr.Number(0, precision=0, minimum=0, maximum=SEED_MAX, label="seed",
                                 info="the same seed gives the same pieces",
                                 elem_id="music-seed")
            choices, info = act.prior_choices(role)
            prior = gr.Radio(choices, value="normal", label="prior", info=info,
                             elem_id="music-prior")
            sample = gr.Button("Sample", variant="primary", elem_id="music-sample")
        with gr.Tab("Interpolate", id="interpolate"):
            steps = gr.Slider(2, MAX_STEPS, value=5, step=1, label="steps (endpoints included)",
                              elem_id="music-steps")
            interp = gr.Button("Interpolate A → B", variant="primary",
                               elem_id="music-interpolate")
        with gr.Tab("Grid", id="grid"):
            size = gr.Slider(*GRID_SIZES, value=3, step=1, label="grid size (rows = columns)",
                             elem_id="music-grid-size")
            grid = gr.Button("Grid between A, B, C, D", variant="primary", elem_id="music-grid")
    return {"rec": rec, "sample": sample, "prior": prior,
            "sample_inputs": [count, variation, temperature, seed], "temperature": temperature,
            "interp": interp, "steps": steps, "grid": grid, "size": size}


def _results() -> dict[str, Any]:
    with gr.Column(elem_id="music-results"):
        note = gr.Markdown(elem_id="music-note")
        view = _cards("music-view")
        audio = gr.Audio(
            label="everything, one piece after another",
            elem_id="music-audio",
            type="filepath",
            interactive=False,
            buttons=["download"],
            # the browser's own player: a waveform of minutes of audio is slow to draw
            waveform_options=gr.WaveformOptions(show_recording_waveform=False),
        )
        with gr.Row():
            midi = gr.File(label="MIDI: everything, one piece after another",
                           elem_id="music-midi", interactive=False)
            parts = gr.File(label="MIDI: one file per piece (zip)", elem_id="music-zip",
                            interactive=False)
    return {"note": note, "view": view, "audio": audio, "midi": midi, "parts": parts}


def _shift_section(intro_text: str) -> dict[str, Any]:
    """Under the results: a slider per attribute (shown for the attributes the result's
    model has vectors for), the values before and after, and the shifted pieces."""
    with gr.Column(elem_id="music-shift"):
        gr.Markdown("#### Shape the result: attribute sliders")
        intro = gr.Markdown(intro_text, elem_id="music-shift-intro")
        with gr.Row(equal_height=False):
            sliders = {
                name: gr.Slider(*SHIFT, value=0.0, step=SHIFT_STEP, label=words,
                                visible=False, elem_id=f"music-shift-{name}", min_width=200)
                for name, (words, _, _) in ATTRIBUTES.items()
            }
        table = gr.Markdown(elem_id="music-shift-table")
        view = _cards("music-shift-view")
        with gr.Row():
            midi = gr.File(label="MIDI: the shifted pieces, one after another",
                           elem_id="music-shift-midi", interactive=False)
            parts = gr.File(label="MIDI: one file per shifted piece (zip)",
                            elem_id="music-shift-zip", interactive=False)
    return {"intro": intro, "sliders": sliders, "table": table, "view": view, "midi": midi,
            "parts": parts}


# --------------------------------------------------------------------------- the tab
def music_tab(models: RoleModels, out_dir: str | Path) -> MusicActions:
    """Build the Music tab's widgets in the current Blocks context and wire them to the actions.

    Missing models are explained instead of offered; without any model the tab shows only
    why. Returns the actions object (useful for tests and benchmarks).
    """
    act = MusicActions(models, out_dir)
    roles = models.loaded()
    gr.Markdown(INTRO)
    if models.missing:
        gr.Markdown(unavailable_text(models, [r for r in models.words if r in models.missing]))
    if not roles:
        return act
    mel = _inputs(models, act, roles)
    acts = _actions(act.defaults(roles[0]), act, roles[0])
    out = _results()
    sh = _shift_section(act.shift_panel(None)[0])
    result = gr.State(None)
    shifted = gr.State(None)  # the last shifted pieces (for a new tempo or instrument)

    # ------------------------------------------------------------------ events
    ui = user_errors
    model, bpm, instrument, slots = mel["model"], mel["bpm"], mel["instrument"], mel["slots"]
    previews = mel["previews"]

    # One chain per change, so that each preview reads the inputs after they have changed:
    # model -> examples, tempo, instrument -> upload windows -> previews of A-D;
    # upload -> its windows -> its preview; a picked example, window or source -> its preview.
    def windows(role: str, upload: Any) -> tuple[gr.Dropdown, str]:
        """An uploaded file -> the dropdown of its windows and what was found, or why not."""
        choices, found = act.windows(role, upload)
        return gr.Dropdown(choices=choices, value=0 if choices else None), found

    def windows_all(role: str, *uploads: Any) -> tuple[Any, ...]:
        """The window dropdowns and upload lines of A-D for ``role``'s model."""
        both = [windows(role, up) for up in uploads]
        return (*(w for w, _ in both), *(f for _, f in both))

    def preview(role: str, slot: str, *values: Any) -> str:
        """The preview card of one input; one that cannot be shown (a file without a usable
        window, a file gone) says why in its place: the upload's own line says it too, so
        no error message pops up."""
        try:
            return act.preview(role, slot, *values)
        except GenError as e:
            return f'<p class="gen-wait">{html.escape(str(e))}</p>'

    def preview_all(role: str, *values: Any) -> tuple[str, ...]:
        """The preview cards of A-D."""
        *pieces, tempo, program = values
        return tuple(preview(role, slot, *pieces[4 * i: 4 * i + 4], tempo, program)
                     for i, slot in enumerate(SLOTS))

    def choose_model(role: str, *chosen: Any) -> tuple[Any, ...]:
        """The example dropdowns, tempo, instrument and temperature help for ``role``."""
        names, values = act.choose_model(role, *chosen)
        d = act.defaults(role)
        return (*(gr.Dropdown(choices=names, value=v, label=d["example_label"])
                  for v in values),
                d["bpm"], d["program"], gr.Slider(info=d["temperature_info"]))

    every_slot = [v for s in slots for v in s]
    examples = [s[1] for s in slots]
    (model.change(ui(choose_model), [model, *examples],
                  [*examples, bpm, instrument, acts["temperature"]], api_name="music_examples")
     .then(ui(windows_all), [model, *(s[2] for s in slots)],
           [*(s[3] for s in slots), *mel["found"]], api_name="music_windows_all",
           api_visibility="private", show_progress="hidden")
     .then(ui(preview_all), [model, *every_slot, bpm, instrument], previews,
           api_name="music_previews", show_progress="hidden"))
    gr.on([instrument.input, bpm.release], ui(preview_all),
          [model, *every_slot, bpm, instrument], previews, api_name="music_previews_again",
          api_visibility="private", show_progress="hidden", trigger_mode="always_last")
    gr.on(None, ui(preview_all), [model, *every_slot, bpm, instrument], previews,
          api_name="music_previews_on_load", api_visibility="private",
          show_progress="hidden")
    for slot, inputs, found, card in zip(SLOTS, slots, mel["found"], previews):
        one = [model, gr.State(slot), *inputs, bpm, instrument]
        inputs[2].change(ui(windows), [model, inputs[2]], [inputs[3], found],
                         api_name=f"music_windows_{slot}", show_progress="minimal").then(
            ui(preview), one, card, api_name=f"music_preview_after_upload_{slot}",
            api_visibility="private", show_progress="minimal")
        gr.on([inputs[0].change, inputs[1].input, inputs[3].input], ui(preview), one, card,
              api_name=f"music_preview_{slot}", show_progress="minimal",
              trigger_mode="always_last")

    def prior_choices(role: str, chosen: str) -> gr.Radio:
        """The priors ``role``'s model offers; the chosen one stays when it has it."""
        choices, info = act.prior_choices(role)
        values = [v for _, v in choices]
        return gr.Radio(choices=choices, value=chosen if chosen in values else "normal",
                        info=info)

    model.change(ui(prior_choices), [model, acts["prior"]], acts["prior"],
                 api_name="music_prior_choices", api_visibility="private",
                 show_progress="hidden")

    shown = [out["view"], out["midi"], out["parts"], out["note"], result]
    cleared = [out["view"], out["midi"], out["parts"], out["note"], result, out["audio"]]
    a, b, c, d = slots
    tail = [bpm, instrument]
    for button, fn, inputs, name in [
        (acts["rec"], act.reconstruct, [model, *a, *tail], "music_reconstruct"),
        (acts["sample"], act.sample, [model, *acts["sample_inputs"], *tail, acts["prior"]],
         "music_sample"),
        (acts["interp"], act.interpolate, [model, *a, *b, acts["steps"], *tail],
         "music_interpolate"),
        (acts["grid"], act.grid, [model, *a, *b, *c, *d, acts["size"], *tail], "music_grid"),
    ]:
        done = button.click(ui(fn), inputs, shown, api_name=name)
        done.success(None, None, None, js=reveal_js("music-results", "start"))
        done.failure(None, None, cleared, js=clear_js(len(cleared)))

    def audio(last: dict | None, tempo: Any, program: Any) -> tuple[str, str | None]:
        """The last result's cards with their audio, and all of it as one WAV; a warning when
        it is plain sine waves."""
        cards, wav, notice = act.audio(last, tempo, program)
        if notice:
            gr.Warning(notice)
        return cards, wav

    def render(last: dict | None, tempo: Any, program: Any) -> tuple[Any, ...]:
        """The last result's MIDI files, cards and audio again, at the new tempo or with the
        new instrument."""
        again = act.render(last, tempo, program)
        if again is None:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        midi, parts, cards, wav, notice = again
        if notice:
            gr.Warning(notice)
        return midi, parts, cards, wav

    # The audio follows every new result; tempo and instrument rewrite MIDI and audio.
    result.change(ui(audio), [result, bpm, instrument], [out["view"], out["audio"]],
                  api_name="music_audio", show_progress="minimal")
    gr.on([bpm.release, instrument.input], ui(render), [result, bpm, instrument],
          [out["midi"], out["parts"], out["view"], out["audio"]], api_name="music_render",
          trigger_mode="always_last")

    # ------------------------------------------------------------------ attribute sliders
    sliders = list(sh["sliders"].values())
    shift_out = [sh["table"], sh["view"], sh["midi"], sh["parts"], shifted]

    def shift_panel(last: dict | None) -> tuple[Any, ...]:
        """A new result: what the sliders do (or why there are none) and its attribute
        values; the sliders of its model's attributes back at 0; no shifted pieces yet."""
        intro, table, names = act.shift_panel(last)
        return (intro, *(gr.Slider(value=0.0, visible=n in names) for n in sh["sliders"]),
                table, "", None, None, None)

    result.change(ui(shift_panel), result, [sh["intro"], *sliders, *shift_out],
                  api_name="music_shift_panel", api_visibility="private",
                  show_progress="hidden")

    def shift(note_density: float = 0.0, mean_interval: float = 0.0, pitch_range: float = 0.0,
              syncopation_16th: float = 0.0, syncopation_8th: float = 0.0,
              offbeat: float = 0.0, polyphony: float = 0.0, mean_pitch: float = 0.0,
              bpm: float = BPM[2], instrument: int = 0, last: dict | None = None
              ) -> tuple[Any, ...]:
        """The session's last result shifted along attribute vectors (amounts from -2 to
        2, 0: not shifted; an attribute the model has no vector for must stay 0): the
        attribute values before and after (Markdown), the shifted pieces as cards with
        their audio, their MIDI file and zip."""
        amounts = dict(zip(ATTRIBUTES, (note_density, mean_interval, pitch_range,
                                        syncopation_16th, syncopation_8th, offbeat,
                                        polyphony, mean_pitch)))
        note, cards, midi, parts, state, notice = act.shift(last, amounts, bpm, instrument)
        if notice:
            gr.Warning(notice)
        return note, cards, midi, parts, state

    moved = gr.on([s.release for s in sliders], ui(shift), [*sliders, bpm, instrument, result],
                  shift_out, api_name="music_shift", trigger_mode="always_last")
    moved.failure(None, None, shift_out, js=clear_js(len(shift_out)))

    def shift_render(last: dict | None, tempo: Any, program: Any) -> tuple[Any, ...]:
        """The shifted pieces' MIDI, cards and audio again at a new tempo or instrument."""
        again = act.render(last, tempo, program)
        if again is None:
            return gr.skip(), gr.skip(), gr.skip()
        midi, parts, cards, _, _ = again  # the audio notice was shown with the result
        return midi, parts, cards

    gr.on([bpm.release, instrument.input], ui(shift_render), [shifted, bpm, instrument],
          [sh["midi"], sh["parts"], sh["view"]], api_name="music_shift_render",
          api_visibility="private", trigger_mode="always_last")
    return act
