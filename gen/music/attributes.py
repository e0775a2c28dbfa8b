"""Musical attributes and attribute vectors in latent space (MusicVAE, Roberts et al. 2018,
section 5.4; its code for them was never published, so this is our own).

Attributes of one melody (tokens (T,), 16 steps per 4/4 bar):
- ``note_density``: note onsets per step;
- ``mean_interval``: mean absolute interval between consecutive notes, in semitones;
- ``pitch_range``: highest minus lowest pitch, in semitones;
- ``syncopation_16th``: fraction of onsets on an off-beat sixteenth (odd steps);
- ``syncopation_8th``: fraction of onsets on an off-beat eighth (steps 2, 6, 10, 14 of a bar).

Attributes of one piano roll ((T, 88), ``frames_per_quarter`` frames per quarter note):
- ``note_density``: note onsets per frame (all keys);
- ``mean_interval``: mean absolute interval between consecutive notes of the top voice;
- ``pitch_range``: highest minus lowest sounding pitch;
- ``offbeat``: fraction of onsets on odd frames (off-beat eighths at two frames per quarter;
  beats 2 and 4 at one frame per quarter, where no finer syncopation can be written);
- ``polyphony``: mean number of keys sounding per frame;
- ``mean_pitch``: mean sounding MIDI pitch.
A roll grid of quarter or eighth notes cannot hold 16th-note syncopation, so rolls have one
off-beat attribute instead of MusicVAE's two.

Attribute vector (MusicVAE's recipe): the mean code of the training examples in the top
quartile of an attribute minus the mean code of those in the bottom quartile. Adding
``amount`` times it to a code and decoding moves the music along that attribute.
Vectors are stored beside the model as ``attributes.safetensors`` + ``attributes.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from gen.core.errors import GenError
from gen.core.files import atomic_write, write_text
from gen.core.prior import encode_all

VECTORS_FILE = "attributes.safetensors"
META_FILE = "attributes.json"
MELODY_ATTRIBUTES = ("note_density", "mean_interval", "pitch_range", "syncopation_16th",
                     "syncopation_8th")
ROLL_ATTRIBUTES = ("note_density", "mean_interval", "pitch_range", "offbeat", "polyphony",
                   "mean_pitch")


def melody_attributes(tokens: Any) -> dict[str, np.ndarray]:
    """Melodies (N, T) tokens -> each attribute as (N,) float (see the module docstring)."""
    from gen.music.melody import tokens_to_notes

    mels = np.atleast_2d(np.asarray(tokens))
    out = {k: np.zeros(len(mels)) for k in MELODY_ATTRIBUTES}
    for i, m in enumerate(mels):
        notes = tokens_to_notes(m)
        if not notes:
            continue
        pitches = np.array([p for p, _, _ in notes])
        starts = np.array([s for _, s, _ in notes])
        out["note_density"][i] = len(notes) / len(m)
        out["mean_interval"][i] = float(np.abs(np.diff(pitches)).mean()) if len(notes) > 1 else 0
        out["pitch_range"][i] = float(pitches.max() - pitches.min())
        out["syncopation_16th"][i] = float(np.mean(starts % 2 == 1))
        out["syncopation_8th"][i] = float(np.mean(starts % 4 == 2))
    return out


def roll_attributes(rolls: Any, frames_per_quarter: int = 1, lowest: int = 21
                    ) -> dict[str, np.ndarray]:
    """Rolls (a list of (T_i, 88) or (N, T, 88)) -> each attribute as (N,) float.
    ``lowest``: the MIDI pitch of key 0 (21, A0; lower for a model whose rolls sit above the
    written pitch), so that ``mean_pitch`` is a written MIDI pitch."""
    from gen.music.pianoroll import roll_list
    from gen.music.render import roll_notes

    items = roll_list(rolls)
    out = {k: np.zeros(len(items)) for k in ROLL_ATTRIBUTES}
    for i, r in enumerate(items):
        r = np.asarray(r).astype(bool)
        notes = roll_notes(r)
        if not notes or not len(r):
            continue
        starts = np.array([s for _, s, _ in notes])
        out["note_density"][i] = len(notes) / len(r)
        keys = np.nonzero(r.any(0))[0]
        out["pitch_range"][i] = float(keys[-1] - keys[0])
        out["offbeat"][i] = float(np.mean(starts % 2 == 1))
        out["polyphony"][i] = float(r.sum() / len(r))
        cells = np.nonzero(r)[1]
        out["mean_pitch"][i] = float(cells.mean() + lowest)
        top = [(s, p) for p, s, _ in notes]  # the highest onset of each onset frame
        by_frame: dict[int, int] = {}
        for s, p in top:
            by_frame[s] = max(by_frame.get(s, 0), p)
        line = np.array([by_frame[s] for s in sorted(by_frame)])
        out["mean_interval"][i] = float(np.abs(np.diff(line)).mean()) if len(line) > 1 else 0
    return out


def attribute_vectors(codes: torch.Tensor, values: dict[str, np.ndarray]
                      ) -> tuple[dict[str, torch.Tensor], dict[str, list[float]]]:
    """Codes (N, D) and attributes {name: (N,)} -> ({name: (D,) vector}, {name: [q25, q75]}):
    mean code of the top quartile minus that of the bottom quartile."""
    vecs, quart = {}, {}
    for name, v in values.items():
        lo, hi = np.quantile(v, 0.25), np.quantile(v, 0.75)
        top, bottom = torch.from_numpy(v >= hi), torch.from_numpy(v <= lo)
        if hi <= lo or not top.any() or not bottom.any():
            raise GenError(f"attribute {name}: its quartiles coincide ({lo:g}), so no vector "
                           "can be formed; use more varied data")
        vecs[name] = codes[top].mean(0) - codes[bottom].mean(0)
        quart[name] = [float(lo), float(hi)]
    return vecs, quart


def compute_vectors(model: Any, examples: Any, source: str, batch_size: int = 256,
                    progress: bool = True) -> dict[str, Any]:
    """Encode training examples, measure their attributes, form the vectors and store them
    in the model's folder when it has one. Returns the metadata (also in attributes.json)."""
    codes = encode_all(model, examples, batch_size, progress)
    values = model.attribute_values(examples)
    vecs, quart = attribute_vectors(codes, values)
    meta = {"source": source, "examples": len(examples), "names": list(vecs),
            "quartiles": quart, "norms": {k: round(float(v.norm()), 4) for k, v in vecs.items()}}
    model.set_attribute_vectors(vecs, meta)
    return meta


