"""Polyphonic piano rolls: vendored benchmark data, MIDI <-> roll, NADE output, roll metrics.

Real data and real MIDI files only (written with pretty_midi / mido into tmp_path).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import shutil
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import torch

from gen.core.errors import DataError, GenError
from gen.music import pianoroll as pr
from gen.music.nade import NadeOutput
from gen.music.rollmetrics import frame_accuracy, frame_f1, note_f1, roll_statistics

torch.set_num_threads(1)

TITLES = {"jsb": "JSB Chorales", "nottingham": "Nottingham", "musedata": "MuseData",
          "piano-midi": "Piano-midi.de"}


def _readme_row(name: str) -> tuple[list[int], list[int]]:
    """(pieces, frames) per split, parsed from the table in data/polyphonic/README.md."""
    text = (pr.benchmark_dir() / "README.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith(f"| {TITLES[name]} |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    return ([int(x) for x in cells[1].split(" / ")],
            [int(x.replace(",", "")) for x in cells[2].split(" / ")])


def _midi(tmp_path: Path, name: str, notes: list[tuple[int, float, float]], bpm: float = 60.0,
          drums: list[tuple[int, float, float]] | None = None) -> Path:
    """Write (pitch, start s, end s) notes as a piano part (+ optional drum part)."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    if notes:
        inst = pretty_midi.Instrument(program=0)
        inst.notes = [pretty_midi.Note(80, p, s, e) for p, s, e in notes]
        pm.instruments.append(inst)
    if drums:
        kit = pretty_midi.Instrument(program=0, is_drum=True)
        kit.notes = [pretty_midi.Note(80, p, s, e) for p, s, e in drums]
        pm.instruments.append(kit)
    path = tmp_path / name
    pm.write(str(path))
    return path


# ----------------------------------------------------------------------------- benchmark data

def test_vendored_files_match_their_sha256():
    for bench in pr.BENCHMARKS.values():
        data = (pr.benchmark_dir() / bench.file).read_bytes()
        assert hashlib.sha256(data).hexdigest() == bench.sha256, bench.file
    assert (pr.benchmark_dir() / "LICENSE-TCN-repo.txt").is_file()
    assert set(pr.BENCHMARKS) == {"jsb", "nottingham", "musedata", "piano-midi"}
    assert pr.BENCHMARKS["jsb"].frames_per_quarter == 1
    assert all(pr.BENCHMARKS[n].frames_per_quarter == 2
               for n in ("nottingham", "musedata", "piano-midi"))


def test_readme_table_is_the_published_one():
    assert _readme_row("jsb") == ([229, 76, 77], [13_807, 4_602, 4_725])
    assert _readme_row("nottingham") == ([694, 173, 170], [176_561, 45_513, 44_463])


@pytest.mark.parametrize("name", sorted(TITLES))
def test_split_sizes_and_frames_match_the_readme(name):
    pieces, frames = _readme_row(name)
    for split, n, f in zip(pr.SPLITS, pieces, frames):
        rolls = pr.load_benchmark(name, split)
        assert len(rolls) == n
        assert sum(r.shape[0] for r in rolls) == f
        assert all(r.dtype == np.uint8 and r.ndim == 2 and r.shape[1] == pr.KEYS
                   for r in rolls)
        assert int(max(r.max() for r in rolls)) == 1


def test_corrupted_or_missing_file_is_refused(tmp_path):
    bench = pr.BENCHMARKS["jsb"]
    copy = tmp_path / bench.file
    shutil.copyfile(pr.benchmark_dir() / bench.file, copy)
    assert len(pr.load_benchmark("jsb", "valid", directory=tmp_path)) == 76  # intact copy
    data = bytearray(copy.read_bytes())
    data[1000] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(DataError) as e:
        pr.load_benchmark("jsb", "valid", directory=tmp_path)
    msg = str(e.value)
    assert bench.file in msg and bench.sha256 in msg
    assert hashlib.sha256(bytes(data)).hexdigest() in msg
    with pytest.raises(DataError, match="Nottingham.mat"):
        pr.load_benchmark("nottingham", "train", directory=tmp_path)  # missing
    with pytest.raises(DataError, match="jsb, nottingham, musedata, piano-midi"):
        pr.load_benchmark("bach", "train")
    with pytest.raises(DataError, match="train, valid, test"):
        pr.load_benchmark("jsb", "validation")


