"""The MIDI music head: melody extraction, MusicVAE-style models, MIDI/audio/piano-roll I/O.

    import gen
    vae = gen.load("cat-mel_2bar_small")
    mel = vae.sample(n=4, temperature=0.5, seed=0)      # tokens (4, 32)
    vae.to_midi(mel, "out/samples.mid", bpm=120)
    path = vae.interpolate("a.mid", "b.mid", steps=8)   # first window of each file

Layout: representation (melody.py tokens; extract.py MIDI -> windows; midi.py MIDI I/O),
layers.py (encoders, decoders) and outputs.py (per-step distributions), model.py (the VAE),
dataset.py (corpus and MIDI folders -> cached windows), evaluate.py (metrics, card),
render.py (audio, piano rolls), io.py (the front for the CLI and the app), recipes.py.
Polyphonic piano rolls are a second head ("pianoroll") over the same layers: pianoroll.py
(the representation, benchmark data, MIDI conversion), rollmodel.py (the VAE), rolldata.py,
rolleval.py (the benchmark protocol), rollmetrics.py, rollio.py.
Heavy libraries (music21, note_seq, pretty_midi, fluidsynth, matplotlib) load lazily.
"""

from gen.core.registry import Head, register_head
from gen.music.model import MusicConfig, MusicVAE
from gen.music.rollmodel import PianoRollVAE, RollConfig

register_head(Head(
    name="music", config=MusicConfig, model=MusicVAE,
    data="gen.music.dataset:build_music_data",
    evaluate="gen.music.evaluate:evaluate",
    card="gen.music.evaluate:card_section",
    io="gen.music.io",
))

register_head(Head(
    name="pianoroll", config=RollConfig, model=PianoRollVAE,
    data="gen.music.rolldata:build_roll_data",
    evaluate="gen.music.rolleval:evaluate",
    card="gen.music.rolleval:card_section",
    io="gen.music.rollio",
))

from gen.music import recipes  # noqa: E402, F401  (registers the named configs)

__all__ = ["MusicConfig", "MusicVAE", "PianoRollVAE", "RollConfig"]
