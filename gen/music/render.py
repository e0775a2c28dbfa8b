"""Hearing and seeing melodies: WAV rendering and piano-roll PNGs.

Audio: fluidsynth (via pyfluidsynth and ``pretty_midi.fluidsynth``) with the General MIDI
soundfont that pretty_midi ships (TimGM6mb.sf2); when fluidsynth is missing or fails we fall
back to pretty_midi's sine synthesis and say so with a warning. WAV files are written with
soundfile (16-bit PCM), or the standard library's ``wave`` when soundfile is absent.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from gen.core.errors import GenError
from gen.music.tokens import MAX_PITCH, MIN_PITCH, STEPS_PER_BAR, tokens_to_notes

SAMPLE_RATE = 44100


class SineFallbackWarning(UserWarning):
    """Audio was rendered with sine waves because fluidsynth was unavailable."""


def soundfont_path() -> Path:
    """The TimGM6mb General MIDI soundfont bundled with pretty_midi."""
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


def _to_pretty_midi(source: Any, bpm: float, program: int, gap_bars: int) -> Any:
    from gen.music.convert import (
        is_note_sequence,
        is_pretty_midi,
        note_seq_module,
        tokens_to_pretty_midi,
    )

    if is_pretty_midi(source):
        return source
    if is_note_sequence(source):
        return note_seq_module().note_sequence_to_pretty_midi(source)
    if isinstance(source, (str, Path)):
        import pretty_midi

        try:
            return pretty_midi.PrettyMIDI(str(source))
        except Exception as e:  # pretty_midi raises many types on bad files
            raise GenError(f"{source}: not a readable MIDI file ({e})") from e
    return tokens_to_pretty_midi(source, bpm, program, gap_bars)


def synthesize(source: Any, bpm: float = 120.0, program: int = 0, gap_bars: int = 1,
               sample_rate: int = SAMPLE_RATE, soundfont: str | Path | None = None
               ) -> tuple[np.ndarray, str]:
    """Audio (samples,) float32 in [-1, 1] and the renderer used ("fluidsynth" or "sine").

    ``source``: tokens (T,) / (N, T), a PrettyMIDI, a NoteSequence or a MIDI path.
    ``soundfont``: a .sf2 file (default: pretty_midi's TimGM6mb.sf2).
    """
    import inspect

    pm = _to_pretty_midi(source, bpm, program, gap_bars)
    audio, how = None, "fluidsynth"
    try:
        sf2 = Path(soundfont) if soundfont else soundfont_path()
        if not sf2.is_file():
            raise FileNotFoundError(f"soundfont {sf2} not found")
        # pretty_midi >= 0.2.11 takes `synthesizer`; older versions `sf2_path`
        key = ("synthesizer" if "synthesizer" in inspect.signature(pm.fluidsynth).parameters
               else "sf2_path")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            audio = pm.fluidsynth(fs=sample_rate, **{key: str(sf2)})
    except Exception as e:  # ImportError (no pyfluidsynth / libfluidsynth) or a synth error
        warnings.warn(
            f"fluidsynth is unavailable ({type(e).__name__}: {e}); rendering with sine waves "
            "instead. Install it with: apt-get install fluidsynth && pip install pyfluidsynth",
            SineFallbackWarning, stacklevel=2,
        )
        how = "sine"
    if audio is None or how == "sine":
        audio = pm.synthesize(fs=sample_rate)
    audio = np.asarray(audio, dtype=np.float32)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 0:
        audio = audio * (0.9 / peak)
    return audio, how


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write mono float audio in [-1, 1] as 16-bit PCM WAV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    try:
        import soundfile

        soundfile.write(str(path), pcm, sample_rate, subtype="PCM_16")
    except ImportError:
        import wave

        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(pcm.tobytes())
    return path


def render_audio(source: Any, path: str | Path, bpm: float = 120.0, program: int = 0,
                 gap_bars: int = 1, sample_rate: int = SAMPLE_RATE,
                 soundfont: str | Path | None = None) -> Path:
    """Render melodies (or a MIDI file / PrettyMIDI / NoteSequence) to a WAV file at ``path``.

    Uses fluidsynth with ``soundfont`` (default TimGM6mb.sf2), else sine waves with a
    ``SineFallbackWarning``.
    """
    audio, _ = synthesize(source, bpm, program, gap_bars, sample_rate, soundfont)
    return write_wav(path, audio, sample_rate)


def plot_pianoroll(melodies: Any, path: str | Path, titles: list[str] | None = None,
                   cols: int = 1) -> Path:
    """Piano roll of melodies (N, T) as a PNG: one panel per melody, bar lines dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gen.music.convert import as_melody_list

    mels = as_melody_list(melodies)
    if titles is not None and len(titles) != len(mels):
        raise GenError(f"titles: got {len(titles)} for {len(mels)} melodies")
    n = len(mels)
    cols = max(1, min(cols, n))
    rows = (n + cols - 1) // cols
    all_notes = [tokens_to_notes(m) for m in mels]
    pitches = [p for notes in all_notes for p, _, _ in notes] or [60]
    lo, hi = max(MIN_PITCH, min(pitches) - 2), min(MAX_PITCH, max(pitches) + 2)
    width = max(4.0, min(16.0, len(mels[0]) / 8))
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, 1.6 * rows + 0.4),
                             squeeze=False, sharey=True)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        for p, s, e in all_notes[i]:
            ax.add_patch(plt.Rectangle((s, p - 0.4), e - s, 0.8, color="#3b6ea8"))
        T = len(mels[i])
        for b in range(0, T + 1, STEPS_PER_BAR):
            ax.axvline(b, color="0.6", lw=0.6, ls=":")
        ax.set_xlim(0, T)
        ax.set_ylim(lo - 0.5, hi + 0.5)
        ax.set_xticks(range(0, T + 1, STEPS_PER_BAR))
        ax.set_xticklabels([str(b // STEPS_PER_BAR + 1) for b in range(0, T + 1, STEPS_PER_BAR)],
                           fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        if titles:
            ax.set_title(titles[i], fontsize=8, loc="left")
    fig.supxlabel("bar", fontsize=8)
    fig.supylabel("MIDI pitch", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
