"""The music head's front for the CLI and the app: MIDI in (with extraction reports), MIDI,
zip, audio and piano rolls out, and the shipped example melodies.

Callers outside the head (gen.cli, apps/) import music things from here only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gen.core import limits
from gen.core.errors import GenError
from gen.core.files import out_file
from gen.music.examples import load_examples
from gen.music.extract import (
    MELODY_RULE,
    ExtractionOptions,
    ExtractionReport,
    TrackInfo,
    extract_file,
    list_tracks,
    melody_track,
    melody_window,
    melody_windows,
)
from gen.music.melody import (
    STEPS_PER_BAR,
    STEPS_PER_QUARTER,
    pitch_name,
    tokens_to_notes,
    validate_tokens,
)
from gen.music.midi import MIDI_SUFFIXES, find_midi_files, to_midi, to_midi_zip
from gen.music.model import MusicVAE
from gen.music.render import SineFallbackWarning, pianoroll_image, plot_pianoroll, render_audio

__all__ = [
    "MELODY_RULE", "MIDI_SUFFIXES", "ExtractionOptions", "ExtractionReport", "MusicVAE",
    "SineFallbackWarning", "TrackInfo", "audio_seconds", "check_output", "extract_file",
    "find_midi_files",
    "list_tracks", "load_examples", "melody_track", "melody_window", "melody_windows",
    "pianoroll_image", "pitch_name", "plot_pianoroll", "read", "render_audio",
    "ship_pictures", "to_midi", "to_midi_zip", "tokens_to_notes", "write",
]


def describe_input() -> str:
    """How the CLI's input specs read for music models."""
    return ("a shipped held-out example by number (e.g. 3), a MIDI file (its first melody "
            "window; FILE.mid#N for window N) or a .npy token array (FILE.npy#N for row N)")


def _one(model: MusicVAE, spec: str, track: int | str | None = None) -> np.ndarray:
    """One input spec -> tokens (T,); ``track`` picks the track of a MIDI input."""
    if spec.isdigit():
        ex = load_examples(model.config.bars)
        i = int(spec)
        if i >= len(ex):
            raise GenError(f"input {limits.clip(spec, 40)}: there are {len(ex)} shipped "
                           f"{model.config.bars}-bar examples (0..{len(ex) - 1})")
        return ex[i][1]
    path, _, idx = spec.rpartition("#") if "#" in spec else (spec, "", "0")
    if not idx.lstrip("-").isdigit():
        raise GenError(f"input {limits.clip(spec, 80)}: the part after '#' must be a window "
                       "number")
    index, p = int(idx), Path(path)
    if p.suffix.lower() == ".npy":
        arr = limits.checked_array(p, "input", max_rows=2**62)  # one row is taken
        arr = validate_tokens(arr, model.config.seq_len, name=str(p)).reshape(
            -1, model.config.seq_len)
        if not -len(arr) <= index < len(arr):
            raise GenError(f"{p}: index {index} out of range; it holds {len(arr)} melodies")
        return arr[index]
    return melody_window(p, model.config.bars, index, track=track)


def read(model: MusicVAE, specs: list[str], track: int | str | None = None) -> np.ndarray:
    """Input specs -> melodies (N, T) int64; no specs: the first 4 shipped examples.

    ``track``: for MIDI inputs, the track to read (a number or name; "all"); default the
    melody track by ``MELODY_RULE``.
    """
    specs = specs or ["0", "1", "2", "3"]
    return np.stack([_one(model, s, track) for s in specs]).astype(np.int64)


def audio_seconds(melodies: np.ndarray | list, bpm: float, gap_bars: int) -> float:
    """Length in seconds of the audio of melodies (N, T) played in sequence with ``gap_bars``
    bars of rest between."""
    lengths = [len(m) for m in melodies]
    steps = sum(lengths) + gap_bars * STEPS_PER_BAR * max(0, len(lengths) - 1)
    return steps * 60.0 / bpm / STEPS_PER_QUARTER


def _check_audio(lengths: list[int], options: dict) -> tuple[float, int]:
    """(bpm, gap_bars) of the output options, refusing audio longer than AUDIO_MAX_SECONDS."""
    bpm = limits.check_number(120.0 if options.get("bpm") is None else options["bpm"], "bpm",
                              *limits.BPM_RANGE)
    gap = limits.check_whole(options.get("gap_bars", 1), "gap_bars", 0, limits.MAX_GAP_BARS)
    if options.get("audio", True):
        secs = audio_seconds([np.zeros(n) for n in lengths], bpm, gap)
        if secs > limits.AUDIO_MAX_SECONDS:
            raise GenError(
                f"the audio would last {secs:,.0f} s at {bpm:g} bpm; at most "
                f"{limits.AUDIO_MAX_SECONDS:g} s is rendered (gen.core.limits."
                "AUDIO_MAX_SECONDS): raise the bpm, write fewer melodies or add --no-audio")
    return bpm, gap


def check_output(model: MusicVAE, count: int, options: dict) -> None:
    """Refuse output options for ``count`` melodies that exceed a budget (the audio length),
    before the model runs."""
    _check_audio([model.config.seq_len] * int(count), options)


def write(model: MusicVAE, outputs: np.ndarray, out_dir: str | Path, stem: str,
          titles: list[str], options: dict) -> list[Path]:
    """Write melodies (N, T): ``stem.mid`` (all in sequence), ``stem_XX.mid`` each,
    ``stem.npy``, and unless switched off ``stem.wav`` (audio) and ``stem.png`` (piano roll).

    ``options``: bpm, program, gap_bars, audio (bool), plot (bool).
    """
    bpm, gap = _check_audio([len(m) for m in outputs], options)
    program = int(options.get("program") or 0)
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
