"""Hostile inputs for `gen`, and the heavy cases that are not run in CI (`make stress`).

The builders write MIDI and PNG files byte by byte (no MIDI library involved, so they can
write what libraries refuse to: a note millions of beats long, a damaged header). The quick
versions of these cases run in tests/test_hardening.py; this script runs the heavy ones, each
`gen` command in its own process under a memory limit (RLIMIT_AS), and prints the wall time
and the peak memory (RSS) of each, with the first line of what the command said.

    python scripts/stress.py              # all cases
    python scripts/stress.py --only png   # the cases whose name contains "png"

Numbers depend on the machine and on what else runs on it: say which when you quote them.
"""

from __future__ import annotations

import argparse
import json
import resource
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from gen.music.midi import vlq_bytes

# ----------------------------------------------------------------------------- builders


vlq = vlq_bytes  # a MIDI variable-length quantity


EOT = b"\x00\xff\x2f\x00"  # end-of-track marker with a zero delta


def smf(tracks: list[bytes], tpq: int = 96, fmt: int = 1, ntracks: int | None = None,
        division: int | None = None) -> bytes:
    """A standard MIDI file from track bodies (event bytes); ``ntracks`` / ``division``
    override the header's track count / time division (to build damaged headers)."""
    head = b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks) if ntracks is None else ntracks,
                                 tpq if division is None else division)
    return head + b"".join(b"MTrk" + struct.pack(">I", len(t)) + t for t in tracks)


def long_note_midi(beats: int, tpq: int = 1) -> bytes:
    """One note lasting ``beats`` quarter notes (a few dozen bytes)."""
    body = vlq(0) + bytes([0x90, 60, 90]) + vlq(beats * tpq) + bytes([0x80, 60, 0]) + EOT
    return smf([body], tpq=tpq, fmt=0)


def many_notes_midi(n: int, chord: int = 1, step_ticks: int = 12, tpq: int = 96) -> bytes:
    """``n`` notes on one track, ``chord`` at a time every ``step_ticks`` ticks (running
    status: about 6 bytes a note)."""
    body = bytearray(vlq(0) + bytes([0x90]))
    first = True
    for i in range(0, n, chord):
        pitches = [40 + (i + k) % 48 for k in range(min(chord, n - i))]
        for p in pitches:
            body += (b"" if first else vlq(0)) + bytes([p, 90])
            first = False
        for k, p in enumerate(pitches):
            body += vlq(step_ticks if k == 0 else 0) + bytes([p, 0])
    return smf([bytes(body) + EOT], tpq=tpq, fmt=0)


def controller_flood_midi(n: int) -> bytes:
    """``n`` controller events at tick 0, then one note: a flood of events, no music."""
    body = bytearray(vlq(0) + bytes([0xB0, 7, 100]))
    body += (vlq(0) + bytes([7, 100])) * (n - 1)
    body += vlq(0) + bytes([0x90, 60, 90]) + vlq(96) + bytes([0x80, 60, 0]) + EOT
    return smf([bytes(body)], fmt=0)


def tempo_flood_midi(n: int, tpq: int = 96) -> bytes:
    """A tempo change every beat (alternating 100 / 101 bpm) and a note on every beat."""
    tempo = bytearray()
    notes = bytearray()
    for i in range(n):
        us = 600_000 if i % 2 else 594_059
        tempo += vlq(0 if i == 0 else tpq) + b"\xff\x51\x03" + us.to_bytes(3, "big")
        notes += vlq(0) + bytes([0x90, 60 + i % 12, 90]) + vlq(tpq) + bytes([0x80, 60 + i % 12,
                                                                             0])
    return smf([bytes(tempo) + EOT, bytes(notes) + EOT], tpq=tpq)


def many_tracks_midi(tracks: int, notes_per_track: int, tpq: int = 96) -> bytes:
    """``tracks`` tracks, each on its own channel and program, with a scale of quarter notes."""
    bodies = []
    for k in range(tracks):
        ch = k % 16
        b = bytearray(vlq(0) + bytes([0xC0 | ch, k % 128]))
        for i in range(notes_per_track):
            p = 48 + (i + k) % 36
            b += vlq(0) + bytes([0x90 | ch, p, 90]) + vlq(tpq) + bytes([0x80 | ch, p, 0])
        bodies.append(bytes(b) + EOT)
    return smf(bodies, tpq=tpq)


