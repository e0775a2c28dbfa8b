"""The MIDI music head: melody extraction, MusicVAE-style models, MIDI/audio/piano-roll I/O.

    import gen
    vae = gen.load("cat-mel_2bar_small")
    mel = vae.sample(n=4, temperature=0.5, seed=0)      # tokens (4, 32)
    vae.to_midi(mel, "out/samples.mid", bpm=120)
    path = vae.interpolate("a.mid", "b.mid", steps=8)   # first window of each file

Heavy libraries (music21, note_seq, pretty_midi, fluidsynth, matplotlib) load lazily.
"""

from gen.music import recipes  # noqa: F401  (registers the named configs)
from gen.music.convert import (
    ExtractionOptions,
    MelodyConverter,
    extract_file,
    melody_window,
    melody_windows,
    to_midi,
    to_midi_zip,
)
from gen.music.data import load_windows, prepare_corpus, prepare_midi
from gen.music.evaluate import evaluate_music
from gen.music.examples import load_examples
from gen.music.model import MusicConfig, MusicVAE
from gen.music.render import pianoroll_image, plot_pianoroll, render_audio

__all__ = [
    "ExtractionOptions", "MelodyConverter", "MusicConfig", "MusicVAE", "evaluate_music",
    "extract_file", "load_windows", "melody_window", "melody_windows", "plot_pianoroll",
    "load_examples", "pianoroll_image", "prepare_corpus", "prepare_midi", "render_audio",
    "to_midi", "to_midi_zip",
]
