"""What both tabs share: models by role, "not available" messages, the input chooser, request
folders, range checks, the upload limit, and every error turned into words.

The pure parts (``RoleModels``, ``load_roles``, ``RequestFolders``, ``in_range``,
``check_upload``, ``md``, ``unavailable_text``) are used by the actions modules; the widget
parts (``source_tabs``, ``user_errors``, and the browser-side ``reveal_js`` and ``clear_js``)
by the layouts; ``harden`` by ``apps.app`` on the finished Blocks.

Errors: a GenError (bad input) reaches the user as its own words and the log as one line; a
MemoryError as words; anything else (a bug) as "something went wrong on our side" and the log
with its traceback. ``harden`` does the same for what Gradio checks before a handler runs
(numbers, choices, files, sketches sent through the API) and names each API parameter.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MethodType
from typing import Any

import gradio as gr

import gen
from gen.core.errors import GenError
from gen.core.limits import SKETCH_MAX_SIDE, clip, shown

MAX_UPLOAD_MB = 10  # uploads above this are refused (also enforced by launch's max_file_size)
KEEP_S = 3600  # request folders older than this are deleted
KEEP_BYTES = 2 * 2**30  # and the oldest go while a tab's request folders hold more (one
#                         16-bar 5x5 grid with audio at 40 bpm is ~220 MB)
MESSAGE_MAX = 400  # characters of an error message shown (a message never echoes large inputs)
OOPS = ("Something went wrong on our side; it has been logged. Try again, or try other "
        "inputs.")
OUT_OF_MEMORY = ("The server ran out of memory for this request: ask for less (fewer or "
                 "shorter pieces, a smaller grid), or try again later.")
log = logging.getLogger("gen.app")


# --------------------------------------------------------------------------- models by role
@dataclass(frozen=True)
class RoleModels:
    """A tab's models by role, the name or path each came from, and why any is missing.

    ``words`` maps every role the tab knows, in display order, to words for people
    ("autoencoder", "2-bar model").
    """

    words: Mapping[str, str]
    models: Mapping[str, Any]
    sources: Mapping[str, str]
    missing: Mapping[str, str]

    def get(self, role: str) -> Any:
        """The model for ``role``; a GenError saying why when it is not available."""
        if role not in self.words:
            raise GenError(f"Choose the model {' or '.join(map(repr, self.words))}, not {role!r}.")
        if role not in self.models:
            why = self.missing.get(role, "not configured")
            raise GenError(f"The {self.words[role]} is not available ({why}).")
        return self.models[role]

    def has(self, *roles: str) -> bool:
        """Whether every one of ``roles`` is loaded."""
        return all(r in self.models for r in roles)

    def loaded(self) -> list[str]:
        """The loaded roles, in display order."""
        return [r for r in self.words if r in self.models]


def load_roles(
    head: str,
    words: Mapping[str, str],
    defaults: Mapping[str, str],
    spec: Mapping[str, str | Path | None] | None,
    check: Callable[[str, Any], None],
) -> RoleModels:
    """Load one model per role with ``gen.load``.

    ``spec`` maps roles to shipped names or save_pretrained directories and overrides
    ``defaults``; ``None`` as a value switches a role off. ``check(role, model)`` raises a
    GenError when a loaded model does not fit its role. A model that cannot be loaded or does
    not fit is reported in ``missing`` (the tab then explains instead of offering it); an
    unknown role is a GenError naming the ``head`` ("image", "music").
    """
    spec = {**defaults, **(spec or {})}
    unknown = sorted(set(spec) - set(words))
    if unknown:
        raise GenError(f"unknown {head} model role(s) {unknown}; roles are {sorted(words)}")
    models: dict[str, Any] = {}
    sources: dict[str, str] = {}
    missing: dict[str, str] = {}
    for role in words:  # in display order
        name = spec.get(role)
        if name is None:
            missing[role] = "switched off"
            continue
        sources[role] = str(name)
        try:
            model = gen.load(name)
            check(role, model)
        except GenError as e:
            missing[role] = str(e)
            continue
        models[role] = model
    return RoleModels(words, models, sources, missing)


def md(text: str) -> str:
    """Text safe inside Markdown (no markup, no HTML)."""
    return re.sub(r"([\\`*_\[\]<>|~])", r"\\\1", text)


def shown_name(path: str | Path) -> str:
    """A file's name, safe to show in Markdown and messages (the user chose it)."""
    name = re.sub(r"[^\w .,()+=-]", "_", Path(str(path)).name)
    return name[:60] + ("…" if len(name) > 60 else "")


