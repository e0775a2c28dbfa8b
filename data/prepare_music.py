"""Prepare the melody datasets: ``python data/prepare_music.py [--limit N] [--workers 2]``.

Converts the folk tunes that ship inside music21 (or, with ``--midi PATH``, your own MIDI
files) into 2-bar and 16-bar melody windows with MusicVAE's rules, splits them by tune and
caches them under ``data/cache/music/`` (git-ignored) with a ``stats.json``. The same as
``gen music-prepare``; see data/README-music.md for provenance and licences.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout

from gen.music.cli import add_music_commands  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Parse the music-prepare options and run it."""
    parser = argparse.ArgumentParser(prog="prepare_music.py")
    sub = parser.add_subparsers(dest="command")
    add_music_commands(sub)
    args = parser.parse_args(["music-prepare", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
