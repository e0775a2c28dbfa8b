"""MusicVAE-style melody VAEs (Roberts et al. 2018, "A Hierarchical Latent Vector Model for
Learning Long-Term Structure in Music").

- Encoder: a bidirectional LSTM over one-hot tokens (or, for long melodies, one per bar and
  a second over the bar codes); the last layer's final forward and
  backward states -> mean and log-variance of q(z|x).
- Flat decoder ("cat-mel"): an autoregressive categorical LSTM; its state starts from
  tanh(W z) and z is appended to the previous token at every step.
- Hierarchical decoder ("hierdec-mel"): a conductor LSTM, started from tanh(W z) and fed
  zeros, emits one embedding c_u per bar; a core LSTM decodes each bar from tanh(W c_u),
  with c_u appended to the previous token. Its first input in a bar is the previous bar's
  last token, so training (teacher forcing) decodes all bars in parallel. With ``core_z``
  the core also sees z itself at every step, a short path from z to every note that makes
  the 16-bar model learn to use its code much sooner (on our CPUs' budget of steps). With
  ``bar_paths`` each bar's encoder code also reaches q(z|x) through its own linear map, and
  each bar embedding c_u gets its own linear read-out of z added: without them the 16-bar
  model got the rhythm right but few pitches (0.62 sampled accuracy); with them, 0.92.
- Training: teacher forcing mixed with scheduled sampling (Bengio et al. 2015) on an
  inverse-sigmoid schedule, sampling probability 1 - k / (k + exp(step / k)); optional word
  dropout of the previous-token inputs (Bowman et al. 2016); ELBO with beta annealing and
  free bits from ``gen.core.elbo``.
- Generation: z ~ N(0, prior_scale^2 I); ``temperature`` divides the decoder's logits, as in
  MusicVAE; ``greedy`` takes the argmax at every step.

The layers live in gen.music.layers, the per-step distribution in gen.music.outputs; this
file joins them into the model and its data domain (melody tokens).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from gen.core.errors import ConfigError, GenError
from gen.core.model import LatentModel
from gen.core.objective import KLConfig
from gen.music.attributes import AttributeControl, melody_attributes
from gen.music.layers import (
    BiLstmEncoder,
    FlatDecoder,
    HierarchicalDecoder,
    HierarchicalLstmEncoder,
    sampling_probability,
)
from gen.music.melody import NUM_CLASSES, STEPS_PER_BAR, validate_tokens
from gen.music.outputs import CategoricalOutput


@dataclass(frozen=True)
class MusicConfig:
    """Hyperparameters of a melody VAE; saved in config.json and used to rebuild it."""

    bars: int = 2  # melody length: 2 (cat-mel_2bar) or 16 (hierdec-mel_16bar)
    steps_per_bar: int = STEPS_PER_BAR  # 16th notes in a 4/4 bar: the token grid
    num_classes: int = NUM_CLASSES  # note-off, hold, pitches 21-108 (MusicVAE's encoding)
    latent_dim: int = 256  # z size: 256 (2-bar small), 512 (big and 16-bar)
    enc_size: int = 512  # LSTM units per direction of the bidirectional encoder
    enc_layers: int = 1  # encoder depth: 1 (2-bar), 2 (16-bar)
    dec_size: int = 256  # decoder (core) LSTM units
    dec_layers: int = 2  # decoder depth: 2 (small), 3 (big 2-bar)
    hierarchical: bool = False  # conductor + per-bar core decoder (needed for 16 bars)
    hierarchical_encoder: bool = False  # per-bar bi-LSTM, then a bi-LSTM over the bar codes
    core_z: bool = False  # hierarchical: also append z to the core decoder's input (a shortcut)
    token_dropout: float = 0.0  # training: hide each previous-token input with this probability
    bar_paths: bool = False  # hierarchical: linear paths bar codes -> q(z|x) and z -> each bar
    conductor_size: int = 256  # conductor LSTM units; its output is the bar embedding c_u
    conductor_layers: int = 2  # conductor depth (MusicVAE: 2)
    bars_per_segment: int = 1  # bars decoded from one conductor embedding (MusicVAE: 1)
    scheduled_sampling_rate: float = 1000.0  # inverse-sigmoid k; 0: teacher forcing only
    # KL weight (MusicVAE max_beta 0.2 / 0.5 for big 2-bar), linear warm-up (MusicVAE anneals
    # exponentially) and free bits (16-bar: 256)
    kl: KLConfig = field(default_factory=lambda: KLConfig(beta=0.2))

    # fields of earlier releases -> where they live now (read by gen.core.registry)
    RENAMED: ClassVar[dict[str, str]] = {
        "beta": "kl.beta", "kl_warmup_steps": "kl.warmup_steps", "free_bits": "kl.free_bits",
        "sampling_rate": "scheduled_sampling_rate"}

    def __post_init__(self) -> None:
        for name in ("bars", "steps_per_bar", "latent_dim", "enc_size", "enc_layers",
                     "dec_size", "dec_layers", "conductor_size", "conductor_layers",
                     "bars_per_segment"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"MusicConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.num_classes != NUM_CLASSES:
            raise ConfigError(f"MusicConfig.num_classes must be {NUM_CLASSES} (the melody "
                              f"encoding), got {self.num_classes}")
        if self.steps_per_bar != STEPS_PER_BAR:
            raise ConfigError(f"MusicConfig.steps_per_bar must be {STEPS_PER_BAR} (the "
                              f"extraction grid), got {self.steps_per_bar}")
        if self.hierarchical and self.bars % self.bars_per_segment:
            raise ConfigError(f"MusicConfig.bars ({self.bars}) must be a multiple of "
                              f"bars_per_segment ({self.bars_per_segment})")
        if self.bar_paths and not (self.hierarchical and self.hierarchical_encoder):
            raise ConfigError("MusicConfig.bar_paths needs hierarchical=True and "
                              "hierarchical_encoder=True")
        if not 0.0 <= self.token_dropout < 1.0:
            raise ConfigError(f"MusicConfig.token_dropout must be in [0, 1), got "
                              f"{self.token_dropout}")
        if self.scheduled_sampling_rate < 0:
            raise ConfigError("MusicConfig.scheduled_sampling_rate must be >= 0")

    @property
    def seq_len(self) -> int:
        """Tokens per melody, T = bars * steps_per_bar."""
        return self.bars * self.steps_per_bar

    @property
    def segments(self) -> int:
        """Conductor steps U (hierarchical) = bars / bars_per_segment."""
        return self.bars // self.bars_per_segment

    @property
    def segment_len(self) -> int:
        """Tokens per conductor step, S = T / U."""
        return self.seq_len // self.segments


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float, np.number)) and not isinstance(x, bool)


class MusicVAE(AttributeControl, LatentModel):
    """A melody VAE over 2-bar or 16-bar windows.

    Data domain: melody tokens (N, T) or (T,) ints (see ``gen.music.melody``), a MIDI path,
    a ``pretty_midi.PrettyMIDI`` or a NoteSequence (its first melody window; use
    ``windows(source)`` to pick another), or a list of those. Outputs are token arrays
    (N, T) int64; write them with ``to_midi`` / ``render_audio`` / ``plot``.
    """

    variational = True
    random_decoder = True
    renamed_weights: ClassVar[dict[str, str]] = {"decoder.core.out.": "decoder.core.output.proj."}

    def __init__(self, config: MusicConfig) -> None:
        super().__init__(config)
        c = config
        depth = c.num_classes  # one-hot tokens

        def make_output(size: int) -> CategoricalOutput:
            return CategoricalOutput(size, c.num_classes)

        self.encoder: nn.Module = (
            HierarchicalLstmEncoder(depth, c.enc_size, c.enc_layers, c.latent_dim,
                                    c.bars, c.bar_paths)
            if c.hierarchical_encoder
            else BiLstmEncoder(depth, c.enc_size, c.enc_layers, c.latent_dim))
        self.decoder: nn.Module = (
            HierarchicalDecoder(make_output, depth, c.latent_dim, c.dec_size, c.dec_layers,
                                c.conductor_size, c.conductor_layers, c.segments,
                                c.segment_len, c.core_z, c.bar_paths)
            if c.hierarchical
            else FlatDecoder(make_output, depth, c.latent_dim, c.dec_size, c.dec_layers,
                             c.seq_len))

    @property
    def output(self) -> CategoricalOutput:
        """The per-step output distribution (shared by decoder and loss)."""
        return self.decoder.core.output

    # ----------------------------------------------------------------- data domain
    def windows(self, source: Any) -> np.ndarray:
        """Every melody window (N, T) of a MIDI path / PrettyMIDI / NoteSequence."""
        from gen.music.extract import melody_windows

        return melody_windows(source, self.config.bars).astype(np.int64)

    def melody(self, source: Any, index: int = 0) -> np.ndarray:
        """Window ``index`` (default the first) of a MIDI path / PrettyMIDI / NoteSequence,
        (T,) int64; e.g. ``vae.encode(vae.melody("song.mid", 3))``."""
        from gen.music.extract import melody_window

        return melody_window(source, self.config.bars, index)

    def _one(self, item: Any) -> np.ndarray:
        from gen.music.extract import melody_window
        from gen.music.midi import is_note_sequence, is_pretty_midi

        if isinstance(item, (str, Path)) or is_note_sequence(item) or is_pretty_midi(item):
            return melody_window(item, self.config.bars, 0)
        return validate_tokens(item, self.config.seq_len)

    def to_input(self, data: Any) -> torch.Tensor:
        """Melodies -> tokens (N, T) long on the model's device (see the class docstring)."""
        if isinstance(data, torch.Tensor):
            data = data.detach().cpu().numpy()
        if isinstance(data, (list, tuple)) and data and not _is_number(data[0]):
            rows = [self._one(d).reshape(-1, self.config.seq_len) for d in data]
            arr = np.concatenate(rows, axis=0)
        else:
            arr = self._one(data)
        arr = arr.reshape(-1, self.config.seq_len) if arr.ndim == 1 else arr
        if arr.ndim != 2:
            raise GenError(f"melodies must have shape (N, {self.config.seq_len}), got "
                           f"{tuple(arr.shape)}")
        return torch.as_tensor(arr, dtype=torch.long, device=self.device)

    def to_output(self, y: torch.Tensor) -> np.ndarray:
        """Tokens (N, T) long -> numpy int64 (N, T)."""
        return y.cpu().numpy().astype(np.int64)

    # ----------------------------------------------------------------- hooks
    def encoder_params(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens (B, T) -> posterior parameters (B, 2D)."""
        return self.encoder(self.output.features(x))

    def decode_tensor(self, z: torch.Tensor, temperature: float = 1.0, greedy: bool = False,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """z (B, D) -> tokens (B, T): argmax when greedy, else softmax(logits / t) draws."""
        return self.decoder.generate(z, float(temperature), greedy, generator)

    def reconstruction_nll(self, x: torch.Tensor, z: torch.Tensor, step: int
                           ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """NLL of tokens x (B, T) given z (B, D), summed over steps (nats) -> (B,).

        Training mixes teacher forcing with scheduled sampling and hides previous-token
        inputs with probability ``token_dropout`` (word dropout, Bowman et al. 2016), so the
        decoder must take what it cannot see from z.
        """
        p = (sampling_probability(step, self.config.scheduled_sampling_rate)
             if self.training else 0.0)
        use_sample = torch.rand(x.shape[:2], device=x.device) < p if p > 0 else None
        inputs = x  # the decoder's previous-value inputs; the targets stay x
        if self.training and self.config.token_dropout > 0:
            hide = torch.rand(x.shape[:2], device=x.device) < self.config.token_dropout
            inputs = self.output.hide(x, hide)
        states = self.decoder(z, inputs, use_sample)  # (B, T, H)
        nll = -self.output.log_prob(states, x).sum(1)
        metrics = {"sampling_prob": torch.tensor(p)}
        if not self.training:  # teacher-forced accuracy
            pred = self.output.sample(states.reshape(-1, states.shape[-1]), greedy=True)
            metrics["acc"] = self.output.matches(pred.view(x.shape), x).mean()
        return nll, metrics

    def eval_metrics(self, x: torch.Tensor, code: torch.Tensor) -> dict[str, torch.Tensor]:
        """Sampled accuracy: greedy free-running decoding from the posterior means (B, D)."""
        greedy = self.decoder.generate(code, greedy=True)
        return {"sampled_acc": self.output.matches(greedy, x).mean()}

    # ----------------------------------------------------------------- attributes
    def attribute_values(self, outputs: Any) -> dict[str, np.ndarray]:
        """Melodies (N, T) -> {attribute: (N,)} (gen.music.attributes.melody_attributes)."""
        return melody_attributes(outputs)

    # ----------------------------------------------------------------- music I/O
    def to_midi(self, melodies: Any, path: str | Path, bpm: float = 120.0, program: int = 0,
                gap_bars: int = 1) -> Path:
        """Write melodies (N, T) into one MIDI file, one after another."""
        from gen.music.midi import to_midi

        return to_midi(melodies, path, bpm, program, gap_bars)

    def render_audio(self, melodies: Any, path: str | Path, bpm: float = 120.0,
                     program: int = 0, gap_bars: int = 1) -> Path:
        """Render melodies to a WAV file (fluidsynth, else sine synthesis with a warning)."""
        from gen.music.render import render_audio

        return render_audio(melodies, path, bpm, program, gap_bars)

    def plot(self, melodies: Any, path: str | Path, titles: list[str] | None = None) -> Path:
        """Piano-roll PNG of melodies (N, T)."""
        from gen.music.render import plot_pianoroll

        return plot_pianoroll(melodies, path, titles)
