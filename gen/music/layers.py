"""The recurrent layers of the music VAEs, shared by every representation.

Everything here reads step *features* (B, T, depth) and leaves the per-step distribution
to an ``OutputDistribution`` (gen.music.outputs): the same encoders and decoders serve
melody tokens (categorical) and piano-roll frames (Bernoulli, NADE).

- ``BiLstmEncoder``: a bidirectional LSTM; its last layer's final forward and backward
  states -> posterior parameters.
- ``HierarchicalLstmEncoder``: a bi-LSTM per bar, then one over the bar codes (MusicVAE's
  HierarchicalLstmEncoder, level lengths [U, S]).
- ``LstmDecoder``: an autoregressive LSTM conditioned on a vector; teacher forcing,
  scheduled sampling (Bengio et al. 2015) and free-running generation.
- ``FlatDecoder`` / ``HierarchicalDecoder``: z -> a whole sequence through one core decoder,
  or through a conductor LSTM emitting one embedding per segment (MusicVAE's hierdec).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from gen.music.outputs import OutputDistribution


def sampling_probability(step: int, rate: float) -> float:
    """Inverse-sigmoid schedule: probability of feeding the model's own sample at ``step``,
    1 - k / (k + exp(step / k)) for k = ``rate`` (0: teacher forcing only)."""
    if rate <= 0:
        return 0.0
    x = step / rate
    if x > 50:
        return 1.0
    return 1.0 - rate / (rate + math.exp(x))


def _final_states(h: torch.Tensor) -> torch.Tensor:
    """LSTM h_n (2L, B, H) -> the last layer's forward and backward states (B, 2H)."""
    return torch.cat([h[-2], h[-1]], dim=-1)


class BiLstmEncoder(nn.Module):
    """Step features (B, T, F) -> posterior parameters (B, 2 * latent_dim)."""

    def __init__(self, depth: int, size: int, layers: int, latent_dim: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(depth, size, layers, batch_first=True, bidirectional=True)
        self.proj = nn.Linear(2 * size, 2 * latent_dim)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, F) -> (B, 2D): [mean, logvar]. With ``lengths`` (B,) the sequences are
        packed, so the backward direction starts at each sequence's own last step."""
        if lengths is not None:
            feats = nn.utils.rnn.pack_padded_sequence(feats, lengths.cpu(), batch_first=True,
                                                      enforce_sorted=False)
        _, (h, _) = self.lstm(feats)
        return self.proj(_final_states(h))


