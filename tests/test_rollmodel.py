"""The piano-roll head: padding never changes a piece's score, the benchmark protocol scores
every test frame exactly once, a tiny model learns real chorales, MIDI in and out, and bad
input in words."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pretty_midi
import pytest
import torch

from gen.core import registry
from gen.core.errors import GenError
from gen.music.pianoroll import load_benchmark, midi_to_roll
from gen.music.rolldata import build_roll_data, score_windows, train_windows
from gen.music.rolleval import evaluate_rolls, likelihood
from gen.music.rollmodel import PAD, PianoRollVAE, RollConfig, frame_lengths, pad_rolls


@pytest.fixture(scope="module", params=["debug-roll", "debug-roll-hier"])
def model(request) -> PianoRollVAE:
    """The flat and the hierarchical (conductor per bar) decoder: every test below holds
    for both."""
    torch.manual_seed(0)
    return registry.build_model(registry.get_recipe(request.param).model).eval()


@pytest.fixture(scope="module")
def chorales() -> list[np.ndarray]:
    return load_benchmark("jsb", "test")[:6]


def test_padding_never_changes_a_pieces_code_or_score(model, chorales):
    short, long = chorales[0][:20], chorales[1][:45]
    alone = model.to_input(short)
    batch = model.to_input([short, long])
    assert batch.shape == (2, 45, 88) and (batch[0, 20:] == PAD).all()
    assert frame_lengths(batch).tolist() == [20, 45]
    with torch.no_grad():
        torch.testing.assert_close(model.encoder_params(alone)[0], model.encoder_params(batch)[0])
        z = torch.randn(1, model.latent_dim)
        lp_alone = model.frame_log_probs(alone, z)
        lp_batch = model.frame_log_probs(batch, torch.cat([z, z]))
    torch.testing.assert_close(lp_alone[0], lp_batch[0, :20])
    assert (lp_batch[0, 20:] == 0).all()  # padded frames are never scored


def test_windows_cover_every_frame_once_and_training_windows_are_bounded(chorales):
    pieces = [np.ones((n, 88), dtype=np.uint8) * (i % 2) for i, n in enumerate((5, 64, 65, 130))]
    wins, piece = score_windows(pieces, 64)
    assert [len(w) for w in wins] == [5, 64, 64, 1, 64, 64, 2]
    assert piece.tolist() == [0, 1, 2, 2, 3, 3, 3]
    train = train_windows(pieces, 64)
    assert max(len(w) for w in train) == 64
    assert len(train_windows([np.zeros((130, 88), np.uint8)], 64)) == 4  # 0, 32, 64, 66


def test_likelihood_by_the_protocol(model, chorales):
    wins, _ = score_windows(chorales, model.config.max_frames)
    lik = likelihood(model, wins, k=8, progress=False)
    assert lik["frames"].sum() == sum(len(c) for c in chorales)
    assert np.isfinite(lik["is_nll"]).all() and (lik["kl"] >= 0).all()
    # log-mean-exp of the weights is at least their mean: the estimate sits below the bound
    # (up to the Monte Carlo error of the bound's own samples)
    assert lik["is_nll"].sum() <= lik["elbo"].sum() + 1.0
    again = likelihood(model, wins, k=8, progress=False)
    assert np.array_equal(lik["is_nll"], again["is_nll"])  # seeded


def test_a_tiny_nade_model_learns_chorales_and_beats_its_start(tmp_path):
    import gen

    rec = registry.get_recipe("debug-roll")
    out = gen.train(rec, tmp_path / "run", progress=False, overrides=["steps=60"])
    trained = gen.load(tmp_path / "run")
    assert (tmp_path / "run" / "best" / "best.json").is_file()
    torch.manual_seed(0)
    fresh = registry.build_model(rec.model).eval()
    test = load_benchmark("jsb", "test")[:10]
    wins, _ = score_windows(test, rec.model.max_frames)
    before = likelihood(fresh, wins, k=4, progress=False)
    after = likelihood(trained, wins, k=4, progress=False)
    frames = before["frames"].sum()
    assert before["is_nll"].sum() / frames > 40  # 88 keys near p = 0.5: about 61 nats
    assert after["is_nll"].sum() / frames < 0.5 * before["is_nll"].sum() / frames
    assert out.is_dir()


def test_outputs_shapes_lengths_and_seeds(model, chorales):
    s = model.sample(3, seed=1, frames=24)
    assert s.shape == (3, 24, 88) and s.dtype == np.uint8
    assert model.sample(1, seed=1, frames=22).shape == (1, 22, 88)  # not whole bars
    assert np.array_equal(s, model.sample(3, seed=1, frames=24))
    rec = model.reconstruct([chorales[0][:10], chorales[1][:30]])
    assert [len(r) for r in rec] == [10, 30]
    path = model.interpolate(chorales[0][:10], chorales[1][:30], steps=3)
    assert path.shape == (3, 30, 88)
    with pytest.raises(GenError, match="frames"):
        model.sample(2, frames=0)


def test_a_model_names_its_benchmark_and_eval_defaults_to_it():
    from gen.core.errors import ConfigError
    from gen.music.rolleval import default_benchmark

    base = registry.get_recipe("debug-roll").model
    assert default_benchmark(PianoRollVAE(base)) == "jsb"  # by frame grid, as before
    named = PianoRollVAE(RollConfig(frames_per_quarter=2, benchmark="piano-midi", max_frames=8,
                                    latent_dim=2, enc_size=4, dec_size=4, nade_hidden=4))
    assert default_benchmark(named) == "piano-midi"
    with pytest.raises(ConfigError, match="benchmark must be one of jsb, nottingham"):
        RollConfig(benchmark="bach")
    with pytest.raises(ConfigError, match="decoder must be one of"):
        RollConfig(decoder="tree")


def test_bad_rolls_are_refused_in_words(model):
    with pytest.raises(GenError, match="0 or 1"):
        model.to_input(np.full((4, 88), 2))
    with pytest.raises(GenError, match=r"shape \(frames, 88\)"):
        model.to_input(np.zeros((4, 87)))
    with pytest.raises(GenError, match="reads 1..64 frames"):
        model.to_input(np.zeros((65, 88)))
    with pytest.raises(GenError, match="empty list"):
        model.to_input([])


def _midi(path, notes, drums=False, program=0, tempo=120.0):
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    inst = pretty_midi.Instrument(program=program, is_drum=drums)
    for pitch, start, end in notes:
        inst.notes.append(pretty_midi.Note(velocity=90, pitch=pitch, start=start, end=end))
    pm.instruments.append(inst)
    pm.write(str(path))
    return path


def test_midi_round_trip_and_bad_files(model, tmp_path):
    # a C major chord then a G major chord, one quarter note (0.5 s at 120 bpm) each
    chords = [(p, 0.0, 0.5) for p in (60, 64, 67)] + [(p, 0.5, 1.0) for p in (55, 59, 62)]
    roll, report = model.roll(_midi(tmp_path / "chords.mid", chords), transpose_to_c=False)
    assert roll.shape == (2, 88) and roll.sum(1).tolist() == [3, 3]
    out = model.to_midi(roll, tmp_path / "out.mid", bpm=120)
    again, _ = midi_to_roll(out, 1)
    assert np.array_equal(again[:2], roll)
    # drums only, nothing, out of range, an 88-key cluster, a very long piece
    with pytest.raises(GenError, match="only drum notes"):
        model.roll(_midi(tmp_path / "drums.mid", [(36, 0, 1)], drums=True))
    with pytest.raises(GenError, match="no notes"):
        model.roll(_midi(tmp_path / "empty.mid", []))
    low = [(10, 0.0, 0.5), (60, 0.0, 0.5)]
    _, rep = model.roll(_midi(tmp_path / "low.mid", low), transpose_to_c=False)
    assert rep.notes_out_of_range == 1 and any("outside the piano range" in x for x in rep.lines())
    cluster, _ = model.roll(_midi(tmp_path / "cluster.mid", [(p, 0, 1) for p in range(21, 109)]),
                            transpose_to_c=False)
    assert cluster.sum(1).max() == 88
    assert model.reconstruct(cluster).shape == (1, len(cluster), 88)
    long = [(60 + i % 12, i * 0.5, i * 0.5 + 0.5) for i in range(3600)]  # 30 minutes
    r, rep = model.roll(_midi(tmp_path / "long.mid", long), transpose_to_c=False)
    assert len(r) == model.config.max_frames and rep.truncated
    assert any("Cut to the first 64" in x for x in rep.lines())


def test_cli_on_a_roll_model(tmp_path, model):
    d = model.save_pretrained(tmp_path / "m")
    run = [sys.executable, "-m", "gen.cli"]
    r = subprocess.run(run + ["sample", str(d), "--n", "2", "--out", str(tmp_path / "o"),
                              "--no-audio"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    data = np.load(tmp_path / "o" / "samples.npz")
    assert sorted(data.files) == ["roll_000", "roll_001"]
    assert (tmp_path / "o" / "samples.mid").is_file() and (tmp_path / "o" / "samples.png").is_file()
    r = subprocess.run(run + ["eval", str(d), "--k", "2", "--limit", "3"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout[r.stdout.index("{"):])
    assert res["pieces"] == 3 and math.isfinite(res["nll_per_frame_is"])
    r = subprocess.run(run + ["reconstruct", str(d), "9999", "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "test pieces" in r.stderr and "Traceback" not in r.stderr


def test_datasets_from_the_benchmark_and_a_midi_folder(tmp_path):
    cfg = RollConfig(frames_per_quarter=1, max_frames=32)
    train, ev = build_roll_data(cfg, source="jsb", limit=5)
    batch = train[torch.arange(len(train))]
    assert batch.shape[2] == 88 and batch.shape[1] <= 32
    assert train.frames >= sum(min(len(r), 32) for r in load_benchmark("jsb", "train")[:5])
    with pytest.raises(Exception, match="frames_per_quarter"):
        build_roll_data(RollConfig(frames_per_quarter=2), source="jsb")
    for i in range(30):
        _midi(tmp_path / f"p{i}.mid", [(60 + i % 7, 0.0, 1.0), (64, 0.5, 2.0)])
    train, ev = build_roll_data(cfg, source=str(tmp_path))
    assert len(train) + len(ev) >= 20
    assert pad_rolls([np.zeros((3, 88), np.uint8)]).shape == (1, 3, 88)


def test_evaluation_report_has_every_part(model, chorales):
    res = evaluate_rolls(model, chorales, k=2, pairs=2, samples=4, progress=False)
    assert set(res) >= {"nll_per_frame_is", "nll_per_frame_elbo", "reconstruction",
                        "interpolation", "samples"}
    assert 0 <= res["reconstruction"]["frame_accuracy"] <= 1
    assert set(res["samples"]["statistics"]) >= {"polyphony", "pitch_range", "mean_note_length"}


def test_pitch_offset_moves_midi_in_up_and_everything_out_down(tmp_path):
    from gen.music.rollio import roll_image

    torch.manual_seed(0)
    cfg = registry.get_recipe("debug-roll").model
    import dataclasses

    m = PianoRollVAE(dataclasses.replace(cfg, pitch_offset=12)).eval()
    roll, _ = m.roll(_midi(tmp_path / "c4.mid", [(60, 0.0, 0.5)]), transpose_to_c=False)
    assert np.nonzero(roll[0])[0].tolist() == [60 + 12 - 21]  # the model's register
    again, _ = midi_to_roll(m.to_midi(roll, tmp_path / "out.mid"), 1)
    assert np.nonzero(again[0])[0].tolist() == [60 - 21]  # written pitch again
    plain = PianoRollVAE(cfg).eval()
    assert not np.array_equal(roll_image(m, [roll]), roll_image(plain, [roll]))