def save_vectors(folder: str | Path, vectors: dict[str, torch.Tensor], meta: dict[str, Any]
                 ) -> None:
    """Write attributes.safetensors + attributes.json into a model folder (atomically)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    tensors = {k: v.detach().float().cpu().contiguous() for k, v in vectors.items()}
    atomic_write(folder / VECTORS_FILE, lambda tmp: save_file(tensors, str(tmp)))
    write_text(folder / META_FILE, json.dumps(meta, indent=2) + "\n")


def load_vectors(folder: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
    """The stored vectors and metadata of a model folder, or None when it has none."""
    from safetensors.torch import load_file

    folder = Path(folder)
    if not (folder / VECTORS_FILE).is_file():
        return None
    meta = json.loads((folder / META_FILE).read_text()) if (folder / META_FILE).is_file() \
        else {}
    return load_file(str(folder / VECTORS_FILE)), meta


class AttributeControl:
    """Mixin for music models: ``attributes``, ``attribute_vectors`` and ``shift``.

    The model class provides ``attribute_values(outputs) -> {name: (N,)}`` for its
    representation; vectors come from ``set_attribute_vectors`` or the model's folder."""

    _vectors: dict[str, torch.Tensor] | None = None
    _vector_meta: dict[str, Any] | None = None

    def attribute_values(self, outputs: Any) -> dict[str, np.ndarray]:
        """Attributes of outputs in the model's data domain -> {name: (N,)}."""
        raise NotImplementedError

    def attributes(self, data: Any) -> dict[str, np.ndarray]:
        """Attribute values of inputs (anything ``to_input`` takes) -> {name: (N,) float}."""
        x = self.to_input(data)  # type: ignore[attr-defined]
        return self.attribute_values(self.as_examples(x))

    def as_examples(self, x: torch.Tensor) -> Any:
        """A model input batch -> examples in the data domain (default: ``to_output``)."""
        return self.to_output(x)  # type: ignore[attr-defined]

    def set_attribute_vectors(self, vectors: dict[str, torch.Tensor],
                              meta: dict[str, Any]) -> None:
        """Use these vectors (and write them to the model folder when loaded from one)."""
        self._vectors, self._vector_meta = dict(vectors), dict(meta)
        folder = getattr(self, "pretrained_dir", None)
        if folder is not None:
            save_vectors(folder, vectors, meta)

    def attribute_vectors(self) -> dict[str, torch.Tensor]:
        """{name: (D,) vector}: from ``gen attributes`` (stored beside the model)."""
        folder = getattr(self, "pretrained_dir", None)
        if self._vectors is None and folder is not None:
            found = load_vectors(folder)
            if found is not None:
                self._vectors, self._vector_meta = found
        if self._vectors is None:
            raise GenError(self.no_vectors_reason)
        return self._vectors

    # why a model without stored vectors has none (a model class may say more)
    no_vectors_reason = ("this model has no attribute vectors yet; compute them with "
                         "`gen attributes MODEL` (they are stored beside the model)")

    def shift(self, data: Any, attribute: str | Mapping[str, float], amount: float = 1.0
              ) -> Any:
        """Encode, add ``amount`` x the attribute's vector, decode greedily (same lengths).
        ``attribute`` may also map several names to their amounts ({"note_density": 1.0,
        "pitch_range": -0.5}): their vectors are added together."""
        vecs = self.attribute_vectors()
        amounts = dict(attribute) if isinstance(attribute, Mapping) else {attribute: amount}
        z = self.encode(data)  # type: ignore[attr-defined]
        for name, value in amounts.items():
            if name not in vecs:
                raise GenError(f"attribute: {name!r} is not one of {', '.join(vecs)}")
            try:
                a = float(value)
            except (TypeError, ValueError):
                raise GenError(f"amount of {name}: must be a number, got {value!r}") from None
            if not -10.0 <= a <= 10.0:
                raise GenError(f"amount of {name}: must be in -10..10, got {a:g}")
            z = z + a * vecs[name]
        return self.decode_like(data, z)

    def decode_like(self, data: Any, z: torch.Tensor) -> Any:
        """Greedy decoding of codes (N, D) shaped like ``data`` (default: plain decode)."""
        return self.decode(z, greedy=True)  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- measurement
