"""The `gen` browser app: ``python -m apps.app [--port 7860] [--share]``.

``build_demo()`` returns the Gradio Blocks (one tab per head, each built by its layout module:
``apps/image/layout.py``, ``apps/music/layout.py``, over their ``actions`` modules);
``launch()`` serves it on 127.0.0.1 with the app's upload limit and styling. Nothing is started
at import time.

Files: each request's results are written into a fresh folder under ``--out`` (``image/requests``,
``music/requests``) and served from there (not copied into Gradio's cache); folders older than
an hour are deleted as new ones are made. Uploads go to Gradio's cache in the system temp folder
(GRADIO_TEMP_DIR, if set), where files older than an hour are deleted every hour.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from apps.common import KEEP_S, MAX_UPLOAD_MB, harden
from apps.image.actions import DEFAULT_IMAGE_MODELS, load_image_models
from apps.image.layout import image_tab
from apps.music.actions import DEFAULT_MUSIC_MODELS, load_music_models
from apps.music.layout import music_tab
from apps.music.view import VIEW_CSS
from gen.core.errors import GenError

HOST = "127.0.0.1"
LAUNCH_TRIES = 3
DEFAULT_OUT = Path("out") / "app"
CSS = """
.pixelated img, .pixelated canvas { image-rendering: pixelated; }
/* dropdowns: the text stops before the arrow (Gradio lets it run under it) */
.wrap-inner .secondary-wrap input { padding-right: 24px !important; text-overflow: ellipsis; }
""" + VIEW_CSS
INTRO = """\
# gen: autoencoders and VAEs
**Image**: draw or upload a digit and watch the models encode, denoise, enlarge, sample and
interpolate. **Music**: pick or upload melodies or pieces with chords, listen to them, then
reconstruct, sample, interpolate and play every result on its own, with MIDI downloads.
Every button is also an API endpoint: see "Use via API" at the bottom of the page.
"""


# Served inline from the app's own origin: pictures, audio, MIDI, zip. Anything else under a
# file route (an uploaded .html or .svg) is sent as a download: nothing a user sent can run
# as a page of this origin.
INLINE_TYPES = frozenset({
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp",
    "audio/wav", "audio/x-wav", "audio/wave", "audio/mpeg", "audio/ogg", "audio/flac",
    "audio/midi", "audio/x-midi", "audio/mid", "application/zip", "application/octet-stream",
})


class InlineGuard:
    """ASGI middleware: responses of the file routes (``/file=``, ``/proxy=``) whose type is not
    in INLINE_TYPES become ``application/octet-stream`` downloads (``Content-Disposition:
    attachment``), and every one says ``X-Content-Type-Options: nosniff``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope.get("type") == "http" else ""
        if "/file=" not in path and "/proxy=" not in path:
            await self.app(scope, receive, send)
            return

        async def guarded(message: dict) -> None:
            if message.get("type") == "http.response.start":
                headers = list(message.get("headers", []))
                kind = dict(headers).get(b"content-type", b"").split(b";")[0].strip().lower()
                if kind and kind.decode("latin-1") not in INLINE_TYPES:
                    headers = [(k, v) for k, v in headers
                               if k.lower() not in (b"content-type", b"content-disposition")]
                    headers += [(b"content-type", b"application/octet-stream"),
                                (b"content-disposition", b"attachment")]
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, guarded)


def use_temp_dir() -> Path:
    """Point GRADIO_TEMP_DIR (Gradio's cache of uploads) at a private folder of the system temp
    folder, ``gen-app-<uid>/gradio``, unless the user has set it already.

    Not under the install: the paths of uploads show in API answers, and no folder the app
    serves as its own (``--out``) may hold what users upload.
    """
    tmp = os.environ.get("GRADIO_TEMP_DIR")
    if not tmp:
        base = Path(tempfile.gettempdir()) / f"gen-app-{os.getuid()}"
        base.mkdir(mode=0o700, exist_ok=True)
        if base.stat().st_uid != os.getuid() or base.is_symlink():  # someone else's folder
            base = Path(tempfile.mkdtemp(prefix="gen-app-"))
        tmp = os.environ["GRADIO_TEMP_DIR"] = str(base / "gradio")
    Path(tmp).mkdir(parents=True, exist_ok=True)
    return Path(tmp)


