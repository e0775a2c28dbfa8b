"""Writing files safely: atomic writes and output names that never leave their folder.

Every file `gen` writes goes through ``atomic_write``: the content is written to a fresh,
uniquely named temporary file beside the target and renamed over it, so a reader never sees
a half-written file, a crash never leaves one, and two writers of the same name never share
a temporary file. Names derived from user input go through ``safe_name`` and ``out_file``.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from gen.core.errors import GenError

FILE_MODE = 0o644  # mode of every file written here (readable by all, like open() makes)
DIR_MODE = 0o755


def atomic_write(path: str | Path, write: Callable[[Path], object], fsync: bool = False) -> Path:
    """Create ``path`` by calling ``write(tmp)`` on a temporary path beside it, then renaming.

    The temporary name keeps ``path``'s suffix, so writers that pick a format from the
    extension (savefig, np.savez, soundfile) behave as for ``path`` itself. ``fsync`` flushes
    the data to disk before the rename (checkpoints).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}",
                                    dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, FILE_MODE)  # mkstemp makes 0600; results are ordinary files
        if fsync:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Atomically write ``text`` (UTF-8) to ``path``."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def safe_name(name: str, default: str = "item") -> str:
    """A file-name-safe version of ``name``: letters, digits, '-', '_', '.' only, no leading
    dot, at most 80 characters; used for every name derived from user input."""
    s = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(str(name)).name).lstrip(".")[:80]
    return s or default


def out_file(out_dir: str | Path, name: str) -> Path:
    """``out_dir / name`` for a fixed or sanitised ``name``; refuses paths that escape it."""
    out_dir = Path(out_dir).resolve()
    path = (out_dir / name).resolve()
    if path.parent != out_dir:
        raise GenError(f"refusing to write {name!r} outside the output folder {out_dir}")
    return path


def output_dir(path: str | Path, field: str = "--out") -> Path:
    """Create the output folder ``path`` (parents too) and check that it can be written."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise GenError(f"{field} {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GenError(f"{field} {out}: cannot create the folder ({e.strerror})") from e
    if not os.access(out, os.W_OK | os.X_OK):
        raise GenError(f"{field} {out}: the folder is not writable")
    return out
