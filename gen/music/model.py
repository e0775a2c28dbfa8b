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
- Generation: z ~ N(0, I); ``temperature`` divides the decoder's logits, as in MusicVAE
  (temperatures at or below 1e-3 decode greedily).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gen.core.elbo import KLSchedule, elbo_loss
from gen.core.errors import ConfigError, GenError
from gen.core.model import LatentModel
from gen.core.posterior import DiagonalGaussian
from gen.core.registry import register_model
from gen.music.data import build_music_data
from gen.music.tokens import NUM_CLASSES, STEPS_PER_BAR, validate_tokens

GREEDY_BELOW = 1e-3  # decode with argmax at or below this temperature


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
    sampling_rate: float = 1000.0  # inverse-sigmoid k of scheduled sampling; 0: teacher forcing
    beta: float = 0.2  # final KL weight (MusicVAE max_beta 0.2 / 0.5 for big 2-bar)
    kl_warmup_steps: int = 0  # linear beta warm-up (MusicVAE anneals exponentially)
    free_bits: float = 0.0  # KL per example that costs nothing, in bits (16-bar: 256)

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
        if self.sampling_rate < 0 or self.beta < 0 or self.free_bits < 0:
            raise ConfigError("MusicConfig.sampling_rate, beta and free_bits must be >= 0")

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


def sampling_probability(step: int, rate: float) -> float:
    """Inverse-sigmoid schedule: probability of feeding the model's own sample at ``step``."""
    if rate <= 0:
        return 0.0
    x = step / rate
    if x > 50:
        return 1.0
    return 1.0 - rate / (rate + math.exp(x))


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float, np.number)) and not isinstance(x, bool)


