"""Every shipped model gives exactly the outputs it gave when this file's reference was stored.

The reference (tests/fingerprints.safetensors) holds, per shipped model, fixed inputs and the
outputs of the public API on them: encode, reconstruct, interpolate and (VAEs) seeded samples.
It was written once, before the core redesign, by ``python tests/test_fingerprints.py --write``
(models shipped later are added with ``--add``, which leaves the stored ones untouched; a model
re-shipped with new weights is stored anew with ``--renew NAME``) and is
compared bit for bit: a refactor that changes any output of a shipped model fails here.
Computed on one thread so that the float results do not depend on the thread count.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import gen

REFERENCE = Path(__file__).with_name("fingerprints.safetensors")
EXAMPLES = Path(gen.__file__).parent / "music" / "examples"


def _inputs(name: str) -> dict[str, torch.Tensor]:
    """Fixed inputs of a shipped model: 4 MNIST test digits or 4 held-out melodies."""
    if name.startswith("mnist"):
        from gen.image.data import load_mnist

        x, _ = load_mnist("test", 4)
        x = x.float()
        if name == "mnist-sr":
            x = torch.nn.functional.avg_pool2d(x, 2)
        return {"x": x}
    if "roll" in name:  # 4 held-out test pieces of the model's benchmark, 24 frames each
        import gen
        from gen.music.pianoroll import load_benchmark
        from gen.music.rolleval import default_benchmark

        pieces = load_benchmark(default_benchmark(gen.load(name)), "test")[:4]
        return {"x": torch.as_tensor(np.stack([p[:24] for p in pieces]))}
    bars = 2 if "2bar" in name else 16
    with np.load(EXAMPLES / f"mel_{bars}bar.npz", allow_pickle=False) as z:
        return {"x": torch.as_tensor(z["tokens"][:4].astype(np.int64))}


def fingerprint(name: str, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Outputs of the public API of shipped model ``name`` on ``inputs`` (one thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        m = gen.load(name)
        x = inputs["x"]
        xin = x.numpy() if x.dtype == torch.int64 else x
        out = {"encode": torch.as_tensor(m.encode(xin)).float()}
        out["reconstruct"] = torch.as_tensor(np.asarray(m.reconstruct(xin)))
        out["interpolate"] = torch.as_tensor(np.asarray(m.interpolate(xin[:1], xin[1:2], 5)))
        out["grid"] = torch.as_tensor(np.asarray(m.grid(xin[:4], 3, 3)))
        if m.variational:
            for t in (0.5, 1.0):
                # stored as sample(n, temperature=t) before the redesign, when an image model's
                # temperature scaled its prior: that knob is now called prior_scale
                kw = {"temperature": t} if m.random_decoder else {"prior_scale": t}
                s = m.sample(n=4, seed=7, **kw)
                out[f"sample_t{t}"] = torch.as_tensor(np.asarray(s))
        return out
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("name", gen.available())
def test_shipped_model_outputs_unchanged(name):
    ref = load_file(str(REFERENCE))
    keys = sorted(k.split("/", 1)[1] for k in ref if k.startswith(f"{name}/out/"))
    assert keys, f"no reference stored for {name}"
    inputs = {"x": ref[f"{name}/in/x"]}
    got = fingerprint(name, inputs)
    assert sorted(f"out/{k}" for k in got) == keys
    for k, v in got.items():
        want = ref[f"{name}/out/{k}"]
        assert v.dtype == want.dtype and v.shape == want.shape, k
        assert torch.equal(v, want), f"{name}: {k} differs from the stored reference"


if __name__ == "__main__" and (sys.argv[1:] in (["--write"], ["--add"])
                               or sys.argv[1:2] == ["--renew"]):
    # --write: every shipped model anew; --add: only models with no stored reference yet;
    # --renew NAME ...: the named models anew (re-shipped with new weights), the rest kept
    tensors = load_file(str(REFERENCE)) if sys.argv[1] != "--write" else {}
    for n in sys.argv[2:] if sys.argv[1] == "--renew" else []:
        tensors = {k: v for k, v in tensors.items() if not k.startswith(f"{n}/")}
    for n in gen.available():
        if any(k.startswith(f"{n}/") for k in tensors):
            continue
        ins = _inputs(n)
        tensors.update({f"{n}/in/{k}": v.clone().contiguous() for k, v in ins.items()})
        outs = fingerprint(n, ins)
        tensors.update({f"{n}/out/{k}": v.clone().contiguous() for k, v in outs.items()})
    save_file(tensors, str(REFERENCE))
    print(f"wrote {REFERENCE} ({len(tensors)} tensors)")