def unavailable_text(models: RoleModels, roles: Sequence[str]) -> str:
    """Markdown saying which of ``roles`` are missing, where each was to come from, and why."""
    lines = [
        f"- the {models.words[r]} ({md(models.sources.get(r, '-'))}): "
        f"{md(models.missing.get(r, 'not configured'))}"
        for r in roles
    ]
    return "**Not available:**\n" + "\n".join(lines)


# --------------------------------------------------------------------------- checks
def in_range(
    value: Any, field: str, lo: float, hi: float, *, whole: bool = False, unit: str = "",
    context: str = "",
) -> Any:
    """``value`` as a number (an int if ``whole``) within [lo, hi], else a GenError.

    The message names the field, the value and the accepted range: "Pick a tempo from 40 to
    240 bpm, not 300." ``context`` goes first ("There are 892 test images of a 3: pick ...").
    """
    article = "an" if field[:1].lower() in "aeiou" else "a"
    pick = f"{context}: pick" if context else "Pick"
    out_of_range = f"{pick} {article} {field} from {lo:g} to {hi:g}{unit}, not {shown(value)}."
    if isinstance(value, bool):
        raise GenError(f"The {field} must be a number, not {shown(value)}.")
    try:
        v = float(value)
    except OverflowError:  # an int beyond a float's range
        raise GenError(out_of_range) from None
    except (TypeError, ValueError):
        raise GenError(f"The {field} must be a number, not {shown(value)}.") from None
    said = f"{v:g}" if math.isfinite(v) else shown(value)
    if whole and math.isfinite(v) and v != int(v):
        raise GenError(f"The {field} must be a whole number, not {said}.")
    if not (math.isfinite(v) and lo <= v <= hi):
        raise GenError(f"{pick} {article} {field} from {lo:g} to {hi:g}{unit}, not {said}.")
    return int(v) if whole else v


def check_upload(path: str | Path, what: str = "files") -> Path:
    """An uploaded file that is still here and within MAX_UPLOAD_MB, else a GenError."""
    try:
        size = os.path.getsize(path)
    except OSError:
        raise GenError(f"{shown_name(path)} is no longer here (uploads are kept for an "
                       "hour); upload it again.") from None
    if size > MAX_UPLOAD_MB * 2**20:
        raise GenError(
            f"That file is {size / 2**20:.1f} MB; {what} up to {MAX_UPLOAD_MB} MB are accepted."
        )
    return Path(path)


# --------------------------------------------------------------------------- files
class RequestFolders:
    """A fresh folder per request under ``root`` (``<time>-<random>``), for files with fixed
    names (never a name a user chose). As new ones are made, folders older than ``keep_s`` go,
    and the oldest go while all of them together hold more than ``keep_bytes``: the disk the
    results of one tab take stays bounded however many requests come.
    """

    def __init__(self, root: str | Path, keep_s: float = KEEP_S,
                 keep_bytes: int = KEEP_BYTES) -> None:
        self.root = Path(root)
        self.keep_s = keep_s
        self.keep_bytes = keep_bytes

    def new(self) -> Path:
        """A new empty folder for one request's files; old ones are removed here."""
        self.root.mkdir(parents=True, exist_ok=True)
        now = time.time()
        kept: list[tuple[float, int, Path]] = []  # (modified, bytes, folder)
        for old in self.root.iterdir():
            try:
                modified = old.stat().st_mtime
                if now - modified > self.keep_s:
                    shutil.rmtree(old, ignore_errors=True)
                    continue
                size = sum(f.stat().st_size for f in old.rglob("*") if f.is_file())
            except OSError:  # removed by a concurrent request
                continue
            kept.append((modified, size, old))
        total = sum(size for _, size, _ in kept)
        for _, size, old in sorted(kept, key=lambda k: k[0]):  # the oldest first
            if total <= self.keep_bytes:
                break
            shutil.rmtree(old, ignore_errors=True)
            total -= size
        folder = self.root / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:10]}"
        folder.mkdir()
        return folder


# --------------------------------------------------------------------------- widgets
@contextmanager
def source_tabs(
    sources: Sequence[tuple[str, str]], value: str, prefix: str, label: str
) -> Iterator[tuple[gr.Radio, Callable[[str], gr.Tab]]]:
    """The input chooser: one sub-tab per source over a hidden Radio that holds the source.

    Yields ``(source, tab)``; ``with tab("upload"): ...`` builds the widgets of one source.
    Selecting a sub-tab sets the Radio in the browser (no server call). Element ids:
    ``{prefix}-source`` and ``{prefix}-tabs``.
    """
    src = gr.Radio(list(sources), value=value, label=label, visible=False,
                   elem_id=f"{prefix}-source")
    labels = {v: text for text, v in sources}

    def tab(v: str) -> gr.Tab:
        t = gr.Tab(labels[v], id=v)
        t.select(None, None, src, js=f"() => '{v}'")
        return t

    with gr.Tabs(selected=value, elem_id=f"{prefix}-tabs", overflow_behavior="wrap"):
        yield src, tab


