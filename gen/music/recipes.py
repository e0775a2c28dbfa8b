"""Named music recipes (Magenta's CONFIG_MAP names). Shipped models use the recipe names.

``*_small`` are sized to train on a 2-core CPU; ``*_big`` mirror the sizes of MusicVAE's
released cat-mel_2bar_big and hierdec-mel_16bar configs, for GPUs; ``debug-*`` are tiny
models on ~150 tunes for tests and smoke runs.
"""

from __future__ import annotations

from gen.core.objective import KLConfig
from gen.core.registry import Recipe, register_recipe
from gen.core.trainer import TrainConfig
from gen.music.model import MusicConfig
from gen.music.rollmodel import RollConfig

_FOLK = {"source": "folk", "transpose": 5}


def _train(steps: int, batch: int, lr: float = 1e-3, **kw: object) -> TrainConfig:
    # MusicVAE: Adam 1e-3 decayed by 0.9999 per step to 1e-5, gradients clipped at 1.0.
    return TrainConfig(steps=steps, batch_size=batch, lr=lr, lr_decay="exp",
                       lr_decay_rate=kw.pop("lr_decay_rate", 0.9999), min_lr=1e-5,
                       grad_clip=1.0, **kw)  # type: ignore[arg-type]


RECIPES = {
    "cat-mel_2bar_small": (
        "2-bar melody VAE sized for a 2-core CPU: 1x256 bi-LSTM encoder, 2x256 LSTM decoder, "
        "z=128, beta 0.2 with 48 free bits (the paper's 2-bar setting)",
        MusicConfig(bars=2, latent_dim=128, enc_size=256, enc_layers=1, dec_size=256,
                    dec_layers=2, scheduled_sampling_rate=1000.0,
                    kl=KLConfig(beta=0.2, warmup_steps=2000, free_bits=48.0)),
        # 10,000 steps (1.7 h on one core) gave 0.90 sampled accuracy on the test windows:
        # 0.97 on Essen, 0.79-0.86 on the Irish and Scottish fiddle collections; it was
        # still improving. Training resumes from its checkpoint, so it can run in parts.
        _train(30_000, 128, eval_every=1000, ckpt_every=500, eval_batches=10),
    ),
    "hierdec-mel_16bar_small": (
        "16-bar hierarchical melody VAE sized for a 2-core CPU: hierarchical 1x192 bi-LSTM "
        "encoder (per bar, then over bars), 2x192 conductor, 2x192 core decoder that also "
        "sees z, linear paths between each bar and z, z=256, beta 0.2 with 1024 free bits",
        # What each addition bought (sampled accuracy on a fixed random subset of the valid
        # windows; CPU runs of a few thousand steps):
        # - MusicVAE's flat 256-step encoder and conductor-only core: 0.70 after 3,000 steps
        #   on the (Essen-heavy) first valid windows, and a shuffled code cost only 0.03.
        # - Per-bar encoder, z shortcut to the core, 40% word dropout: 0.61 after 4,000
        #   steps; 0.42 of the tokens are note onsets and only 14% of their pitches were
        #   right. KL sat at the 256 free bits; 1024 free bits let it grow to 850 bits in 600
        #   steps but gained almost nothing (0.606 -> 0.611): the code was not the limit.
        # - bar_paths (each bar code -> q(z|x) through its own linear map, and z -> each
        #   bar's embedding likewise) fixed it: from scratch 0.64 after 800 steps; warm-
        #   started from the 4,600-step model, 0.61 -> 0.70 in 800 steps.
        MusicConfig(bars=16, latent_dim=256, enc_size=192, enc_layers=1, dec_size=192,
                    dec_layers=2, hierarchical=True, conductor_size=192, conductor_layers=2,
                    hierarchical_encoder=True, core_z=True, bar_paths=True, token_dropout=0.2,
                    scheduled_sampling_rate=1000.0,
                    kl=KLConfig(beta=0.2, warmup_steps=2000, free_bits=1024.0)),
        # Batch 32: about 1.65 steps/s on two free cores; training resumes from its
        # checkpoint, so it can run in parts.
        _train(20_000, 32, eval_every=1000, ckpt_every=500, eval_batches=8),
    ),
    "cat-mel_2bar_big": (
        "MusicVAE's cat-mel_2bar_big sizes (GPU): 1x2048 bi-LSTM encoder, 3x2048 decoder, "
        "z=512, beta 0.5, no free bits",
        MusicConfig(bars=2, latent_dim=512, enc_size=2048, enc_layers=1, dec_size=2048,
                    dec_layers=3, scheduled_sampling_rate=1000.0,
                    kl=KLConfig(beta=0.5, warmup_steps=10_000)),
        _train(50_000, 512, eval_every=2000, ckpt_every=2000),
    ),
    "hierdec-mel_16bar_big": (
        "MusicVAE's hierdec-mel_16bar sizes (GPU): 2x2048 bi-LSTM encoder, 2x1024 conductor, "
        "2x1024 core decoder, z=512, beta 0.2 with 256 free bits",
        MusicConfig(bars=16, latent_dim=512, enc_size=2048, enc_layers=2, dec_size=1024,
                    dec_layers=2, hierarchical=True, conductor_size=1024, conductor_layers=2,
                    scheduled_sampling_rate=1000.0,
                    kl=KLConfig(beta=0.2, warmup_steps=10_000, free_bits=256.0)),
        _train(50_000, 512, eval_every=2000, ckpt_every=2000),
    ),
}