class HierarchicalLstmEncoder(nn.Module):
    """Step features (B, U * S, F) -> posterior parameters (B, 2 * latent_dim), bar by bar.

    A 1-layer bi-LSTM reads each bar on its own (all bars of the batch at once, (B * U, S));
    its final states (B, U, 2H) are read by a ``layers``-deep bi-LSTM whose final states give
    the posterior. Gradients reach a note through S + U steps instead of U * S, so long
    sequences train much faster. With ``bar_paths`` every bar code also reaches the posterior
    through its own linear map.
    """

    def __init__(self, depth: int, size: int, layers: int, latent_dim: int,
                 segments: int, bar_paths: bool = False) -> None:
        super().__init__()
        self.segments = segments
        self.bar = nn.LSTM(depth, size, 1, batch_first=True, bidirectional=True)
        self.song = nn.LSTM(2 * size, size, layers, batch_first=True, bidirectional=True)
        self.proj = nn.Linear(2 * size, 2 * latent_dim)
        self.direct = nn.Linear(segments * 2 * size, 2 * latent_dim) if bar_paths else None

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """(B, T, F) -> (B, 2D): [mean, logvar]."""
        b, t, f = feats.shape
        _, (h, _) = self.bar(feats.reshape(b * self.segments, t // self.segments, f))
        codes = _final_states(h).view(b, self.segments, -1)  # (B, U, 2H)
        _, (h, _) = self.song(codes)
        params = self.proj(_final_states(h))
        if self.direct is not None:
            params = params + self.direct(codes.reshape(b, -1))
        return params


class LstmDecoder(nn.Module):
    """Autoregressive LSTM conditioned on a vector ``cond`` (B, K).

    Input at step t: [features(previous value), cond]; the state starts from tanh(W cond);
    ``output`` turns each state into the step's distribution. Training methods return the
    states (B, S, H) for ``output.log_prob``; ``generate`` returns values.

    ``make_output(size)`` builds the output distribution after the LSTM and its initial-state
    map, so that a seeded model draws its initial weights in the same order as before the
    output became swappable (and a recipe trained from scratch gives the same model).
    """

    def __init__(self, make_output: Callable[[int], OutputDistribution], depth: int,
                 cond_dim: int, size: int, layers: int) -> None:
        super().__init__()
        self.size, self.layers = size, layers
        self.lstm = nn.LSTM(depth + cond_dim, size, layers, batch_first=True)
        self.init = nn.Linear(cond_dim, 2 * layers * size)
        self.output = make_output(size)

    def initial_state(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cond (B, K) -> (h0, c0), each (layers, B, size)."""
        s = torch.tanh(self.init(cond)).view(cond.shape[0], 2, self.layers, self.size)
        return s[:, 0].transpose(0, 1).contiguous(), s[:, 1].transpose(0, 1).contiguous()

    def _inputs(self, prev: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """prev values (B, S[, K]), cond (B, K) -> (B, S, depth + K)."""
        c = cond.unsqueeze(1).expand(-1, prev.shape[1], -1)
        return torch.cat([self.output.features(prev), c], dim=-1)

    def teacher_forced(self, cond: torch.Tensor, targets: torch.Tensor, first: torch.Tensor
                       ) -> torch.Tensor:
        """States (B, S, H) for targets (B, S[, K]) fed back shifted by one; first (B[, K])."""
        prev = torch.cat([first.unsqueeze(1), targets[:, :-1]], dim=1)
        out, _ = self.lstm(self._inputs(prev, cond), self.initial_state(cond))
        return out

    def scheduled(self, cond: torch.Tensor, targets: torch.Tensor, first: torch.Tensor,
                  use_sample: torch.Tensor) -> torch.Tensor:
        """States (B, S, H); where ``use_sample`` (B, S) is True the input at that step is a
        draw from the model's previous distribution instead of the previous target."""
        cols = use_sample.any(0).nonzero()
        if len(cols) == 0:
            return self.teacher_forced(cond, targets, first)
        t0 = int(cols[0])  # steps before t0 are pure teacher forcing: one fused call
        state = self.initial_state(cond)
        prev_all = torch.cat([first.unsqueeze(1), targets[:, :-1]], dim=1)
        states = []
        if t0 > 0:
            out, state = self.lstm(self._inputs(prev_all[:, :t0], cond), state)
            states.append(out)
        last = states[0][:, -1] if states else None
        for t in range(t0, targets.shape[1]):
            prev = prev_all[:, t]
            if last is not None:
                with torch.no_grad():
                    drawn = self.output.sample(last)
                mask = use_sample[:, t].view(-1, *([1] * (prev.dim() - 1)))
                prev = torch.where(mask, drawn.to(prev.dtype), prev)
            out, state = self.lstm(self._inputs(prev.unsqueeze(1), cond), state)
            last = out[:, 0]
            states.append(out)
        return torch.cat(states, dim=1)

    def generate(self, cond: torch.Tensor, steps: int, first: torch.Tensor,
                 temperature: float = 1.0, greedy: bool = False,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Free-running decoding: values (B, steps[, K])."""
        state = self.initial_state(cond)
        prev = first
        values = []
        for _ in range(steps):
            out, state = self.lstm(self._inputs(prev.unsqueeze(1), cond), state)
            prev = self.output.sample(out[:, 0], temperature, greedy, generator)
            values.append(prev)
        return torch.stack(values, dim=1)


class FlatDecoder(nn.Module):
    """z (B, D) -> a T-step sequence through one ``LstmDecoder`` conditioned on z."""

    def __init__(self, make_output: Callable[[int], OutputDistribution], depth: int,
                 latent_dim: int, size: int, layers: int, steps: int) -> None:
        super().__init__()
        self.steps = steps
        self.core = LstmDecoder(make_output, depth, latent_dim, size, layers)

    def forward(self, z: torch.Tensor, targets: torch.Tensor, use_sample: torch.Tensor | None
                ) -> torch.Tensor:
        """Training states (B, T, H)."""
        first = self.core.output.start(z.shape[0], z.device)
        if use_sample is None:
            return self.core.teacher_forced(z, targets, first)
        return self.core.scheduled(z, targets, first, use_sample)

    def generate(self, z: torch.Tensor, temperature: float = 1.0, greedy: bool = False,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Values (B, T[, K])."""
        first = self.core.output.start(z.shape[0], z.device)
        return self.core.generate(z, self.steps, first, temperature, greedy, generator)


class HierarchicalDecoder(nn.Module):
    """z (B, D) -> conductor embeddings (B, U, Hc) -> U segments of S steps by a core LSTM.

    The conductor LSTM starts from tanh(W z) and is fed zeros; the core decodes each segment
    from tanh(W c_u), with c_u appended to its inputs. Its first input in a segment is the
    previous segment's last value, so teacher forcing decodes all segments in parallel.
    ``core_z``: the core also sees z at every step (a short path from z to every note);
    ``bar_paths``: each segment's embedding gets its own linear read-out of z added.
    """

    def __init__(self, make_output: Callable[[int], OutputDistribution], depth: int,
                 latent_dim: int, size: int, layers: int, conductor_size: int,
                 conductor_layers: int, segments: int, segment_len: int,
                 core_z: bool = False, bar_paths: bool = False) -> None:
        super().__init__()
        self.segments, self.segment_len, self.core_z = segments, segment_len, core_z
        self.conductor_size, self.conductor_layers = conductor_size, conductor_layers
        self.conductor = nn.LSTM(1, conductor_size, conductor_layers, batch_first=True)
        self.conductor_init = nn.Linear(latent_dim, 2 * conductor_layers * conductor_size)
        cond = conductor_size + (latent_dim if core_z else 0)
        self.core = LstmDecoder(make_output, depth, cond, size, layers)
        self.direct = nn.Linear(latent_dim, segments * conductor_size) if bar_paths else None

    def embeddings(self, z: torch.Tensor, segments: int | None = None) -> torch.Tensor:
        """z (B, D) -> one embedding per segment (B, U, Hc); U = ``segments`` (default the
        configured number; another number only without ``bar_paths``)."""
        b, n, h = z.shape[0], self.conductor_layers, self.conductor_size
        u = self.segments if segments is None else int(segments)
        s = torch.tanh(self.conductor_init(z)).view(b, 2, n, h)
        state = (s[:, 0].transpose(0, 1).contiguous(), s[:, 1].transpose(0, 1).contiguous())
        out, _ = self.conductor(z.new_zeros(b, u, 1), state)
        if self.direct is not None:
            if u != self.segments:
                raise ValueError(f"bar_paths fix the number of segments at {self.segments}")
            out = out + self.direct(z).view(b, self.segments, h)
        return out

    def conditions(self, z: torch.Tensor, segments: int | None = None) -> torch.Tensor:
        """z (B, D) -> the core decoder's condition per segment (B, U, Hc [+ D with core_z])."""
        c = self.embeddings(z, segments)
        if self.core_z:
            c = torch.cat([c, z.unsqueeze(1).expand(-1, c.shape[1], -1)], dim=-1)
        return c

    def forward(self, z: torch.Tensor, targets: torch.Tensor, use_sample: torch.Tensor | None
                ) -> torch.Tensor:
        """Training states (B, T, H) for targets (B, T[, K]) with T a multiple of the segment
        length (U = T / segment_len segments); all segments at once (batch B * U)."""
        b, s = z.shape[0], self.segment_len
        u = targets.shape[1] // s
        rest = targets.shape[2:]
        c = self.conditions(z, u).reshape(b * u, -1)
        seg = targets.reshape(b, u, s, *rest)
        start = self.core.output.start(b, z.device).unsqueeze(1)
        first = torch.cat([start, seg[:, :-1, -1]], dim=1).reshape(b * u, *rest)
        seg = seg.reshape(b * u, s, *rest)
        if use_sample is None:
            states = self.core.teacher_forced(c, seg, first)
        else:
            states = self.core.scheduled(c, seg, first, use_sample.reshape(b * u, s))
        return states.reshape(b, u * s, -1)

    def generate(self, z: torch.Tensor, temperature: float = 1.0, greedy: bool = False,
                 generator: torch.Generator | None = None, segments: int | None = None
                 ) -> torch.Tensor:
        """Values (B, U * segment_len[, K]), segment after segment."""
        c = self.conditions(z, segments)
        prev = self.core.output.start(z.shape[0], z.device)
        segs = []
        for i in range(c.shape[1]):
            seg = self.core.generate(c[:, i], self.segment_len, prev, temperature, greedy,
                                     generator)
            segs.append(seg)
            prev = seg[:, -1]
        return torch.cat(segs, dim=1)