def reveal_js(elem_id: str, block: str = "nearest") -> str:
    """A browser-side function that scrolls element ``elem_id`` into view unless it is in view
    already (``block``: "start" puts its top at the top of the window, "nearest" scrolls as
    little as possible). Chained after an action with ``.success(None, js=...)``."""
    el = json.dumps(elem_id)
    how = json.dumps({"block": block, "behavior": "instant"})
    # Tried again a moment later: a new picture or card can still be loading, and the page
    # may not be long enough yet to scroll to it.
    return (
        f"() => {{ const go = () => {{ const el = document.getElementById({el});"
        " if (!el) return; const r = el.getBoundingClientRect();"
        " const seen = r.top >= 0 && r.top < window.innerHeight * 0.6"
        " && (r.bottom <= window.innerHeight || r.top < window.innerHeight * 0.25);"
        f" if (!seen) el.scrollIntoView({how}); }};"
        " go(); setTimeout(go, 300); setTimeout(go, 1200); }"
    )


def clear_js(n: int) -> str:
    """A browser-side function that empties ``n`` output components (no server call): chained
    with ``.failure(None, None, outputs, js=...)`` so a failed action leaves no result that
    belongs to an earlier input."""
    return "() => [" + ", ".join(["null"] * n) + "]"


def refusal(message: str, where: str = "") -> gr.Error:
    """A gr.Error for input the app refuses: the message (cut to MESSAGE_MAX characters) goes to
    the user, one line to the log, no traceback anywhere."""
    text = clip(message, MESSAGE_MAX)
    log.warning("refused%s: %s", f" ({where})" if where else "", text)
    return gr.Error(text, print_exception=False)


def _failure(e: BaseException, where: str) -> gr.Error:
    """A gr.Error for an exception that is not the user's doing: MemoryError in words, anything
    else as OOPS with its traceback in the log."""
    if isinstance(e, MemoryError):
        log.error("out of memory (%s)", where)
        return gr.Error(OUT_OF_MEMORY, print_exception=False)
    log.error("unexpected failure (%s)", where, exc_info=e)
    return gr.Error(OOPS, print_exception=False)


def user_errors(fn: Callable) -> Callable:
    """Every failure of ``fn`` as a message in words (gr.Error): a GenError (bad input) as its
    own words, logged as one line; MemoryError as words; anything else as "something went
    wrong on our side", logged with its traceback. A gr.Error passes unchanged."""
    where = getattr(fn, "__name__", "handler")

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except GenError as e:
            raise refusal(str(e), where) from None
        except Exception as e:  # noqa: BLE001 - every failure (MemoryError too) in words
            raise _failure(e, where) from None

    return run


# --------------------------------------------------------------------------- the whole app
def _field(component: Any) -> str:
    """Words for a component in messages: its label, else its element id."""
    label = getattr(component, "label", None) or getattr(component, "elem_id", None)
    return str(label or type(component).__name__.lower())


def _choices(component: Any) -> list[Any]:
    return [v for _, v in getattr(component, "choices", None) or []]


def _expected(component: Any) -> str:
    """What ``component`` accepts, in words."""
    if isinstance(component, (gr.Slider, gr.Number)):
        lo, hi = getattr(component, "minimum", None), getattr(component, "maximum", None)
        whole = getattr(component, "precision", None) == 0 or getattr(component, "step", 0.5) == 1
        kind = "a whole number" if whole else "a number"
        if lo is not None and hi is not None:
            return f"{kind} from {lo:g} to {hi:g}"
        if lo is not None:
            return f"{kind} from {lo:g}"
        return kind
    if isinstance(component, (gr.Dropdown, gr.Radio)):
        values = _choices(component)
        listed = ", ".join(shown(v, 30) for v in values[:8]) + (" …" if len(values) > 8 else "")
        return f"one of its {len(values)} choices ({listed})" if values else "one of its choices"
    if isinstance(component, gr.ImageEditor):
        return ("a sketch: {background, layers, composite} of uploaded image files "
                f"up to {SKETCH_MAX_SIDE}x{SKETCH_MAX_SIDE} pixels")
    if isinstance(component, gr.Image):
        return "an uploaded picture (PNG, JPEG, GIF, BMP or WebP)"
    if isinstance(component, gr.File):
        types = getattr(component, "file_types", None)
        return f"an uploaded file ({', '.join(types)})" if types else "an uploaded file"
    return "a value of its type"


