"""Example melodies that ship with the package: held-out folk-tune windows, usable offline.

    from gen.music.examples import load_examples
    name, tokens = load_examples(2)[0]          # ("Tune title (collection)", (32,) int64)

``gen/music/examples/mel_{bars}bar.npz`` holds a few dozen windows of 2 and 16 bars from the
*test* split of the prepared folk corpus (tunes no shipped model was trained on), one window
per tune, with readable names. ``data/make_music_examples.py`` builds them from a prepared
cache (``data/cache/music/folk``); nothing here needs the cache, music21 or note_seq.

File format (``np.load(..., allow_pickle=False)``): ``names`` (N,) unicode, ``tokens``
(N, bars*16) uint8 melody tokens (see ``gen.music.melody``), ``tune_ids`` (N,) unicode corpus
ids ``collection/file.abc#k``, ``source`` () unicode provenance line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gen.core.errors import DataError
from gen.core.files import atomic_write
from gen.music.melody import STEPS_PER_BAR, validate_tokens

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


def examples_path(bars: int) -> Path:
    """The shipped file of ``bars``-bar examples: ``gen/music/examples/mel_{bars}bar.npz``."""
    return EXAMPLES_DIR / f"mel_{int(bars)}bar.npz"


def load_examples(bars: int) -> list[tuple[str, np.ndarray]]:
    """The shipped ``bars``-bar example melodies as (name, tokens (bars*16,) int64) pairs.

    Raises DataError (saying which lengths exist) when there is no file for ``bars``.
    """
    path = examples_path(bars)
    if not path.is_file():
        have = sorted(p.name for p in EXAMPLES_DIR.glob("mel_*bar.npz"))
        raise DataError(f"no {bars}-bar example melodies are shipped ({path} is missing; "
                        f"found: {', '.join(have) or 'none'})")
    try:
        with np.load(path, allow_pickle=False) as z:
            names, tokens = z["names"], z["tokens"]
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"{path}: not a readable examples file ({e})") from e
    tokens = validate_tokens(tokens, bars * STEPS_PER_BAR, name=str(path))
    if tokens.ndim != 2 or len(names) != len(tokens):
        raise DataError(f"{path}: {len(names)} names for {len(tokens)} melodies")
    return [(str(n), t) for n, t in zip(names, tokens)]


def save_examples(path: str | Path, names: Sequence[str], tokens: np.ndarray,
                  tune_ids: Sequence[str], source: str) -> Path:
    """Write an examples file in the format ``load_examples`` reads (atomically, no pickle).

    ``tokens``: (N, T) melody tokens; ``names`` and ``tune_ids``: N strings each, names
    unique; ``source``: one provenance line.
    """
    tokens = validate_tokens(tokens, name="tokens")
    if tokens.ndim != 2 or not len(names) == len(tune_ids) == len(tokens):
        raise DataError(f"examples: {len(names)} names, {len(tune_ids)} tune ids and "
                        f"{len(tokens)} melodies must agree")
    if len(set(names)) != len(names):
        raise DataError("examples: names must be unique")
    return atomic_write(path, lambda tmp: np.savez_compressed(
        tmp, names=np.array(list(names), dtype=str), tokens=tokens.astype(np.uint8),
        tune_ids=np.array(list(tune_ids), dtype=str), source=np.array(source, dtype=str)))
