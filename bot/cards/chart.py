"""The admin's /stats picture: queries per day as bars, and the most frequent misses.

Drawn with Pillow in the card font subset (bot/cards/fonts). Headings and
numbers are our own text, chosen from characters the subset has; a miss is
what a user typed and may hold characters the subset lacks: it is drawn
anyway (a missing glyph in user text is acceptable, never in transcript text).
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw

from bot.cards.render import encode_png, font

WIDTH = 1080
MARGIN = 64
BAR_AREA = 360  # height of the tallest bar
MISS_ROWS = 10
INK = (32, 33, 36)
MUTED = (110, 114, 120)
BAR = (66, 110, 200)
BACKGROUND = (250, 250, 247)
GRID = (225, 225, 220)


@dataclass(frozen=True, slots=True)
class ChartData:
    days: list[tuple[str, int]]  # (label "MM-DD", queries), oldest first
    misses: list[tuple[str, int]]  # (query, times), most frequent first
    days_title: str
    misses_title: str
    none_text: str  # shown when there are no misses


def render_chart(data: ChartData) -> bytes:
    """The chart as PNG bytes, WIDTH px wide."""
    misses = data.misses[:MISS_ROWS]
    row = 52
    height = MARGIN + 60 + 50 + BAR_AREA + 70 + 70 + max(1, len(misses)) * row + MARGIN
    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    title, label, small = font("bold", 40), font("regular", 30), font("regular", 22)

    y = MARGIN
    draw.text((MARGIN, y), data.days_title, font=title, fill=INK)
    y += 60
    top = max((n for _, n in data.days), default=0)
    y += 50  # room for the tallest bar's number
    base = y + BAR_AREA
    draw.line((MARGIN, base, WIDTH - MARGIN, base), fill=GRID, width=2)
    count = max(1, len(data.days))
    slot = (WIDTH - 2 * MARGIN) / count
    for i, (day, n) in enumerate(data.days):
        x0 = MARGIN + i * slot + slot * 0.15
        x1 = MARGIN + (i + 1) * slot - slot * 0.15
        if n and top:
            h = max(2, round(BAR_AREA * n / top))
            draw.rectangle((x0, base - h, x1, base), fill=BAR)
            if n == top:
                draw.text(((x0 + x1) / 2, base - h - 6), str(n), font=small, fill=INK, anchor="md")
        if i % 5 == 0 or i == count - 1:
            draw.text(((x0 + x1) / 2, base + 8), day, font=small, fill=MUTED, anchor="ma")
    y = base + 70

    draw.text((MARGIN, y), data.misses_title, font=title, fill=INK)
    y += 70
    if not misses:
        draw.text((MARGIN, y), data.none_text, font=label, fill=MUTED)
    widest = max((n for _, n in misses), default=1)
    text_width = (WIDTH - 2 * MARGIN) * 0.55
    for query, n in misses:
        shown = query if len(query) <= 24 else query[:23] + "…"
        while label.getlength(shown) > text_width and len(shown) > 2:
            shown = shown[:-2] + "…"
        draw.text((MARGIN, y), shown, font=label, fill=INK)
        bar_x = MARGIN + text_width + 16
        bar_w = (WIDTH - MARGIN - bar_x - 70) * n / widest
        draw.rectangle((bar_x, y + 6, bar_x + max(2, bar_w), y + 34), fill=BAR)
        draw.text((bar_x + bar_w + 10, y + 4), str(n), font=label, fill=INK)
        y += row
    return encode_png(image)
