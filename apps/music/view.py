"""How the Music tab shows pieces: one card per piece, as HTML for a ``gr.HTML``.

A card holds the piece's full title, its piano roll (an SVG of the notes with octave labels
C2, C3, ... on the pitch axis, bar and beat lines, black keys shaded), a play control with
the piece's own audio, a loop switch and a playhead that follows the audio. A click on a
roll enlarges its card to the full width (and back). Cards of one result share a pitch range
so they can be compared; ``cols`` cards per row on a desktop, one per row on a phone.

Pure functions of notes and file paths: no widgets, no model. ``VIEW_CSS`` goes into the
page's style; ``VIEW_JS`` is the ``js_on_load`` of every ``gr.HTML`` that shows cards.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from gen.music.io import pitch_name

BLACK = {1, 3, 6, 8, 10}  # pitch classes of the black keys
ROW_PX = (4, 96, 240)  # pixels per semitone, least and most roll height


@dataclass(frozen=True)
class Card:
    """One piece to show: title, notes [(pitch, start, end)] in grid steps, its length in
    steps, the grid (steps per beat and per bar), and its audio (a WAV path) when ready."""

    title: str
    notes: Sequence[tuple[int, int, int]]
    steps: int
    steps_per_beat: int
    steps_per_bar: int
    wav: str | Path | None = None
    seconds: float | None = None


def file_url(path: str | Path) -> str:
    """The URL under which the Gradio server serves ``path`` (a folder it was allowed), as
    the app wrote it: relative to the server's folder for the default ``--out``, so no
    absolute path of the install appears in a page."""
    return "gradio_api/file=" + quote(Path(path).as_posix())


def pitch_range(cards: Sequence[Card]) -> tuple[int, int]:
    """(lowest, highest) MIDI pitch to draw: every note, from the C at or below the lowest
    note (so an octave label is always there) to at least an octave above it."""
    pitches = [p for c in cards for p, _, _ in c.notes] or [60, 71]
    lo = 12 * ((min(pitches) - 1) // 12)
    hi = max(max(pitches) + 1, lo + 12)
    return max(lo, 12), min(hi, 127)


def roll_svg(card: Card, lo: int, hi: int) -> str:
    """The notes of one card as an SVG, one unit per step and per semitone (stretched to the
    card's box), with shaded black keys, bar lines and beat lines."""
    rows, w = hi - lo + 1, max(1, card.steps)
    parts = [f'<svg class="gen-svg" viewBox="0 0 {w} {rows}" preserveAspectRatio="none" '
             'xmlns="http://www.w3.org/2000/svg" aria-hidden="true">']
    for p in range(lo, hi + 1):
        if p % 12 in BLACK:
            parts.append(f'<rect x="0" y="{hi - p}" width="{w}" height="1" class="gen-black"/>')
        if p % 12 == 0:
            parts.append(f'<line x1="0" x2="{w}" y1="{hi - p + 1}" y2="{hi - p + 1}" '
                         'class="gen-c"/>')
    for s in range(0, w + 1, max(1, card.steps_per_beat)):
        cls = "gen-bar" if s % card.steps_per_bar == 0 else "gen-beat"
        parts.append(f'<line x1="{s}" x2="{s}" y1="0" y2="{rows}" class="{cls}"/>')
    for p, s, e in card.notes:
        if lo <= p <= hi:
            width = max(0.2, e - s - 0.12)  # a sliver of gap shows repeated notes
            parts.append(f'<rect x="{s}" y="{hi - p}" width="{width:g}" height="1" '
                         f'class="gen-note"><title>{pitch_name(p)}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def card_html(card: Card, lo: int, hi: int, index: int) -> str:
    """One card: title, roll with octave labels and playhead, play control and loop switch."""
    rows = hi - lo + 1
    height = max(ROW_PX[1], min(ROW_PX[2], rows * ROW_PX[0]))
    labels = "".join(
        f'<span class="gen-octave" style="top:{100 * (hi - p + 0.5) / rows:.2f}%">'
        f"{pitch_name(p)}</span>"
        for p in range(lo, hi + 1) if p % 12 == 0
    )
    bars = card.steps / max(1, card.steps_per_bar)
    if card.wav is not None:
        secs = f' data-seconds="{card.seconds:.3f}"' if card.seconds is not None else ""
        play = (f'<audio controls preload="auto" src="{html.escape(file_url(card.wav))}"'
                f"{secs}></audio>"
                '<label class="gen-loop-label"><input type="checkbox" class="gen-loop"> '
                "loop</label>")
    else:
        play = '<span class="gen-wait">rendering the audio…</span>'
    title = html.escape(card.title)
    return (
        f'<div class="gen-card" data-index="{index}">'
        f'<div class="gen-title" title="{title}">{title}</div>'
        f'<div class="gen-roll" style="height:{height}px" '
        f'title="click to enlarge or shrink ({bars:g} bars)">'
        f'<div class="gen-keys">{labels}</div>'
        f'<div class="gen-plot">{roll_svg(card, lo, hi)}<div class="gen-playhead"></div></div>'
        "</div>"
        f'<div class="gen-play">{play}</div>'
        "</div>"
    )


def cards_html(cards: Sequence[Card], cols: int = 1, caption: str = "") -> str:
    """Cards in a grid of ``cols`` columns (one on a phone), sharing one pitch range."""
    if not cards:
        return ""
    lo, hi = pitch_range(cards)
    body = "".join(card_html(c, lo, hi, i) for i, c in enumerate(cards))
    cap = f'<div class="gen-caption">{html.escape(caption)}</div>' if caption else ""
    return f'{cap}<div class="gen-cards" style="--gen-cols:{max(1, cols)}">{body}</div>'


VIEW_CSS = """
.gen-cards { display: grid; gap: 12px;
  grid-template-columns: repeat(var(--gen-cols), minmax(0, 1fr)); }
.gen-caption { font-size: 0.85em; opacity: 0.75; margin: 2px 0 6px; }
.gen-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px;
  background: var(--block-background-fill); min-width: 0; }
.gen-card.gen-big { grid-column: 1 / -1; }
.gen-card.gen-big .gen-roll { height: 260px !important; }
.gen-card.gen-playing { border-color: var(--color-accent);
  box-shadow: 0 0 0 2px var(--color-accent-soft); }
.gen-title { font-size: 0.9em; font-weight: 600; margin-bottom: 4px; overflow-wrap: anywhere; }
.gen-roll { display: flex; cursor: zoom-in; }
.gen-card.gen-big .gen-roll { cursor: zoom-out; }
.gen-keys { position: relative; width: 30px; flex: none; font-size: 11px; line-height: 1;
  color: var(--body-text-color-subdued); }
.gen-octave { position: absolute; right: 4px; transform: translateY(-50%); }
.gen-plot { position: relative; flex: 1; min-width: 0; background: #fafafa;
  border: 1px solid #ddd; }
.gen-svg { display: block; width: 100%; height: 100%; }
.gen-svg .gen-black { fill: #ececec; }
.gen-svg .gen-c { stroke: #c8c8c8; stroke-width: 1; vector-effect: non-scaling-stroke; }
.gen-svg .gen-bar { stroke: #9a9a9a; stroke-width: 1; vector-effect: non-scaling-stroke; }
.gen-svg .gen-beat { stroke: #e0e0e0; stroke-width: 1; vector-effect: non-scaling-stroke; }
.gen-svg .gen-note { fill: #3b6ea8; }
.gen-playhead { position: absolute; top: 0; bottom: 0; left: 0; width: 2px; background: #e4572e;
  display: none; pointer-events: none; }
.gen-card.gen-playing .gen-playhead, .gen-card.gen-started .gen-playhead { display: block; }
.gen-play { display: flex; align-items: center; gap: 8px; margin-top: 6px; flex-wrap: wrap; }
.gen-play audio { height: 36px; flex: 1; min-width: 200px; }
.gen-loop-label { font-size: 0.85em; display: flex; gap: 4px; align-items: center; }
.gen-wait { font-size: 0.85em; opacity: 0.7; }
@media (max-width: 700px) { .gen-cards { grid-template-columns: minmax(0, 1fr); } }
"""

# Runs once per gr.HTML (``element``); the listeners live on the element, so they keep
# working when the server replaces the cards inside it. Media events do not bubble: they are
# caught on the way down (capture).
VIEW_JS = """
if (!element.dataset.genCards) {
  element.dataset.genCards = '1';
  const cardOf = (a) => a.closest && a.closest('.gen-card');
  const follow = (a) => {
    const card = cardOf(a);
    if (!card) return;
    const head = card.querySelector('.gen-playhead');
    const move = () => {
      if (a.duration > 0) head.style.left = (100 * a.currentTime / a.duration) + '%';
      if (!a.paused && !a.ended) requestAnimationFrame(move);
    };
    move();
  };
  element.addEventListener('play', (e) => {
    const a = e.target;
    if (!(a instanceof HTMLMediaElement)) return;
    document.querySelectorAll('audio').forEach((o) => { if (o !== a) o.pause(); });
    const card = cardOf(a);
    if (card) card.classList.add('gen-playing', 'gen-started');
    follow(a);
  }, true);
  const stop = (e) => {
    const card = cardOf(e.target);
    if (card) card.classList.remove('gen-playing');
  };
  element.addEventListener('pause', stop, true);
  element.addEventListener('ended', stop, true);
  element.addEventListener('seeked', (e) => follow(e.target), true);
  element.addEventListener('change', (e) => {
    const box = e.target;
    if (!box.classList || !box.classList.contains('gen-loop')) return;
    const a = cardOf(box).querySelector('audio');
    if (a) a.loop = box.checked;
  });
  element.addEventListener('click', (e) => {
    const roll = e.target.closest && e.target.closest('.gen-roll');
    if (roll) cardOf(roll).classList.toggle('gen-big');
  });
}
"""
