"""The `gen` command: help texts, verbs on a tiny trained model, clean errors."""

from __future__ import annotations

import pytest

from gen.cli import build_parser, main


def test_every_verb_has_help(capsys):
    sub = next(a for a in build_parser()._actions if a.dest == "cmd")
    for verb in ("list", "train", "eval", "sample", "interpolate", "plot", "demo"):
        assert verb in sub.choices
        with pytest.raises(SystemExit) as e:
            main([verb, "--help"])
        assert e.value.code == 0
        assert "usage: gen " + verb in capsys.readouterr().out


def test_verbs_write_pictures(tiny_vae_dir, tmp_path, capsys):
    assert main(["sample", str(tiny_vae_dir), "--n", "8", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "samples.png").stat().st_size > 1000
    assert (
        main(
            [
                "interpolate",
                str(tiny_vae_dir),
                "--a",
                "0",
                "--b",
                "1",
                "--steps",
                "5",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert (tmp_path / "interpolation.png").is_file()
    assert (
        main(
            [
                "eval",
                str(tiny_vae_dir),
                "--k",
                "5",
                "--limit",
                "50",
                "--json",
                str(tmp_path / "m.json"),
            ]
        )
        == 0
    )
    assert '"nll_is_k5_nats"' in (tmp_path / "m.json").read_text()


def test_errors_are_one_line_not_tracebacks(capsys, tiny_vae_dir):
    assert main(["sample", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'no-such-model'" in err and "Traceback" not in err
    assert main(["interpolate", str(tiny_vae_dir), "--a", "99999"]) == 2
    assert "test index 99999 out of range" in capsys.readouterr().err
    assert main(["train", "nope", "--out", "x"]) == 2
    assert "unknown config 'nope'" in capsys.readouterr().err