# ----------------------------------------------------------------------------- MIDI <-> roll

def test_benchmark_pieces_round_trip_exactly_through_midi(tmp_path):
    jsb = pr.load_benchmark("jsb", "test")
    for i, roll in enumerate(jsb[:8]):
        path = pr.roll_to_midi(roll, tmp_path / f"jsb{i}.mid", frames_per_quarter=1, bpm=80)
        back, report = pr.midi_to_roll(path, frames_per_quarter=1)
        assert back.dtype == np.uint8
        np.testing.assert_array_equal(back, roll)
        assert report.reason is None and report.frames == len(roll)
    # a key held over consecutive frames is one note
    pm = pr.roll_to_pretty_midi(jsb[0], 1)
    held = np.diff(np.vstack([np.zeros((1, 88)), jsb[0], np.zeros((1, 88))]), axis=0) == 1
    assert len(pm.instruments[0].notes) == int(held.sum())
    # eighth-note frames at another tempo, including the pieces that start or end in silence
    nott = pr.load_benchmark("nottingham", "train")
    edges = [r for r in nott if r[0].sum() == 0 or r[-1].sum() == 0]
    assert sum(r[-1].sum() == 0 for r in edges) == 2 and len(edges) == 4
    for i, roll in enumerate([nott[3], *edges]):
        path = pr.roll_to_midi(roll, tmp_path / f"nott{i}.mid", frames_per_quarter=2, bpm=133)
        np.testing.assert_array_equal(pr.midi_to_roll(path, 2)[0], roll)
    # a pretty_midi object is accepted as the source too
    np.testing.assert_array_equal(pr.midi_to_roll(pm, 1)[0], jsb[0])


def test_several_rolls_are_written_one_after_another(tmp_path):
    a, b = pr.load_benchmark("jsb", "valid")[:2]
    path = pr.roll_to_midi([a, b], tmp_path / "two.mid", frames_per_quarter=1, gap_frames=3)
    back, _ = pr.midi_to_roll(path, 1)
    np.testing.assert_array_equal(back, np.vstack([a, np.zeros((3, 88), np.uint8), b]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two.mid"]  # no temporary file


def test_quantisation_half_frame_rule(tmp_path):
    # 60 bpm, one frame per quarter = one second per frame
    path = _midi(tmp_path, "q.mid", [(60, 0.0, 0.4),    # short: its onset frame 0
                                     (62, 1.2, 3.4),    # 0.8, 1, 0.4 of frames 1-3: 1, 2
                                     (64, 4.6, 5.3),    # 0.4 + 0.3: onset frame 4
                                     (65, 5.5, 6.0),    # exactly half: frame 5
                                     (67, 6.6, 8.0)])   # 0.4 of frame 6, all of 7: frame 7
    roll, report = pr.midi_to_roll(path, 1)
    on = {(int(t), int(k) + 21) for t, k in zip(*np.nonzero(roll))}
    assert on == {(0, 60), (1, 62), (2, 62), (4, 64), (5, 65), (7, 67)}
    assert roll.shape == (8, 88) and report.notes_kept == 5


def test_drums_empty_and_out_of_range(tmp_path):
    roll, rep = pr.midi_to_roll(_midi(tmp_path, "d.mid", [], drums=[(36, 0, 1), (38, 1, 2)]), 2)
    assert roll.shape == (0, 88) and rep.drum_notes == 2 and "drum" in rep.reason
    assert any("drum" in line for line in rep.lines())

    roll, rep = pr.midi_to_roll(_midi(tmp_path, "e.mid", []), 2)
    assert roll.shape == (0, 88) and rep.reason == "it contains no notes"

    notes = [(10, 0, 1), (120, 0, 1), (60, 0, 1)]
    roll, rep = pr.midi_to_roll(_midi(tmp_path, "r.mid", notes, drums=[(36, 0, 1)]), 1)
    assert rep.reason is None and rep.notes_out_of_range == 2 and rep.notes_kept == 1
    assert rep.drum_notes == 1 and roll[0, 60 - 21] == 1 and roll.sum() == 1
    assert any("outside the piano range" in line for line in rep.lines())

    roll, rep = pr.midi_to_roll(_midi(tmp_path, "rr.mid", [(10, 0, 1), (115, 1, 2)]), 1)
    assert roll.shape == (0, 88) and "outside the piano range" in rep.reason


def test_unreadable_midi_is_a_plain_data_error(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"this is not a MIDI file at all")
    with pytest.raises(DataError, match="bad.mid: unreadable: not a MIDI file") as e:
        pr.midi_to_roll(bad, 2)
    assert "Traceback" not in str(e.value)
    with pytest.raises(DataError, match="no such MIDI file"):
        pr.midi_to_roll(tmp_path / "missing.mid", 2)


def test_tempo_and_meter_changes_follow_the_beat(tmp_path):
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))  # 120 bpm
    track.append(mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0))
    for beat in range(8):  # one quarter note per beat, pitch rising
        if beat == 3:
            track.append(mido.MetaMessage("set_tempo", tempo=1_000_000, time=0))  # 60 bpm
            track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4,
                                          time=0))
        track.append(mido.Message("note_on", note=60 + beat, velocity=80, time=0))
        track.append(mido.Message("note_off", note=60 + beat, velocity=0, time=480))
    path = tmp_path / "tempo.mid"
    mid.save(str(path))

    roll, rep = pr.midi_to_roll(path, frames_per_quarter=2)
    expected = np.zeros((16, 88), np.uint8)
    for beat in range(8):
        expected[2 * beat:2 * beat + 2, 60 + beat - 21] = 1
    np.testing.assert_array_equal(roll, expected)
    assert rep.tempi == [120.0, 60.0] and rep.tempo_changes == 1
    assert rep.time_signatures == ["3/4", "4/4"] and rep.time_signature_changes == 1
    assert any("tempo change" in line for line in rep.lines())


