"""The piano-roll head's front for the CLI and the app: rolls in (benchmark test pieces,
MIDI files with a conversion report, arrays), MIDI, zip, audio and pictures out.

Callers outside the head (gen.cli, apps/) import piano-roll things from here only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gen.core.errors import GenError
from gen.core.files import atomic_write, out_file
from gen.music.pianoroll import (
    BENCHMARKS,
    RollReport,
    load_benchmark,
    roll_list,
    transpose_roll,
)
from gen.music.render import roll_notes
from gen.music.rollmodel import PianoRollVAE, check_roll

__all__ = ["PianoRollVAE", "RollReport", "examples", "midi_roll", "read", "roll_image",
           "roll_notes", "roll_to_wav", "ship_pictures", "write", "write_midi"]


def describe_input() -> str:
    """How the CLI's input specs read for piano-roll models."""
    return ("a held-out test piece of the model's benchmark by number (e.g. 3), a MIDI file "
            "(all pitched tracks merged, transposed to C, its first max_frames frames) or a "
            ".npy roll (T, 88) / .npz of rolls (FILE.npz#N for roll N)")


def benchmark_of(model: PianoRollVAE) -> str:
    """The model's benchmark (``gen.music.rolleval.default_benchmark``)."""
    from gen.music.rolleval import default_benchmark

    return default_benchmark(model)


def examples(model: PianoRollVAE, n: int | None = None) -> list[tuple[str, np.ndarray]]:
    """Held-out test pieces of the model's benchmark: [(title, (T, 88) uint8)], each cut to
    the model's ``max_frames``."""
    name = benchmark_of(model)
    pieces = load_benchmark(name, "test")
    w = int(model.config.max_frames)
    title = BENCHMARKS[name].title
    out = [(f"{title} test piece {i} ({min(len(p), w)} frames)", p[:w])
           for i, p in enumerate(pieces)]
    return out[:n] if n else out


def midi_roll(model: PianoRollVAE, path: str | Path, transpose_to_c: bool = True
              ) -> tuple[np.ndarray, RollReport]:
    """A MIDI file -> ((T, 88) roll on the model's frame grid, its report); GenError with the
    report's words when the file has no usable notes."""
    return model.roll(path, transpose_to_c)


def _one(model: PianoRollVAE, spec: str) -> np.ndarray:
    if spec.isdigit():
        ex = examples(model)
        i = int(spec)
        if i >= len(ex):
            raise GenError(f"input {spec}: there are {len(ex)} test pieces (0..{len(ex) - 1})")
        return ex[i][1]
    path, _, idx = spec.rpartition("#") if "#" in spec else (spec, "", "0")
    if not idx.isdigit():
        raise GenError(f"input {spec}: the part after '#' must be a roll number")
    p = Path(path)
    if p.suffix.lower() in (".npy", ".npz"):
        if not p.is_file():
            raise GenError(f"{p}: no such file")
        try:
            data = np.load(p, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise GenError(f"{p}: not a numpy roll file ({e})") from None
        rolls = [data[k] for k in sorted(data.files)] if p.suffix.lower() == ".npz" else (
            list(data) if data.ndim == 3 else [data])
        i = int(idx)
        if i >= len(rolls):
            raise GenError(f"{p}: roll {i} out of range; it holds {len(rolls)}")
        return check_roll(rolls[i][: model.config.max_frames], model.config.max_frames, str(p))
    return model.roll(p)[0]


def read(model: PianoRollVAE, specs: list[str]) -> list[np.ndarray]:
    """Input specs -> rolls [(T_i, 88)]; no specs: the first 4 test pieces."""
    return [_one(model, s) for s in (specs or ["0", "1", "2", "3"])]


def write_midi(model: PianoRollVAE, rolls: Any, path: str | Path, bpm: float | None = None,
               program: int | None = None, transpose: int = 0) -> Path:
    """Rolls one after another (a bar of silence between) -> one MIDI file."""
    return model.to_midi(roll_list(rolls), path, bpm, program, transpose)


def roll_to_wav(model: PianoRollVAE, rolls: Any, path: str | Path, bpm: float | None = None,
                program: int | None = None, transpose: int = 0) -> Path:
    """Rolls -> a WAV file (fluidsynth with the General MIDI soundfont; see render.py)."""
    from gen.music.pianoroll import roll_to_pretty_midi
    from gen.music.render import SAMPLE_RATE, synthesize, write_wav

    shift = int(transpose) - model.config.pitch_offset  # the written register
    items = [transpose_roll(r, shift) if shift else r for r in roll_list(rolls)]
    fpq = int(model.config.frames_per_quarter)
    gap = np.zeros((4 * fpq, 88), dtype=np.uint8)
    joined = np.concatenate([x for i, r in enumerate(items) for x in ((gap, r) if i else (r,))])
    pm = roll_to_pretty_midi(joined, fpq, model.config.bpm if bpm is None else bpm,
                             model.config.program if program is None else program)
    audio, _ = synthesize(pm)
    return write_wav(path, audio, SAMPLE_RATE)


def roll_image(model: PianoRollVAE, rolls: Any, titles: list[str] | None = None,
               cols: int = 1) -> np.ndarray:
    """Rolls -> an RGB picture (H, W, 3) uint8, one panel per roll, pitches labelled in the
    written register (``pitch_offset`` undone)."""
    from gen.music.render import roll_image as draw

    return draw(roll_list(rolls), int(model.config.frames_per_quarter), titles, cols,
                lowest_pitch=21 - model.config.pitch_offset)


def write(model: PianoRollVAE, outputs: Any, out_dir: str | Path, stem: str,
          titles: list[str], options: dict) -> list[Path]:
    """Write rolls: ``stem.mid`` (all in sequence), ``stem_XX.mid`` each, ``stem.npz`` (one
    array per roll) and unless switched off ``stem.wav`` and ``stem.png``.

    ``options``: bpm, program (None: the model's), audio (bool), plot (bool)."""
    from PIL import Image

    rolls = roll_list(outputs)
    bpm, program = options.get("bpm"), options.get("program")
    written = [write_midi(model, rolls, out_file(out_dir, f"{stem}.mid"), bpm, program)]
    for i, r in enumerate(rolls):
        written.append(write_midi(model, [r], out_file(out_dir, f"{stem}_{i:02d}.mid"), bpm,
                                  program))
    npz = out_file(out_dir, f"{stem}.npz")
    written.append(atomic_write(npz, lambda tmp: np.savez_compressed(
        tmp, **{f"roll_{i:03d}": r for i, r in enumerate(rolls)})))
    if options.get("audio", True):
        written.append(roll_to_wav(model, rolls, out_file(out_dir, f"{stem}.wav"), bpm,
                                   program))
    if options.get("plot", True):
        image = Image.fromarray(roll_image(model, rolls, titles))
        written.append(atomic_write(out_file(out_dir, f"{stem}.png"),
                                    lambda tmp: image.save(tmp, format="PNG")))
    return written


def ship_pictures(model: PianoRollVAE, dest: str | Path, name: str) -> list[Path]:
    """``samples.png``: four prior samples (temperature 1, seed 0)."""
    from PIL import Image

    rolls = model.sample(n=4, temperature=1.0, seed=0)
    image = Image.fromarray(roll_image(
        model, rolls, [f"{name}: sample {i} (temperature 1, seed 0)" for i in range(4)]))
    path = Path(dest) / "samples.png"
    return [atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))]