def huge_png(path: Path, width: int, height: int) -> Path:
    """A valid greyscale PNG of width x height black pixels: a few hundred KB for 144
    megapixels (rows are compressed as they are made; nothing that size is held)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    comp = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + pixels
    parts = []
    for _ in range(height):
        parts.append(comp.compress(row))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts))
                     + chunk(b"IEND", b""))
    return path


# ----------------------------------------------------------------------------- running
# The child's own peak RSS is VmHWM of its memory map: ru_maxrss would start at the parent's
# RSS, which a fork (needed for the memory limit) copies into the child's counters.
PEAK = ("import resource, sys, time; from gen.cli import main; t = time.time(); "
        "rc = main(sys.argv[1:]); u = resource.getrusage(resource.RUSAGE_SELF); "
        "hwm = [int(x.split()[1]) for x in open('/proc/self/status') if x.startswith('VmHWM')]; "
        "print('PEAK', (hwm or [u.ru_maxrss])[0], round(time.time() - t, 2), "
        "round(u.ru_utime + u.ru_stime, 2), file=sys.stderr); sys.exit(rc)")


def run_gen(args: list[str], memory_gb: float = 4.0, timeout: float = 600.0
            ) -> dict[str, object]:
    """Run ``gen ARGS`` in a fresh process under RLIMIT_AS = ``memory_gb``; returns status,
    wall seconds (whole process), seconds inside main(), CPU seconds of the process (imports
    included: steadier than wall time on a shared machine), peak RSS in MB, stdout, stderr."""
    def limit() -> None:
        cap = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    t0 = time.time()
    p = subprocess.run([sys.executable, "-c", PEAK, *args], capture_output=True, text=True,
                       preexec_fn=limit, timeout=timeout)
    wall = time.time() - t0
    peak_mb, main_s, cpu_s = float("nan"), float("nan"), float("nan")
    for line in p.stderr.splitlines():
        if line.startswith("PEAK "):
            _, kb, secs, cpu = line.split()
            peak_mb, main_s, cpu_s = int(kb) / 1024, float(secs), float(cpu)
    err = "\n".join(x for x in p.stderr.splitlines() if not x.startswith("PEAK "))
    return {"status": p.returncode, "wall_s": round(wall, 2), "main_s": main_s,
            "cpu_s": cpu_s, "peak_mb": round(peak_mb, 1), "stdout": p.stdout, "stderr": err}


def heavy_cases(tmp: Path) -> list[tuple[str, list[str]]]:
    """(name, gen arguments) of the heavy cases, their files written into ``tmp``."""
    def write(name: str, data: bytes) -> str:
        (tmp / name).write_bytes(data)
        return str(tmp / name)

    cases = [
        ("midi: one note of 9,000,000 beats (35 bytes), 16-bar extraction",
         ["extract", write("long_note.mid", long_note_midi(9_000_000)), "--bars", "16"]),
        ("midi: 1,750,000 notes, 10.5 MB (the issue's file)",
         ["extract", write("many.mid", many_notes_midi(1_750_000)), "--bars", "16"]),
        ("midi: 150,000 notes in 8 minutes, chords of 20 (cut at the note budget)",
         ["extract", write("dense.mid", many_notes_midi(150_000, chord=20, step_ticks=12)),
          "--bars", "2"]),
        ("midi: 64 tracks x 1,500 notes, every track extracted (--track all)",
         ["extract", write("tracks.mid", many_tracks_midi(64, 1_500)), "--bars", "2",
          "--track", "all"]),
        ("midi: 1,500,000 controller events at tick 0",
         ["extract", write("flood.mid", controller_flood_midi(1_500_000)), "--bars", "2"]),
        ("midi: a tempo change on each of 2,400 beats",
         ["extract", write("tempi.mid", tempo_flood_midi(2_400)), "--bars", "2"]),
        ("png: 12000x12000 picture as a model input",
         ["reconstruct", "mnist-vae", str(huge_png(tmp / "big.png", 12_000, 12_000)),
          "--out", str(tmp / "out")]),
        ("png: 6000x6000 picture (36 megapixels, under the limit)",
         ["reconstruct", "mnist-vae", str(huge_png(tmp / "ok.png", 6_000, 6_000)),
          "--out", str(tmp / "out")]),
        ("cli: 16-bar grid 32x32 with audio at 20 bpm",
         ["grid", "hierdec-mel_16bar_small", "0", "1", "2", "3", "--rows", "32", "--cols", "32",
          "--bpm", "20", "--out", str(tmp / "out")]),
        ("cli: --n 200000", ["sample", "mnist-vae", "--n", "200000", "--out", str(tmp / "out")]),
    ]
    return cases


def main(argv: list[str] | None = None) -> int:
    """Run the heavy cases and print one JSON line each (and a table at the end)."""
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default="", help="run only cases whose name contains this")
    p.add_argument("--memory-gb", type=float, default=4.0, help="RLIMIT_AS of each run (4)")
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="gen-stress-") as d:
        for name, gen_args in heavy_cases(Path(d)):
            if args.only not in name:
                continue
            r = run_gen(gen_args, args.memory_gb)
            said = (r["stdout"] or r["stderr"]).strip().splitlines()
            first = next((x for x in said if "notice" in x or "read only" in x or "error" in x),
                         said[0] if said else "")
            row = {"case": name, "status": r["status"], "wall_s": r["wall_s"],
                   "main_s": r["main_s"], "cpu_s": r["cpu_s"], "peak_mb": r["peak_mb"],
                   "said": first.strip()[:200]}
            print(json.dumps(row), flush=True)
            rows.append(row)
    print(f"\n{'case':72s} {'exit':>4s} {'wall s':>7s} {'CPU s':>6s} {'peak MB':>8s}")
    for r in rows:
        print(f"{r['case'][:72]:72s} {r['status']:>4} {r['wall_s']:>7.1f} {r['cpu_s']:>6.1f} "
              f"{r['peak_mb']:>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
