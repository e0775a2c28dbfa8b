"""The music head's front for the CLI and the app: MIDI in (with extraction reports), MIDI,
zip, audio and piano rolls out, and the shipped example melodies.

Callers outside the head (gen.cli, apps/) import music things from here only.
"""

from gen.music.examples import load_examples
from gen.music.extract import (
    ExtractionOptions,
    ExtractionReport,
    extract_file,
    melody_window,
    melody_windows,
)
from gen.music.melody import pitch_name, tokens_to_notes
from gen.music.midi import MIDI_SUFFIXES, find_midi_files, to_midi, to_midi_zip
from gen.music.model import MusicVAE
from gen.music.render import SineFallbackWarning, pianoroll_image, plot_pianoroll, render_audio

__all__ = [
    "MIDI_SUFFIXES", "ExtractionOptions", "ExtractionReport", "MusicVAE",
    "SineFallbackWarning", "extract_file", "find_midi_files", "load_examples",
    "melody_window", "melody_windows", "pianoroll_image", "pitch_name", "plot_pianoroll",
    "render_audio", "to_midi", "to_midi_zip", "tokens_to_notes",
]
