"""The Image tab's widgets: built section by section, then wired to ``ImageActions`` last.

``image_tab(models, out_dir)`` builds the tab in the current Blocks context. Sections whose
models are missing show why (``apps.common.unavailable_text``) instead of their controls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from apps.common import (
    MAX_UPLOAD_MB,
    RoleModels,
    clear_js,
    reveal_js,
    source_tabs,
    unavailable_text,
    user_errors,
)
from apps.image.actions import (
    DIGIT_PX,
    MAP_N,
    MAX_SAMPLES,
    MAX_STEPS,
    PRIOR_SCALE,
    ImageActions,
)

SOURCES = [("Draw", "draw"), ("Upload", "upload"), ("Test set", "test")]
LATENT_INTRO = (
    f"The 2-d VAE decodes every point of its latent plane. Left: a {MAP_N}x{MAP_N} grid over "
    "the central 90% of the prior along z1 (left to right) and z2 (bottom to top), in equal "
    "steps of prior mass. Right: where the test digits land. Click the grid, move the "
    "sliders or type a value to decode a point; the red ring marks it on the grid."
)
VARIATION_INFO = ("prior scale: how far from the centre of the latent space the codes are "
                  "drawn, z ~ N(0, scale²). Each code is drawn as its mean picture, so there "
                  "is no decoder temperature here.")
BLANK_PAGE = {  # white paper as the background makes the brush the active tool from the start
    "background": np.full((280, 280), 255, np.uint8),
    "layers": [],
    "composite": None,
}


# --------------------------------------------------------------------------- widgets
def _output(label: str, elem_id: str, height: int | None = None) -> gr.Image:
    return gr.Image(label=label, elem_id=elem_id, type="numpy", format="png", interactive=False,
                    height=height, buttons=["download"], elem_classes=["pixelated"])


def digit_input(prefix: str, source: str = "draw", digit: int = 3) -> list:
    """A digit chooser: Draw / Upload / Test set sub-tabs over a hidden source value.

    Returns the five input components ``[source, sketch, upload, test_digit, test_index]``
    that ``ImageActions.digit`` takes.
    """
    with source_tabs(SOURCES, source, prefix, "Input") as (src, tab):
        with tab("draw"):
            sketch = gr.Sketchpad(
                value=BLANK_PAGE,
                label="Draw a digit",
                elem_id=f"{prefix}-sketch",
                type="numpy",
                image_mode="L",
                canvas_size=(280, 280),
                fixed_canvas=True,
                brush=gr.Brush(default_size=12, colors=["#000000"], color_mode="fixed"),
                layers=False,
                transforms=(),
                height=330,
            )
            # Gradio's Clear removes the paper and the brush with it (new strokes draw
            # nothing): put a fresh blank page back instead.
            sketch.clear(lambda: BLANK_PAGE, None, sketch, api_name=f"{prefix}_clear_sketch",
                         api_visibility="private", show_progress="hidden", queue=False)
        with tab("upload"):
            # a file that is not a picture is refused in words by apps.common.harden
            upload = gr.Image(
                label=f"A picture of one digit (any size or colours, up to {MAX_UPLOAD_MB} MB)",
                elem_id=f"{prefix}-upload",
                type="filepath",
                image_mode=None,
                sources=["upload", "clipboard"],
                height=300,
            )
        with tab("test"), gr.Row():
            test_digit = gr.Dropdown(list(range(10)), value=digit, label="MNIST test digit",
                                     elem_id=f"{prefix}-digit")
            test_index = gr.Number(value=0, precision=0, minimum=0, label="example number",
                                   elem_id=f"{prefix}-index")
    return [src, sketch, upload, test_digit, test_index]


# --------------------------------------------------------------------------- sections
def _your_digit(models: RoleModels) -> dict[str, Any]:
    w: dict[str, Any] = {}
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            w["main"] = digit_input("main", source="draw")
            w["seen"] = _output("What the models see (28x28)", "seen", DIGIT_PX + 40)
        with gr.Column(scale=2):
            gr.Markdown("### Reconstruct\nEncode your digit and decode it again.")
            if models.has("ae") or models.has("vae"):
                w["rec_btn"] = gr.Button("Reconstruct", variant="primary", elem_id="reconstruct")
                with gr.Row(elem_id="rec-row"):
                    w["rec"] = [_output("autoencoder", "rec-ae"), _output("VAE", "rec-vae")]
            else:
                gr.Markdown(unavailable_text(models, ["ae", "vae"]))

            gr.Markdown("### Denoise\nAdd noise to your digit and let the denoiser clean it.")
            if models.has("dae"):
                with gr.Row():
                    w["noise"] = gr.Slider(0.0, 1.0, value=models.get("dae").config.noise_std,
                                           step=0.05, label="noise (std of the Gaussian added)",
                                           elem_id="noise")
                    w["noise_seed"] = gr.Number(0, precision=0, label="noise seed")
                w["dn_btn"] = gr.Button("Add noise and denoise", elem_id="denoise")
                with gr.Row(elem_id="dn-row"):
                    w["dn"] = [_output("noisy input", "noisy"), _output("denoised", "denoised")]
                w["dn"].append(gr.Markdown(elem_id="denoise-note"))
            else:
                gr.Markdown(unavailable_text(models, ["dae"]))

            gr.Markdown("### Super-resolution x2\nShrink your digit to 14x14 and enlarge it again.")
            if models.has("sr"):
                w["sr_btn"] = gr.Button("Shrink and super-resolve", elem_id="super-resolve")
                with gr.Row(elem_id="sr-row"):
                    w["sr"] = [_output("14x14 input", "sr-low"),
                               _output("bicubic x2", "sr-bicubic"),
                               _output("model x2", "sr-model")]
                w["sr"].append(gr.Markdown(elem_id="sr-note"))
            else:
                gr.Markdown(unavailable_text(models, ["sr"]))
    return w


def _sample(vaes: list[tuple[str, str]]) -> dict[str, Any]:
    with gr.Row():
        inputs = [
            gr.Dropdown(vaes, value=vaes[0][1], label="model"),
            gr.Slider(1, MAX_SAMPLES, value=36, step=1, label="count"),
            gr.Slider(*PRIOR_SCALE, value=1.0, step=0.05, label="variation (prior scale)",
                      info=VARIATION_INFO),
            gr.Number(0, precision=0, label="seed"),
        ]
    button = gr.Button("Sample", variant="primary", elem_id="sample")
    return {"inputs": inputs, "button": button,
            "grid": _output("samples from the prior", "samples")}


def _interpolate(coders: list[tuple[str, str]], default: str) -> dict[str, Any]:
    with gr.Row():
        with gr.Column():
            gr.Markdown("**Digit A**")
            a = digit_input("a", source="test", digit=3)
        with gr.Column():
            gr.Markdown("**Digit B**")
            b = digit_input("b", source="test", digit=8)
    with gr.Row():
        options = [
            gr.Dropdown(coders, value=default, label="model"),
            gr.Slider(2, MAX_STEPS, value=10, step=1, label="steps"),
            gr.Radio(["lerp", "slerp"], value="slerp", label="path"),
        ]
    button = gr.Button("Interpolate", variant="primary", elem_id="interpolate")
    strip = _output("from A to B (endpoints are the reconstructions)", "strip")
    return {"inputs": [*a, *b, *options], "button": button, "strip": strip}


def _latent_map() -> dict[str, Any]:
    gr.Markdown(LATENT_INTRO)
    with gr.Row():
        gr.Markdown("**Decoded latent grid** (click a point)")
        gr.Markdown("**Test-set codes by digit**")
    with gr.Row():
        grid = gr.Image(label="decoded latent grid", show_label=False, elem_id="latent-map",
                        format="png", interactive=False, elem_classes=["pixelated"],
                        buttons=[])  # no toolbar over the cells
        scatter = gr.Image(label="test-set codes by digit", show_label=False,
                           elem_id="latent-scatter", format="png", interactive=False)
    with gr.Row():
        with gr.Column():
            z1 = gr.Slider(-3.0, 3.0, value=0.0, step=0.01, label="z1", elem_id="z1")
            z2 = gr.Slider(-3.0, 3.0, value=0.0, step=0.01, label="z2", elem_id="z2")
        point = _output("decoded point", "latent-digit")
    return {"grid": grid, "scatter": scatter, "z": [z1, z2], "point": point}


# --------------------------------------------------------------------------- the tab
def image_tab(models: RoleModels, out_dir: str | Path) -> ImageActions:
    """Build the Image tab's widgets in the current Blocks context and wire them to the actions.

    Returns the actions object (useful for tests and benchmarks).
    """
    act = ImageActions(models, out_dir)
    vaes = [(f"VAE {models.get(r).latent_dim}-d ({models.sources[r]})", r)
            for r in ("vae", "vae2d") if models.has(r)]
    coders = [(f"autoencoder ({models.sources['ae']})", "ae")] if models.has("ae") else []
    coders += vaes
    sample = interp = latent = None

    with gr.Tabs(elem_id="image-sections", overflow_behavior="wrap"):
        with gr.Tab("Your digit", id="digit"):
            digit = _your_digit(models)
        with gr.Tab("Sample", id="sample"):
            if vaes:
                sample = _sample(vaes)
            else:
                gr.Markdown(unavailable_text(models, ["vae", "vae2d"]))
        with gr.Tab("Interpolate", id="interpolate"):
            if coders:
                interp = _interpolate(coders, "vae" if models.has("vae") else coders[0][1])
            else:
                gr.Markdown(unavailable_text(models, ["ae", "vae", "vae2d"]))
        with gr.Tab("Latent map", id="latent"):
            if models.has("vae2d"):
                latent = _latent_map()
            else:
                gr.Markdown(unavailable_text(models, ["vae2d"]))

    # ------------------------------------------------------------------ events
    # A successful action scrolls its result into view; a failed one clears what it would
    # have replaced. Changing the digit clears every result of the old one.
    def ui(fn: Any) -> Any:  # words for every failure; pictures served as per-request files
        return user_errors(act.as_files(fn))

    main, seen = digit["main"], digit["seen"]
    shown_digit = [seen, *digit.get("rec", []), *digit.get("dn", []), *digit.get("sr", [])]

    def wire(event: Any, outputs: list, row: str) -> None:
        event.success(None, None, None, js=reveal_js(row))
        event.failure(None, None, outputs, js=clear_js(len(outputs)))

    src, sketch, upload, test_digit, test_index = main
    gr.on([src.change, sketch.change, upload.change, test_digit.change, test_index.change],
          None, None, shown_digit, js=clear_js(len(shown_digit)))
    if "rec_btn" in digit:
        wire(digit["rec_btn"].click(ui(act.reconstruct), main, [seen, *digit["rec"]],
                                    api_name="reconstruct"), shown_digit, "rec-row")
    if "dn_btn" in digit:
        wire(digit["dn_btn"].click(ui(act.denoise), [*main, digit["noise"], digit["noise_seed"]],
                                   [seen, *digit["dn"]], api_name="denoise"),
             shown_digit, "dn-row")
    if "sr_btn" in digit:
        wire(digit["sr_btn"].click(ui(act.super_resolve), main, [seen, *digit["sr"]],
                                   api_name="super_resolve"), shown_digit, "sr-row")
    if sample:
        wire(sample["button"].click(ui(act.sample), sample["inputs"], sample["grid"],
                                    api_name="sample"), [sample["grid"]], "samples")
    if interp:
        wire(interp["button"].click(ui(act.interpolate), interp["inputs"], interp["strip"],
                                    api_name="interpolate"), [interp["strip"]], "strip")
    if latent:
        z1, z2 = latent["z"]
        # typed values decode as soon as they change (a slider's release needs a blur)
        done = gr.on([z1.change, z2.change], ui(act.decode_latent), [z1, z2],
                     [latent["point"], latent["grid"]], api_name="decode_latent",
                     trigger_mode="always_last", show_progress="hidden")
        done.failure(None, None, latent["point"], js=clear_js(1))

        def pick_latent(evt: gr.SelectData) -> tuple[float, float, np.ndarray, np.ndarray]:
            """A click on the latent map -> its (z1, z2), their decoding, the marked map."""
            return act.pick_latent(*evt.index)

        latent["grid"].select(ui(pick_latent), None, [z1, z2, latent["point"], latent["grid"]],
                              api_name="pick_latent")
        gr.on(  # on page load: drawn in the background at start-up, cached afterwards
            None, ui(act.latent_pictures), None, [latent["grid"], latent["scatter"]],
            api_name="latent_pictures", show_progress="minimal",
        )
    return act