_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])


def in_key(tokens: Any) -> np.ndarray:
    """Melodies (N, T) -> (N,) fraction of notes in the best-fitting single major scale
    (NaN for a melody without notes)."""
    from gen.music.melody import tokens_to_notes

    out = []
    for m in np.atleast_2d(np.asarray(tokens)):
        pcs = np.array([p % 12 for p, _, _ in tokens_to_notes(m)])
        if not len(pcs):
            out.append(np.nan)
            continue
        out.append(max(np.isin(pcs, (_MAJOR + k) % 12).mean() for k in range(12)))
    return np.array(out, dtype=float)


def agreement(model: Any, a: Any, b: Any) -> float:
    """How much of two outputs agree: token accuracy for melodies, frame accuracy
    (TP / (TP + FP + FN)) for piano rolls."""
    if isinstance(a, list) or np.asarray(a).ndim == 3:
        from gen.music.rollmetrics import frame_accuracy

        return float(frame_accuracy(list(a), list(b)))
    return float((np.asarray(a) == np.asarray(b)).mean())


def training_examples(model: Any, data: str | None = None, split: str = "train",
                      limit: int | None = None, seed: int = 0) -> tuple[Any, str]:
    """Examples of a model's training data (or another split): melody windows (N, T) from
    the prepared corpus / a prepared folder, or piano-roll windows of the benchmark whose grid
    the model uses. ``limit``: a fixed random subset. Returns (examples, source name)."""
    from gen.music.rollmodel import PianoRollVAE

    if isinstance(model, PianoRollVAE):
        from gen.music.rolldata import load_rolls, score_windows
        from gen.music.rolleval import default_benchmark

        source = data or default_benchmark(model)
        pieces = load_rolls(source, split, int(model.config.frames_per_quarter))
        examples: Any = score_windows(pieces, int(model.config.max_frames))[0]
    else:
        from gen.music.dataset import load_windows, resolve_dataset

        source = data or "folk"
        ds = resolve_dataset(source, bars=model.config.bars, prepare=False)
        examples = load_windows(ds, model.config.bars, split)
    if limit is not None and len(examples) > limit:
        keep = np.sort(np.random.default_rng(seed).choice(len(examples), limit, replace=False))
        examples = [examples[i] for i in keep] if isinstance(examples, list) else examples[keep]
    return examples, source


