"""The Music tab's widgets: built section by section, then wired to ``MusicActions`` last.

``music_tab(models, out_dir)`` builds the tab in the current Blocks context. The result of
the last action (its melodies) lives in a per-session ``gr.State``: the audio is rendered
from it right after the picture and the MIDI are shown, and releasing the tempo slider
rewrites the audio and MIDI from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from apps.common import (
    MAX_UPLOAD_MB,
    RoleModels,
    md,
    source_tabs,
    unavailable_text,
    user_errors,
)
from apps.music.actions import (
    BPM,
    GRID_SIZES,
    MAX_COUNT,
    MAX_STEPS,
    SEED_MAX,
    SLOTS,
    TEMPERATURE,
    MusicActions,
)
from gen.music.io import MIDI_SUFFIXES

CORNERS = ("top left", "top right", "bottom left", "bottom right")
SOURCES = [("Example", "example"), ("Upload MIDI", "upload")]
INTRO = """\
Melody VAEs in the style of MusicVAE (Roberts et al. 2018) over 2-bar or 16-bar monophonic
melodies, 16 steps per bar. Choose melodies A-D from held-out folk tunes (never seen in
training) or from your own MIDI file, then reconstruct, sample, interpolate or fill a grid.
"""


# --------------------------------------------------------------------------- widgets
def melody_input(slot: str, act: MusicActions, role: str | None) -> tuple[list, gr.Markdown]:
    """A melody chooser: Example / Upload MIDI sub-tabs over a hidden source value.

    Returns the four input components ``[source, example, upload, window]`` that
    ``MusicActions.melody`` takes, and the Markdown that says what an upload yielded.
    """
    names = act.example_names(role) if role else []
    source = "example" if names else "upload"
    index = SLOTS.index(slot)
    with source_tabs(SOURCES, source, f"music-{slot}", "source") as (src, tab):
        with tab("example"):
            example = gr.Dropdown(
                names,
                value=names[index % len(names)] if names else None,
                label="held-out folk tune",
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
                label="melody window",
                allow_custom_value=True,  # an API caller may pass a window without listing
                elem_id=f"music-{slot}-window",
            )
            found = gr.Markdown(elem_id=f"music-{slot}-found")
    return [src, example, upload, window], found


# --------------------------------------------------------------------------- sections
def _melodies(models: RoleModels, act: MusicActions, roles: list[str]) -> dict[str, Any]:
    with gr.Row():
        model = gr.Dropdown([(f"{r} ({models.sources[r]})", r) for r in roles], value=roles[0],
                            label="model", elem_id="music-model", scale=2)
        bpm = gr.Slider(BPM[0], BPM[1], value=BPM[2], step=1, label="tempo (bpm)",
                        elem_id="music-bpm", scale=3)
    slots, found = [], []
    with gr.Row(equal_height=False):
        for slot, corner in zip(SLOTS, CORNERS):
            with gr.Column(min_width=240):
                gr.Markdown(f"**Melody {slot.upper()}** (grid: {corner})")
                inputs, what = melody_input(slot, act, roles[0])
                slots.append(inputs)
                found.append(what)
    return {"model": model, "bpm": bpm, "slots": slots, "found": found}


def _actions() -> dict[str, Any]:
    with gr.Tabs(elem_id="music-actions"):
        with gr.Tab("Reconstruct", id="reconstruct"):
            rec = gr.Button("Reconstruct A", variant="primary", elem_id="music-reconstruct")
        with gr.Tab("Sample", id="sample"):
            with gr.Row():
                count = gr.Slider(1, MAX_COUNT, value=4, step=1, label="count",
                                  elem_id="music-count")
                temperature = gr.Slider(*TEMPERATURE, value=0.5, step=0.05, label="temperature",
                                        elem_id="music-temperature")
                seed = gr.Number(0, precision=0, minimum=0, maximum=SEED_MAX, label="seed",
                                 elem_id="music-seed")
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
    return {"rec": rec, "sample": sample, "sample_inputs": [count, temperature, seed],
            "interp": interp, "steps": steps, "grid": grid, "size": size}


def _results() -> dict[str, Any]:
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
    return {"note": note, "roll": roll, "audio": audio, "midi": midi, "parts": parts}


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
    mel = _melodies(models, act, roles)
    acts = _actions()
    out = _results()
    result = gr.State(None)

    # ------------------------------------------------------------------ events
    ui = user_errors
    model, bpm, slots = mel["model"], mel["bpm"], mel["slots"]

    def windows(role: str, upload: Any) -> tuple[gr.Dropdown, str]:
        """An uploaded file -> the dropdown of its windows and what was found, or why not."""
        choices, found = act.windows(role, upload)
        return gr.Dropdown(choices=choices, value=0 if choices else None), found

    for slot, inputs, found in zip(SLOTS, slots, mel["found"]):
        gr.on([model.change, inputs[2].change], ui(windows), [model, inputs[2]],
              [inputs[3], found], api_name=f"music_windows_{slot}", show_progress="minimal")

    def choose_model(role: str, *chosen: Any) -> tuple[gr.Dropdown, ...]:
        """The four example dropdowns for ``role``'s melody length."""
        names, values = act.choose_model(role, *chosen)
        return tuple(gr.Dropdown(choices=names, value=v) for v in values)

    examples = [s[1] for s in slots]
    model.change(ui(choose_model), [model, *examples], examples, api_name="music_examples")

    shown = [out["roll"], out["midi"], out["parts"], out["note"], result]
    a, b, c, d = slots
    acts["rec"].click(ui(act.reconstruct), [model, *a, bpm], shown, api_name="music_reconstruct")
    acts["sample"].click(ui(act.sample), [model, *acts["sample_inputs"], bpm], shown,
                         api_name="music_sample")
    acts["interp"].click(ui(act.interpolate), [model, *a, *b, acts["steps"], bpm], shown,
                         api_name="music_interpolate")
    acts["grid"].click(ui(act.grid), [model, *a, *b, *c, *d, acts["size"], bpm], shown,
                       api_name="music_grid")

    def audio(last: dict | None, tempo: Any) -> str | None:
        """The last result as a WAV file; a warning when it is plain sine waves."""
        wav, notice = act.audio(last, tempo)
        if notice:
            gr.Warning(notice)
        return wav

    def render(last: dict | None, tempo: Any) -> tuple[Any, ...]:
        """The last result's MIDI files and audio again, at the new tempo."""
        again = act.render(last, tempo)
        if again is None:
            return gr.skip(), gr.skip(), gr.skip()
        midi, parts, wav, notice = again
        if notice:
            gr.Warning(notice)
        return midi, parts, wav

    # The audio follows every new result; the tempo slider rewrites MIDI and audio.
    result.change(ui(audio), [result, bpm], out["audio"], api_name="music_audio",
                  show_progress="minimal")
    bpm.release(ui(render), [result, bpm], [out["midi"], out["parts"], out["audio"]],
                api_name="music_render")
    return act
