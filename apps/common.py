"""What both tabs share: the upload limit and the GenError -> message wrapper."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import gradio as gr

from gen.core.errors import GenError

MAX_UPLOAD_MB = 10  # uploads above this are refused (also enforced by launch's max_file_size)


def user_errors(fn: Callable) -> Callable:
    """Show a library GenError as a plain message in the app (gr.Error) instead of a crash."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GenError as e:
            raise gr.Error(str(e)) from e

    return run