def test_long_pieces_are_cut_before_allocating(tmp_path):
    notes = [(60 + i % 12, float(i), float(i + 1)) for i in range(40)]
    roll, rep = pr.midi_to_roll(_midi(tmp_path, "long.mid", notes), 1, max_frames=16)
    assert roll.shape == (16, 88) and rep.truncated and rep.original_frames == 40
    assert rep.notes_kept == 16 and rep.notes_cut == 24
    assert any("Cut to the first 16 of 40 frames" in line for line in rep.lines())
    # a stray event hours later: the MIDI reader's budget reads the first 10 minutes only
    # (gen.core.limits.MIDI_MAX_SECONDS) and the report says so
    far = _midi(tmp_path, "far.mid", [(60, 0.0, 1.0), (62, 20_000.0, 20_001.0)], bpm=120)
    roll, rep = pr.midi_to_roll(far, 4, max_frames=64)
    assert roll.shape == (8, 88) and rep.notes_kept == 1
    assert any("first 10:00" in line for line in rep.lines())


def _cadences(tonic: int, minor: bool = False) -> list[tuple[int, float, float]]:
    """Scale up and down, then I-IV-V-I block chords, in the key of ``tonic`` (a MIDI pitch)."""
    steps = [0, 2, 3, 5, 7, 8, 11, 12] if minor else [0, 2, 4, 5, 7, 9, 11, 12]
    third = 3 if minor else 4
    notes, t = [], 0.0
    for s in steps + steps[::-1]:
        notes.append((tonic + s, t, t + 0.5))
        t += 0.5
    for root, chord in ((0, (0, third, 7)), (5, (0, 4 if not minor else 3, 7)), (7, (0, 4, 7)),
                        (0, (0, third, 7))):
        notes += [(tonic - 12 + root + c, t, t + 1.0) for c in chord]
        t += 1.0
    return notes


def test_key_transposition_moves_d_major_to_c(tmp_path):
    in_d = _midi(tmp_path, "d.mid", _cadences(62))
    in_c = _midi(tmp_path, "c.mid", _cadences(60))
    roll, rep = pr.midi_to_roll(in_d, 2, transpose_to_c=True)
    assert rep.key == "D major" and rep.transposition == -2
    np.testing.assert_array_equal(roll, pr.midi_to_roll(in_c, 2)[0])
    plain, _ = pr.midi_to_roll(in_d, 2)
    np.testing.assert_array_equal(pr.transpose_roll(roll, -rep.transposition), plain)
    assert any("D major" in line and "C major" in line for line in rep.lines())
    # minor keys go to C minor (the benchmark's convention): A minor is shifted up 3
    _, rep = pr.midi_to_roll(_midi(tmp_path, "a.mid", _cadences(57, minor=True)), 2,
                             transpose_to_c=True)
    assert rep.key == "A minor" and rep.transposition == 3


