"""One contract, run against every ``debug-*`` recipe of every head (diffusers-style mixin).

Shapes, save/load round trip, seeded sampling, interpolation endpoints, grid corners, one
training step, and ``--set`` overrides reaching the model: what any head must give.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gen.core import registry
from gen.core.model import LatentModel

DEBUG = sorted(n for n in registry.recipes() if n.startswith("debug-"))


def _inputs(model: LatentModel, n: int) -> object:
    """n real-looking inputs of the model's data domain from its head's io (shipped data)."""
    io = registry.head_of(model).io_module()
    return io.read(model, [str(i) for i in range(n)])


def _examples(x: object) -> list[np.ndarray]:
    """A batch (N, ...) or a list of examples of several lengths -> a list of arrays."""
    return [np.asarray(r) for r in x]


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal examples; a sequence decoded for longer than its input (interpolation and grids
    of piano rolls take the longest input's length) is compared on the common frames."""
    n = min(len(a), len(b))
    return a.shape[1:] == b.shape[1:] and np.allclose(a[:n], b[:n], atol=1e-5)


@pytest.fixture(params=DEBUG)
def model(request):
    torch.manual_seed(0)
    return registry.build_model(registry.get_recipe(request.param).model).eval()


def test_debug_recipes_cover_every_head():
    assert {registry.head_of(registry.get_recipe(n).model).name for n in DEBUG} == {
        h.name for h in registry.heads()}


def test_encode_decode_shapes(model):
    x = _inputs(model, 4)
    z = model.encode(x)
    assert z.shape == (4, model.latent_dim) and torch.isfinite(z).all()
    y = model.reconstruct(x)
    assert len(y) == 4


def test_save_load_round_trip(model, tmp_path):
    x = _inputs(model, 2)
    again = LatentModel.from_pretrained(model.save_pretrained(tmp_path / "m"))
    assert type(again) is type(model) and again.config == model.config
    assert torch.equal(model.encode(x), again.encode(x))
    assert all(np.array_equal(a, b) for a, b in zip(_examples(model.reconstruct(x)),
                                                    _examples(again.reconstruct(x))))


def test_seeded_sampling_is_reproducible(model):
    if not model.variational:
        pytest.skip("plain autoencoders have no prior")
    a, b = model.sample(3, seed=5), model.sample(3, seed=5)
    assert np.array_equal(np.asarray(a), np.asarray(b))


def test_interpolation_endpoints_and_grid_corners(model):
    x = _inputs(model, 4)
    rec = _examples(model.reconstruct(x))
    path = _examples(model.interpolate(x[:1], x[1:2], steps=4))
    assert len(path) == 4
    assert _same(path[0], rec[0]) and _same(path[-1], rec[1])
    g = _examples(model.grid(x, rows=3, cols=3))
    assert len(g) == 9
    for cell, corner in ((0, 0), (2, 1), (6, 2), (8, 3)):
        assert _same(g[cell], rec[corner])


def test_one_training_step_moves_the_loss(model):
    x = _inputs(model, 8)
    batch = (x if isinstance(x, torch.Tensor) else model.to_input(x) if isinstance(x, list)
             else torch.as_tensor(np.asarray(x)))
    if model.config.__class__.__name__ == "ImageConfig" and model.config.kind == "sr":
        from gen.image.io import load_mnist

        batch = load_mnist("test", 8)[0]  # the training batch is the 28x28 target
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    torch.manual_seed(0)
    first = model(batch, step=10_000)
    assert {"loss", "nll"} <= set(first) and torch.isfinite(first["loss"])
    for _ in range(5):
        torch.manual_seed(0)
        loss = model(batch, step=10_000)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.manual_seed(0)
    assert float(model(batch, step=10_000)["loss"].detach()) < float(first["loss"].detach())


def test_set_overrides_reach_the_config(model):
    name = next(n for n in DEBUG if registry.get_recipe(n).model == model.config)
    rec = registry.apply_overrides(registry.get_recipe(name),
                                   ["lr=0.0005", "latent_dim=3", "kl.beta=0.25"])
    assert rec.train.lr == 0.0005 and rec.model.latent_dim == 3 and rec.model.kl.beta == 0.25
    assert registry.build_model(rec.model).latent_dim == 3