def _said(value: Any) -> str:
    """A value as a message shows it: short, and a file by its name only (never its path)."""
    path = value.get("path") if isinstance(value, dict) else getattr(value, "path", None)
    if isinstance(path, str):
        return f"the file {shown(Path(path).name)}"
    if isinstance(value, (dict, list, tuple)) or hasattr(value, "model_dump"):
        return f"a {type(value).__name__}"
    return shown(value)


def _check_sketch(payload: Any) -> None:
    """Refuse sketch layers larger than SKETCH_MAX_SIDE from their headers (Gradio decodes
    every layer before any handler runs)."""
    from PIL import Image, UnidentifiedImageError

    def path_of(x: Any) -> str | None:
        if x is None:
            return None
        return x.get("path") if isinstance(x, dict) else getattr(x, "path", None)

    get = payload.get if isinstance(payload, dict) else lambda k: getattr(payload, k, None)
    files = [get("background"), get("composite"), *(get("layers") or [])]
    for path in filter(None, map(path_of, files)):
        try:
            with Image.open(path) as im:
                w, h = im.size
        except Image.DecompressionBombError:  # PIL refuses from the header too, at its limit
            raise refusal(f"The sketch is larger than {2 * Image.MAX_IMAGE_PIXELS:,} pixels; "
                          f"the sketchpad takes layers up to {SKETCH_MAX_SIDE}x"
                          f"{SKETCH_MAX_SIDE}.", "sketch") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise refusal("The sketch is not a readable image: send PNG layers "
                          "(background, layers, composite).", "sketch") from None
        if max(w, h) > SKETCH_MAX_SIDE:
            raise refusal(f"The sketch is {w}x{h} pixels; the sketchpad takes layers up to "
                          f"{SKETCH_MAX_SIDE}x{SKETCH_MAX_SIDE}.", "sketch")


def _guarded_preprocess(self: Any, payload: Any) -> Any:
    """``preprocess`` of an input component, every failure in words naming the field."""
    field = _field(self)
    if (isinstance(self, (gr.Slider, gr.Number)) and isinstance(payload, float)
            and not math.isfinite(payload)):
        raise refusal(f"The {field} must be {_expected(self)}, not {shown(payload)}.", field)
    if isinstance(self, gr.ImageEditor) and payload is not None:
        _check_sketch(payload)
    try:
        return type(self).preprocess(self, payload)
    except gr.Error as e:  # Gradio's own words (a file type, a choice); cut, said once
        if isinstance(self, (gr.Dropdown, gr.Radio)):
            values = _choices(self)
            listed = ", ".join(shown(v, 30) for v in values[:8]) + (" …" if len(values) > 8
                                                                    else "")
            raise refusal(f"Choose the {field} from the list: {shown(payload)} is not in the "
                          f"list of choices ({listed}).", field) from None
        raise refusal(str(e.message), field) from None
    except MemoryError as e:
        raise _failure(e, field) from None
    except Exception:  # noqa: BLE001 - a value of the wrong type or form
        if isinstance(self, gr.Image) and not isinstance(self, gr.ImageEditor):
            said = _said(payload)
            raise refusal(f"{said[:1].upper()}{said[1:]} is not a readable image; upload a "
                          "PNG, JPEG, GIF, BMP or WebP picture.", field) from None
        raise refusal(f"The {field} must be {_expected(self)}, not {_said(payload)}.",
                      field) from None


def _integer_choices(self: Any) -> dict[str, Any]:
    """api_info of a Dropdown or Radio whose choices are whole numbers: an integer, with its
    range when the choices are every number from the lowest to the highest, else an enum."""
    values = _choices(self)
    if values and sorted(values) == list(range(min(values), max(values) + 1)):
        return {"type": "integer", "minimum": min(values), "maximum": max(values)}
    return {"type": "integer", "enum": values}


def _parameter_name(component: Any, taken: set[str]) -> str:
    """An API parameter name for ``component``: its element id (without the tab's ``music-``
    prefix) or label in snake case, made unique among ``taken``."""
    raw = getattr(component, "elem_id", None) or getattr(component, "label", None) or "value"
    raw = re.sub(r"^music-", "", str(raw))
    base = re.sub(r"\W+", "_", raw.lower()).strip("_") or "value"
    if base[0].isdigit():
        base = f"p_{base}"
    name, n = base, 2
    while name in taken or name in ("api_name", "fn_index", "result_callbacks"):
        name, n = f"{base}_{n}", n + 1
    return name


