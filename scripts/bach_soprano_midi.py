"""Write the soprano lines of music21's 4/4 Bach chorales as MIDI files: a folder of "your
own MIDI" for trying fine-tuning (none of these pieces is in the folk training corpus).

    python scripts/bach_soprano_midi.py OUT_DIR [--limit N]
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    """Parse each chorale, keep its first part (soprano) when the piece is in 4/4."""
    from music21 import corpus
    from tqdm import tqdm

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    paths = sorted(corpus.getComposer("bach"))[: args.limit]
    written = 0
    for p in tqdm(paths, desc="chorales"):
        try:
            score = corpus.parse(p)
            ts = score.recurse().getElementsByClass("TimeSignature")
            if not ts or ts[0].ratioString != "4/4" or not score.parts:
                continue
            score.parts[0].write("midi", fp=str(args.out / f"{Path(str(p)).stem}.mid"))
            written += 1
        except Exception as e:  # noqa: BLE001 - a corpus file music21 cannot read is skipped
            print(f"skipped {p}: {e}")
    print(f"wrote {written} soprano lines to {args.out}")


if __name__ == "__main__":
    main()