def test_bad_rolls_and_settings_are_refused(tmp_path):
    ok = np.zeros((4, 88), np.uint8)
    with pytest.raises(GenError, match=r"\(T, 88\)"):
        pr.roll_to_midi(np.zeros((4, 87)), tmp_path / "x.mid", 1)
    with pytest.raises(GenError, match="0 or 1"):
        pr.roll_to_midi(ok + 2, tmp_path / "x.mid", 1)
    with pytest.raises(GenError, match="bpm.*20..400"):
        pr.roll_to_midi(ok, tmp_path / "x.mid", 1, bpm=1000)
    with pytest.raises(GenError, match="program.*0..127"):
        pr.roll_to_midi(ok, tmp_path / "x.mid", 1, program=128)
    with pytest.raises(GenError, match="frames_per_quarter"):
        pr.midi_to_roll(tmp_path / "x.mid", 0)
    assert not (tmp_path / "x.mid").exists()


def test_windows_and_padding():
    roll = np.zeros((10, 88), np.uint8)
    roll[np.arange(10), np.arange(10)] = 1
    w = pr.roll_windows(roll, length=4, hop=3)
    assert w.shape == (3, 4, 88) and w.dtype == np.uint8
    np.testing.assert_array_equal(w[2], roll[6:10])
    assert pr.roll_windows(roll, 11, 1).shape == (0, 11, 88)
    batch, lengths = pr.pad_batch([roll[:3], roll, roll[:0]])
    assert batch.shape == (3, 10, 88) and lengths.tolist() == [3, 10, 0]
    np.testing.assert_array_equal(batch[0, :3], roll[:3])
    assert batch[0, 3:].sum() == 0 and batch[2].sum() == 0


# ----------------------------------------------------------------------------- NADE

