"""What both tabs share: models by role, "not available" messages, the input chooser, request
folders, range checks, the upload limit and the GenError -> message wrapper.

The pure parts (``RoleModels``, ``load_roles``, ``RequestFolders``, ``in_range``,
``check_upload``, ``md``, ``unavailable_text``) are used by the actions modules; the widget
parts (``source_tabs``, ``user_errors``, and the browser-side ``reveal_js`` and ``clear_js``)
by the layouts.
"""

from __future__ import annotations

import functools
import json
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
from typing import Any

import gradio as gr

import gen
from gen.core.errors import GenError

MAX_UPLOAD_MB = 10  # uploads above this are refused (also enforced by launch's max_file_size)
KEEP_S = 3600  # request folders older than this are deleted


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
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise GenError(f"The {field} must be a number, not {value!r}.") from None
    shown = f"{v:g}" if math.isfinite(v) else repr(value)
    if whole and math.isfinite(v) and v != int(v):
        raise GenError(f"The {field} must be a whole number, not {shown}.")
    if not (math.isfinite(v) and lo <= v <= hi):
        article = "an" if field[:1].lower() in "aeiou" else "a"
        pick = f"{context}: pick" if context else "Pick"
        raise GenError(f"{pick} {article} {field} from {lo:g} to {hi:g}{unit}, not {shown}.")
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
    names (never a name a user chose); folders older than ``keep_s`` go as new ones are made.
    """

    def __init__(self, root: str | Path, keep_s: float = KEEP_S) -> None:
        self.root = Path(root)
        self.keep_s = keep_s

    def new(self) -> Path:
        """A new empty folder for one request's files; old ones are removed here."""
        self.root.mkdir(parents=True, exist_ok=True)
        now = time.time()
        for old in self.root.iterdir():
            try:
                if now - old.stat().st_mtime > self.keep_s:
                    shutil.rmtree(old, ignore_errors=True)
            except OSError:  # removed by a concurrent request
                pass
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


def user_errors(fn: Callable) -> Callable:
    """Show a library GenError as a plain message in the app (gr.Error) instead of a crash."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GenError as e:
            raise gr.Error(str(e)) from e

    return run
