"""Build the shipped example melodies: ``python data/make_music_examples.py [--n 40]``.

Reads the *test* split of a prepared folk dataset (default ``data/cache/music/folk``, made
by ``python data/prepare_music.py``) and writes ``gen/music/examples/mel_2bar.npz`` and
``mel_16bar.npz`` (see ``gen.music.examples`` for the format). For each length it keeps one
window per tune, the most varied one that survives a MIDI round trip, and takes tunes in
turn from each collection so the set is diverse. Names are "title (collection)" from the
tune's ABC ``T:`` line.

By default only the public-domain tune books are used (O'Neill's, Ryan's Mammoth, Aird's,
miscFolk), not the Essen collection, whose permission is for non-commercial use only.
The output is deterministic: the same cache gives the same files.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a source checkout

from gen.core.errors import DataError  # noqa: E402
from gen.music.dataset import STATS_NAME, windows_name  # noqa: E402
from gen.music.examples import EXAMPLES_DIR, save_examples  # noqa: E402
from gen.music.melody import NOTE_OFF, survives_midi, tokens_to_notes  # noqa: E402

DEFAULT_COLLECTIONS = ("oneills1850", "ryansMammoth", "airdsAirs", "miscFolk")
SHORT = {  # collection -> how people call it
    "oneills1850": "O'Neill's",
    "ryansMammoth": "Ryan's Mammoth",
    "airdsAirs": "Aird's Airs",
    "miscFolk": "misc. folk",
    "essenFolksong": "Essen",
}
_T_LINE = re.compile(r"^T:\s*(.+?)\s*$", re.MULTILINE)


def tune_titles(tune_ids: set[str]) -> dict[str, str]:
    """Tune id ``collection/file.abc#k`` -> the first ``T:`` line of that tune's ABC text."""
    from gen.music.corpus import list_tunes

    collections = tuple(sorted({t.split("/", 1)[0] for t in tune_ids}))
    titles = {}
    for ref in list_tunes(collections):
        if ref.tune_id in tune_ids:
            m = _T_LINE.search(ref.text)
            titles[ref.tune_id] = m.group(1) if m else ""
    return titles


def clean_title(title: str) -> str:
    """A tune book's title as people write it: 'NYMROD -- HORNPIPE.' -> 'Nymrod - Hornpipe'."""
    t = re.sub(r"\s+", " ", title.replace("=", "-")).strip().rstrip(".,;:").strip()
    t = re.sub(r"\s*--+\s*", " - ", t)
    if t.isupper():
        t = " ".join(w.capitalize() for w in t.lower().split(" "))
    return t[:56]


def score(window: np.ndarray) -> float | None:
    """How good a window is as an example (higher is better); None to reject it.

    Wanted: a clear melody (starts in its first bar, ends in its last, survives MIDI), several
    different pitches, little silence.
    """
    notes = tokens_to_notes(window)
    bars = len(window) // 16
    if not survives_midi(window) or len(notes) < 3 * bars:
        return None
    pitches = {p for p, _, _ in notes}
    silent = 1.0 - sum(e - s for _, s, e in notes) / len(window)
    if len(pitches) < 4 or silent > 0.2 or int((window == NOTE_OFF).sum()) > bars:
        return None
    return len(pitches) + 0.05 * len(notes) - 5.0 * silent


def _order_key(tune_id: str) -> str:
    return hashlib.sha1(tune_id.encode()).hexdigest()  # a fixed, unsorted-looking order


def pick(dataset: Path, bars: int, n: int, collections: tuple[str, ...]
         ) -> tuple[list[str], np.ndarray, list[str]]:
    """(names, tokens (n, bars*16), tune ids) of ``n`` test windows, one per tune."""
    f = dataset / windows_name(bars)
    with np.load(f, allow_pickle=False) as z:
        wins, items, ids = z["test"], z["test_item"], z["item_ids"]
    best: dict[str, tuple[float, int]] = {}
    for i, (w, item) in enumerate(zip(wins, items)):
        tune = str(ids[item])
        if tune.split("/", 1)[0] not in collections:
            continue
        s = score(w)
        if s is not None and (tune not in best or s > best[tune][0]):
            best[tune] = (s, i)
    per_coll: dict[str, list[str]] = defaultdict(list)
    for tune in sorted(best, key=_order_key):
        per_coll[tune.split("/", 1)[0]].append(tune)
    chosen: list[str] = []
    while len(chosen) < n and any(per_coll.values()):  # round-robin over the collections
        for coll in collections:
            if per_coll.get(coll) and len(chosen) < n:
                chosen.append(per_coll[coll].pop(0))
    if len(chosen) < n:
        raise DataError(f"{f}: only {len(chosen)} usable {bars}-bar test tunes in "
                        f"{', '.join(collections)}; ask for fewer (--n)")
    titles = tune_titles(set(chosen))
    names, seen = [], set()
    for tune in chosen:
        coll = tune.split("/", 1)[0]
        title = clean_title(titles.get(tune) or tune.split("/", 1)[1])
        name = f"{title} ({SHORT.get(coll, coll)})"
        k = 2
        while name in seen:
            name, k = f"{title} ({SHORT.get(coll, coll)}) #{k}", k + 1
        seen.add(name)
        names.append(name)
    tokens = np.stack([wins[best[t][1]] for t in chosen])
    return names, tokens, chosen


def main(argv: list[str] | None = None) -> int:
    """Build both example files from the prepared dataset."""
    p = argparse.ArgumentParser(prog="make_music_examples.py", description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default=str(ROOT / "data" / "cache" / "music" / "folk"),
                   help="prepared folk dataset folder (default data/cache/music/folk)")
    p.add_argument("--out", default=str(EXAMPLES_DIR), help="output folder")
    p.add_argument("--n", type=int, default=40, help="examples per length (default 40)")
    p.add_argument("--bars", type=int, nargs="+", default=[2, 16])
    p.add_argument("--collections", nargs="+", default=list(DEFAULT_COLLECTIONS))
    p.add_argument("--wait", type=float, default=0.0,
                   help="seconds to wait for the dataset's stats.json (while it is prepared)")
    args = p.parse_args(argv)
    dataset = Path(args.dataset)
    deadline = time.time() + args.wait
    while not (dataset / STATS_NAME).is_file():
        if time.time() >= deadline:
            print(f"error: {dataset / STATS_NAME} is missing; prepare the data first "
                  "(python data/prepare_music.py)", file=sys.stderr)
            return 1
        time.sleep(5)
    for bars in args.bars:
        names, tokens, tune_ids = pick(dataset, bars, args.n, tuple(args.collections))
        source = (f"test split of {dataset.name} (music21 folk corpus: "
                  f"{', '.join(args.collections)}); one window per tune; "
                  "see data/README-music.md for provenance and licences")
        out = save_examples(Path(args.out) / windows_name(bars), names, tokens, tune_ids, source)
        print(f"{out}: {len(names)} {bars}-bar examples, {out.stat().st_size:,} bytes; "
              f"first: {names[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
