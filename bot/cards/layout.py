"""Line breaking for quote cards: CJK rules, whole Latin words, no drawing.

`wrap(text, max_width, measure)` cuts `text` into lines no wider than
`max_width` as `measure` (any str -> width function) sees them:

- a line may break between any two Han characters, and at spaces;
- a run of Latin letters, digits and Latin punctuation ("GPT-4", "ChatGPT,")
  is one word and stays whole, unless it alone is wider than a line (then,
  as a last resort, it is cut by characters);
- no line starts with closing punctuation (，。！？；：、」』）》】… and the
  Latin , . ! ? ; : ) ] }) and no line ends with opening punctuation
  (「『（《【“‘ and ( [ {): closing marks stay with the character before
  them, opening marks with the character after (kinsoku shori by "oikomi":
  the unit moves whole to the next line);
- whitespace runs count as one space; spaces at a break are dropped.

Each `Line` records where it lies in `normalize(text)`, so tests can check
that nothing but the spaces at breaks was lost.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

CLOSING = frozenset("，。！？；：、」』）》】〉〕〗〙〛…‥”’,.!?;:)]}％·ー～〜")
OPENING = frozenset("「『（《【〈〔〖〘〚“‘([{")
_SPACE = re.compile(r"\s+")

Measure = Callable[[str], float]


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    start: int  # offset in normalize(text)
    end: int  # exclusive; text == normalized[start:end]
    width: float


def normalize(text: str) -> str:
    """The text as it is laid out: whitespace runs as one space, trimmed."""
    return _SPACE.sub(" ", text).strip()


def is_wide(ch: str) -> bool:
    """A character that may break on either side (Han, kana, CJK punctuation, full-width forms)."""
    o = ord(ch)
    return (
        0x2E80 <= o <= 0x9FFF  # radicals, CJK symbols and punctuation, kana, Han
        or 0xAC00 <= o <= 0xD7AF  # Hangul
        or 0xF900 <= o <= 0xFAFF  # compatibility ideographs
        or 0xFE30 <= o <= 0xFE4F  # CJK compatibility forms
        or 0xFF00 <= o <= 0xFFEF  # full-width forms
        or 0x20000 <= o <= 0x3FFFF  # Han extensions
        or ch in "…‥—“”‘’·"  # marks that Chinese text sets between Han characters
    )


def _units(text: str) -> list[tuple[int, int]]:
    """Spans of the smallest pieces: one wide character, one space, or one Latin word."""
    units: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == " " or is_wide(ch):
            units.append((i, i + 1))
            i += 1
            continue
        j = i + 1
        while j < n and text[j] != " " and not is_wide(text[j]):
            j += 1
        units.append((i, j))
        i = j
    return units


def _clusters(text: str) -> list[tuple[int, int]]:
    """Unbreakable spans: units glued by the punctuation rules. Spaces stay separate
    (break opportunities) unless a rule glues them."""
    units = _units(text)
    # glue[k]: no break between unit k and unit k+1
    glue = [False] * max(0, len(units) - 1)
    for k in range(len(units) - 1):
        a = text[units[k][1] - 1]  # last character of unit k
        b = text[units[k + 1][0]]  # first character of unit k+1
        if b in CLOSING or a in OPENING or a == b == "—":  # "——" is one dash
            glue[k] = True
    # A space before closing punctuation or after opening punctuation is no
    # break either: glue it to both sides.
    for k, (s, _e) in enumerate(units):
        if text[s] != " ":
            continue
        before = text[units[k - 1][1] - 1] if k > 0 else ""
        after = text[units[k + 1][0]] if k + 1 < len(units) else ""
        if after in CLOSING or before in OPENING:
            if k > 0:
                glue[k - 1] = True
            if k < len(glue):
                glue[k] = True
    clusters: list[tuple[int, int]] = []
    start = 0
    for k in range(len(units)):
        if k == len(units) - 1 or not glue[k]:
            clusters.append((units[start][0], units[k][1]))
            start = k + 1
    return clusters


def _hard_split(text: str, s: int, e: int, max_width: float, measure: Measure) -> list[int]:
    """Cut points inside text[s:e] (wider than a line on its own), by characters."""
    cuts: list[int] = []
    line_start = s
    for i in range(s + 1, e):
        if measure(text[line_start : i + 1]) > max_width:
            cuts.append(i)
            line_start = i
    return cuts


def wrap(text: str, max_width: float, measure: Measure) -> list[Line]:
    """`text` (normalized first) in lines no wider than `max_width`; greedy, first fit."""
    text = normalize(text)
    if not text:
        return []
    pieces: list[tuple[int, int]] = []
    for s, e in _clusters(text):
        if text[s] != " " and measure(text[s:e]) > max_width:
            cuts = [s, *_hard_split(text, s, e, max_width, measure), e]
            pieces.extend(itertools.pairwise(cuts))
        else:
            pieces.append((s, e))

    lines: list[Line] = []
    line_start: int | None = None  # offset of the first non-space piece on the line
    line_end = 0
    width = 0.0
    pending_space = 0.0  # width of spaces after the last piece, kept if more follows

    def close() -> None:
        if line_start is not None:
            lines.append(Line(text[line_start:line_end], line_start, line_end, width))

    space_width = measure(" ")
    for s, e in pieces:
        if text[s:e] == " ":
            if line_start is not None:
                pending_space += space_width
            continue
        w = measure(text[s:e])
        if line_start is not None and width + pending_space + w > max_width:
            close()
            line_start, width, pending_space = None, 0.0, 0.0
        if line_start is None:
            line_start, width = s, w
        else:
            width += pending_space + w
        pending_space = 0.0
        line_end = e
    close()
    return lines


def ellipsize(
    lines: list[Line], max_lines: int, max_width: float, measure: Measure, mark: str = "…"
) -> list[Line]:
    """At most `max_lines` lines; if any were dropped, the last kept line ends in `mark`
    (shortened by characters until it fits)."""
    if len(lines) <= max_lines:
        return lines
    if max_lines <= 0:
        return []
    last = lines[max_lines - 1]
    cut = last.text.rstrip("，。、；：,.;: ")
    while cut and measure(cut + mark) > max_width:
        cut = cut[:-1].rstrip()
    while cut and cut[-1] in OPENING:
        cut = cut[:-1]
    text = cut + mark
    return [
        *lines[: max_lines - 1],
        Line(text, last.start, last.start + len(cut), measure(text)),
    ]


def justify(
    line: Line, max_width: float, measure: Measure, max_extra: float
) -> list[tuple[float, str]] | None:
    """The line's pieces (one Han character, punctuation mark, Latin word or space
    each) with their x offsets, spaced out evenly so the line fills `max_width`,
    as Chinese text is set; None when that would add more than `max_extra`
    between two pieces (a short line, or one of few long words: left as it is)."""
    pieces = [line.text[s:e] for s, e in _units(line.text)]
    if len(pieces) < 2:
        return None
    widths = [measure(p) for p in pieces]
    extra = (max_width - sum(widths)) / (len(pieces) - 1)
    if extra < 0 or extra > max_extra:
        return None
    out: list[tuple[float, str]] = []
    x = 0.0
    for piece, w in zip(pieces, widths, strict=True):
        out.append((x, piece))
        x += w + extra
    return out
