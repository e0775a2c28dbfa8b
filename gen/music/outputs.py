"""Output distributions of the autoregressive decoders: one per representation's step type.

A recurrent decoder emits a state ``h`` per step; an ``OutputDistribution`` turns it into a
distribution over that step's value and feeds a value back as the next step's input. The
decoder itself (gen.music.layers) knows nothing about categories or keys: swapping this
object is all that separates a melody decoder from a piano-roll one (Magenta's
BaseLstmDecoder -> CategoricalLstmDecoder / MultiLabelRnnNadeDecoder).

Step values ("targets"):
- categorical: long (N,) class indices; -1 means "no previous value" (the first step, or a
  hidden input under word dropout) and reads as an all-zero feature vector;
- multi-label (Bernoulli, NADE): float (N, K) of 0/1; the all-zero frame is both silence
  and "no previous value" (as in MusicVAE's multi-label decoders).

Greedy decoding is a flag (``greedy=True``), never a magic temperature.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class OutputDistribution(nn.Module):
    """Interface: a per-step distribution conditioned on a decoder state (N, H).

    Subclasses set ``depth`` (size of the feature vector one step feeds to the next) and
    implement ``features``, ``log_prob``, ``sample`` and ``start``.
    """

    depth: int

    def features(self, values: torch.Tensor) -> torch.Tensor:
        """Step values (N, ...) -> next-step input features (N, ..., depth) float."""
        raise NotImplementedError

    def log_prob(self, h: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """log p(values | h) in nats: h (..., H), values (...,) or (..., K) -> (...)."""
        raise NotImplementedError

    def sample(self, h: torch.Tensor, temperature: float = 1.0, greedy: bool = False,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """One value per row of h (N, H): the most likely one when ``greedy``, else a draw at
        ``temperature`` (> 0; below 1 sharper, above 1 flatter)."""
        raise NotImplementedError

    def start(self, n: int, device: torch.device) -> torch.Tensor:
        """n "no previous value" step values (features are all zero)."""
        raise NotImplementedError

    def hide(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """values with the steps where ``mask`` (same leading shape) is True replaced by the
        "no previous value" value (word dropout, Bowman et al. 2016)."""
        raise NotImplementedError

    def matches(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Per-step agreement of two value tensors (N, T[, K]) -> (N, T) float in [0, 1]:
        token equality for categories, whole-frame equality for multi-label frames."""
        raise NotImplementedError


class CategoricalOutput(OutputDistribution):
    """Softmax over ``num_classes`` (a melody token per step); logits = W h + b."""

    def __init__(self, hidden: int, num_classes: int) -> None:
        super().__init__()
        self.depth = num_classes
        self.proj = nn.Linear(hidden, num_classes)

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """h (..., H) -> logits (..., C)."""
        return self.proj(h)

    def features(self, values: torch.Tensor) -> torch.Tensor:
        """(...,) long, -1 = start -> one-hot (..., C), all zeros for -1."""
        oh = F.one_hot(values.clamp(min=0), self.depth).float()
        return oh * (values >= 0).unsqueeze(-1).float()

    def log_prob(self, h: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """h (..., H), values (...,) long -> (...) log-probabilities in nats."""
        logits = self.logits(h)
        return -F.cross_entropy(logits.reshape(-1, self.depth), values.reshape(-1),
                                reduction="none").view(values.shape)

    def sample(self, h: torch.Tensor, temperature: float = 1.0, greedy: bool = False,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """h (N, H) -> tokens (N,): argmax when greedy, else softmax(logits / t) draws."""
        logits = self.logits(h)
        if greedy:
            return logits.argmax(-1)
        probs = torch.softmax(logits.float() / temperature, dim=-1)
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1)

    def start(self, n: int, device: torch.device) -> torch.Tensor:
        """(n,) of -1."""
        return torch.full((n,), -1, dtype=torch.long, device=device)

    def hide(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Hidden tokens become -1."""
        return values.masked_fill(mask, -1)

    def matches(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Token equality (N, T) -> float."""
        return (a == b).float()


class MultiLabelOutput(OutputDistribution):
    """Base of the multi-label outputs (a piano-roll frame of K keys): values are float
    (N, K) of 0/1, fed back as they are; the all-zero frame means "no previous value"."""

    def features(self, values: torch.Tensor) -> torch.Tensor:
        """(..., K) 0/1 -> the same as float."""
        return values.float()

    def start(self, n: int, device: torch.device) -> torch.Tensor:
        """(n, K) zeros."""
        return torch.zeros(n, self.depth, device=device)

    def hide(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Hidden frames become all zero."""
        return values.masked_fill(mask.unsqueeze(-1), 0.0)

    def matches(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Whole-frame equality (N, T, K) -> (N, T) float."""
        return (a == b).all(-1).float()


class BernoulliOutput(MultiLabelOutput):
    """``num_units`` independent Bernoulli units (a piano-roll frame); logits = W h + b."""

    def __init__(self, hidden: int, num_units: int) -> None:
        super().__init__()
        self.depth = num_units
        self.proj = nn.Linear(hidden, num_units)

    def log_prob(self, h: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """h (..., H), values (..., K) -> (...) summed over the K units, nats."""
        return -F.binary_cross_entropy_with_logits(
            self.proj(h), values.float(), reduction="none").sum(-1)

    def sample(self, h: torch.Tensor, temperature: float = 1.0, greedy: bool = False,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """h (N, H) -> frames (N, K) float: p > 0.5 when greedy, else draws of
        sigmoid(logits / t)."""
        logits = self.proj(h)
        if greedy:
            return (logits > 0).float()
        p = torch.sigmoid(logits.float() / temperature)
        return torch.bernoulli(p, generator=generator)
