"""Tests of the music head: converters, extraction, corpus preparation, models, I/O, CLI.

Real music21 corpus tunes and real MIDI files written with pretty_midi; tiny models.
"""

from __future__ import annotations

import ctypes.util
import dataclasses
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from music_fixtures import (
    TEST_COLLECTIONS,
    TEST_LIMIT,
    build_corpus_dataset,
    scale_melody,
    write_midi,
    write_midi_tempo_change,
)

import gen
from gen.core.errors import ConfigError, DataError, GenError
from gen.core.objective import KLConfig
from gen.music import extract, midi
from gen.music import melody as tokens
from gen.music.dataset import MelodyDataset, load_windows, prepare_corpus
from gen.music.layers import sampling_probability
from gen.music.model import MusicConfig, MusicVAE

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def corpus_dataset(tmp_path_factory):
    return build_corpus_dataset(tmp_path_factory)


def _windows(path, bars=2):
    wins, rep = extract.extract_file(path, bars)[bars]
    return wins, rep


# ----------------------------------------------------------------------------- tokens
def test_import_gen_keeps_music_libraries_lazy():
    code = ("import sys, gen, gen.music; "
            "print([m for m in ('note_seq', 'music21', 'pretty_midi', 'fluidsynth', "
            "'matplotlib.pyplot', 'librosa') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_token_encoding_matches_musicvae():
    assert tokens.NUM_CLASSES == 90
    ev = [60, -2, -2, -1, 21, 108, -2, -1]
    tok = tokens.events_to_tokens(ev)
    assert tok.tolist() == [41, 0, 0, 1, 2, 89, 0, 1]
    assert tokens.tokens_to_events(tok) == ev
    assert tokens.tokens_to_notes([41, 0, 0, 1, 2, 89, 0, 0]) == [(60, 0, 3), (21, 4, 5),
                                                                  (108, 5, 8)]


def test_canonicalize_drops_stray_note_offs():
    t = np.array([1, 41, 0, 1, 1, 0, 43, 1])
    assert tokens.canonicalize(t).tolist() == [0, 41, 0, 1, 0, 0, 43, 1]


@pytest.mark.parametrize("bad,msg", [
    (np.zeros(31, int), "has 31 steps; this model needs 32"),
    (np.full(32, 95), "token 95 at position (0,)"),
    (np.full(32, 0.5), "must be integers"),
])
def test_bad_tokens_name_the_problem(bad, msg):
    with pytest.raises(DataError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        tokens.validate_tokens(bad, 32)


# ----------------------------------------------------------------------------- extraction
def test_roundtrip_tokens_notesequence_midi_tokens(corpus_dataset, tmp_path):
    """melody -> tokens -> NoteSequence -> MIDI file -> tokens is the identity."""
    ns_mod = midi.note_seq_module()
    wins = load_windows(corpus_dataset, 2, "train")[:120]
    canon = tokens.canonicalize(wins)
    ok = [w for w in canon if tokens.survives_midi(w)]
    assert len(ok) >= 0.8 * len(canon)  # nearly all real windows qualify
    assert sum((c != w).any() for c, w in zip(canon, wins)) == 0  # corpus windows are canonical
    for i, w in enumerate(ok[:60]):
        seq = midi.tokens_to_note_sequence(w, qpm=100.0, program=73)
        path = tmp_path / f"w{i}.mid"
        ns_mod.sequence_proto_to_midi_file(seq, str(path))
        back, rep = _windows(path)
        assert rep.reason is None
        assert back.shape == (1, 32)
        assert back[0].tolist() == w.tolist(), tokens.describe(w)


def test_extraction_several_instruments_and_drums(tmp_path):
    lead = scale_melody(4, 60)
    bass = scale_melody(4, 36, note_len=8)
    drums = [(36, s, s + 1) for s in range(0, 64, 4)]
    f = write_midi(tmp_path / "band.mid", [
        {"notes": lead, "program": 0}, {"notes": bass, "program": 33},
        {"notes": drums, "is_drum": True}])
    wins, rep = _windows(f)  # the melody track only: the bass adds no windows
    assert rep.melodies == 1 and len(wins) == 3  # 3 two-bar windows per 4-bar melody
    assert all(tokens.token_to_pitch(t) >= 60 for t in wins.ravel() if t >= 2)
    assert rep.track == 0 and [t["program"] for t in rep.tracks] == [0, 33, 0]
    every = extract.extract_file(f, 2, extract.ExtractionOptions(track="all"))[2]
    assert every[1].melodies == 2 and len(every[0]) == 6  # MusicVAE: every pitched track
    assert all(tokens.token_to_pitch(t) >= 36 for t in every[0].ravel() if t >= 2)
    drums_only = write_midi(tmp_path / "drums.mid", [{"notes": drums, "is_drum": True}])
    wins, rep = _windows(drums_only)
    assert len(wins) == 0 and rep.reason.startswith("drums only")


def test_extraction_chords_highest_note_wins(tmp_path):
    notes = [(60, 0, 8), (64, 0, 8), (67, 0, 8), (59, 8, 16), (62, 8, 16), (55, 16, 32)]
    f = write_midi(tmp_path / "chords.mid", [{"notes": notes}])
    wins, _ = _windows(f)
    assert len(wins) == 1
    assert tokens.tokens_to_notes(wins[0]) == [(67, 0, 8), (62, 8, 16), (55, 16, 32)]


def test_extraction_three_four_is_rejected_with_reason(tmp_path):
    f = write_midi(tmp_path / "waltz.mid", [{"notes": scale_melody(4)}], time_signature=(3, 4))
    wins, rep = _windows(f)
    assert len(wins) == 0
    assert rep.reason.startswith("unsupported time signature 3/4")
    assert "4/4" in rep.reason  # says what is supported


def test_extraction_splits_at_tempo_change(tmp_path):
    f = write_midi_tempo_change(tmp_path / "tempo.mid", scale_melody(4, 60),
                                scale_melody(4, 67))
    wins, rep = _windows(f)
    assert rep.reason is None and len(wins) == 6  # 3 windows on each side of the change
    firsts = sorted(tokens.token_to_pitch(w[0]) for w in wins)
    assert 67 in firsts and 60 in firsts


def test_extraction_ignores_notes_outside_piano_range(tmp_path):
    notes = [(60, 0, 8), (110, 8, 16), (62, 16, 24), (64, 24, 32)]
    f = write_midi(tmp_path / "range.mid", [{"notes": notes}])
    wins, _ = _windows(f)
    assert wins[0].tolist()[8] == tokens.NOTE_OFF  # the 110 became a rest
    assert tokens.tokens_to_notes(wins[0]) == [(60, 0, 8), (62, 16, 24), (64, 24, 32)]
    high = write_midi(tmp_path / "high.mid", [{"notes": [(110, 0, 32), (120, 32, 64)]}])
    wins, rep = _windows(high)
    assert len(wins) == 0 and rep.reason.startswith("no notes in range")
    assert "110-120" in rep.reason


def test_extraction_empty_corrupt_and_short_files(tmp_path):
    empty = write_midi(tmp_path / "empty.mid", [])
    assert _windows(empty)[1].reason == "no notes"
    bad = tmp_path / "corrupt.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage that is not a midi file")
    wins, rep = _windows(bad)
    assert len(wins) == 0 and rep.reason.startswith("unreadable")
    short = write_midi(tmp_path / "short.mid", [{"notes": scale_melody(1)}])
    wins, rep = _windows(short)
    assert len(wins) == 0 and rep.reason.startswith("too short")
    with pytest.raises(DataError, match="short.mid: no 2-bar melody windows: too short"):
        extract.melody_windows(short, 2)
    with pytest.raises(DataError, match="nothing.mid: no such file"):
        extract.melody_windows(tmp_path / "nothing.mid", 2)
    long = write_midi(tmp_path / "long.mid", [{"notes": scale_melody(4)}])
    with pytest.raises(DataError, match="window index 7 is out of range; it has 3"):
        extract.melody_window(long, 2, 7)


# ----------------------------------------------------------------------------- musicians' files
def _band(tmp_path, name="band.mid"):
    """Strings (high chords), a flute melody, a bass and drums, as a real multitrack file."""
    melody = scale_melody(4, 72)  # mean pitch about 77, one note at a time
    pad = [(p, s, s + 16) for s in range(0, 64, 16) for p in (79, 83, 86)]  # higher, chords
    bass = scale_melody(4, 36, note_len=8)
    drums = [(36, s, s + 1) for s in range(0, 64, 4)]
    return write_midi(tmp_path / name, [
        {"notes": pad, "program": 48, "name": "Strings"},
        {"notes": melody, "program": 73, "name": "Flute solo"},
        {"notes": bass, "program": 33, "name": "Bass"},
        {"notes": drums, "is_drum": True, "name": "Kit"}])


def test_multitrack_melody_track_by_rule_and_by_choice(tmp_path):
    f = _band(tmp_path)
    alone = write_midi(tmp_path / "alone.mid", [{"notes": scale_melody(4, 72), "program": 73}])
    wins, rep = _windows(f)
    # the flute: the strings lie higher but play chords; bass and drums add nothing
    assert rep.track == 1 and "chosen by rule" in rep.track_choice
    assert np.array_equal(wins, _windows(alone)[0])
    assert [(t["name"], t["program"], t["is_drum"]) for t in rep.tracks] == [
        ("Strings", 48, False), ("Flute solo", 73, False), ("Bass", 33, False),
        ("Kit", 0, True)]
    text = "\n".join(rep.details())
    assert "melody track 1 'Flute solo' (Flute, program 73)" in text
    assert "0 'Strings' (String Ensemble 1, program 48)" in text and "3 'Kit' (drums)" in text
    # the user picks another track, by number or by name
    bass, rep_b = extract.extract_file(f, 2, extract.ExtractionOptions(track=2))[2]
    assert rep_b.track == 2 and rep_b.track_choice == "chosen by the user"
    assert all(tokens.token_to_pitch(t) < 60 for t in bass.ravel() if t >= 2)
    by_name = extract.melody_windows(f, 2, track="bass")
    assert np.array_equal(by_name, bass)
    for bad, why in ((3, "track 3 is a drum track"), (9, "track 9 has no notes"),
                     ("Oboe", "no track is named 'Oboe'")):
        w, r = extract.extract_file(f, 2, extract.ExtractionOptions(track=bad))[2]
        assert len(w) == 0 and r.reason.startswith("no such track") and why in r.reason
        assert "1 'Flute solo'" in r.reason  # lists the tracks to choose from
    tracks, chosen = extract.list_tracks(f)
    assert chosen == 1 and [t.index for t in tracks] == [0, 1, 2, 3]
    assert tracks[1].one_at_a_time == 1.0 and tracks[0].one_at_a_time == 0.0


def test_windows_say_which_track_and_bar_they_come_from(tmp_path):
    late = [(p, 32 + s, 32 + e) for p, s, e in scale_melody(4, 72)]  # enters at bar 3
    f = write_midi(tmp_path / "late.mid", [{"notes": scale_melody(6, 40), "name": "Bass"},
                                           {"notes": late, "name": "Lead"}])
    wins, rep = _windows(f)
    assert rep.track == 1 and rep.window_tracks == [1, 1, 1]
    assert rep.window_starts == [2.0, 3.0, 4.0]  # bars 3-4, 4-5, 5-6 counted from 1
    every, rep = extract.extract_file(f, 2, extract.ExtractionOptions(track="all"))[2]
    assert sorted(zip(rep.window_tracks, rep.window_starts)) == [
        (0, 0.0), (0, 1.0), (0, 2.0), (0, 3.0), (0, 4.0), (1, 2.0), (1, 3.0), (1, 4.0)]
    # after a tempo change the bars go on counting from the file's start
    f = write_midi_tempo_change(tmp_path / "tempo.mid", scale_melody(4, 60),
                                scale_melody(4, 67))
    assert sorted(_windows(f)[1].window_starts) == [0.0, 1.0, 2.0, 4.0, 5.0, 6.0]


def test_piano_hands_on_two_tracks_right_hand_wins(tmp_path):
    right = [(p, s, s + 8) for s, p in zip(range(0, 64, 8), (72, 76, 74, 71, 72, 79, 77, 76))]
    right += [(p - 5, s, e) for p, s, e in right[::2]]  # some chords: not one at a time
    left = [([48, 55, 52, 55][i % 4], 2 * i, 2 * i + 2) for i in range(32)]  # Alberti bass
    f = write_midi(tmp_path / "hands.mid", [{"notes": right, "name": "RH"},
                                            {"notes": left, "name": "LH"}])
    tracks, chosen = extract.list_tracks(f)
    assert tracks[1].one_at_a_time == 1.0 and tracks[0].one_at_a_time < 0.75
    assert chosen == 0  # the left hand is an octave and more below: not a melody candidate


def test_top_voice_keeps_held_melody_over_alberti_bass(tmp_path):
    melody = [(72, 0, 8), (76, 8, 16), (74, 16, 24), (71, 24, 32)]  # half notes
    alberti = [([48, 55, 52, 55][i % 4], 2 * i, 2 * i + 2) for i in range(16)]
    f = write_midi(tmp_path / "alberti.mid", [{"notes": melody + alberti}])  # one piano track
    wins, rep = _windows(f)
    assert tokens.tokens_to_notes(wins[0]) == melody  # held notes are not cut
    assert any("top voice: left out 12 lower note(s)" in r for r in rep.repairs)
    old, _ = extract.extract_file(f, 2, extract.ExtractionOptions.musicvae())[2]
    assert tokens.tokens_to_notes(old[0])[:2] == [(72, 0, 2), (55, 2, 4)]  # MusicVAE's rule
    # a higher note still cuts a held lower one; a note after the held one ends is kept
    rising = [(60, 0, 16), (67, 4, 8), (64, 16, 32)]
    f2 = write_midi(tmp_path / "rising.mid", [{"notes": rising}])
    assert tokens.tokens_to_notes(_windows(f2)[0][0]) == [(60, 0, 4), (67, 4, 8),
                                                           (64, 16, 32)]


def test_repairs_are_reported(tmp_path):
    import pretty_midi

    f = write_midi(tmp_path / "range.mid", [{"notes": [(60, 0, 8), (110, 8, 16), (10, 16, 24),
                                                       (64, 24, 32)]}])
    assert "left out 2 note(s) outside the models' range 21-108 (pitches 10-110)" in (
        _windows(f)[1].repairs)
    f = write_midi_tempo_change(tmp_path / "tempo.mid", scale_melody(4, 60),
                                scale_melody(4, 67))
    assert any(r.startswith("split into 2 parts at tempo or time-signature changes (at 0:08)")
               for r in _windows(f)[1].repairs)
    # overlapping notes of one pitch merged; zero-length notes dropped (a PrettyMIDI input)
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(0)
    step = 0.125
    for p, s, e in [(60, 0, 8), (60, 4, 12), (62, 12, 12), (64, 16, 32)]:
        inst.notes.append(pretty_midi.Note(velocity=90, pitch=p, start=s * step, end=e * step))
    pm.instruments.append(inst)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    wins, rep = extract.extract_windows(midi.to_note_sequence(pm), 2)[2]
    assert tokens.tokens_to_notes(wins[0]) == [(60, 0, 12), (64, 16, 32)]
    assert rep.repairs[:2] == [
        "merged 1 note(s) that overlapped a note of the same pitch on the same track",
        "dropped 1 zero-length note(s)"]
    # a note held through a whole window: that window has no onset and is dropped
    held = write_midi(tmp_path / "held.mid", [{"notes": [(60, 0, 48)] + [
        (p, 48 + s, 48 + e) for p, s, e in scale_melody(2, 62)]}])
    wins, rep = _windows(held)
    assert len(wins) == 3 and all((w >= 2).any() for w in wins)
    assert "dropped 1 distinct window(s) without a note onset" in " ".join(rep.repairs)
    kept, rep = extract.extract_file(held, 2, extract.ExtractionOptions.musicvae())[2]
    assert len(kept) == 4 and "kept 1 distinct window(s)" in " ".join(rep.repairs)


def _damaged(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    wins, rep = _windows(path)
    assert len(wins) == 0
    return rep.reason


def test_malformed_files_named_in_plain_words(tmp_path):
    good = write_midi(tmp_path / "good.mid", [{"notes": scale_melody(4)}]).read_bytes()
    assert good[10:12] == b"\x00\x02"  # two tracks: tempo map and notes
    cases = {
        "empty.mid": (b"", "unreadable: empty file (0 bytes)"),
        "text.mid": (b"not midi at all", "unreadable: not a MIDI file"),
        "cut.mid": (good[: len(good) // 2], "unreadable: truncated: track 2 of 2 declares"),
        "head.mid": (good[:10], "unreadable: truncated: the file ends inside its header"),
        "tpq0.mid": (good[:12] + b"\x00\x00" + good[14:],
                     "unreadable: the header gives 0 ticks per quarter note"),
        "smpte.mid": (good[:12] + b"\xe7\x28" + good[14:],
                      "unreadable: the file counts time in SMPTE frames (25 frames per second, "
                      "40 ticks per frame)"),
        "count.mid": (good[:10] + b"\x00\x03" + good[12:],
                      "unreadable: damaged header: it announces 3 tracks but the file holds 2"),
        "status.mid": (good[:22] + b"\x00\x42" + good[24:],
                       "unreadable: damaged track 1 of 2: it has a data byte where an event "
                       "should start"),
    }
    for name, (data, words) in cases.items():
        reason = _damaged(tmp_path, name, data)
        assert reason.startswith(words), (name, reason)
        assert "Error" not in reason and "<class" not in reason, reason  # no parser text
    # fewer tracks announced than present: every track is read, and the report says so
    fewer = tmp_path / "fewer.mid"
    fewer.write_bytes(good[:10] + b"\x00\x01" + good[12:])
    wins, rep = _windows(fewer)
    assert len(wins) == 3
    assert "the header announces 1 track(s) but the file holds 2: all 2 are read" in rep.notices


def test_bad_options_raise():
    with pytest.raises(GenError, match="3/4"):
        extract.ExtractionOptions(time_signatures=("3/4",))
    with pytest.raises(GenError, match="bpm"):
        midi.tokens_to_pretty_midi(np.zeros(32, int), bpm=0)
    with pytest.raises(GenError, match="program"):
        midi.tokens_to_pretty_midi(np.zeros(32, int), program=200)


# ----------------------------------------------------------------------------- corpus
def test_corpus_tune_ties_pickup_and_repeats():
    from gen.music.corpus import TuneRef, convert_tune

    abc = "X:1\nT:t\nM:4/4\nL:1/4\nK:C\nG | c2-c2 | d-e f2 | g4 |]\n"
    t = convert_tune(TuneRef("t#1", "test", abc))
    assert t.status == "ok" and t.time_signature == "4/4"
    got = list(zip(t.pitch.tolist(), t.start.tolist(), t.end.tolist()))
    # pickup shifted onto beat 4; c-c merged; d-e (different pitches) kept apart
    assert got == [(67, 3, 4), (72, 4, 8), (74, 8, 9), (76, 9, 10), (77, 10, 12), (79, 12, 16)]
    # a second end-repeat without a start goes back to the first one: A A B B (music21
    # alone would play A A B A A B)
    rep = "X:2\nT:r\nM:4/4\nL:1/4\nK:C\nc d e f | e d c2 :| g a b c' | b a g2 :|\n"
    t = convert_tune(TuneRef("t#2", "test", rep))
    assert t.repeats_expanded
    assert t.pitch.tolist() == [72, 74, 76, 77, 76, 74, 72] * 2 + [79, 81, 83, 84, 83, 81, 79] * 2
    assert float(t.end.max()) == 32.0
    free = convert_tune(TuneRef("t#3", "test", "X:3\nT:f\nM:none\nL:1/4\nK:C\ncdef|\n"))
    assert free.status == "failed" and "time signature" in free.reason


def test_prepare_corpus_stats_split_and_cache(corpus_dataset):
    stats = json.loads((corpus_dataset / "stats.json").read_text())
    assert stats["tunes"]["read"] == TEST_LIMIT
    assert set(stats["tunes"]["per_collection"]) == set(TEST_COLLECTIONS)
    assert "failed_why" in stats["tunes"] and "no_windows" in stats
    for b, T in (("2", 32), ("16", 256)):
        w = stats["windows"][b]
        assert w["total"]["train"] > 0 and set(w["per_collection"]) <= set(TEST_COLLECTIONS)
        arr = load_windows(corpus_dataset, int(b), "train")
        assert arr.shape[1] == T and arr.dtype == np.uint8
        assert len({r.tobytes() for r in arr}) == len(arr)  # deduplicated
    # split by tune: no tune contributes to two splits
    with np.load(corpus_dataset / "mel_2bar.npz") as z:
        owners = {s: set(z[f"{s}_item"].tolist()) for s in ("train", "valid", "test")}
    assert not owners["train"] & owners["test"] and not owners["train"] & owners["valid"]
    logs: list[str] = []
    prepare_corpus(corpus_dataset, collections=TEST_COLLECTIONS, limit=TEST_LIMIT, workers=1,
                   progress=False, log=logs.append)
    assert "reusing" in logs[0]
    with pytest.raises(DataError, match="'nosuch' is not a music21 corpus folder"):
        prepare_corpus(corpus_dataset.parent / "x", collections=("nosuch",), limit=2,
                       workers=1, progress=False, log=logs.append)


def test_transposition_augmentation_stays_in_range(corpus_dataset):
    wins = load_windows(corpus_dataset, 2, "train")
    ds = MelodyDataset(wins, transpose=5)
    torch.manual_seed(0)
    idx = torch.arange(len(ds))
    x = ds[idx]
    orig = torch.from_numpy(wins.astype(np.int64))
    assert x.shape == orig.shape and x.min() >= 0 and x.max() < tokens.NUM_CLASSES
    special = orig < 2
    assert torch.equal(x[special], orig[special])  # hold / note-off untouched
    shift = (x - orig)[~special].float()
    assert shift.abs().max() <= 5 and shift.abs().sum() > 0
    per_row = [(x[i] - orig[i])[orig[i] >= 2].unique() for i in range(len(ds))]
    assert all(len(u) <= 1 for u in per_row)  # one shift per melody
    # extreme melody: only upward shifts fit
    low = np.full((1, 32), 2, dtype=np.uint8)
    torch.manual_seed(1)
    assert MelodyDataset(low, 5)[torch.zeros(64, dtype=torch.long)].min() >= 2


# ----------------------------------------------------------------------------- models
def test_config_validation_names_field():
    with pytest.raises(ConfigError, match="num_classes must be 90"):
        MusicConfig(num_classes=91)
    with pytest.raises(ConfigError, match="bars_per_segment"):
        MusicConfig(bars=3, hierarchical=True, bars_per_segment=2)
    with pytest.raises(ConfigError, match="latent_dim must be >= 1"):
        MusicConfig(latent_dim=0)
    with pytest.raises(ConfigError, match="token_dropout must be in"):
        MusicConfig(token_dropout=1.0)
    with pytest.raises(ConfigError, match="bar_paths needs hierarchical=True"):
        MusicConfig(bars=4, hierarchical=True, bar_paths=True)


def test_token_dropout_hides_inputs_in_training_only():
    cfg = MusicConfig(bars=2, latent_dim=8, enc_size=16, dec_size=16, dec_layers=1,
                      scheduled_sampling_rate=0.0)
    plain = MusicVAE(cfg)
    dropped = MusicVAE(dataclasses.replace(cfg, token_dropout=0.5))
    dropped.load_state_dict(plain.state_dict())
    x = torch.randint(2, 90, (4, 32))
    for mode in ("train", "eval"):
        outs = []
        for m in (plain, dropped):
            getattr(m, mode)()
            torch.manual_seed(3)  # the same posterior noise for both
            outs.append(float(m(x, step=0)["nll"]))
        assert (outs[0] != outs[1]) == (mode == "train")


def test_scheduled_sampling_schedule_and_decoder_consistency():
    assert sampling_probability(0, 0) == 0.0
    assert sampling_probability(0, 1000) < 0.002
    assert abs(sampling_probability(int(1000 * np.log(1000)), 1000) - 0.5) < 0.01
    assert sampling_probability(10**7, 1000) == 1.0
    torch.manual_seed(0)
    for hier, shortcuts, paths in ((False, False, False), (True, False, False),
                                   (True, True, False), (True, True, True)):
        cfg = MusicConfig(bars=4 if hier else 2, latent_dim=8, enc_size=16, dec_size=16,
                          dec_layers=1, hierarchical=hier, conductor_size=16,
                          conductor_layers=1, hierarchical_encoder=shortcuts, core_z=shortcuts,
                          bar_paths=paths)
        m = MusicVAE(cfg)
        x = torch.randint(0, 90, (3, cfg.seq_len))
        z = torch.randn(3, 8)
        tf = m.output.logits(m.decoder(z, x, None))
        assert tf.shape == (3, cfg.seq_len, 90)
        none = torch.zeros_like(x, dtype=torch.bool)
        assert torch.allclose(m.output.logits(m.decoder(z, x, none)), tf, atol=1e-5)
        late = none.clone()
        late[:, 10] = True
        mixed = m.output.logits(m.decoder(z, x, late))
        assert torch.allclose(mixed[:, :10], tf[:, :10], atol=1e-5)  # before the sampled input
        # greedy decoding agrees with teacher forcing on its own output
        y = m.decoder.generate(z, greedy=True)
        assert torch.equal(m.output.logits(m.decoder(z, y, None)).argmax(-1), y)


def test_hierarchical_encoder_reads_every_bar():
    torch.manual_seed(0)
    cfg = MusicConfig(bars=4, latent_dim=8, enc_size=16, enc_layers=2, dec_size=16,
                      dec_layers=1, hierarchical=True, conductor_size=16, conductor_layers=1,
                      hierarchical_encoder=True, core_z=True)
    m = MusicVAE(cfg).eval()
    x = torch.randint(2, 90, (2, cfg.seq_len))
    q = m.posterior(x)
    assert q.mean.shape == (2, 8)
    for bar in range(4):  # a change in any one bar moves the code of that melody only
        y = x.clone()
        y[0, bar * 16:(bar + 1) * 16] = 1  # that bar becomes one held silence
        moved = (m.posterior(y).mean - q.mean).abs().sum(1)
        assert moved[0] > 1e-4 and moved[1] == 0
    # the core decoder's condition is [bar embedding, z]
    z = torch.randn(2, 8)
    c = m.decoder.conditions(z)
    assert c.shape == (2, 4, 16 + 8) and torch.equal(c[:, 2, 16:], z)


def test_bar_paths_start_from_a_model_without_them():
    # zeroed, the linear bar paths leave a model's function unchanged (a warm start), and
    # once set they tie each bar's embedding to z and each bar's code to q(z|x)
    torch.manual_seed(0)
    cfg = MusicConfig(bars=4, latent_dim=8, enc_size=16, dec_size=16, dec_layers=1,
                      hierarchical=True, conductor_size=16, conductor_layers=1,
                      hierarchical_encoder=True, core_z=True)
    base = MusicVAE(cfg).eval()
    paths = MusicVAE(dataclasses.replace(cfg, bar_paths=True)).eval()
    missing, unexpected = paths.load_state_dict(base.state_dict(), strict=False)
    assert sorted(missing) == ["decoder.direct.bias", "decoder.direct.weight",
                               "encoder.direct.bias", "encoder.direct.weight"]
    assert not unexpected
    assert paths.encoder.direct.weight.shape == (2 * 8, 4 * 2 * 16)
    assert paths.decoder.direct.weight.shape == (4 * 16, 8)
    for m in (paths.encoder.direct, paths.decoder.direct):
        torch.nn.init.zeros_(m.weight)
        torch.nn.init.zeros_(m.bias)
    x = torch.randint(2, 90, (2, cfg.seq_len))
    z = torch.randn(2, 8)
    assert torch.equal(paths.posterior(x).mean, base.posterior(x).mean)
    assert torch.equal(paths.decoder(z, x, None), base.decoder(z, x, None))
    with torch.no_grad():
        paths.decoder.direct.bias[16:32] = 1.0  # bar 1's embedding only
    moved = (paths.decoder.embeddings(z) - base.decoder.embeddings(z)).abs().sum(-1)
    assert torch.all(moved[:, 1] > 0) and torch.all(moved[:, [0, 2, 3]] == 0)


def _trained_tiny(windows: np.ndarray, steps: int = 300) -> MusicVAE:
    """A tiny 2-bar VAE that memorises a few windows (plain Adam loop, seeded)."""
    torch.manual_seed(0)
    cfg = MusicConfig(bars=2, latent_dim=8, enc_size=48, dec_size=96, dec_layers=1,
                      scheduled_sampling_rate=0.0,
                      kl=KLConfig(beta=0.001))
    m = MusicVAE(cfg)
    opt = torch.optim.Adam(m.parameters(), lr=2e-2)
    x = torch.as_tensor(windows, dtype=torch.long)
    m.train()
    for step in range(steps):
        loss = m(x, step=step)["loss"]
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
    return m.eval()


@pytest.fixture(scope="module")
def tiny_model(corpus_dataset) -> tuple[MusicVAE, np.ndarray]:
    wins = load_windows(corpus_dataset, 2, "train").astype(np.int64)
    rng = np.random.default_rng(0)
    chosen = wins[rng.choice(len(wins), 4, replace=False)]
    return _trained_tiny(chosen), chosen


def test_trained_tiny_model_interpolates_endpoint_to_endpoint(tiny_model):
    model, mels = tiny_model
    rec = model.reconstruct(mels)
    assert (rec == mels).mean() > 0.95
    a, b = mels[0], mels[1]
    path = model.interpolate(a[None], b[None], steps=7)
    assert path.shape == (7, 32)
    assert path[0].tolist() == a.tolist() and path[-1].tolist() == b.tolist()
    d = (path != a).mean(1)
    assert d[0] == 0 and d[-1] == (a != b).mean()
    assert np.corrcoef(np.arange(7), d)[0, 1] > 0.7  # distance to the start rises
    g = model.grid(mels, rows=3, cols=3)
    assert g.shape == (9, 32) and g[0].tolist() == mels[0].tolist()
    assert g[8].tolist() == mels[3].tolist()


def test_sample_encode_midi_and_save_load(tiny_model, tmp_path):
    model, mels = tiny_model
    s1 = model.sample(n=3, temperature=0.5, seed=3)
    s2 = model.sample(n=3, temperature=0.5, seed=3)
    assert s1.shape == (3, 32) and np.array_equal(s1, s2)
    assert not np.array_equal(s1, model.sample(n=3, temperature=0.5, seed=4))
    # encode from a MIDI file: window 0 by default, another by index
    f = model.to_midi(mels[:2], tmp_path / "two.mid", bpm=90, program=40, gap_bars=1)
    z_file = model.encode(str(f))
    z_tok = model.encode(mels[0])
    assert torch.allclose(z_file, z_tok, atol=1e-5)
    assert model.windows(f).shape[0] >= 2
    assert torch.allclose(model.encode(model.melody(f, 1)), model.encode(mels[1]), atol=1e-5)
    z_list = model.encode([str(f), mels[1]])
    assert z_list.shape == (2, 8)
    model.save_pretrained(tmp_path / "m")
    loaded = gen.load(tmp_path / "m")
    assert isinstance(loaded, MusicVAE)
    assert np.array_equal(loaded.reconstruct(mels), model.reconstruct(mels))
    with pytest.raises(DataError, match="has 16 steps; this model needs 32"):
        model.encode(np.zeros(16, int))
    with pytest.raises(GenError, match="temperature must be a finite number > 0"):
        model.sample(n=1, temperature=0)


def test_midi_export_audio_and_pianoroll(tiny_model, tmp_path):
    import pretty_midi

    from gen.music.render import SineFallbackWarning, plot_pianoroll, render_audio, synthesize

    model, mels = tiny_model
    f = midi.to_midi(mels, tmp_path / "path.mid", bpm=100, program=73, gap_bars=1)
    pm = pretty_midi.PrettyMIDI(str(f))
    assert pm.instruments[0].program == 73
    assert abs(pm.get_tempo_changes()[1][0] - 100) < 1e-6
    n_notes = sum(len(tokens.tokens_to_notes(m)) for m in mels)
    assert len(pm.instruments[0].notes) == n_notes
    # 4 melodies x 2 bars + 3 gap bars, at 100 bpm (2.4 s per bar)
    assert pm.get_end_time() <= 11 * 2.4 + 1e-6
    if ctypes.util.find_library("fluidsynth"):  # the Makefile installs it
        assert synthesize(mels[:1])[1] == "fluidsynth"
    wav = render_audio(mels[:1], tmp_path / "a.wav")
    import soundfile

    audio, sr = soundfile.read(str(wav))
    assert sr == 44100 and len(audio) > sr * 2 and np.abs(audio).max() > 0.1
    with pytest.warns(SineFallbackWarning, match="sine"):
        audio, how = synthesize(mels[:1], soundfont=tmp_path / "missing.sf2")
    assert how == "sine" and np.abs(audio).max() > 0.1
    png = plot_pianoroll(mels, tmp_path / "roll.png", [f"m{i}" for i in range(4)])
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_evaluate_music_reports_metrics(tiny_model, capsys):
    from gen.music.evaluate import card_section, evaluate_music

    model, mels = tiny_model
    res = evaluate_music(model, mels, pairs=4, steps=5)
    assert res["windows"] == 4 and res["sampled_accuracy"] > 0.95
    assert 0 <= res["tf_accuracy"] <= 1 and res["kl_bits"] > 0
    assert len(res["interp_hamming_to_start"]) == 5 and res["interp_hamming_to_start"][0] < 0.05
    assert "sampled (greedy) accuracy" in capsys.readouterr().out
    card = card_section(model, res)
    assert "non-commercial" in card and "sampled (greedy) token accuracy" in card


def test_training_run_loss_falls(corpus_dataset, tmp_path):
    out = tmp_path / "run"
    model_dir = gen.train("debug-mel_2bar", out, steps=60, progress=False,
                          cache_dir=str(corpus_dataset))
    recs = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    train = [r["loss"] for r in recs if r["split"] == "train"]
    assert train[-1] < 0.7 * train[0]
    evals = [r for r in recs if r["split"] == "eval"]
    assert "sampled_acc" in evals[-1] and "kl_bits" in evals[-1]
    assert isinstance(gen.load(model_dir), MusicVAE)


def test_fine_tuning_goes_on_from_the_end_of_training(corpus_dataset, tmp_path):
    """--init: the weights come from the model and the schedules go on from where the
    recipe's training ends (60 steps for debug-mel_2bar); --steps counts the steps after."""
    data = str(corpus_dataset)
    base = gen.train("debug-mel_2bar", tmp_path / "base", steps=30, progress=False,
                     cache_dir=data)
    with pytest.raises(ConfigError, match="--steps N"):
        gen.train("debug-mel_2bar", tmp_path / "x", init=base, progress=False, cache_dir=data)
    out = tmp_path / "ft"
    gen.train("debug-mel_2bar", out, steps=20, init=base, progress=False, cache_dir=data)
    run = json.loads((out / "run.json").read_text())
    assert run["train"]["first_step"] == 60 and run["train"]["steps"] == 80
    logged = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in logged if r["split"] == "train"]
    assert steps == [70, 80]
    scratch = [json.loads(x) for x in (tmp_path / "base" / "metrics.jsonl").read_text()
               .splitlines() if json.loads(x)["split"] == "train"]
    tuned = [r["loss"] for r in logged if r["split"] == "train"]
    assert tuned[0] < 0.8 * scratch[0]["loss"]  # it starts trained, not from random weights
    # an explicit first step is kept (continuing a model whose checkpoint is gone)
    gen.train("debug-mel_2bar", tmp_path / "c", init=base, progress=False, cache_dir=data,
              overrides=["first_step=50"])
    assert json.loads((tmp_path / "c" / "run.json").read_text())["train"]["first_step"] == 50


def test_hierarchical_16bar_trains_and_samples(corpus_dataset, tmp_path):
    out = tmp_path / "run16"
    model_dir = gen.train("debug-mel_16bar", out, steps=20, progress=False,
                          cache_dir=str(corpus_dataset))
    recs = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    train = [r["loss"] for r in recs if r["split"] == "train"]
    assert train[-1] < train[0]
    m = gen.load(model_dir)
    assert m.config.hierarchical and m.sample(n=2, seed=0).shape == (2, 256)


@pytest.mark.slow
def test_debug_recipe_prepares_its_own_data_on_two_processes(tmp_path, monkeypatch):
    """gen.train on a fresh machine: the recipe's 150-tune subset is converted first."""
    monkeypatch.setenv("GEN_MUSIC_CACHE", str(tmp_path / "cache"))
    model_dir = gen.train("debug-mel_2bar", tmp_path / "run", steps=10, progress=False)
    stats = json.loads((tmp_path / "cache" / "folk-limit150" / "stats.json").read_text())
    assert stats["tunes"]["read"] == 150 and stats["workers"] >= 1
    assert stats["windows"]["2"]["total"]["train"] > 100
    assert isinstance(gen.load(model_dir), MusicVAE)


# ----------------------------------------------------------------------------- CLI
def test_cli_verbs_write_into_out(tiny_model, tmp_path, capsys):
    from gen.cli import main
    from gen.core.files import out_file, safe_name

    model, mels = tiny_model
    mdir = model.save_pretrained(tmp_path / "model")
    a = midi.to_midi(mels[0], tmp_path / "a.mid")
    b = tmp_path / "b.npy"
    np.save(b, mels[1:])
    out = tmp_path / "out"
    assert main(["sample", str(mdir), "--n", "2", "--temperature", "0.5",
                 "--out", str(out / "s"), "--no-audio"]) == 0
    assert {p.name for p in (out / "s").iterdir()} >= {"samples.mid", "samples_00.mid",
                                                      "samples.npy", "samples.png"}
    assert main(["interpolate", str(mdir), str(a), f"{b}#2", "--steps", "4",
                 "--out", str(out / "i")]) == 0
    assert (out / "i" / "interpolation.wav").is_file()
    assert np.load(out / "i" / "interpolation.npy").shape == (4, 32)
    assert main(["reconstruct", str(mdir), str(a), "--out", str(out / "r"), "--no-audio",
                 "--no-plot"]) == 0
    assert main(["grid", str(mdir), str(a), str(b), f"{b}#1", f"{b}#2", "--rows", "2",
                 "--cols", "3", "--out", str(out / "g"), "--no-audio", "--no-plot"]) == 0
    assert np.load(out / "g" / "grid.npy").shape == (6, 32)
    short = write_midi(tmp_path / "short.mid", [{"notes": scale_melody(1)}])
    assert main(["extract", str(a), str(short), "--out", str(out / "x")]) == 0
    text = capsys.readouterr().out
    assert "a.mid: 1 windows" in text and "short.mid: 0 windows (2 bars): too short" in text
    rep = json.loads((out / "x" / "extract_report.json").read_text())
    assert [r["windows"] for r in rep] == [1, 0]
    # errors are reported, not raised; names cannot escape the output folder
    assert main(["reconstruct", str(mdir), str(short), "--out", str(out / "r")]) == 2
    assert "too short" in capsys.readouterr().err
    assert safe_name("../../etc/passwd") == "passwd" and safe_name("..") == "item"
    with pytest.raises(GenError, match="outside the output folder"):
        out_file(out, "../evil.mid")


def test_cli_track_choice_and_report_lines(tmp_path, capsys):
    from gen.cli import main

    folder = tmp_path / "songs"
    folder.mkdir()
    _band(folder, "band.mid")
    assert main(["extract", str(folder / "band.mid"), "--track", "Bass"]) == 0
    out = capsys.readouterr().out
    assert "melody track 2 'Bass' (Electric Bass (finger), program 33)" in out
    assert "(chosen by the user)" in out and "1 'Flute solo'" in out
    assert main(["data", "music", "--midi", str(folder), "--out", str(tmp_path / "ds"),
                 "--bars", "2", "--workers", "1"]) == 0
    stats = json.loads((tmp_path / "ds" / "stats.json").read_text())
    assert stats["extraction"]["band.mid"][0].startswith("melody track 1 'Flute solo'")
    assert stats["settings"]["options"]["track"] is None  # the rule, recorded in the cache key
    assert sum(stats["windows"]["2"]["total"].values()) == 3  # the flute's windows only
    capsys.readouterr()


def test_cli_ship_writes_card(tiny_model, corpus_dataset, tmp_path):
    from gen.cli import main

    model, _ = tiny_model
    mdir = model.save_pretrained(tmp_path / "model")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["eval", str(mdir), "--data", str(corpus_dataset), "--pairs", "3",
                     "--json", str(tmp_path / "e.json")]) == 0
        assert main(["ship", str(mdir), "tiny-mel", "--data", str(corpus_dataset),
                     "--dest", str(tmp_path / "ship")]) == 0
    res = json.loads((tmp_path / "e.json").read_text())
    assert {"tf_accuracy", "sampled_accuracy", "kl_bits", "interp_rank_corr"} <= set(res)
    by = res["sampled_accuracy_by_group"]  # per collection of the corpus
    assert by and sum(r["windows"] for r in by.values()) == res["windows"]
    assert all("/" not in g and 0 <= r["sampled_accuracy"] <= 1 for g, r in by.items())
    shipped = {p.name for p in (tmp_path / "ship").iterdir()}
    assert shipped == {"config.json", "model.safetensors", "card.md", "samples.png", "eval.json"}
    card = (tmp_path / "ship" / "card.md").read_text()
    assert "# tiny-mel" in card and "shipped float16 weights" in card
    assert "## Held-out results" in card and 'gen.load("tiny-mel")' in card
    assert "gen ship runs/tiny-mel tiny-mel" in card  # the command that ships the config
    from safetensors import safe_open

    with safe_open(str(tmp_path / "ship" / "model.safetensors"), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
    # the shipped numbers are those of the shipped weights
    shipped_model = gen.load(tmp_path / "ship")
    assert isinstance(shipped_model, MusicVAE)
    from gen.music.evaluate import evaluate_music

    again = evaluate_music(shipped_model, load_windows(corpus_dataset, 2, "test"), pairs=0,
                           verbose=False)
    ship_res = json.loads((tmp_path / "ship" / "eval.json").read_text())
    assert again["sampled_accuracy"] == ship_res["sampled_accuracy"]
    assert again["tf_accuracy"] == ship_res["tf_accuracy"]


def test_cli_prepare_small_collection(tmp_path, capsys):
    from gen.cli import main

    out = tmp_path / "ds"
    assert main(["data", "music", "--out", str(out), "--collections", "miscFolk", "--limit",
                 "4", "--workers", "1", "--bars", "2"]) == 0
    assert (out / "stats.json").is_file() and (out / "mel_2bar.npz").is_file()
    assert "4 tunes read" in capsys.readouterr().out
    assert main(["data", "music", "--out", str(out), "--collections", "nosuch"]) == 2
    assert "not a music21 corpus folder" in capsys.readouterr().err
