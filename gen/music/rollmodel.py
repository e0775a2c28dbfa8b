"""Polyphonic piano-roll VAEs: MusicVAE's recurrent VAE over multi-hot (T, 88) frames.

- Encoder: a bidirectional LSTM over the frames of a whole piece (packed, so pieces of any
  length up to ``max_frames`` share a batch); its final states -> q(z|x).
- Decoder: an autoregressive LSTM whose state starts from tanh(W z), with z appended to the
  previous frame at every step (gen.music.layers.FlatDecoder); or, with
  ``decoder="hierarchical"``, MusicVAE's conductor: an LSTM turns z into one embedding per
  segment of ``bar_frames`` frames (a 4/4 bar by default), and the frame LSTM decodes each
  segment from its embedding and z, restarting its state at every segment, so that z
  reaches every bar of a long piece in a few steps (gen.music.layers.HierarchicalDecoder;
  any number of segments: a piece of T frames has ceil(T / bar_frames)). Its per-frame
  distribution over the 88 keys is either 88 independent Bernoulli units
  (``output="bernoulli"``, the baseline) or a NADE (``output="nade"``, as in RNN-NADE,
  Boulanger-Lewandowski et al. 2012, and MusicVAE's MultiLabelRnnNadeDecoder), which models
  the notes of a chord jointly.
- Training: teacher forcing; ELBO with the config's KL settings (beta 1 gives the true
  bound, which the benchmark needs); dropout on the decoder states.
- Generation: z ~ N(0, prior_scale^2 I); ``temperature`` divides each unit's logit;
  ``greedy`` sets each unit to its most likely value given the units already chosen.

Data domain: a roll (T, 88) of 0/1, a batch (B, T, 88), a list of rolls of any lengths,
or a MIDI path / ``pretty_midi.PrettyMIDI`` (all pitched tracks merged, transposed to
C major / minor by its estimated key, the first ``max_frames`` frames). Inside the model a
batch is one float tensor (B, T, 88) in which the frames after a piece's end are -1
(``PAD``): lengths travel with the data, and padded frames are never scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gen.core.errors import ConfigError, GenError
from gen.core.latent import Method
from gen.core.model import LatentModel
from gen.core.objective import KLConfig
from gen.music.attributes import AttributeControl, roll_attributes
from gen.music.layers import BiLstmEncoder, FlatDecoder, HierarchicalDecoder
from gen.music.nade import NadeOutput
from gen.music.outputs import BernoulliOutput, MultiLabelOutput
from gen.music.pianoroll import BENCHMARKS, KEYS, MAX_FRAMES_PER_QUARTER

PAD = -1.0  # value of every key in a frame after the end of a piece
OUTPUTS = ("nade", "bernoulli")
DECODERS = ("flat", "hierarchical")
MAX_FRAMES = 4096  # the longest window any roll config may read or generate at once


@dataclass(frozen=True)
class RollConfig:
    """Hyperparameters of a piano-roll VAE; saved in config.json and used to rebuild it."""

    frames_per_quarter: int = 1  # the frame grid: 1 = quarter notes (JSB), 2 = eighths
    max_frames: int = 256  # longest piece read (and scored) at once; longer ones are cut
    sample_frames: int = 64  # default length of samples and of decoded codes
    bpm: float = 80.0  # playback tempo of the model's music (quarter notes per minute)
    program: int = 0  # General MIDI program (0-based) for audio and MIDI export
    # semitones by which the training rolls sit above the music's written pitch (the JSB
    # benchmark rolls are an octave high): MIDI in is shifted up by it, MIDI, audio and
    # pictures out down by it, so users hear and see the written register
    pitch_offset: int = 0
    # the benchmark the model was trained on ("jsb", "nottingham", "musedata", "piano-midi";
    # "" = by frame grid: jsb for quarter notes, else nottingham): the default data of
    # `gen eval` and of the held-out examples
    benchmark: str = ""
    output: str = "nade"  # per-frame distribution: "nade" or "bernoulli"
    nade_hidden: int = 128  # NADE hidden units
    latent_dim: int = 64
    enc_size: int = 256  # units per direction of the bidirectional encoder LSTM
    enc_layers: int = 1
    dec_size: int = 256  # decoder LSTM units
    dec_layers: int = 1
    decoder: str = "flat"  # "flat" or "hierarchical" (a conductor LSTM per segment)
    bar_frames: int = 0  # hierarchical: frames per conductor segment; 0 = one 4/4 bar
    conductor_size: int = 256  # hierarchical: conductor LSTM units
    conductor_layers: int = 1
    dropout: float = 0.0  # training: dropout on the decoder states before the output
    kl: KLConfig = field(default_factory=lambda: KLConfig(beta=1.0, warmup_steps=1000))

    def __post_init__(self) -> None:
        for name in ("latent_dim", "enc_size", "enc_layers", "dec_size", "dec_layers",
                     "nade_hidden", "sample_frames", "max_frames", "conductor_size",
                     "conductor_layers"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"RollConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 1 <= self.frames_per_quarter <= MAX_FRAMES_PER_QUARTER:
            raise ConfigError(f"RollConfig.frames_per_quarter must be in 1.."
                              f"{MAX_FRAMES_PER_QUARTER}, got {self.frames_per_quarter}")
        if self.max_frames > MAX_FRAMES or self.sample_frames > MAX_FRAMES:
            raise ConfigError(f"RollConfig.max_frames and sample_frames must be <= "
                              f"{MAX_FRAMES}, got {self.max_frames} and {self.sample_frames}")
        if self.output not in OUTPUTS:
            raise ConfigError(f"RollConfig.output must be one of {OUTPUTS}, got "
                              f"{self.output!r}")
        if self.benchmark and self.benchmark not in BENCHMARKS:
            raise ConfigError(f"RollConfig.benchmark must be one of {', '.join(BENCHMARKS)} "
                              f"or empty, got {self.benchmark!r}")
        if self.decoder not in DECODERS:
            raise ConfigError(f"RollConfig.decoder must be one of {DECODERS}, got "
                              f"{self.decoder!r}")
        if not 0 <= self.bar_frames <= 64:
            raise ConfigError(f"RollConfig.bar_frames must be in 0..64 (0 = one 4/4 bar), "
                              f"got {self.bar_frames}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"RollConfig.dropout must be in [0, 1), got {self.dropout}")
        if not -24 <= self.pitch_offset <= 24:
            raise ConfigError(f"RollConfig.pitch_offset must be in -24..24, got "
                              f"{self.pitch_offset}")
        if not 0 <= self.program <= 127:
            raise ConfigError(f"RollConfig.program must be a General MIDI program 0..127, "
                              f"got {self.program}")

    @property
    def segment_frames(self) -> int:
        """Frames per conductor segment of a hierarchical decoder (``bar_frames`` or a bar)."""
        return int(self.bar_frames or 4 * self.frames_per_quarter)


def frame_lengths(x: torch.Tensor) -> torch.Tensor:
    """Padded batch (B, T, 88) -> the number of real frames of each piece (B,) long."""
    return (x[..., 0] != PAD).sum(1)


def pad_rolls(rolls: list[np.ndarray]) -> torch.Tensor:
    """Rolls [(T_i, 88)] -> one float tensor (B, max T_i, 88), PAD after each piece's end."""
    tmax = max(r.shape[0] for r in rolls)
    out = torch.full((len(rolls), tmax, KEYS), PAD)
    for i, r in enumerate(rolls):
        out[i, : r.shape[0]] = torch.from_numpy(np.ascontiguousarray(r)).float()
    return out