def _one_hot(tokens: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(…,) long with -1 meaning "start" (all zeros) -> (…, C) float."""
    oh = F.one_hot(tokens.clamp(min=0), num_classes).float()
    return oh * (tokens >= 0).unsqueeze(-1).float()


def _pick(logits: torch.Tensor, temperature: float, generator: torch.Generator | None
          ) -> torch.Tensor:
    """(B, C) logits -> (B,) tokens: argmax when cold, else a softmax(logits / t) sample."""
    if temperature <= GREEDY_BELOW:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


class BiLstmEncoder(nn.Module):
    """Tokens (B, T) -> posterior parameters (B, 2 * latent_dim)."""

    def __init__(self, num_classes: int, size: int, layers: int, latent_dim: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.lstm = nn.LSTM(num_classes, size, layers, batch_first=True, bidirectional=True)
        self.proj = nn.Linear(2 * size, 2 * latent_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) long -> (B, 2D): [mean, logvar]."""
        _, (h, _) = self.lstm(_one_hot(tokens, self.num_classes))  # h: (2L, B, H)
        return self.proj(torch.cat([h[-2], h[-1]], dim=-1))


class HierarchicalLstmEncoder(nn.Module):
    """Tokens (B, U * S) -> posterior parameters (B, 2 * latent_dim), bar by bar.

    A 1-layer bi-LSTM reads each bar on its own (all bars of the batch at once, (B * U, S));
    its final states (B, U, 2H) are read by a ``layers``-deep bi-LSTM whose final states give
    the posterior. Gradients reach a note through S + U steps instead of U * S, so long
    melodies train much faster (MusicVAE's HierarchicalLstmEncoder, level lengths [U, S]).
    """

    def __init__(self, num_classes: int, size: int, layers: int, latent_dim: int,
                 segments: int, bar_paths: bool = False) -> None:
        super().__init__()
        self.num_classes, self.segments = num_classes, segments
        self.bar = nn.LSTM(num_classes, size, 1, batch_first=True, bidirectional=True)
        self.song = nn.LSTM(2 * size, size, layers, batch_first=True, bidirectional=True)
        self.proj = nn.Linear(2 * size, 2 * latent_dim)
        # bar_paths: every bar code also reaches the posterior through its own linear map
        self.direct = nn.Linear(segments * 2 * size, 2 * latent_dim) if bar_paths else None

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) long -> (B, 2D): [mean, logvar]."""
        b, t = tokens.shape
        bars = tokens.reshape(b * self.segments, t // self.segments)
        _, (h, _) = self.bar(_one_hot(bars, self.num_classes))  # h: (2, B * U, H)
        codes = torch.cat([h[-2], h[-1]], dim=-1).view(b, self.segments, -1)
        _, (h, _) = self.song(codes)
        params = self.proj(torch.cat([h[-2], h[-1]], dim=-1))
        if self.direct is not None:
            params = params + self.direct(codes.reshape(b, -1))
        return params


class LstmDecoder(nn.Module):
    """Categorical autoregressive LSTM conditioned on a vector ``cond`` (B, K).

    Input at step t: [one-hot(previous token), cond]; state starts from tanh(W cond).
    """

    def __init__(self, num_classes: int, cond_dim: int, size: int, layers: int) -> None:
        super().__init__()
        self.num_classes, self.size, self.layers = num_classes, size, layers
        self.lstm = nn.LSTM(num_classes + cond_dim, size, layers, batch_first=True)
        self.init = nn.Linear(cond_dim, 2 * layers * size)
        self.out = nn.Linear(size, num_classes)

    def initial_state(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cond (B, K) -> (h0, c0), each (layers, B, size)."""
        s = torch.tanh(self.init(cond)).view(cond.shape[0], 2, self.layers, self.size)
        return s[:, 0].transpose(0, 1).contiguous(), s[:, 1].transpose(0, 1).contiguous()

    def _inputs(self, prev: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """prev (B, S) long, cond (B, K) -> (B, S, C + K)."""
        c = cond.unsqueeze(1).expand(-1, prev.shape[1], -1)
        return torch.cat([_one_hot(prev, self.num_classes), c], dim=-1)

    def teacher_forced(self, cond: torch.Tensor, targets: torch.Tensor, first: torch.Tensor
                       ) -> torch.Tensor:
        """Logits (B, S, C) for targets (B, S) fed back shifted by one; first (B,) (-1: start)."""
        prev = torch.cat([first.unsqueeze(1), targets[:, :-1]], dim=1)
        out, _ = self.lstm(self._inputs(prev, cond), self.initial_state(cond))
        return self.out(out)

    def scheduled(self, cond: torch.Tensor, targets: torch.Tensor, first: torch.Tensor,
                  use_sample: torch.Tensor) -> torch.Tensor:
        """Logits (B, S, C); where ``use_sample`` (B, S) is True the input at that step is a
        sample from the model's previous softmax instead of the previous target."""
        cols = use_sample.any(0).nonzero()
        if len(cols) == 0:
            return self.teacher_forced(cond, targets, first)
        t0 = int(cols[0])  # steps before t0 are pure teacher forcing: one fused call
        state = self.initial_state(cond)
        prev_all = torch.cat([first.unsqueeze(1), targets[:, :-1]], dim=1)
        logits = []
        if t0 > 0:
            out, state = self.lstm(self._inputs(prev_all[:, :t0], cond), state)
            logits.append(self.out(out))
        last_logits = logits[0][:, -1] if logits else None
        for t in range(t0, targets.shape[1]):
            prev = prev_all[:, t]
            if last_logits is not None:
                with torch.no_grad():
                    sampled = torch.multinomial(torch.softmax(last_logits.float(), -1), 1)
                prev = torch.where(use_sample[:, t], sampled.squeeze(1), prev)
            out, state = self.lstm(self._inputs(prev.unsqueeze(1), cond), state)
            last_logits = self.out(out[:, 0])
            logits.append(last_logits.unsqueeze(1))
        return torch.cat(logits, dim=1)

    def generate(self, cond: torch.Tensor, steps: int, first: torch.Tensor,
                 temperature: float = 1.0, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        """Free-running decoding: tokens (B, steps) long."""
        state = self.initial_state(cond)
        prev = first
        toks = []
        for _ in range(steps):
            out, state = self.lstm(self._inputs(prev.unsqueeze(1), cond), state)
            prev = _pick(self.out(out[:, 0]), temperature, generator)
            toks.append(prev)
        return torch.stack(toks, dim=1)


class FlatDecoder(nn.Module):
    """z (B, D) -> a T-step melody through one ``LstmDecoder``."""

    def __init__(self, cfg: MusicConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.core = LstmDecoder(cfg.num_classes, cfg.latent_dim, cfg.dec_size, cfg.dec_layers)

    def forward(self, z: torch.Tensor, targets: torch.Tensor, use_sample: torch.Tensor | None
                ) -> torch.Tensor:
        """Training logits (B, T, C)."""
        first = torch.full((z.shape[0],), -1, dtype=torch.long, device=z.device)
        if use_sample is None:
            return self.core.teacher_forced(z, targets, first)
        return self.core.scheduled(z, targets, first, use_sample)

    def generate(self, z: torch.Tensor, temperature: float, generator: torch.Generator | None
                 ) -> torch.Tensor:
        """Tokens (B, T)."""
        first = torch.full((z.shape[0],), -1, dtype=torch.long, device=z.device)
        return self.core.generate(z, self.cfg.seq_len, first, temperature, generator)


class HierarchicalDecoder(nn.Module):
    """z (B, D) -> conductor embeddings (B, U, Hc) -> U segments of S steps by a core LSTM."""

    def __init__(self, cfg: MusicConfig) -> None:
        super().__init__()
        self.cfg = cfg
        h, n = cfg.conductor_size, cfg.conductor_layers
        self.conductor = nn.LSTM(1, h, n, batch_first=True)
        self.conductor_init = nn.Linear(cfg.latent_dim, 2 * n * h)
        cond = h + (cfg.latent_dim if cfg.core_z else 0)
        self.core = LstmDecoder(cfg.num_classes, cond, cfg.dec_size, cfg.dec_layers)
        # bar_paths: each bar's embedding also gets its own linear read-out of z
        self.direct = nn.Linear(cfg.latent_dim, cfg.segments * h) if cfg.bar_paths else None

    def conditions(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, D) -> the core decoder's condition per segment (B, U, Hc [+ D with core_z])."""
        c = self.embeddings(z)
        if self.cfg.core_z:
            c = torch.cat([c, z.unsqueeze(1).expand(-1, c.shape[1], -1)], dim=-1)
        return c

    def embeddings(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, D) -> one embedding per segment (B, U, Hc); the conductor is fed zeros."""
        b, n, h = z.shape[0], self.cfg.conductor_layers, self.cfg.conductor_size
        s = torch.tanh(self.conductor_init(z)).view(b, 2, n, h)
        state = (s[:, 0].transpose(0, 1).contiguous(), s[:, 1].transpose(0, 1).contiguous())
        zeros = z.new_zeros(b, self.cfg.segments, 1)
        out, _ = self.conductor(zeros, state)
        if self.direct is not None:
            out = out + self.direct(z).view(b, self.cfg.segments, h)
        return out

    def forward(self, z: torch.Tensor, targets: torch.Tensor, use_sample: torch.Tensor | None
                ) -> torch.Tensor:
        """Training logits (B, T, C); all segments at once (batch B * U)."""
        b, u, s = z.shape[0], self.cfg.segments, self.cfg.segment_len
        c = self.conditions(z).reshape(b * u, -1)
        seg = targets.view(b, u, s)
        first = torch.cat([torch.full((b, 1), -1, dtype=torch.long, device=z.device),
                           seg[:, :-1, -1]], dim=1).reshape(b * u)
        seg = seg.reshape(b * u, s)
        if use_sample is None:
            logits = self.core.teacher_forced(c, seg, first)
        else:
            logits = self.core.scheduled(c, seg, first, use_sample.reshape(b * u, s))
        return logits.view(b, u * s, -1)

    def generate(self, z: torch.Tensor, temperature: float, generator: torch.Generator | None
                 ) -> torch.Tensor:
        """Tokens (B, T), segment after segment."""
        c = self.conditions(z)
        prev = torch.full((z.shape[0],), -1, dtype=torch.long, device=z.device)
        segs = []
        for i in range(self.cfg.segments):
            seg = self.core.generate(c[:, i], self.cfg.segment_len, prev, temperature, generator)
            segs.append(seg)
            prev = seg[:, -1]
        return torch.cat(segs, dim=1)


def _build_data(config: MusicConfig, rank: int = 0, world_size: int = 1, **kw: Any
                ) -> tuple[Any, Any]:
    return build_music_data(config, rank, world_size, **kw)


@register_model(MusicConfig, _build_data)
class MusicVAE(LatentModel):
    """A melody VAE over 2-bar or 16-bar windows.

    Data domain: melody tokens (N, T) or (T,) ints (see ``gen.music.tokens``), a MIDI path,
    a ``pretty_midi.PrettyMIDI`` or a NoteSequence (its first melody window; use
    ``windows(source)`` to pick another), or a list of those. Outputs are token arrays
    (N, T) int64; write them with ``to_midi`` / ``render_audio`` / ``plot``.
    """

    variational = True

    def __init__(self, config: MusicConfig) -> None:
        super().__init__(config)
        self.variational = True
        self.encoder: nn.Module = (
            HierarchicalLstmEncoder(config.num_classes, config.enc_size, config.enc_layers,
                                    config.latent_dim, config.bars, config.bar_paths)
            if config.hierarchical_encoder
            else BiLstmEncoder(config.num_classes, config.enc_size, config.enc_layers,
                               config.latent_dim))
        self.decoder: nn.Module = (HierarchicalDecoder(config) if config.hierarchical
                                   else FlatDecoder(config))
        self.kl_schedule = KLSchedule(config.beta, config.kl_warmup_steps, config.free_bits)

    # ----------------------------------------------------------------- data domain
    def windows(self, source: Any) -> np.ndarray:
        """Every melody window (N, T) of a MIDI path / PrettyMIDI / NoteSequence."""
        from gen.music.convert import melody_windows

        return melody_windows(source, self.config.bars).astype(np.int64)

    def melody(self, source: Any, index: int = 0) -> np.ndarray:
        """Window ``index`` (default the first) of a MIDI path / PrettyMIDI / NoteSequence,
        (T,) int64; e.g. ``vae.encode(vae.melody("song.mid", 3))``."""
        from gen.music.convert import melody_window

        return melody_window(source, self.config.bars, index)

    def _one(self, item: Any) -> np.ndarray:
        from gen.music.convert import is_note_sequence, is_pretty_midi, melody_window

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
    def posterior(self, x: torch.Tensor) -> DiagonalGaussian:
        """q(z|x): tokens (B, T) -> latents (B, D)."""
        return DiagonalGaussian.from_params(self.encoder(x))

    def decode_tensor(self, z: torch.Tensor, temperature: float = 1.0,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """z (B, D) -> tokens (B, T), sampled from softmax(logits / temperature)."""
        return self.decoder.generate(z, float(temperature), generator)

    def prior_sample(self, n: int, temperature: float, generator: torch.Generator
                     ) -> torch.Tensor:
        """z ~ N(0, I) (n, D); as in MusicVAE the temperature acts on the decoder only."""
        return torch.randn(n, self.latent_dim, generator=generator)

    # ----------------------------------------------------------------- training
    def forward(self, batch: torch.Tensor, step: int = 0) -> dict[str, torch.Tensor]:
        """Loss on tokens (B, T): NLL summed over steps (nats) + beta * KL above free bits.

        Training mixes teacher forcing with scheduled sampling; evaluation is teacher-forced
        and also reports the greedy free-running ("sampled") accuracy from the posterior mean.
        """
        x = batch if isinstance(batch, torch.Tensor) else batch[0]
        q = self.posterior(x)
        z = q.sample()
        p = sampling_probability(step, self.config.sampling_rate) if self.training else 0.0
        use_sample = None
        if p > 0:
            use_sample = torch.rand(x.shape, device=x.device) < p
        inputs = x  # the decoder's previous-token inputs; the targets stay x
        if self.training and self.config.token_dropout > 0:
            # word dropout (Bowman et al. 2016): hidden inputs read as "start" (all zeros), so
            # the decoder must take what it cannot see from z
            hide = torch.rand(x.shape, device=x.device) < self.config.token_dropout
            inputs = x.masked_fill(hide, -1)
        logits = self.decoder(z, inputs, use_sample)  # (B, T, C)
        nll = F.cross_entropy(logits.transpose(1, 2), x, reduction="none").sum(1)  # (B,)
        out = elbo_loss(nll, q, self.kl_schedule, step)
        out["acc"] = (logits.argmax(-1) == x).float().mean().detach()
        out["kl_bits"] = out["kl"] / math.log(2.0)
        out["sampling_prob"] = torch.tensor(p)
        if not self.training:
            greedy = self.decoder.generate(q.mean, 0.0, None)
            out["sampled_acc"] = (greedy == x).float().mean()
        return out

    # ----------------------------------------------------------------- music I/O
    def to_midi(self, melodies: Any, path: str | Path, bpm: float = 120.0, program: int = 0,
                gap_bars: int = 1) -> Path:
        """Write melodies (N, T) into one MIDI file, one after another."""
        from gen.music.convert import to_midi

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