def _input_failure(e: BaseException, block_fn: Any, inputs: Any) -> gr.Error:
    """Words for what Gradio refused before a handler ran (see ``harden``)."""
    components = list(getattr(block_fn, "inputs", []) or [])
    name = getattr(block_fn, "api_name", None) or getattr(block_fn, "name", "") or "handler"
    text = str(e)
    found = re.search(r"input component at index (\d+)", text)
    if found and int(found.group(1)) < len(components):
        i = int(found.group(1))
        value = inputs[i] if isinstance(inputs, list) and i < len(inputs) else None
        c = components[i]
        return refusal(f"The {_field(c)} must be {_expected(c)}, not {_said(value)}.", name)
    if isinstance(e, gr.exceptions.InvalidPathError) or "InvalidPathError" in type(e).__name__:
        return refusal("A file path was refused: inputs take only files uploaded to this "
                       "server (POST /gradio_api/upload, or handle_file() in gradio_client).",
                       name)
    if "didn't receive enough input values" in text:
        got = len(inputs) if isinstance(inputs, list) else 0
        return refusal(f"This endpoint takes {len(components)} input values, not {got}.", name)
    if type(e).__name__ == "ValidationError":  # pydantic: a file or sketch of the wrong form
        model = getattr(e, "title", "")
        for c in components:
            if getattr(getattr(c, "data_model", None), "__name__", None) == model:
                return refusal(f"The {_field(c)} must be {_expected(c)}.", name)
        return refusal("A file input must be an uploaded file: {\"path\": ..., \"meta\": "
                       "{\"_type\": \"gradio.FileData\"}}.", name)
    return _failure(e, name)


def harden(demo: gr.Blocks) -> gr.Blocks:
    """Make every endpoint of ``demo`` answer in words and describe itself truthfully.

    - each input component's ``preprocess`` (Gradio's own check of what the browser or an API
      client sent: numbers, choices, files, sketches) refuses with words naming the field,
      the value (cut short) and what is accepted; sketch layers are checked from their
      headers (at most SKETCH_MAX_SIDE) before Gradio decodes them;
    - whatever else fails before or around a handler (a refused file path, too few values, a
      malformed file payload, a bug) is caught around ``process_api``: words for the user,
      one log line for bad input, a traceback in the log for a bug;
    - Dropdowns and Radios whose choices are whole numbers say so in the API (``integer``);
    - parameters that the handler's signature leaves unnamed (``*values``) are named after
      their components (element id or label) instead of ``param_N``.

    Wraps instance methods (Gradio writes a .pyi stub for every subclass). Returns ``demo``.
    """
    seen: set[int] = set()
    for fn in demo.fns.values():
        for c in fn.inputs:
            if id(c) in seen or not isinstance(c, gr.components.Component):
                continue
            seen.add(id(c))
            c.preprocess = MethodType(_guarded_preprocess, c)  # type: ignore[method-assign]
            values = _choices(c)
            if (isinstance(c, (gr.Dropdown, gr.Radio)) and values
                    and all(isinstance(v, int) and not isinstance(v, bool) for v in values)):
                c.api_info = MethodType(_integer_choices, c)  # type: ignore[method-assign]
        if fn.fn is not None and fn.api_name:
            names = list(fn.input_parameter_names or [None] * len(fn.inputs))
            names += [None] * (len(fn.inputs) - len(names))
            taken = {n for n in names if n}
            for i, n in enumerate(names):
                if n is None:
                    names[i] = _parameter_name(fn.inputs[i], taken)
                    taken.add(names[i])
            fn.input_parameter_names = names

    process_api = demo.process_api

    async def guarded_process_api(*args: Any, **kwargs: Any) -> Any:
        try:
            return await process_api(*args, **kwargs)
        except gr.Error as e:  # ours are short already; Gradio's may echo a long value
            if len(str(e.message)) > MESSAGE_MAX:
                raise refusal(str(e.message)) from None
            raise
        except Exception as e:  # noqa: BLE001 - every failure reaches the user in words
            block_fn = kwargs.get("block_fn", args[0] if args else None)
            if isinstance(block_fn, int):
                block_fn = demo.fns.get(block_fn)
            inputs = kwargs.get("inputs", args[1] if len(args) > 1 else None)
            raise _input_failure(e, block_fn, inputs) from None

    demo.process_api = guarded_process_api  # type: ignore[method-assign]
    return demo