for _name, (_desc, _model, _tr) in RECIPES.items():
    register_recipe(Recipe(_name, _model, _tr, dict(_FOLK), _desc))

# Tiny configs for tests and smoke runs: seconds on a CPU, real folk tunes (a small subset).
register_recipe(Recipe(
    "debug-mel_2bar",
    MusicConfig(bars=2, latent_dim=16, enc_size=32, dec_size=32, dec_layers=1,
                scheduled_sampling_rate=50.0, kl=KLConfig(beta=0.1)),
    TrainConfig(steps=60, batch_size=32, lr=3e-3, lr_decay="none", eval_every=30,
                eval_batches=2, ckpt_every=30, log_every=10),
    {"source": "folk", "limit": 150, "transpose": 5},
    "tiny 2-bar model for tests",
))
register_recipe(Recipe(
    "debug-mel_16bar",
    MusicConfig(bars=16, latent_dim=16, enc_size=32, dec_size=32, dec_layers=1,
                hierarchical=True, conductor_size=32, conductor_layers=1,
                hierarchical_encoder=True, core_z=True, bar_paths=True,
                scheduled_sampling_rate=50.0, kl=KLConfig(beta=0.1, free_bits=8.0)),
    TrainConfig(steps=40, batch_size=16, lr=3e-3, lr_decay="none", eval_every=20,
                eval_batches=2, ckpt_every=20, log_every=10),
    {"source": "folk", "limit": 150, "transpose": 5},
    "tiny 16-bar hierarchical model for tests",
))


# ----------------------------------------------------------------------------- piano rolls
# Polyphonic models on the benchmark of Boulanger-Lewandowski et al. (2012). The JSB rolls
# sit an octave above the chorales' written pitch (median MIDI pitch 74 against 62 in
# music21's Bach chorales), hence pitch_offset=12 for listening and for MIDI uploads.
# beta 1 (the benchmark scores the true bound and the importance-sampled likelihood); a few
# free bits keep the code in use, so reconstructions and interpolations follow their inputs.
def _roll_train(steps: int, batch: int, **kw: object) -> TrainConfig:
    return TrainConfig(steps=steps, batch_size=batch, lr=1e-3, lr_decay="cosine", min_lr=1e-5,
                       grad_clip=1.0, keep_best="elbo", **kw)  # type: ignore[arg-type]


register_recipe(Recipe(
    "nade-roll_jsb",
    RollConfig(frames_per_quarter=1, max_frames=256, sample_frames=64, bpm=80.0, program=19,
               pitch_offset=12, benchmark="jsb", output="nade", nade_hidden=128, latent_dim=64,
               enc_size=256, dec_size=384, dec_layers=1, dropout=0.3,
               kl=KLConfig(beta=1.0, warmup_steps=500, free_bits=64.0)),
    # The shipped model: this recipe with 3,000 steps until step 900, then 2,000; the best
    # validation bound came at step 1,000 and the run was stopped at 1,227 (overfitting).
    _roll_train(2000, 32, eval_every=100, eval_batches=0, ckpt_every=100, log_every=20),
    {"source": "jsb"},
    "JSB Chorales (4-part chorales, one frame per quarter note): bi-LSTM 256 encoder, "
    "LSTM 384 decoder with a 128-unit NADE over the 88 keys, z=64",
))
register_recipe(Recipe(
    "bern-roll_jsb",
    RollConfig(frames_per_quarter=1, max_frames=256, sample_frames=64, bpm=80.0, program=19,
               pitch_offset=12, output="bernoulli", latent_dim=64, enc_size=256,
               dec_size=384, dec_layers=1, dropout=0.3,
               kl=KLConfig(beta=1.0, warmup_steps=500, free_bits=64.0)),
    _roll_train(1200, 32, eval_every=100, eval_batches=0, ckpt_every=100, log_every=20),
    {"source": "jsb"},
    "the independent-Bernoulli baseline of nade-roll_jsb (same sizes, 88 separate units)",
))
def _eighths(benchmark: str, program: int, bpm: float, enc: int, dec: int, dropout: float
             ) -> RollConfig:
    """A NADE roll model of one frame per eighth note that reads and scores pieces of up to
    512 frames (its recipe trains it on windows of 256)."""
    return RollConfig(frames_per_quarter=2, max_frames=512, sample_frames=128, bpm=bpm,
                      program=program, benchmark=benchmark, output="nade", nade_hidden=128,
                      latent_dim=64, enc_size=enc, dec_size=dec, dec_layers=1, dropout=dropout,
                      kl=KLConfig(beta=1.0, warmup_steps=500, free_bits=128.0))


