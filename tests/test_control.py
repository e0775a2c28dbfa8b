"""Musical control: attributes, attribute vectors (stored beside the model, no pickle), shift,
and the learned prior over codes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gen.core import registry
from gen.core.errors import GenError
from gen.core.model import LatentModel
from gen.core.prior import GaussianMixturePrior
from gen.music.attributes import (
    attribute_table,
    attribute_vectors,
    compute_vectors,
    in_key,
    melody_attributes,
    prior_table,
    roll_attributes,
)
from gen.music.examples import load_examples
from gen.music.melody import HOLD, MIN_PITCH, NOTE_OFF, NUM_SPECIAL


def _mel(events: list[int | None], steps: int = 32) -> np.ndarray:
    """Pitches at steps (None = hold) -> tokens (steps,)."""
    t = np.full(steps, HOLD)
    for i, p in enumerate(events):
        if p is not None:
            t[i] = p - MIN_PITCH + NUM_SPECIAL if p > 0 else NOTE_OFF
    return t


def test_melody_attributes_by_hand():
    # C4 on step 0, E4 on step 1 (an off-beat 16th), G4 on step 2 (an off-beat 8th), C5 at 4
    m = _mel([60, 64, 67, None, 72])
    a = {k: float(v[0]) for k, v in melody_attributes(m[None]).items()}
    assert a["note_density"] == pytest.approx(4 / 32)
    assert a["mean_interval"] == pytest.approx((4 + 3 + 5) / 3)
    assert a["pitch_range"] == 12
    assert a["syncopation_16th"] == pytest.approx(1 / 4)
    assert a["syncopation_8th"] == pytest.approx(1 / 4)
    assert in_key(m[None])[0] == 1.0
    assert in_key(_mel([60, 61, 62, 63])[None])[0] == pytest.approx(0.75)
    silent = {k: float(v[0]) for k, v in melody_attributes(np.full((1, 32), NOTE_OFF)).items()}
    assert set(silent.values()) == {0.0} and np.isnan(in_key(np.full((1, 32), NOTE_OFF))[0])


def test_roll_attributes_by_hand():
    r = np.zeros((4, 88), dtype=np.uint8)
    r[0:2, [39, 43, 46]] = 1  # C4 E4 G4 held two frames
    r[3, 51] = 1  # C5 on an odd frame
    a = {k: float(v[0]) for k, v in roll_attributes([r], 1).items()}
    assert a["note_density"] == pytest.approx(4 / 4)
    assert a["polyphony"] == pytest.approx(7 / 4)
    assert a["pitch_range"] == 12 and a["offbeat"] == pytest.approx(1 / 4)
    assert a["mean_interval"] == pytest.approx(5)  # top voice G4 -> C5
    assert a["mean_pitch"] == pytest.approx((60 * 2 + 64 * 2 + 67 * 2 + 72) / 7)
    # a model whose rolls sit an octave above the written pitch measures written pitches
    up = roll_attributes([r], 1, lowest=21 - 12)["mean_pitch"][0]
    assert up == pytest.approx(a["mean_pitch"] - 12)


def test_vectors_are_top_minus_bottom_quartile_means():
    codes = torch.arange(8, dtype=torch.float32).view(8, 1).repeat(1, 2)
    vals = {"x": np.arange(8.0)}
    vecs, quart = attribute_vectors(codes, vals)
    # top quartile (>= 5.25): 6, 7; bottom (<= 1.75): 0, 1
    assert torch.allclose(vecs["x"], torch.tensor([6.0, 6.0])) and quart["x"] == [1.75, 5.25]
    with pytest.raises(GenError, match="quartiles coincide"):
        attribute_vectors(codes, {"flat": np.zeros(8)})


def test_gaussian_mixture_finds_two_clusters_and_round_trips(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randn(400, 3, generator=g) * 0.2 + 3,
                   torch.randn(400, 3, generator=g) * 0.2 - 3])
    p = GaussianMixturePrior.fit(x, components=2)
    assert sorted(p.means[:, 0].round().tolist()) == [-3.0, 3.0]
    assert p.weights.sub(0.5).abs().max() < 0.05
    s = p.sample(500, torch.Generator().manual_seed(1))
    assert (s[:, 0].abs() - 3).abs().mean() < 0.3  # drawn near the clusters, not between
    assert p.log_prob(x).mean() > torch.distributions.Normal(0, 1).log_prob(x).sum(1).mean()
    p.save(tmp_path, {"kind": "test"})
    q = GaussianMixturePrior.load(tmp_path)
    assert torch.equal(q.means, p.means) and torch.equal(q.scale_tril, p.scale_tril)
    with pytest.raises(GenError, match="components"):
        GaussianMixturePrior.fit(x[:3], components=2)


def test_vectors_prior_and_shift_travel_with_a_saved_model(tmp_path):
    torch.manual_seed(0)
    model = registry.build_model(registry.get_recipe("debug-mel_2bar").model).eval()
    with pytest.raises(GenError, match="no learned prior"):
        model.sample(2, prior="learned")
    folder = model.save_pretrained(tmp_path / "m")
    model = LatentModel.from_pretrained(folder)
    with pytest.raises(GenError, match="gen attributes"):
        model.attribute_vectors()
    ex = np.stack([t for _, t in load_examples(2)])
    meta = compute_vectors(model, ex, "shipped examples", progress=False)
    assert meta["names"] == ["note_density", "mean_interval", "pitch_range",
                             "syncopation_16th", "syncopation_8th"]
    from gen.core.prior import fit_prior

    fit_prior(model, np.concatenate([ex] * 3), "shipped examples", components=2,
              progress=False)
    again = LatentModel.from_pretrained(folder)  # both were written beside the weights
    assert set(again.attribute_vectors()) == set(meta["names"])
    s = again.sample(3, temperature=0.5, seed=0, prior="learned")
    assert s.shape == (3, 32) and np.array_equal(s, again.sample(3, temperature=0.5, seed=0,
                                                                  prior="learned"))
    assert again.shift(ex[:2], "note_density", 2.0).shape == (2, 32)
    vecs = again.attribute_vectors()
    both = again.shift(ex[:2], {"note_density": 1.0, "pitch_range": -0.5})
    z = again.encode(ex[:2]) + vecs["note_density"] - 0.5 * vecs["pitch_range"]
    assert np.array_equal(both, again.decode(z, greedy=True))
    with pytest.raises(GenError, match="amount of pitch_range: must be in -10..10"):
        again.shift(ex[:2], {"note_density": 1.0, "pitch_range": 11})
    with pytest.raises(GenError, match="not one of"):
        again.shift(ex[:2], "loudness")
    with pytest.raises(GenError, match="prior: must be one of"):
        again.sample(2, prior="uniform")
    tab = attribute_table(again, ex[:8], progress=False)
    assert set(tab["relative_change"]) == set(meta["names"])
    pt = prior_table(again, ex, n=6, batch_size=3)
    assert set(pt["rows"]) == {"held-out", "held-out codes, T=0.5", "normal prior, T=0.5",
                               "learned prior, T=0.5"}
    assert 0 <= pt["rows"]["learned prior, T=0.5"]["self_reconstruction"] <= 1


def test_calibrated_spread_is_chosen_on_training_data_and_stored(tmp_path):
    from gen.core.prior import fit_prior
    from gen.music.attributes import calibrate_prior, sample_statistics

    torch.manual_seed(0)
    model = registry.build_model(registry.get_recipe("debug-mel_2bar").model).eval()
    folder = model.save_pretrained(tmp_path / "m")
    model = LatentModel.from_pretrained(folder)
    ex = np.stack([t for _, t in load_examples(2)])
    meta = fit_prior(model, np.concatenate([ex] * 3), "shipped examples", components=2,
                     progress=False)
    spreads = (0.5, 1.0, 1.5)
    meta = calibrate_prior(model, ex, meta, n=20, spreads=spreads, batch_size=10)
    tried = meta["calibration"]["tried"]
    assert set(tried) == {"0.5", "1", "1.5"}
    best = min(tried, key=lambda k: tried[k]["largest_relative_difference"])
    assert meta["spread"] == float(best)
    target = sample_statistics(model, ex)  # the search compared with the examples given
    assert meta["calibration"]["target"] == target
    again = LatentModel.from_pretrained(folder)  # the spread was stored with the mixture
    prior = again.learned_prior()
    assert prior.spread == meta["spread"]
    # a draw is mu_k + spread * prior_scale * L_k eps: spread and prior_scale multiply
    g = torch.Generator().manual_seed(3)
    a = prior.sample(4, torch.Generator().manual_seed(3), scale=0.5)
    prior.spread = 1.0
    b = prior.sample(4, g, scale=0.5 * meta["spread"])
    assert torch.allclose(a, b)
    prior.spread = meta["spread"]
    if meta["spread"] != 1.0:  # the table shows the fitted mixture too
        pt = prior_table(again, ex, n=6, batch_size=3)
        assert f"learned prior, spread {meta['spread']:g}, T=0.5" in pt["rows"]
        assert "learned prior, spread 1, T=0.5" in pt["rows"]
        assert again.learned_prior().spread == meta["spread"]  # restored after the table


def test_cli_computes_stores_and_uses_vectors_and_prior(tmp_path):
    import subprocess
    import sys

    torch.manual_seed(0)
    model = registry.build_model(registry.get_recipe("debug-roll").model).eval()
    d = str(model.save_pretrained(tmp_path / "m"))

    def gen(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "gen.cli", *args], capture_output=True,
                              text=True, timeout=300)

    r = gen("shift", d, "0", "--attribute", "polyphony", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "gen attributes" in r.stderr
    r = gen("attributes", d, "--limit", "150")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "m" / "attributes.safetensors").is_file()
    r = gen("shift", d, "0", "--attribute", "polyphony", "--amount", "2", "--no-audio",
            "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    assert "polyphony" in r.stdout and "->" in r.stdout
    assert (tmp_path / "o" / "shift.npz").is_file()
    r = gen("shift", d, "0", "--attribute", "loudness", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "not one of" in r.stderr
    r = gen("shift", d, "0", "1", "--attribute", "polyphony=1.5", "--attribute",
            "mean_pitch=-1", "--no-audio", "--out", str(tmp_path / "two"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "two" / "shift.npz").is_file()
    r = gen("shift", d, "0", "--attribute", "polyphony=11", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "-10..10" in r.stderr and "Traceback" not in r.stderr
    r = gen("prior", d, "--limit", "150", "--components", "2", "--no-calibrate")
    assert r.returncode == 0, r.stderr
    assert '"components": 2' in r.stdout and "spread" not in r.stdout  # the fitted mixture
    r = gen("sample", d, "--prior", "learned", "--n", "2", "--no-audio", "--out",
            str(tmp_path / "s"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "s" / "samples.npz").is_file()