def build_demo(
    image_models: Mapping[str, str | Path | None] | None = None,
    out_dir: str | Path = DEFAULT_OUT,
    music_models: Mapping[str, str | Path | None] | None = None,
) -> gr.Blocks:
    """The app as a Gradio Blocks object, with every model loaded once, here.

    ``image_models`` maps the Image tab's roles (ae, vae, dae, sr, vae2d) to shipped model
    names or save_pretrained directories; missing roles take ``DEFAULT_IMAGE_MODELS``.
    ``out_dir`` receives the app's own files (latent scatter, each request's results).
    ``music_models`` maps the Music tab's roles (``apps.music.actions.ROLES``: "2-bar",
    "16-bar", "chorales", "folk-chords", "piano", "classical") the same way; missing roles
    take ``DEFAULT_MUSIC_MODELS``.

    Both tabs serve their results from request folders: ``demo.media_dirs`` lists the folders
    that ``launch`` lets the server send. They are Gradio static paths, so results are served
    from there rather than copied into Gradio's cache (stored once). Every endpoint answers
    errors in words (``apps.common.harden``).
    """
    out = Path(out_dir)
    use_temp_dir()
    images = load_image_models(image_models)
    melodies = load_music_models(music_models)
    for models in (images, melodies):
        for role, why in models.missing.items():
            print(f"warning: the {models.words[role]} is not available: {why}", file=sys.stderr)
    with gr.Blocks(
        title="gen: autoencoders and VAEs",
        analytics_enabled=False,
        delete_cache=(KEEP_S, KEEP_S),  # hourly, drop cached uploads older than an hour
    ) as demo:
        gr.Markdown(INTRO)
        with gr.Tabs(elem_id="heads", overflow_behavior="wrap"):
            with gr.Tab("Image", id="image"):
                image = image_tab(images, out / "image")
            with gr.Tab("Music", id="music"):
                music = music_tab(melodies, out / "music")
    demo.media_dirs = [image.media_dir, music.media_dir]  # type: ignore[attr-defined]
    for folder in demo.media_dirs:  # type: ignore[attr-defined]
        Path(folder).mkdir(parents=True, exist_ok=True)
    gr.set_static_paths([str(Path(p)) for p in demo.media_dirs])  # type: ignore[attr-defined]
    return harden(demo)


def launch(
    demo: gr.Blocks, port: int = 7860, share: bool = False, block: bool = True,
    out_dir: str | Path | None = None,
) -> gr.Blocks:
    """Serve ``demo`` on 127.0.0.1:``port`` (a public share link only if ``share``).

    ``out_dir``: the folder given to ``build_demo``; the files it returns are served from there.
    The folders in ``demo.media_dirs`` (both tabs' request folders) are served in any case.

    Uploads over MAX_UPLOAD_MB are refused by the server itself; uploaded HTML, SVG and other
    types a browser could run are only ever sent as downloads (``InlineGuard``).
    ``block=False`` returns once the server is up (tests, benchmarks); call ``demo.close()``
    to stop it.
    """
    demo.queue(default_concurrency_limit=2)
    allowed = [str(out_dir)] if out_dir is not None else []
    allowed += [str(Path(p).resolve()) for p in getattr(demo, "media_dirs", [])]
    for attempt in range(LAUNCH_TRIES):
        try:
            demo.launch(
                server_name=HOST,
                server_port=port,
                share=share,
                max_file_size=f"{MAX_UPLOAD_MB}mb",
                prevent_thread_lock=not block,
                ssr_mode=False,
                css=CSS,
                show_error=False,
                quiet=not block,
                allowed_paths=allowed,
                app_kwargs={"middleware": [Middleware(InlineGuard)]},
            )
            break
        except ValueError as e:
            # Gradio gives its own server 3 s to answer a first request; on a busy machine
            # the first page (the whole app's layout) can take longer: try again.
            if "localhost is not accessible" not in str(e) or attempt == LAUNCH_TRIES - 1:
                raise
            demo.close()
            print(f"warning: the server was slow to answer its first request; starting it "
                  f"again ({attempt + 2}/{LAUNCH_TRIES})", file=sys.stderr)
    return demo


def _role_spec(items: Sequence[str], flag: str = "--image-model") -> dict[str, str]:
    spec: dict[str, str] = {}
    for item in items:
        role, sep, name = item.partition("=")
        if not sep or not role or not name:
            raise SystemExit(f"{flag} takes ROLE=NAME_OR_DIR, got {item!r}")
        spec[role] = name
    return spec


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: build the app and serve it until interrupted."""
    p = argparse.ArgumentParser(prog="python -m apps.app", description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=7860, help="port on 127.0.0.1 (default 7860)")
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="folder for the app's own files")
    p.add_argument(
        "--image-model",
        action="append",
        default=[],
        metavar="ROLE=NAME_OR_DIR",
        help=f"use another model for a role; roles and defaults: {DEFAULT_IMAGE_MODELS}",
    )
    p.add_argument(
        "--music-model",
        action="append",
        default=[],
        metavar="ROLE=NAME_OR_DIR",
        help=f"use another model for a role; roles and defaults: {DEFAULT_MUSIC_MODELS}",
    )
    args = p.parse_args(argv)
    handler = logging.StreamHandler()  # refused inputs: one line each; bugs: with traceback
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    app_log = logging.getLogger("gen.app")
    app_log.addHandler(handler)
    app_log.setLevel(logging.INFO)
    try:
        demo = build_demo(
            _role_spec(args.image_model),
            args.out,
            _role_spec(args.music_model, "--music-model"),
        )
    except GenError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(1) from e
    launch(demo, port=args.port, share=args.share, out_dir=args.out)


if __name__ == "__main__":
    main()
