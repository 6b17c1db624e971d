"""Quote cards: a passage, who said it, when, the episode and the bot's @name, as a PNG.

`render_card(...)` draws one card, 1080 px wide and 1080-1350 px tall (the
height grows with the passage). The passage is set as large as fits: 56 px,
stepping down by 4 px to 36 px; only a passage too long even at 36 px is cut,
with an ellipsis. `plan_card(...)` is the same card as positioned boxes,
without drawing, so tests can check the margins.

Fonts: the Noto Sans CJK SC subset in `fonts/` (see tools/build_font_subset.py).
Drawing uses Pillow's basic layout (no raqm): the card needs no shaping, and
the widths the line breaker measures are then exactly the widths drawn.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bot.cards.layout import Line, ellipsize, justify, wrap

Style = Literal["light", "dark"]
Weight = Literal["regular", "bold"]
Role = Literal["text", "muted", "accent"]

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FILES: dict[Weight, str] = {
    "regular": "NotoSansCJKsc-Regular.subset.otf",
    "bold": "NotoSansCJKsc-Bold.subset.otf",
}
# The subset's character-set hash; part of every cache key.
FONT_VERSION = (FONT_DIR / "VERSION").read_text(encoding="utf-8").strip()
# Bump when the drawing changes, so cached cards are drawn again.
RENDER_VERSION = "2"

WIDTH = 1080
MIN_HEIGHT = 1080
MAX_HEIGHT = 1350
MARGIN = 96  # on every side; nothing is drawn closer to the edge
BODY_SIZES = (56, 52, 48, 44, 40, 36)
LINE_SPACING = 1.6  # line height / font size, for the passage
JUSTIFY_MAX = 0.25  # most space added between two characters to justify a line, x font size
MARK_SIZE = 150  # the opening quotation mark above the passage
MARK_GAP = 28  # between the mark's ink and the first line
FOOTER_GAP = 64  # between the passage and the rule
RULE = (72, 5)  # accent rule above the footer: width, thickness
SPEAKER_SIZE = 36
TITLE_SIZES = (
    28,
    26,
    24,
)  # the episode title and @name; smaller only to keep the title on one line
TITLE_LINES = 2

COLOURS: dict[Style, dict[str, tuple[int, int, int]]] = {
    "light": {
        "background": (250, 247, 240),
        "text": (34, 34, 38),
        "muted": (112, 108, 100),
        "accent": (194, 78, 54),
    },
    "dark": {
        "background": (23, 25, 31),
        "text": (236, 235, 230),
        "muted": (150, 153, 160),
        "accent": (236, 170, 92),
    },
}


@dataclass(frozen=True, slots=True)
class TextBox:
    text: str
    x: int  # left edge of the pen
    baseline: int
    weight: Weight
    size: int
    role: Role
    bbox: tuple[int, int, int, int]  # ink box on the card: left, top, right, bottom


@dataclass(frozen=True, slots=True)
class RectBox:
    bbox: tuple[int, int, int, int]
    role: Role


@dataclass(frozen=True, slots=True)
class CardPlan:
    width: int
    height: int
    body_size: int  # the passage's font size
    body_lines: tuple[Line, ...]
    truncated: bool  # the passage was cut and ends in an ellipsis
    texts: tuple[TextBox, ...]
    rects: tuple[RectBox, ...]


@cache
def font(weight: Weight, size: int) -> ImageFont.FreeTypeFont:
    path = FONT_DIR / FONT_FILES[weight]
    if not path.exists():  # a subset built with one weight only
        path = FONT_DIR / FONT_FILES["regular"]
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


class _Measure:
    """Widths of strings in one font, memoised (the line breaker asks for the same units often)."""

    def __init__(self, weight: Weight, size: int) -> None:
        self.font = font(weight, size)
        self.widths: dict[str, float] = {}

    def __call__(self, text: str) -> float:
        w = self.widths.get(text)
        if w is None:
            w = self.widths[text] = self.font.getlength(text)
        return w


@cache
def _measure(weight: Weight, size: int) -> _Measure:
    return _Measure(weight, size)


def _line_box(weight: Weight, size: int, spacing: float) -> tuple[int, int]:
    """(line height, baseline offset from the line's top) for a font size."""
    ascent, descent = font(weight, size).getmetrics()
    height = round(size * spacing)
    return height, round((height - (ascent + descent)) / 2 + ascent)


@cache
def _ink(text: str, weight: Weight, size: int) -> tuple[int, int, int, int]:
    """The inked pixels' box of `text`, relative to its pen at the baseline."""
    mask, (dx, dy) = font(weight, size).getmask2(text, anchor="ls")
    left, top, right, bottom = mask.getbbox() or (0, 0, 0, 0)
    return dx + left, dy + top, dx + right, dy + bottom


def _text(text: str, x: int, baseline: int, weight: Weight, size: int, role: Role) -> TextBox:
    left, top, right, bottom = font(weight, size).getbbox(text, anchor="ls")
    return TextBox(
        text,
        x,
        baseline,
        weight,
        size,
        role,
        (x + left, baseline + top, x + right, baseline + bottom),
    )


@dataclass(frozen=True, slots=True)
class _Footer:
    """The footer's text and line boxes: speaker · time, the title (≤ 2 lines), @name."""

    handle: str  # "@name", or "" without a bot username
    title_size: int
    title_lines: list[Line]
    small: tuple[int, int]  # (line height, baseline) of the title and @name lines
    speaker: tuple[int, int]  # the same for the speaker line

    @property
    def height(self) -> int:
        lines = len(self.title_lines) + (1 if self.handle else 0)
        return RULE[1] + 28 + self.speaker[0] + self.small[0] * lines


def _footer(title: str, bot_username: str, inner: int) -> _Footer:
    handle = f"@{bot_username.lstrip('@')}" if bot_username else ""
    # The title in one line if a slightly smaller size allows, else in two at most.
    for title_size in TITLE_SIZES:
        title_measure = _measure("regular", title_size)
        title_lines = wrap(title, inner, title_measure)
        if len(title_lines) <= 1:
            break
    else:
        title_size = TITLE_SIZES[0]
        title_measure = _measure("regular", title_size)
        title_lines = wrap(title, inner, title_measure)
    title_lines = ellipsize(title_lines, TITLE_LINES, inner, title_measure)
    return _Footer(
        handle,
        title_size,
        title_lines,
        _line_box("regular", TITLE_SIZES[0], 1.5),
        _line_box("bold", SPEAKER_SIZE, 1.5),
    )


def _fit_passage(
    passage_text: str, inner: int, height_for: Callable[[int, int], int]
) -> tuple[int, list[Line], bool]:
    """(font size, lines, truncated): the largest size at which the card stays within
    MAX_HEIGHT; too long even at the smallest size, as many lines as fit, then "…"."""
    for size in BODY_SIZES:
        measure = _measure("regular", size)
        lines = wrap(passage_text, inner, measure)
        if height_for(len(lines), size) <= MAX_HEIGHT:
            return size, lines, False
    line_h, _ = _line_box("regular", size, LINE_SPACING)
    room = (MAX_HEIGHT - height_for(0, size)) // line_h
    return size, ellipsize(lines, room, inner, measure), True


def _passage_boxes(
    lines: list[Line], size: int, top: int, mark_ink: tuple[int, int, int, int], inner: int
) -> list[TextBox]:
    """The opening mark at `top`, then the passage's lines below it."""
    m_left, m_top, m_right, m_bottom = mark_ink
    mark_h = m_bottom - m_top
    mark = TextBox(
        "“",
        MARGIN - m_left,
        top - m_top,
        "bold",
        MARK_SIZE,
        "accent",
        (MARGIN, top, MARGIN + m_right - m_left, top + mark_h),
    )
    texts: list[TextBox] = [mark]
    measure = _measure("regular", size)
    line_h, base = _line_box("regular", size, LINE_SPACING)
    y = top + mark_h + MARK_GAP
    for n, line in enumerate(lines):
        # Lines but the last are justified, as Chinese is set (unless that would
        # space a line out visibly: then it stays ragged).
        pieces = None
        if n < len(lines) - 1:
            pieces = justify(line, inner, measure, max_extra=size * JUSTIFY_MAX)
        if pieces is None:
            texts.append(_text(line.text, MARGIN, y + base, "regular", size, "text"))
        else:
            texts.extend(
                _text(piece, MARGIN + int(x), y + base, "regular", size, "text")
                for x, piece in pieces
                if piece != " "
            )
        y += line_h
    return texts


def _footer_boxes(
    footer: _Footer, speaker: str, time_hms: str, footer_top: int, inner: int
) -> tuple[list[TextBox], list[RectBox]]:
    """The accent rule, speaker · time (the speaker cut to fit), the title and @name."""
    rects = [RectBox((MARGIN, footer_top, MARGIN + RULE[0], footer_top + RULE[1]), "accent")]
    texts: list[TextBox] = []
    speaker_h, speaker_base = footer.speaker
    small_h, small_base = footer.small
    y = footer_top + RULE[1] + 28
    time_text = f"·  {time_hms}" if time_hms else ""
    time_w = (
        round(SPEAKER_SIZE * 0.5) + _measure("regular", SPEAKER_SIZE)(time_text) if time_text else 0
    )
    speaker_measure = _measure("bold", SPEAKER_SIZE)
    speaker_lines = ellipsize(
        wrap(speaker, inner - time_w, speaker_measure), 1, inner - time_w, speaker_measure
    )
    speaker_text = speaker_lines[0].text if speaker_lines else ""
    texts.append(_text(speaker_text, MARGIN, y + speaker_base, "bold", SPEAKER_SIZE, "text"))
    if time_text:
        x = MARGIN + round(speaker_measure(speaker_text)) + round(SPEAKER_SIZE * 0.5)
        texts.append(_text(time_text, x, y + speaker_base, "regular", SPEAKER_SIZE, "muted"))
    y += speaker_h
    for line in footer.title_lines:
        texts.append(
            _text(line.text, MARGIN, y + small_base, "regular", footer.title_size, "muted")
        )
        y += small_h
    if footer.handle:
        texts.append(_text(footer.handle, MARGIN, y + small_base, "bold", TITLE_SIZES[0], "accent"))
    return texts, rects


def plan_card(
    passage_text: str, speaker: str, time_hms: str, title: str, bot_username: str
) -> CardPlan:
    """Where everything goes on the card (the same for both styles).

    The footer is laid out first, bottom-up from the bottom margin; the passage
    then takes the largest size that keeps the card within MAX_HEIGHT, and sits
    with its opening mark in the middle of the space above the footer.
    """
    inner = WIDTH - 2 * MARGIN
    footer = _footer(title, bot_username, inner)
    # The mark's ink (not its em box: the CJK mark sits in the right half) decides its place.
    mark_ink = _ink("“", "bold", MARK_SIZE)
    mark_h = mark_ink[3] - mark_ink[1]

    def height_for(n_lines: int, size: int) -> int:
        line_h, _ = _line_box("regular", size, LINE_SPACING)
        return MARGIN + mark_h + MARK_GAP + n_lines * line_h + FOOTER_GAP + footer.height + MARGIN

    size, lines, truncated = _fit_passage(passage_text, inner, height_for)
    height = max(MIN_HEIGHT, height_for(len(lines), size))
    line_h, _ = _line_box("regular", size, LINE_SPACING)
    footer_top = height - MARGIN - footer.height
    block_h = mark_h + MARK_GAP + len(lines) * line_h
    top = MARGIN + (footer_top - FOOTER_GAP - MARGIN - block_h) // 2
    texts = _passage_boxes(lines, size, top, mark_ink, inner)
    footer_texts, rects = _footer_boxes(footer, speaker, time_hms, footer_top, inner)
    return CardPlan(
        WIDTH, height, size, tuple(lines), truncated, (*texts, *footer_texts), tuple(rects)
    )


# FreeType faces are not safe to share between threads: render_card holds this
# while it measures and draws (a card takes milliseconds).
_lock = threading.Lock()


LEVELS = 64  # shades of anti-aliasing per colour (6 bits: indistinguishable from 8)


def draw_plan(plan: CardPlan, style: Style) -> Image.Image:
    """The planned card drawn in `style`, as a paletted image (call under `_lock`
    when threads share the fonts).

    A card has four colours and the anti-aliased shades between each and the
    background, so it is drawn as one coverage mask per colour and stored with
    a palette: 1 + 3 x 63 entries, a third of the bytes of RGB to compress,
    which makes the PNG several times faster to encode.
    """
    colours = COLOURS[style]
    size = (plan.width, plan.height)
    masks: dict[Role, Image.Image] = {}

    def mask(role: Role) -> ImageDraw.ImageDraw:
        if role not in masks:
            masks[role] = Image.new("L", size, 0)
        return ImageDraw.Draw(masks[role])

    for rect in plan.rects:
        left, top, right, bottom = rect.bbox
        mask(rect.role).rectangle((left, top, right - 1, bottom - 1), fill=255)
    for t in plan.texts:
        mask(t.role).text(
            (t.x, t.baseline), t.text, font=font(t.weight, t.size), fill=255, anchor="ls"
        )

    index = np.zeros((plan.height, plan.width), dtype=np.uint8)
    background = colours["background"]
    palette = list(background)
    step = 256 // LEVELS
    for n, (role, m) in enumerate(masks.items()):
        level = np.asarray(m) // step  # 0..LEVELS-1
        base = 1 + n * (LEVELS - 1)
        np.copyto(index, (level + (base - 1)).astype(np.uint8), where=level > 0)
        colour = colours[role]
        for lv in range(1, LEVELS):
            a = lv / (LEVELS - 1)
            palette.extend(round(b + (c - b) * a) for b, c in zip(background, colour, strict=True))
    image = Image.fromarray(index, "P")
    image.putpalette(palette)
    return image


def encode_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", compress_level=3)
    return buf.getvalue()


def render_card(
    passage_text: str,
    speaker: str,
    time_hms: str,
    title: str,
    bot_username: str,
    style: Style = "light",
) -> bytes:
    """The card as PNG bytes: 1080 px wide, 1080-1350 px tall."""
    if style not in COLOURS:
        raise ValueError(f"unknown card style {style!r} (light or dark)")
    with _lock:
        image = draw_plan(plan_card(passage_text, speaker, time_hms, title, bot_username), style)
    return encode_png(image)
