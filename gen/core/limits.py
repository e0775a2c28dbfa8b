"""Work budgets: every input that makes work is checked against these limits *before* the work
starts, so no input can make `gen` spend unbounded memory or time.

One place for the CLI, the Python API and the app. Each limit is a plain constant with the
reason for its size; messages that refuse or cut an input name the limit, the value and the
accepted range (``check_whole`` / ``check_number`` below), without echoing large inputs.

Two kinds of budget:
- *refused*: counts, steps, grid sizes, tempi, seeds and sizes outside their range are errors
  (the CLI exits with status 2);
- *cut*: a long but legitimate MIDI file is read up to the first ``MIDI_MAX_SECONDS`` (and the
  other MIDI budgets below) with a notice, instead of being refused.

This module imports nothing heavy (no torch, no numpy): ``gen --help`` stays fast.
"""

from __future__ import annotations

import math
from typing import Any

from gen.core.errors import GenError

# ----------------------------------------------------------------------------- MIDI input
# Checked by gen.music.midi.scan_midi from the raw bytes, before mido / pretty_midi / note_seq
# build any message, note list or piano roll.
MIDI_MAX_BYTES = 16 * 2**20  # larger files are refused unread (the app's upload limit is lower)
MIDI_MAX_SECONDS = 600.0  # longer files: the first 10 minutes are used, with a notice
MIDI_MAX_BEATS = 2_400  # quarter notes read (600 bars of 4/4; 10 minutes at 240 bpm): bounds
#                          the quantized grid whatever the tempo claims
MIDI_MAX_TICKS = 10_000_000  # pretty_midi allocates one float per tick (80 MB at this size)
MIDI_MAX_NOTES = 50_000  # notes read: 83 a second for 10 minutes (long piano pieces have
#                           ~20,000); parsing is the slow part (mido + pretty_midi)
MIDI_MAX_EVENTS = 1_000_000  # MIDI events of any kind scanned (controller / pitch-bend floods)
MIDI_MAX_TRACKS = 64  # track chunks read; later ones are ignored with a notice
MIDI_MAX_TIME_CHANGES = 2_000  # tempo + time-signature events (each one splits the melody)
MAX_WINDOWS_PER_FILE = 4_096  # melody windows kept per file (distinct ones, first first)

# ----------------------------------------------------------------------------- images
IMAGE_MAX_PIXELS = 40_000_000  # from the header, before decoding (PIL's bomb limit is set too)
SKETCH_MAX_SIDE = 2048  # the app's sketch layers (its canvas is 280 px), from their headers
IMAGE_MAX_BYTES = 32 * 2**20  # picture files larger than this are refused unread
ARRAY_MAX_BYTES = 256 * 2**20  # .npy inputs: checked from the header before loading
DATASET_MAX_BYTES = 2 * 2**30  # one IDX / npz training array (EMNIST-size sets fit)

# ----------------------------------------------------------------------------- counts
MAX_SAMPLES = 1_024  # samples per call (gen sample --n; model.sample(n))
MAX_INPUTS = 256  # inputs per call (gen reconstruct INPUT ...; rows of a .npy input)
MAX_INTERPOLATION_STEPS = 256  # points on an interpolation path, endpoints included (>= 2)
MAX_GRID_SIDE = 32  # rows and columns of a latent grid (>= 2 each)
MAX_PICTURE_COLUMNS = 64  # columns of a picture grid
MAX_TRAIN_STEPS = 100_000_000  # optimiser steps of one run
MAX_EVAL_ITEMS = 1_000_000  # gen eval --limit
MAX_IMPORTANCE_SAMPLES = 10_000  # gen eval --k (memory grows with k)
MAX_INTERPOLATION_PAIRS = 10_000  # gen eval --pairs
MAX_WORKERS = 256  # data preparation processes
MAX_SEED = 2**63 - 1  # seeds are whole numbers 0..MAX_SEED
MODEL_MAX_PARAMETERS = 500_000_000  # a config whose model would hold more is refused before
#                                     any weight is allocated (2 GB of float32)

# ----------------------------------------------------------------------------- sampling knobs
TEMPERATURE_RANGE = (0.01, 100.0)  # decoder temperature (music); below 0.01 use --greedy
PRIOR_SCALE_RANGE = (0.001, 100.0)  # standard deviation of the prior draws

# ----------------------------------------------------------------------------- music output
BPM_RANGE = (20.0, 400.0)  # tempo of written MIDI and audio (quarter notes per minute)
PROGRAM_RANGE = (0, 127)  # General MIDI programs
MAX_GAP_BARS = 16  # silent bars between melodies in a combined file
AUDIO_MAX_SECONDS = 600.0  # rendered audio per file (10 minutes: 53 MB of 16-bit WAV)
MIDI_WINDOW_BARS = (2, 16)  # melody window lengths of the shipped models (gen extract --bars)
MAX_WINDOW_BARS = 64  # the longest melody window the extraction slices


# ----------------------------------------------------------------------------- checks
def shown(value: Any, width: int = 40) -> str:
    """``repr(value)`` cut to ``width`` characters, so a message never echoes a large input."""
    try:
        text = repr(value) if not isinstance(value, float) else f"{value:g}"
    except ValueError:  # an int of more than 4,300 digits has no repr
        text = "a number of more than 4,300 digits"
    return text if len(text) <= width else text[: width - 1] + "…"


