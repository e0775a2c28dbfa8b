"""Hearing and seeing melodies: WAV rendering and piano-roll PNGs.

Audio: fluidsynth (via pyfluidsynth and ``pretty_midi.fluidsynth``) with the General MIDI
soundfont that pretty_midi ships (TimGM6mb.sf2); when fluidsynth is missing or fails we fall
back to pretty_midi's sine synthesis and say so with a warning. WAV files are written with
soundfile (16-bit PCM), or the standard library's ``wave`` when soundfile is absent.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gen.core.errors import GenError
from gen.core.files import atomic_write
from gen.music.melody import MAX_PITCH, MIN_PITCH, STEPS_PER_BAR, pitch_name, tokens_to_notes

SAMPLE_RATE = 44100
ROLL_W = 1200  # piano rolls: pixels for one row of panels
ROLL_NOTE = (59, 110, 168)  # colour of the notes


class SineFallbackWarning(UserWarning):
    """Audio was rendered with sine waves because fluidsynth was unavailable."""


def soundfont_path() -> Path:
    """The TimGM6mb General MIDI soundfont bundled with pretty_midi."""
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


def _to_pretty_midi(source: Any, bpm: float, program: int, gap_bars: int) -> Any:
    from gen.music.midi import (
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
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)

    def write(tmp: Path) -> None:
        try:
            import soundfile

            soundfile.write(str(tmp), pcm, sample_rate, subtype="PCM_16")
        except ImportError:
            import wave

            with wave.open(str(tmp), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(sample_rate)
                w.writeframes(pcm.tobytes())

    return atomic_write(path, write)


def render_audio(source: Any, path: str | Path, bpm: float = 120.0, program: int = 0,
                 gap_bars: int = 1, sample_rate: int = SAMPLE_RATE,
                 soundfont: str | Path | None = None) -> Path:
    """Render melodies (or a MIDI file / PrettyMIDI / NoteSequence) to a WAV file at ``path``.

    Uses fluidsynth with ``soundfont`` (default TimGM6mb.sf2), else sine waves with a
    ``SineFallbackWarning``.
    """
    audio, _ = synthesize(source, bpm, program, gap_bars, sample_rate, soundfont)
    return write_wav(path, audio, sample_rate)


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()


def pianoroll_image(
    melodies: Any, titles: Sequence[str] | None = None, cols: int = 1
) -> np.ndarray:
    """Melodies (N, T) -> an RGB piano-roll picture (H, W, 3) uint8, one panel per melody.

    Panels run row by row, ``cols`` per row, each titled, with bar lines (dark), beat lines
    (light) and the Cs labelled; all panels share one pitch range. Notes come from
    ``gen.music.melody.tokens_to_notes``; drawing with PIL takes milliseconds where a
    matplotlib figure of 16 panels takes seconds, so the app and the CLI share this one.
    """
    from gen.music.midi import as_melody_list

    mels = [np.asarray(m).reshape(-1) for m in as_melody_list(melodies)]
    if not mels:
        raise GenError("no melodies to draw")
    return notes_image([tokens_to_notes(m) for m in mels], [len(m) for m in mels], titles,
                       cols, STEPS_PER_BAR, 4)


def roll_notes(roll: Any, lowest_pitch: int = 21) -> list[tuple[int, int, int]]:
    """A (T, K) 0/1 piano roll -> notes [(pitch, start, end)] (a held key is one note)."""
    a = np.asarray(roll).astype(bool)
    padded = np.zeros((a.shape[1], a.shape[0] + 2), dtype=np.int8)
    padded[:, 1:-1] = a.T
    d = np.diff(padded, axis=1)
    on_key, on = np.nonzero(d == 1)
    _, off = np.nonzero(d == -1)
    return [(int(k) + lowest_pitch, int(s), int(e)) for k, s, e in zip(on_key, on, off)]


def roll_image(rolls: Any, frames_per_quarter: int, titles: Sequence[str] | None = None,
               cols: int = 1, lowest_pitch: int = 21) -> np.ndarray:
    """Polyphonic rolls (a list of (T_i, 88), or (N, T, 88)) -> an RGB picture like
    ``pianoroll_image``: chords are stacked notes, bar lines every 4 quarter notes."""
    from gen.music.pianoroll import roll_list

    items = roll_list(rolls)
    if not items:
        raise GenError("no piano rolls to draw")
    return notes_image([roll_notes(r, lowest_pitch) for r in items], [len(r) for r in items],
                       titles, cols,
                       4 * frames_per_quarter, frames_per_quarter)


def notes_image(notes: list[list[tuple[int, int, int]]], lengths: list[int],
                titles: Sequence[str] | None = None, cols: int = 1,
                steps_per_bar: int = STEPS_PER_BAR, steps_per_beat: int = 4) -> np.ndarray:
    """Panels of notes [(pitch, start, end)] over ``lengths`` grid steps -> RGB (H, W, 3)."""
    from PIL import Image, ImageDraw

    if titles is not None and len(titles) != len(notes):
        raise GenError(f"titles: got {len(titles)} for {len(notes)} panels")
    n, steps = len(notes), max(1, max(lengths))
    pitches = [p for ns in notes for p, _, _ in ns] or [60]
    lo, hi = max(MIN_PITCH, min(pitches) - 2), min(MAX_PITCH, max(pitches) + 2)
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    sw = max(1, min(12, (ROLL_W // cols) // steps))  # pixels per grid step
    ph = max(2, min(6, 120 // (hi - lo + 1)))  # pixels per semitone
    pw, pht = steps * sw, (hi - lo + 1) * ph
    left, top, gap = 30, 16, 10  # pitch labels, title line, space between panels
    width = left + cols * pw + (cols - 1) * gap + gap
    height = rows * (top + pht + gap) + gap
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = _font(11)
    for i, panel in enumerate(notes):
        r, c = divmod(i, cols)
        x0 = left + c * (pw + gap)
        y0 = gap + r * (top + pht + gap) + top
        draw.rectangle([x0, y0, x0 + lengths[i] * sw - 1, y0 + pht - 1], fill=(250, 250, 250))
        for p in range(lo, hi + 1):
            if p % 12 == 0:  # a faint line through every C, labelled on the left
                y = y0 + (hi - p) * ph + ph // 2
                draw.line([x0, y, x0 + pw - 1, y], fill=(232, 232, 232))
                if c == 0:
                    draw.text((x0 - 4, y), pitch_name(p), fill=(110, 110, 110), font=font,
                              anchor="rm")
        for s in range(0, lengths[i] + 1, steps_per_beat):
            x = min(x0 + s * sw, x0 + pw - 1)
            bar = s % steps_per_bar == 0
            if bar or sw >= 3:
                draw.line([x, y0, x, y0 + pht - 1], fill=(165, 165, 165) if bar else (228,) * 3)
        for p, s, e in panel:
            if not lo <= p <= hi:
                continue
            y = y0 + (hi - p) * ph
            x_end = x0 + e * sw - 1 - (1 if sw >= 3 else 0)  # a gap shows repeated notes
            draw.rectangle([x0 + s * sw, y, max(x0 + s * sw, x_end), y + ph - 1], fill=ROLL_NOTE)
        if titles:
            title = str(titles[i])
            max_chars = max(4, pw // 6)
            title = title if len(title) <= max_chars else title[: max_chars - 1] + "…"
            draw.text((x0, y0 - 3), title, fill=(30, 30, 30), font=font, anchor="ld")
    return np.asarray(img)


def plot_pianoroll(melodies: Any, path: str | Path, titles: Sequence[str] | None = None,
                   cols: int = 1) -> Path:
    """Piano roll of melodies (N, T) as a PNG file (see ``pianoroll_image``)."""
    from PIL import Image

    image = Image.fromarray(pianoroll_image(melodies, titles, cols))
    return atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))