@torch.no_grad()
def attribute_table(model: Any, examples: Any, amount: float = 1.0, batch_size: int = 128,
                    progress: bool = True) -> dict[str, Any]:
    """Add each attribute vector (x ``amount``) to the codes of ``examples`` and measure the
    relative change of every attribute against the unshifted reconstructions:
    ``change[vector][attribute]`` = (mean shifted - mean reconstructed) / |mean reconstructed|.
    Also the agreement of each shifted decoding with the unshifted one."""
    vecs = model.attribute_vectors()
    z = encode_all(model, examples, batch_size, progress)
    like = examples

    def decode_all(codes: torch.Tensor) -> Any:
        parts: list[Any] = []
        for s in range(0, len(codes), batch_size):
            out = model.decode_like(like[s:s + batch_size], codes[s:s + batch_size])
            parts.extend(list(out))
        return parts if isinstance(like, list) else np.stack(parts)

    base = decode_all(z)
    base_attrs = model.attribute_values(base)
    change: dict[str, dict[str, float]] = {}
    kept: dict[str, float] = {}
    order = [a for a in base_attrs if a in vecs] + [a for a in vecs if a not in base_attrs]
    for name in tqdm(order, desc="vectors", disable=not progress, leave=False):
        shifted = decode_all(z + amount * vecs[name])
        attrs = model.attribute_values(shifted)
        change[name] = {a: round(float((attrs[a].mean() - base_attrs[a].mean())
                                       / max(abs(base_attrs[a].mean()), 1e-9)), 4)
                        for a in attrs}
        kept[name] = round(agreement(model, shifted, base), 4)
    return {"examples": len(examples), "amount": amount, "relative_change": change,
            "agreement_with_unshifted": kept,
            "reconstruction_means": {a: round(float(v.mean()), 4)
                                     for a, v in base_attrs.items()}}


def sample_statistics(model: Any, outputs: Any) -> dict[str, float]:
    """Note density, pitch range, mean interval (and, for melodies, the fraction in key) of
    outputs, as means."""
    a = model.attribute_values(outputs)
    out = {k: round(float(np.nanmean(a[k])), 4)
           for k in ("note_density", "pitch_range", "mean_interval")}
    if not (isinstance(outputs, list) or np.asarray(outputs).ndim == 3):
        out["in_key"] = round(float(np.nanmean(in_key(outputs))), 4)
    return out


def _samples(model: Any, n: int, temperature: float, prior: str, batch_size: int, seed: int
             ) -> Any:
    """n samples of ``model`` from ``prior`` at ``temperature``, drawn in seeded batches."""
    out: list[Any] = []
    for s in range(0, n, batch_size):
        out.extend(list(model.sample(min(batch_size, n - s), temperature=temperature,
                                     seed=seed + s, prior=prior)))
    return np.stack(out)


CALIBRATION_SPREADS = tuple(round(0.5 + 0.05 * i, 2) for i in range(15))  # 0.5 .. 1.2


@torch.no_grad()
def calibrate_prior(model: Any, examples: Any, meta: dict[str, Any], n: int = 500,
                    temperature: float = 0.5, spreads: tuple[float, ...] = CALIBRATION_SPREADS,
                    batch_size: int = 250, seed: int = 0) -> dict[str, Any]:
    """Choose the learned prior's spread: the one of ``spreads`` whose decoded samples
    (``n``, or as many as there are examples when fewer; at ``temperature``) have the sample
    statistics (``sample_statistics``) closest to those of ``examples`` (the training data,
    never the test set), by the largest relative difference over the statistics. A Gaussian
    mixture fitted to codes in many dimensions may put its draws a little off the codes real
    music has; this is one scalar chosen on the training data. Stores the prior with its
    spread and the search in ``meta`` (``calibration``); returns the new meta."""
    prior = model.learned_prior()
    target = sample_statistics(model, examples)
    n = min(n, len(examples))
    tried: dict[str, Any] = {}
    best, best_dev = 1.0, float("inf")
    for spread in tqdm(spreads, desc="calibrate", leave=False):
        prior.spread = float(spread)
        stats = sample_statistics(model, _samples(model, n, temperature, "learned",
                                                  batch_size, seed))
        dev = max(abs(stats[k] / target[k] - 1.0) for k in target if target[k])
        tried[f"{spread:g}"] = {"largest_relative_difference": round(dev, 4), **stats}
        if dev < best_dev:
            best, best_dev = float(spread), dev
    prior.spread = best
    meta = {**meta, "spread": best,
            "calibration": {"samples": n, "temperature": temperature, "target": target,
                            "training_examples": len(examples), "tried": tried}}
    model.set_prior(prior, meta)
    return meta