def check_whole(value: Any, field: str, lo: int, hi: int | None = None) -> int:
    """``value`` as an int within ``lo..hi`` (``hi`` None: no upper bound), else a GenError
    naming the field, the value and the accepted range. Floats must be whole; bools refused."""
    bad = isinstance(value, bool)
    v: int | None = None
    if not bad:
        try:
            f = float(value) if not isinstance(value, int) else value
            if isinstance(f, float) and not (math.isfinite(f) and f == int(f)):
                bad = True
            else:
                v = int(f)
        except (TypeError, ValueError, OverflowError):
            bad = True
    rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
    if bad or v is None:
        raise GenError(f"{field} must be a whole number in {rng}, got {shown(value)}")
    if v < lo or (hi is not None and v > hi):
        raise GenError(f"{field} must be in {rng}, got {shown(v)}")
    return v


def check_number(value: Any, field: str, lo: float, hi: float, unit: str = "") -> float:
    """``value`` as a finite float within ``[lo, hi]``, else a GenError naming the field, the
    value and the accepted range (NaN and infinity are refused)."""
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise GenError(f"{field} must be a number in {lo:g}..{hi:g}{unit}, got "
                       f"{shown(value)}") from None
    if isinstance(value, bool) or not math.isfinite(v) or not lo <= v <= hi:
        raise GenError(f"{field} must be a finite number in {lo:g}..{hi:g}{unit}, got "
                       f"{shown(value)}")
    return v


def clip(text: str, width: int = 120) -> str:
    """``text`` on one line, cut to ``width`` characters (for names and messages)."""
    one = " ".join(str(text).split())
    return one if len(one) <= width else one[: width - 1] + "…"


MAX_LAYERS = 64  # any config field named *layers (stacked LSTMs, conv blocks)


def check_model_size(config: Any, source: str = "config") -> int:
    """Refuse a model config whose model would be too large, before any weight is allocated.

    Fields named ``*layers`` (nested configs too) must be at most MAX_LAYERS; then the model is
    built on torch's ``meta`` device (shapes only, no memory) and its parameter count must be
    at most MODEL_MAX_PARAMETERS. Returns the parameter count; raises ConfigError naming the
    field or the count and the limit.
    """
    import dataclasses

    from gen.core.errors import ConfigError

    def walk(cfg: Any, prefix: str) -> None:
        for f in dataclasses.fields(cfg):
            v = getattr(cfg, f.name)
            if dataclasses.is_dataclass(v):
                walk(v, f"{prefix}{f.name}.")
            elif (f.name.endswith("layers") and isinstance(v, int)
                  and not isinstance(v, bool) and v > MAX_LAYERS):
                raise ConfigError(f"{source}: {prefix}{f.name} = {shown(v)} is more than the "
                                  f"{MAX_LAYERS} layers accepted (gen.core.limits.MAX_LAYERS)")

    walk(config, "")
    import torch

    from gen.core.registry import build_model

    try:
        with torch.device("meta"):
            model = build_model(config)
    except (RuntimeError, ValueError, OverflowError) as e:
        raise ConfigError(f"{source}: the model cannot be built ({clip(str(e), 160)})") from None
    n = sum(p.numel() for p in model.parameters())
    if n > MODEL_MAX_PARAMETERS:
        raise ConfigError(
            f"{source}: the model would hold {n:,} parameters, more than the "
            f"{MODEL_MAX_PARAMETERS:,} accepted (gen.core.limits.MODEL_MAX_PARAMETERS); "
            "lower its sizes (latent_dim, hidden, enc_size, dec_size ...)")
    return n


def checked_array(path: Any, field: str = "input", max_rows: int = MAX_INPUTS) -> Any:
    """A ``.npy`` file as a numpy array, its size checked from the header before loading:
    at most ARRAY_MAX_BYTES and ``max_rows`` rows (first axis); no pickles."""
    from pathlib import Path

    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise GenError(f"{field} {clip(str(p))}: no such file")
    try:
        with open(p, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read(f)
    except (ValueError, OSError) as e:
        raise GenError(f"{field} {clip(str(p))}: not a numpy .npy array ({clip(str(e), 80)})"
                       ) from None
    if dtype.hasobject:
        raise GenError(f"{field} {clip(str(p))}: holds Python objects; only numeric arrays "
                       "are read")
    nbytes = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if nbytes > ARRAY_MAX_BYTES:
        raise GenError(f"{field} {clip(str(p))}: {nbytes / 2**20:,.0f} MB is larger than the "
                       f"{ARRAY_MAX_BYTES // 2**20} MB accepted (gen.core.limits.ARRAY_MAX_BYTES)")
    if len(shape) > 1 and shape[0] > max_rows:
        raise GenError(f"{field} {clip(str(p))}: {shape[0]:,} rows; at most {max_rows:,} "
                       "are read per call (gen.core.limits.MAX_INPUTS)")
    try:
        return np.load(p, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise GenError(f"{field} {clip(str(p))}: not a readable .npy array "
                       f"({clip(str(e), 80)})") from None