register_recipe(Recipe(
    "nade-roll_nottingham",
    _eighths("nottingham", program=21, bpm=120.0, enc=192, dec=256, dropout=0.2),
    # Sized for the time we had on a shared 2-core CPU: trained on windows of up to 256
    # frames (32 bars), it reads and scores pieces of up to 512 frames (160 of the 170 test
    # pieces whole). The shipped model: 2,500 steps (1,500 until step 800), then continued
    # to 3,000 with --set lr=0.006.
    _roll_train(2500, 16, eval_every=100, eval_batches=0, ckpt_every=100, log_every=20),
    {"source": "nottingham", "train_frames": 256},
    "Nottingham folk tunes with chords (one frame per eighth note): bi-LSTM 192 encoder, "
    "LSTM 256 decoder with a 128-unit NADE, z=64; trained on 256-frame windows, reads 512",
))
register_recipe(Recipe(
    "nade-roll_piano-midi",
    _eighths("piano-midi", program=0, bpm=120.0, enc=192, dec=256, dropout=0.3),
    # The Nottingham sizes on the smallest of the four sets (87 training pieces of piano
    # music, 75,911 frames): trained on 256-frame windows, reads and scores 512. Each
    # training window is moved by a random transposition of up to 5 semitones either way:
    # without it the validation bound turned up after 1,300 steps (best 7.78 nats/frame
    # against 7.48 with it).
    _roll_train(2500, 16, eval_every=100, eval_batches=0, ckpt_every=100, log_every=20),
    {"source": "piano-midi", "train_frames": 256, "transpose": 5},
    "Piano-midi.de classical piano pieces (one frame per eighth note): bi-LSTM 192 encoder, "
    "LSTM 256 decoder with a 128-unit NADE, z=64; trained on 256-frame windows, reads 512",
))
register_recipe(Recipe(
    "nade-roll_musedata",
    _eighths("musedata", program=0, bpm=100.0, enc=256, dec=384, dropout=0.2),
    # The largest of the four sets (524 training pieces of classical music, 245,202 frames),
    # so the JSB sizes: trained on 256-frame windows, reads and scores 512. The shipped
    # model: this recipe to step 1,500 (the first 300 steps under a 3,000-step schedule),
    # then continued from its weights with a fresh optimiser for steps 1,500-3,000.
    _roll_train(3000, 16, eval_every=200, eval_batches=0, ckpt_every=100, log_every=20),
    {"source": "musedata", "train_frames": 256},
    "MuseData classical pieces (one frame per eighth note): bi-LSTM 256 encoder, LSTM 384 "
    "decoder with a 128-unit NADE, z=64; trained on 256-frame windows, reads 512",
))
register_recipe(Recipe(
    "debug-roll",
    RollConfig(frames_per_quarter=1, max_frames=64, sample_frames=16, bpm=80.0, program=19,
               output="nade", nade_hidden=16, latent_dim=8, enc_size=16, dec_size=16,
               kl=KLConfig(beta=1.0, warmup_steps=10, free_bits=4.0)),
    TrainConfig(steps=30, batch_size=16, lr=3e-3, lr_decay="none", eval_every=15,
                eval_batches=2, ckpt_every=15, log_every=5, keep_best="elbo"),
    {"source": "jsb", "limit": 48},
    "tiny NADE piano-roll model on 48 JSB chorales, for tests",
))
register_recipe(Recipe(
    "debug-roll-hier",
    RollConfig(frames_per_quarter=1, max_frames=64, sample_frames=16, bpm=80.0, program=19,
               output="nade", nade_hidden=16, latent_dim=8, enc_size=16, dec_size=16,
               decoder="hierarchical", conductor_size=16,
               kl=KLConfig(beta=1.0, warmup_steps=10, free_bits=4.0)),
    TrainConfig(steps=30, batch_size=16, lr=3e-3, lr_decay="none", eval_every=15,
                eval_batches=2, ckpt_every=15, log_every=5, keep_best="elbo"),
    {"source": "jsb", "limit": 48},
    "tiny hierarchical (one conductor step per bar) NADE piano-roll model, for tests",
))