@torch.no_grad()
def prior_table(model: Any, held_out: Any, n: int = 1000, temperature: float = 0.5,
                batch_size: int = 100, seed: int = 0) -> dict[str, Any]:
    """Sample statistics of n samples from each prior (N(0, I) and the learned one when the
    model has it; a calibrated learned prior also at spread 1) beside the held-out examples
    and beside the held-out examples' own codes decoded the same way (what the decoder alone
    changes), and how well the model reconstructs its own samples (agreement of
    reconstruct(sample) with the sample)."""
    rows: dict[str, Any] = {"held-out": sample_statistics(model, held_out)}
    codes = encode_all(model, held_out, batch_size, progress=False)
    decoded: list[Any] = []
    for s in range(0, len(codes), batch_size):
        decoded.extend(list(model.decode(codes[s:s + batch_size], temperature=temperature,
                                         seed=seed + s)))
    rows[f"held-out codes, T={temperature:g}"] = sample_statistics(model, np.stack(decoded))
    runs: list[tuple[str, str, float | None]] = [("normal prior", "normal", None)]
    try:
        learned = model.learned_prior()
    except GenError:
        learned = None
    if learned is not None:
        calibrated = learned.spread
        if calibrated != 1.0:
            runs.append(("learned prior, spread 1", "learned", 1.0))
        runs.append(("learned prior" + (f", spread {calibrated:g}" if calibrated != 1.0
                                        else ""), "learned", calibrated))
    for label, prior, spread in runs:
        if learned is not None and spread is not None:
            learned.spread = spread
        try:
            arr = _samples(model, n, temperature, prior, batch_size, seed)
        finally:
            if learned is not None:
                learned.spread = calibrated
        row = sample_statistics(model, arr)
        rec: list[Any] = []
        for s in range(0, n, batch_size):
            rec.extend(list(model.reconstruct(arr[s:s + batch_size])))
        row["self_reconstruction"] = round(agreement(model, np.stack(rec), arr), 4)
        rows[f"{label}, T={temperature:g}"] = row
    return {"n": n, "temperature": temperature, "rows": rows}


def heatmap(table: dict[str, Any], path: str | Path, title: str) -> Path:
    """The relative-change table as a heat-map PNG (rows: vector added; columns: attribute
    measured)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    change = table["relative_change"]
    cols = list(next(iter(change.values())))
    rows = [c for c in cols if c in change] + [r for r in change if r not in cols]
    m = np.array([[change[r][c] for c in cols] for r in rows])
    lim = max(0.05, float(np.abs(m).max()))
    fig, ax = plt.subplots(figsize=(1.2 * len(cols) + 2.5, 0.9 * len(rows) + 1.8))
    im = ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_xticks(range(len(cols)), [c.replace("_", " ") for c in cols], rotation=30,
                  ha="right")
    ax.set_yticks(range(len(rows)), [f"+ {r.replace('_', ' ')}" for r in rows])
    for i in range(len(rows)):
        for j in range(len(cols)):
            ax.text(j, i, f"{m[i, j]:+.0%}", ha="center", va="center", fontsize=9,
                    color="white" if abs(m[i, j]) > 0.6 * lim else "black")
    import textwrap

    ax.set_title("\n".join(textwrap.wrap(title, 70)), fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="relative change")
    fig.tight_layout()

    def write(tmp: Path) -> None:
        fig.savefig(tmp, format="png", dpi=110)

    try:
        return atomic_write(path, write)
    finally:
        plt.close(fig)