def _naive_log_prob(nade: NadeOutput, h: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Unit-by-unit NADE, written as the textbook loop: h (N, H), v (N, K) -> (N,)."""
    b_v, a = nade.biases(h)
    total = torch.zeros(h.shape[0])
    for i in range(nade.num_units):
        p = torch.sigmoid(b_v[:, i] + torch.sigmoid(a) @ nade.v[i])
        total = total + torch.where(v[:, i] > 0, p, 1 - p).log()
        a = a + v[:, i:i + 1] * nade.w[:, i]
    return total


def test_nade_is_a_normalised_distribution():
    nade = NadeOutput(hidden=5, num_units=4, nade_hidden=3)
    frames = torch.tensor(list(itertools.product([0.0, 1.0], repeat=4)))  # (16, 4)
    h = torch.randn(3, 1, 5).expand(3, 16, 5)
    lp = nade.log_prob(h, frames.expand(3, 16, 4))
    assert lp.shape == (3, 16)
    torch.testing.assert_close(lp.exp().sum(-1), torch.ones(3), atol=1e-5, rtol=0)
    hv = torch.randn(16, 5)
    torch.testing.assert_close(nade.log_prob(hv, frames), _naive_log_prob(nade, hv, frames))


def test_nade_sampling_greedy_and_seeded():
    nade = NadeOutput(hidden=5, num_units=4, nade_hidden=3)
    h = torch.randn(6, 5)
    g1, g2 = nade.sample(h, greedy=True), nade.sample(h, greedy=True)
    torch.testing.assert_close(g1, g2)
    # greedy unit i is 1 exactly when its conditional logit, given units < i, is positive
    torch.testing.assert_close(g1, (nade.logits(h, g1) > 0).float())
    draw = [nade.sample(h, generator=torch.Generator().manual_seed(7)) for _ in range(2)]
    torch.testing.assert_close(draw[0], draw[1])
    assert set(draw[0].unique().tolist()) <= {0.0, 1.0} and draw[0].shape == (6, 4)
    # samples follow exp(log_prob): empirical vs exact frequencies of the 16 frames
    n = 6000
    one = torch.randn(1, 5).expand(n, 5)
    s = nade.sample(one, generator=torch.Generator().manual_seed(0))
    codes = (s * torch.tensor([8.0, 4.0, 2.0, 1.0])).sum(-1).long()
    empirical = torch.bincount(codes, minlength=16).float() / n
    frames = torch.tensor(list(itertools.product([0.0, 1.0], repeat=4)))
    exact = nade.log_prob(one[:16], frames).exp()
    assert 0.5 * (empirical - exact).abs().sum() < 0.04
    cold = nade.sample(one, temperature=0.05, generator=torch.Generator().manual_seed(0))
    assert (cold == nade.sample(one[:1], greedy=True)).all(-1).float().mean() > 0.95


def test_nade_gradients_flow_and_helpers():
    nade = NadeOutput(hidden=8)
    h = torch.randn(2, 3, 8, requires_grad=True)
    v = (torch.rand(2, 3, 88) < 0.1).float()
    v[..., 0] = 1.0  # no frame is silent, so a hidden frame never equals the original
    loss = -nade.log_prob(h, v).mean()
    loss.backward()
    assert math.isfinite(loss.item())
    for name, p in [("h", h), *nade.named_parameters()]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert nade.start(2, torch.device("cpu")).shape == (2, 88) and nade.depth == 88
    mask = torch.tensor([[True, False, False], [False, False, True]])
    hidden = nade.hide(v, mask)
    assert hidden[mask].sum() == 0 and torch.equal(hidden[~mask], v[~mask])
    assert torch.equal(nade.matches(v, hidden), (~mask).float())


# ----------------------------------------------------------------------------- metrics

def _hand_rolls() -> tuple[np.ndarray, np.ndarray]:
    target = np.zeros((5, 88), np.uint8)
    target[0:3, 0] = 1  # one note, frames 0-2, pitch 21
    target[1, 5] = 1  # two notes of pitch 26
    target[3, 5] = 1
    pred = np.zeros((5, 88), np.uint8)
    pred[0:2, 0] = 1  # same onset as the reference, shorter
    pred[3, 5] = 1  # matches the second pitch-26 note
    pred[2, 7] = 1  # a false note
    return pred, target


def test_frame_and_note_metrics_on_hand_made_rolls():
    pred, target = _hand_rolls()
    # cells: TP 3 ((0,0), (1,0), (3,5)), FP 1 ((2,7)), FN 2 ((2,0), (1,5))
    assert frame_accuracy(pred, target) == pytest.approx(3 / 6)
    p, r, f = frame_f1(pred, target)
    assert (p, r, f) == pytest.approx((3 / 4, 3 / 5, 2 / 3))
    # notes: reference 3, predicted 3, matched 2 (pitch 21 @0, pitch 26 @3)
    assert tuple(note_f1(pred, target)) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    # lists pool the counts: adding a perfect piece with 2 cells / 1 note
    extra = np.zeros((2, 88), np.uint8)
    extra[:, 40] = 1
    assert frame_accuracy([pred, extra], [target, extra]) == pytest.approx(5 / 8)
    assert note_f1([pred, extra], [target, extra]).f1 == pytest.approx(2 * 3 / 8)
    silent = np.zeros((3, 88), np.uint8)
    assert frame_accuracy(silent, silent) == 1.0 and frame_accuracy(silent, target[:3]) == 0.0
    assert frame_accuracy(target, target) == 1.0 and note_f1(target, target).f1 == 1.0
    with pytest.raises(GenError, match="shape"):
        frame_accuracy(pred[:4], target)


def test_roll_statistics_on_a_hand_made_roll():
    _, target = _hand_rolls()
    stats = roll_statistics([target, np.zeros((3, 88), np.uint8)])
    assert set(stats) == {"pieces", "frames", "notes", "polyphony", "silent_fraction",
                          "mean_pitch", "pitch_range", "mean_note_length", "onset_density"}
    assert stats["pieces"] == 2 and stats["frames"] == 8 and stats["notes"] == 3
    assert stats["polyphony"] == pytest.approx(5 / 8)
    assert stats["silent_fraction"] == pytest.approx(4 / 8)  # frame 4 + the 3 silent frames
    assert stats["mean_pitch"] == pytest.approx((3 * 21 + 2 * 26) / 5)
    assert stats["pitch_range"] == pytest.approx(5.0)  # the silent piece has no range
    assert stats["mean_note_length"] == pytest.approx(5 / 3)
    assert stats["onset_density"] == pytest.approx(3 / 8)
    assert math.isnan(roll_statistics([np.zeros((2, 88))])["mean_pitch"])
