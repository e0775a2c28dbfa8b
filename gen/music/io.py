"""The music head's front for the CLI and the app: MIDI in (with extraction reports), MIDI,
zip, audio and piano rolls out, and the shipped example melodies.

Callers outside the head (gen.cli, apps/) import music things from here only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gen.core.errors import GenError
from gen.core.files import out_file
from gen.music.examples import load_examples
from gen.music.extract import (
    ExtractionOptions,
    ExtractionReport,
    extract_file,
    melody_window,
    melody_windows,
)
from gen.music.melody import pitch_name, tokens_to_notes, validate_tokens
from gen.music.midi import MIDI_SUFFIXES, find_midi_files, to_midi, to_midi_zip
from gen.music.model import MusicVAE
from gen.music.render import SineFallbackWarning, pianoroll_image, plot_pianoroll, render_audio

__all__ = [
    "MIDI_SUFFIXES", "ExtractionOptions", "ExtractionReport", "MusicVAE",
    "SineFallbackWarning", "extract_file", "find_midi_files", "load_examples",
    "melody_window", "melody_windows", "pianoroll_image", "pitch_name", "plot_pianoroll",
    "read", "render_audio", "ship_pictures", "to_midi", "to_midi_zip", "tokens_to_notes",
    "write",
]


def describe_input() -> str:
    """How the CLI's input specs read for music models."""
    return ("a shipped held-out example by number (e.g. 3), a MIDI file (its first melody "
            "window; FILE.mid#N for window N) or a .npy token array (FILE.npy#N for row N)")


def _one(model: MusicVAE, spec: str) -> np.ndarray:
    """One input spec -> tokens (T,)."""
    if spec.isdigit():
        ex = load_examples(model.config.bars)
        i = int(spec)
        if i >= len(ex):
            raise GenError(f"input {spec}: there are {len(ex)} shipped {model.config.bars}-bar "
                           f"examples (0..{len(ex) - 1})")
        return ex[i][1]
    path, _, idx = spec.rpartition("#") if "#" in spec else (spec, "", "0")
    if not idx.lstrip("-").isdigit():
        raise GenError(f"input {spec}: the part after '#' must be a window number")
    index, p = int(idx), Path(path)
    if p.suffix.lower() == ".npy":
        if not p.is_file():
            raise GenError(f"{p}: no such file")
        try:
            arr = np.load(p, allow_pickle=False)
        except ValueError as e:
            raise GenError(f"{p}: not a numpy token array ({e})") from None
        arr = validate_tokens(arr, model.config.seq_len, name=str(p)).reshape(
            -1, model.config.seq_len)
        if not -len(arr) <= index < len(arr):
            raise GenError(f"{p}: index {index} out of range; it holds {len(arr)} melodies")
        return arr[index]
    return melody_window(p, model.config.bars, index)


def read(model: MusicVAE, specs: list[str]) -> np.ndarray:
    """Input specs -> melodies (N, T) int64; no specs: the first 4 shipped examples."""
    specs = specs or ["0", "1", "2", "3"]
    return np.stack([_one(model, s) for s in specs]).astype(np.int64)


def write(model: MusicVAE, outputs: np.ndarray, out_dir: str | Path, stem: str,
          titles: list[str], options: dict) -> list[Path]:
    """Write melodies (N, T): ``stem.mid`` (all in sequence), ``stem_XX.mid`` each,
    ``stem.npy``, and unless switched off ``stem.wav`` (audio) and ``stem.png`` (piano roll).

    ``options``: bpm, program, gap_bars, audio (bool), plot (bool).
    """
    bpm = float(120.0 if options.get("bpm") is None else options["bpm"])
    program = int(options.get("program") or 0)
    gap = int(options.get("gap_bars", 1))
    written = [to_midi(outputs, out_file(out_dir, f"{stem}.mid"), bpm, program, gap)]
    for i, m in enumerate(outputs):
        written.append(to_midi(m, out_file(out_dir, f"{stem}_{i:02d}.mid"), bpm, program, 0))
    npy = out_file(out_dir, f"{stem}.npy")
    np.save(npy, np.asarray(outputs, dtype=np.int64))
    written.append(npy)
    if options.get("audio", True):
        written.append(render_audio(outputs, out_file(out_dir, f"{stem}.wav"), bpm, program,
                                    gap))
    if options.get("plot", True):
        written.append(plot_pianoroll(outputs, out_file(out_dir, f"{stem}.png"), titles))
    return written


def ship_pictures(model: MusicVAE, dest: str | Path, name: str) -> list[Path]:
    """``samples.png``: piano rolls of four prior samples (temperature 0.5, seed 0)."""
    mels = model.sample(n=4, temperature=0.5, seed=0)
    return [plot_pianoroll(mels, Path(dest) / "samples.png",
                           [f"{name}: sample {i} (temperature 0.5, seed 0)" for i in range(4)])]
