"""Shared fixtures and builders for the music tests: real corpus tunes, real MIDI files."""

from __future__ import annotations

from pathlib import Path

import pytest

STEP_S = 0.125  # one 16th-note step at 120 bpm, in seconds

# 30 real folk tunes from three music21 collections (about 5 s to convert on one core).
TEST_COLLECTIONS = ("ryansMammoth", "miscFolk", "airdsAirs")
TEST_LIMIT = 30


def write_midi(path: Path, tracks: list[dict], time_signature: tuple[int, int] | None = (4, 4),
               bpm: float = 120.0) -> Path:
    """Write a MIDI file with pretty_midi.

    tracks: dicts with ``notes`` [(pitch, start_step, end_step)], optional ``program``,
    ``is_drum`` and ``name`` (the track name). Steps are 16th notes at ``bpm``; a note may
    end where it starts (zero length).
    """
    import pretty_midi

    step = 60.0 / bpm / 4
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    if time_signature:
        pm.time_signature_changes.append(pretty_midi.TimeSignature(*time_signature, 0.0))
    for tr in tracks:
        inst = pretty_midi.Instrument(program=tr.get("program", 0),
                                      is_drum=tr.get("is_drum", False), name=tr.get("name", ""))
        for p, s, e in tr["notes"]:
            inst.notes.append(pretty_midi.Note(velocity=90, pitch=p, start=s * step,
                                               end=e * step))
        pm.instruments.append(inst)
    pm.write(str(path))
    return path


def write_midi_tempo_change(path: Path, first: list[tuple[int, int, int]],
                            second: list[tuple[int, int, int]], bpm1: float = 120.0,
                            bpm2: float = 90.0, change_bar: int = 4) -> Path:
    """A one-track MIDI file whose tempo changes at ``change_bar`` (written with mido, the
    library pretty_midi itself writes with, since pretty_midi cannot add tempo changes).

    ``first``/``second``: (pitch, start_step, end_step) before / after the change, steps
    counted from the start of each part.
    """
    import mido

    tpq = 480
    tps = tpq // 4  # ticks per 16th step
    offset = change_bar * 16 * tps
    events = [(0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm1))),
              (0, mido.MetaMessage("time_signature", numerator=4, denominator=4)),
              (offset, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm2)))]
    for base, notes in ((0, first), (offset, second)):
        for p, s, e in notes:
            events.append((base + s * tps, mido.Message("note_on", note=p, velocity=90)))
            events.append((base + e * tps, mido.Message("note_off", note=p, velocity=0)))
    events.sort(key=lambda x: (x[0], x[1].type == "note_on"))
    track, now = mido.MidiTrack(), 0
    for t, msg in events:
        track.append(msg.copy(time=t - now))
        now = t
    mid = mido.MidiFile(ticks_per_beat=tpq)
    mid.tracks.append(track)
    mid.save(str(path))
    return path


def scale_melody(bars: int, base: int = 60, note_len: int = 4) -> list[tuple[int, int, int]]:
    """A simple melody of ``bars`` bars: quarter notes walking up and down from ``base``."""
    steps = [0, 2, 4, 5, 7, 9, 11, 12, 11, 9, 7, 5, 4, 2]
    out = []
    for i in range(bars * 16 // note_len):
        s = i * note_len
        out.append((base + steps[i % len(steps)], s, s + note_len))
    return out


def build_corpus_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Prepare a dataset of 30 real folk tunes (one process, no progress bar); use it from a
    session-scoped fixture."""
    from gen.music.dataset import prepare_corpus

    out = tmp_path_factory.mktemp("music") / "folk-test"
    return prepare_corpus(out, collections=TEST_COLLECTIONS, limit=TEST_LIMIT, workers=1,
                          progress=False, log=lambda s: None)
