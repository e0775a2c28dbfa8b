"""The `gen` command: help texts, generic verbs on tiny trained models, clean errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from gen.cli import build_parser, main

VERBS = ("list", "train", "eval", "sample", "reconstruct", "interpolate", "grid", "ship",
         "data", "extract", "plot")


def test_every_verb_has_help(capsys):
    sub = next(a for a in build_parser()._actions if a.dest == "cmd")
    assert set(VERBS) <= set(sub.choices)
    for verb in VERBS:
        with pytest.raises(SystemExit) as e:
            main([verb, "--help"])
        assert e.value.code == 0
        assert "usage: gen " + verb in capsys.readouterr().out


def test_help_does_not_import_torch():
    code = "import sys; from gen.cli import main; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_image_verbs_write_pictures(tiny_vae_dir, tmp_path):
    assert main(["sample", str(tiny_vae_dir), "--n", "8", "--prior-scale", "0.8",
                 "--out", str(tmp_path)]) == 0
    assert (tmp_path / "samples.png").stat().st_size > 1000
    assert np.load(tmp_path / "samples.npy").shape == (8, 1, 28, 28)
    assert main(["interpolate", str(tiny_vae_dir), "0", "1", "--steps", "5",
                 "--out", str(tmp_path)]) == 0
    assert np.load(tmp_path / "interpolation.npy").shape == (5, 1, 28, 28)
    assert main(["reconstruct", str(tiny_vae_dir), "3", "4", "--out", str(tmp_path)]) == 0
    assert np.load(tmp_path / "reconstruction.npy").shape == (4, 1, 28, 28)  # inputs + outputs
    assert main(["grid", str(tiny_vae_dir), "0", "1", "2", "3", "--rows", "3", "--cols", "2",
                 "--out", str(tmp_path)]) == 0
    assert np.load(tmp_path / "grid.npy").shape == (6, 1, 28, 28)
    assert main(["eval", str(tiny_vae_dir), "--k", "5", "--limit", "50",
                 "--json", str(tmp_path / "m.json")]) == 0
    assert '"nll_is_k5_nats"' in (tmp_path / "m.json").read_text()


def test_music_verbs_write_midi(tmp_path):
    assert main(["sample", "cat-mel_2bar_small", "--n", "2", "--temperature", "0.5",
                 "--no-audio", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "samples.mid").is_file() and (tmp_path / "samples_01.mid").is_file()
    assert main(["interpolate", "cat-mel_2bar_small", "0", "1", "--steps", "3",
                 "--no-audio", "--out", str(tmp_path)]) == 0
    path = np.load(tmp_path / "interpolation.npy")
    assert path.shape == (3, 32)
    # the path's endpoints are the greedy reconstructions of the two examples
    assert main(["reconstruct", "cat-mel_2bar_small", "0", "1", "--no-audio", "--no-plot",
                 "--out", str(tmp_path)]) == 0
    rec = np.load(tmp_path / "reconstruction.npy")
    assert np.array_equal(rec[2], path[0]) and np.array_equal(rec[3], path[-1])


def test_errors_are_one_line_not_tracebacks(capsys, tiny_vae_dir, tmp_path):
    cases = [
        (["sample", "no-such-model"], "unknown model 'no-such-model'"),
        (["interpolate", str(tiny_vae_dir), "99999", "1"], "test index out of range"),
        (["train", "nope", "--out", str(tmp_path / "x")], "unknown config 'nope'"),
        (["sample", str(tiny_vae_dir), "--temperature", "0.5"], "use prior_scale"),
        (["sample", "mnist-ae"], "no prior to sample from"),
        (["train", "debug-mnist-vae", "--out", str(tmp_path / "x"), "--set", "lr=abc"],
         "--set lr=abc: expected a number"),
        (["train", "debug-mnist-vae", "--out", str(tmp_path / "x"), "--set", "nope=1"],
         "--set nope: is not a setting"),
        (["train", "debug-mnist-vae", "--out", str(tmp_path / "x"), "--set", "batch_size=0"],
         "train.batch_size must be >= 1"),
        (["train", "debug-mnist-vae", "--out", str(tmp_path / "x"), "--set",
          "latent_dim=-3"], "latent_dim must be >= 1"),
        (["eval", "cat-mel_2bar_small", "--k", "5"], "--k does not apply"),
        (["train", "debug-mel_2bar", "--out", str(tmp_path / "x"), "--init", "mnist-vae"],
         "cannot start a MusicConfig recipe"),
    ]
    for argv, msg in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err, (argv, err)
        assert not (tmp_path / "x" / "model").exists()
    out = tmp_path / "afile"
    out.write_text("")
    assert main(["sample", str(tiny_vae_dir), "--out", str(out)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["train", "debug-mnist-vae", "--out", "x", "--steps", "-5"],
                                  ["sample", "mnist-vae", "--n", "0"],
                                  ["sample", "mnist-vae", "--seed", "1e30"],
                                  ["sample", "mnist-vae", "--prior-scale", "nan"]])
def test_bad_numbers_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_set_overrides_reach_the_run(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "debug-mnist-vae", "--out", str(out), "--steps", "4", "--set",
                 "lr=0.002", "--set", "beta=0.5", "--set", "eval_every=2",
                 "--set", "batch_size=16"]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["train"]["lr"] == 0.002 and run["train"]["batch_size"] == 16
    assert run["model"]["kl"]["beta"] == 0.5 and run["train"]["steps"] == 4
    cfg = json.loads((out / "model" / "config.json").read_text())
    assert cfg["kl"]["beta"] == 0.5