def check_roll(value: Any, max_frames: int, what: str = "roll") -> np.ndarray:
    """A (T, 88) roll of 0/1 with 1 <= T <= max_frames, as uint8; GenError otherwise."""
    try:
        a = np.asarray(value)
    except (TypeError, ValueError) as e:
        raise GenError(f"{what}: not an array of 0/1 ({e})") from None
    if a.ndim != 2 or a.shape[1] != KEYS:
        raise GenError(f"{what}: a piano roll has shape (frames, {KEYS}), got "
                       f"{tuple(a.shape)}")
    if not 1 <= a.shape[0] <= max_frames:
        raise GenError(f"{what}: {a.shape[0]} frames; this model reads 1..{max_frames} "
                       "frames at a time")
    if a.dtype == np.bool_:
        a = a.astype(np.uint8)
    if not np.issubdtype(a.dtype, np.number):
        raise GenError(f"{what}: expected numbers 0/1, got dtype {a.dtype}")
    if not np.isin(a, (0, 1)).all():
        raise GenError(f"{what}: every value must be 0 or 1")
    return a.astype(np.uint8)


class PianoRollVAE(AttributeControl, LatentModel):
    """A recurrent VAE over polyphonic piano rolls (see the module docstring)."""

    variational = True
    random_decoder = True

    def __init__(self, config: RollConfig) -> None:
        super().__init__(config)
        c = config

        def make_output(size: int) -> MultiLabelOutput:
            if c.output == "nade":
                return NadeOutput(size, KEYS, c.nade_hidden)
            return BernoulliOutput(size, KEYS)

        self.encoder = BiLstmEncoder(KEYS, c.enc_size, c.enc_layers, c.latent_dim)
        self.decoder: FlatDecoder | HierarchicalDecoder
        if c.decoder == "hierarchical":
            seg = c.segment_frames
            self.decoder = HierarchicalDecoder(
                make_output, KEYS, c.latent_dim, c.dec_size, c.dec_layers, c.conductor_size,
                c.conductor_layers, -(-c.sample_frames // seg), seg, core_z=True)
        else:
            self.decoder = FlatDecoder(make_output, KEYS, c.latent_dim, c.dec_size,
                                       c.dec_layers, c.sample_frames)
        self.dropout = nn.Dropout(c.dropout)

    @property
    def output(self) -> MultiLabelOutput:
        """The per-frame output distribution."""
        return self.decoder.core.output

    # ----------------------------------------------------------------- data domain
    def roll(self, source: Any, transpose_to_c: bool = True) -> tuple[np.ndarray, Any]:
        """A MIDI path / PrettyMIDI -> ((T, 88) uint8 on this model's frame grid, RollReport);
        pieces longer than ``max_frames`` are cut (the report says so); the roll is shifted
        up by ``pitch_offset``. GenError when the file yields no notes."""
        from gen.music.pianoroll import midi_to_roll, transpose_roll

        roll, report = midi_to_roll(source, self.config.frames_per_quarter,
                                    self.config.max_frames, transpose_to_c)
        if report.reason:
            raise GenError(" ".join(report.lines()))
        if self.config.pitch_offset:  # into the register of the training data
            roll = transpose_roll(roll, self.config.pitch_offset)
        return roll, report

    def _one(self, item: Any, what: str) -> np.ndarray:
        from gen.music.midi import is_pretty_midi

        if isinstance(item, (str, Path)) or is_pretty_midi(item):
            return self.roll(item)[0]
        if isinstance(item, torch.Tensor):
            item = item.detach().cpu().numpy()
        return check_roll(item, self.config.max_frames, what)

    def to_input(self, data: Any) -> torch.Tensor:
        """Rolls -> a padded float batch (B, T, 88) on the model's device (see the class
        docstring for what is accepted)."""
        if isinstance(data, torch.Tensor) and data.dim() == 3:
            data = data.detach().cpu()
            if ((data == 0) | (data == 1) | (data == PAD)).all() and data.shape[-1] == KEYS:
                if data.shape[1] > self.config.max_frames:
                    raise GenError(f"rolls: {data.shape[1]} frames; this model reads 1.."
                                   f"{self.config.max_frames} frames at a time")
                return data.float().to(self.device)
            data = list(data.numpy())
        if isinstance(data, np.ndarray) and data.ndim == 3:
            data = list(data)
        if isinstance(data, (list, tuple)):
            if not data:
                raise GenError("rolls: an empty list")
            rolls = [self._one(d, f"rolls[{i}]") for i, d in enumerate(data)]
        else:
            rolls = [self._one(data, "roll")]
        return pad_rolls(rolls).to(self.device)

    def to_output(self, y: torch.Tensor) -> np.ndarray:
        """Frames (B, T, 88) float 0/1 -> uint8 numpy."""
        return y.cpu().numpy().astype(np.uint8)

    # ----------------------------------------------------------------- hooks
    def encoder_params(self, x: torch.Tensor) -> torch.Tensor:
        """Padded rolls (B, T, 88) -> posterior parameters (B, 2D)."""
        return self.encoder(x.clamp(min=0.0), frame_lengths(x))

    def frame_log_probs(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(frame_t | frames_<t, z) per frame (B, T) in nats, 0 on padded frames."""
        mask = x[..., 0] != PAD
        target = x.clamp(min=0.0)
        t = target.shape[1]
        if isinstance(self.decoder, HierarchicalDecoder):  # whole segments; the tail unscored
            seg = self.decoder.segment_len
            target = nn.functional.pad(target, (0, 0, 0, -t % seg))
        states = self.dropout(self.decoder(z, target, None))[:, :t]
        return self.output.log_prob(states, target[:, :t]) * mask

    def reconstruction_nll(self, x: torch.Tensor, z: torch.Tensor, step: int
                           ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """-log p(x|z) of padded rolls x (B, T, 88), summed over the real frames -> (B,);
        metrics: the batch's ``nll_per_frame`` and, in eval mode, ``frames`` (B,)."""
        nll = -self.frame_log_probs(x, z).sum(1)
        frames = frame_lengths(x).float()
        metrics = {"nll_per_frame": nll.sum().detach() / frames.sum()}
        if not self.training:  # per example, so evaluations can weight by frames
            metrics["frames"] = frames
        return nll, metrics

    def decode_tensor(self, z: torch.Tensor, temperature: float = 1.0, greedy: bool = False,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """z (B, D) -> frames (B, sample_frames, 88)."""
        return self.generate(z, self.config.sample_frames, temperature, greedy, generator)

    def generate(self, z: torch.Tensor, frames: int, temperature: float = 1.0,
                 greedy: bool = False, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        """z (B, D) -> frames (B, ``frames``, 88) float 0/1, frame by frame."""
        if isinstance(self.decoder, HierarchicalDecoder):
            segments = -(-frames // self.decoder.segment_len)
            return self.decoder.generate(z, temperature, greedy, generator, segments)[:, :frames]
        first = self.output.start(z.shape[0], z.device)
        return self.decoder.core.generate(z, frames, first, temperature, greedy, generator)

    # ----------------------------------------------------------------- public API
    def _frames(self, frames: int | None) -> int:
        if frames is None:
            return int(self.config.sample_frames)
        if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)):
            raise GenError(f"frames: must be a whole number, got {frames!r}")
        if not 1 <= int(frames) <= MAX_FRAMES:
            raise GenError(f"frames: must be in 1..{MAX_FRAMES}, got {frames}")
        return int(frames)

    @torch.no_grad()
    def decode(self, z: Any, temperature: float = 1.0, seed: int | None = None,
               greedy: bool = False, frames: int | None = None) -> np.ndarray:
        """Codes (N, D) -> rolls (N, frames, 88) uint8 (default ``sample_frames``)."""
        self.eval()
        t = self._check_temperature(temperature, greedy)
        n = self._frames(frames)
        gen = torch.Generator(device=self.device).manual_seed(seed) if seed is not None else None
        return self.to_output(self.generate(self._z(z), n, t, greedy, gen))

    def _decode_greedy(self, z: torch.Tensor, frames: int | None = None) -> np.ndarray:
        return self.decode(z, greedy=True, frames=frames)

    @torch.no_grad()
    def sample(self, n: int = 16, temperature: float = 1.0, seed: int | None = 0,
               prior_scale: float = 1.0, greedy: bool = False, prior: str = "normal",
               frames: int | None = None) -> np.ndarray:
        """n new rolls (n, frames, 88): z from the prior (see ``LatentModel.sample``),
        decoded at ``temperature`` (or greedily); ``frames`` defaults to ``sample_frames``."""
        self._frames(frames)
        z = self.prior_codes(n, seed, prior_scale, prior)
        self._check_temperature(temperature, greedy)
        return self.decode(z, temperature, None if seed is None else seed + 1, greedy, frames)

    @torch.no_grad()
    def reconstruct(self, data: Any) -> np.ndarray | list[np.ndarray]:
        """Encode, then decode greedily each piece to its own length: (N, T, 88) uint8 when
        all inputs are T frames long, else a list of (T_i, 88)."""
        self.eval()
        x = self.to_input(data)
        lengths = frame_lengths(x).tolist()
        out = self._decode_greedy(self.encode_tensor(x), max(lengths))
        if len(set(lengths)) == 1:
            return out
        return [r[:n] for r, n in zip(out, lengths)]

    def interpolate(self, a: Any, b: Any, steps: int = 8, method: Method = "slerp"
                    ) -> np.ndarray:
        """Decoded path (steps, T, 88) from a to b, endpoints included, greedy; T is the
        longer input's length."""
        frames = max(self.to_input(a).shape[1], self.to_input(b).shape[1])
        return self._decode_greedy(self.interpolate_latents(a, b, steps, method), frames)

    def grid(self, corners: Any, rows: int = 5, cols: int = 5, method: Method = "lerp"
             ) -> np.ndarray:
        """Decoded rows x cols grid (rows*cols, T, 88) between four inputs; T is the longest
        corner's length."""
        x = self.to_input(corners)
        return self._decode_greedy(self.grid_latents(x, rows, cols, method), int(x.shape[1]))

    # ----------------------------------------------------------------- attributes
    def attribute_values(self, outputs: Any) -> dict[str, np.ndarray]:
        """Rolls -> {attribute: (N,)} (gen.music.attributes.roll_attributes)."""
        return roll_attributes(outputs, self.config.frames_per_quarter,
                               21 - int(self.config.pitch_offset))

    no_vectors_reason = (
        "this piano-roll model ships no attribute vectors: measured on nade-roll_jsb, they "
        "hardly move their own attribute (-5% to +7%; its code carries about 60 bits), so "
        "they would be knobs that do nothing; `gen attributes MODEL` computes them anyway")

    def as_examples(self, x: torch.Tensor) -> list[np.ndarray]:
        """Padded batch (B, T, 88) -> the rolls, each cut to its length."""
        return [r[:n] for r, n in zip(self.to_output(x.clamp(min=0)), frame_lengths(x).tolist())]

    def decode_like(self, data: Any, z: torch.Tensor) -> np.ndarray | list[np.ndarray]:
        """Greedy decoding of codes (N, D), each to the length of its input."""
        lengths = frame_lengths(self.to_input(data)).tolist()
        out = self._decode_greedy(z, max(lengths))
        return out if len(set(lengths)) == 1 else [r[:n] for r, n in zip(out, lengths)]

    # ----------------------------------------------------------------- music I/O
    def to_midi(self, rolls: Any, path: str | Path, bpm: float | None = None,
                program: int | None = None, transpose: int = 0) -> Path:
        """Write rolls (one after another, a bar of silence between) to a MIDI file at the
        model's tempo and program unless given, in the written register (``pitch_offset``
        undone); ``transpose`` semitones shift every key further."""
        from gen.music.pianoroll import roll_list, roll_to_midi, transpose_roll

        shift = int(transpose) - self.config.pitch_offset  # back to the written register
        rolls = [transpose_roll(r, shift) if shift else r for r in roll_list(rolls)]
        return roll_to_midi(rolls, path, self.config.frames_per_quarter,
                            self.config.bpm if bpm is None else bpm,
                            self.config.program if program is None else program)
