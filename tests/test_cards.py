"""Quote cards: the font covers the transcript, text stays inside the margins,
lines break by the CJK rules, long passages get smaller type, the cache draws once."""

from __future__ import annotations

import contextlib
import io
import re
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from bot.data import DATA_DIR
from fontTools.ttLib import TTFont
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from bot.cards import CardCache, card_text, plan_card, render_card
from bot.cards import render as card_render
from bot.cards.layout import (
    CLOSING,
    OPENING,
    _clusters,
    ellipsize,
    is_wide,
    justify,
    normalize,
    wrap,
)
from bot.cards.render import COLOURS, FONT_DIR, MARGIN, MAX_HEIGHT, MIN_HEIGHT, WIDTH
from bot.search.transcripts.conversation import Conversation, load_directory
from bot.search.transcripts.passages import Passage, cut_passages

BOT = "QuoteBot367"


@cache
def corpus() -> list[tuple[Passage, Conversation]]:
    return [(p, c) for c in load_directory(DATA_DIR) for p in cut_passages(c)]


def longest(n: int) -> list[tuple[Passage, Conversation]]:
    return sorted(corpus(), key=lambda pc: -len(pc[0].text))[:n]


def plan_for(passage: Passage, conv: Conversation):
    t = card_text(passage, conv)
    return plan_card(t.passage_text, t.speaker, t.time_hms, t.title, BOT)


# -- the font -------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(FONT_DIR.glob("*.otf")), ids=lambda p: p.name)
def test_every_character_of_every_card_has_a_glyph(path: Path) -> None:
    cmap = TTFont(path, lazy=True).getBestCmap()
    needed: set[str] = set("—·@#…“0123456789:")
    for passage, conv in corpus():
        t = card_text(passage, conv)
        needed.update(t.passage_text, t.speaker, t.title, t.time_hms)
    missing = sorted(c for c in needed if c.isprintable() and c != " " and ord(c) not in cmap)
    assert not missing, f"{path.name} lacks {''.join(missing)!r}: run tools/build_font_subset.py"


@pytest.mark.parametrize("path", sorted(FONT_DIR.glob("*.otf")), ids=lambda p: p.name)
def test_imported_conversations_find_their_everyday_characters(path: Path) -> None:
    """Conversations added with `quotebot add` are not in the subset's source text: the
    fonts also hold GB2312's Han characters (everyday Simplified) and Big5's first level
    (everyday Traditional), so their cards do not show empty boxes."""
    cmap = TTFont(path, lazy=True).getBestCmap()
    everyday = set()
    for codec, rows, cells in (
        ("gb2312", range(0xB0, 0xF8), range(0xA1, 0xFF)),
        ("big5", range(0xA4, 0xC7), [*range(0x40, 0x7F), *range(0xA1, 0xFF)]),
    ):
        for row in rows:
            for cell in cells:
                with contextlib.suppress(UnicodeDecodeError):
                    everyday.add(bytes([row, cell]).decode(codec))
    assert len(everyday) > 8500  # 6,763 + 5,401 Han characters, less those both share
    missing = sorted(c for c in everyday if ord(c) not in cmap)
    assert not missing, f"{path.name} lacks {len(missing)}: {''.join(missing[:40])!r}"


def test_font_ships_with_licence_and_version() -> None:
    assert "SIL OPEN FONT LICENSE Version 1.1" in (FONT_DIR / "LICENSE-OFL.txt").read_text()
    assert re.fullmatch(r"[0-9a-f]{16}", card_render.FONT_VERSION)
    total = sum(p.stat().st_size for p in FONT_DIR.glob("*.otf"))
    assert total < 9_000_000  # two weights of ~9,600 characters; the full fonts are 2 x 19 MB


# -- margins --------------------------------------------------------------


def _inside(bbox: tuple[int, int, int, int], height: int) -> bool:
    left, top, right, bottom = bbox
    return (
        left >= MARGIN and right <= WIDTH - MARGIN and top >= MARGIN and bottom <= height - MARGIN
    )


def test_every_passage_plans_inside_the_margins() -> None:
    for passage, conv in corpus():
        plan = plan_for(passage, conv)
        assert plan.width == WIDTH and MIN_HEIGHT <= plan.height <= MAX_HEIGHT
        assert not plan.truncated, passage.id  # the bundled passages all fit whole
        for box in (*plan.texts, *plan.rects):
            assert _inside(box.bbox, plan.height), (passage.id, box)
        for line in plan.body_lines:
            assert line.width <= WIDTH - 2 * MARGIN


def _ink_box(png: bytes, style: str) -> tuple[tuple[int, int, int, int], int]:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = np.asarray(image).astype(int)
    background = np.array(COLOURS[style]["background"])
    ink = np.abs(pixels - background).sum(axis=2) > 0
    ys, xs = np.nonzero(ink)
    return (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1), image.height


@pytest.mark.parametrize("style", ["light", "dark"])
def test_rendered_pixels_stay_inside_the_margins(style: str) -> None:
    samples = [*longest(3), min(corpus(), key=lambda pc: len(pc[0].text))]
    samples += [pc for pc in corpus() if re.search(r"[A-Za-z]{6,}", pc[0].text)][:2]
    for passage, conv in samples:
        t = card_text(passage, conv)
        png = render_card(t.passage_text, t.speaker, t.time_hms, t.title, BOT, style)
        assert png.startswith(b"\x89PNG")
        box, height = _ink_box(png, style)
        assert _inside(box, height), (passage.id, box, height)
        assert Image.open(io.BytesIO(png)).width == WIDTH


# -- font size steps down -------------------------------------------------


def test_short_passages_get_the_largest_type_and_long_ones_step_down() -> None:
    short = plan_card("我认为这是一个惊喜。", "山姆·奥特曼 Sam Altman", "00:01:02", "标题", BOT)
    assert short.body_size == 56 and short.height == MIN_HEIGHT and not short.truncated
    sizes = [plan_card("我们" * n, "S", "00:00:00", "标题", BOT).body_size for n in (20, 90, 150)]
    assert sizes[0] == 56 and sizes == sorted(sizes, reverse=True) and sizes[2] < 56


def test_only_a_passage_too_long_even_at_the_smallest_size_gets_an_ellipsis() -> None:
    plan = plan_card("我们真的想推动这些系统的边缘。" * 40, "S", "00:00:00", "标题", BOT)
    assert plan.truncated and plan.body_size == 36 and plan.height <= MAX_HEIGHT
    assert plan.body_lines[-1].text.endswith("…")
    for box in plan.texts:
        assert _inside(box.bbox, plan.height)


# -- line breaking --------------------------------------------------------


def fake_measure(text: str) -> float:
    """Wide characters 10 units, everything else 6: enough to exercise the rules."""
    return sum(10 if is_wide(c) else 6 for c in text)


def test_examples_of_the_rules() -> None:
    lines = [x.text for x in wrap("我们使用ChatGPT。然后", 60, fake_measure)]
    assert lines == ["我们使用", "ChatGPT。", "然后"]  # the word moved whole, the 。 with it
    lines = [x.text for x in wrap("一二三四「五六", 50, fake_measure)]
    assert lines == ["一二三四", "「五六"]  # no line ends with 「
    lines = [x.text for x in wrap("一二三四五，六", 50, fake_measure)]
    assert lines == ["一二三四", "五，六"]  # no line starts with ，
    lines = [x.text for x in wrap("hello   world  again", 70, fake_measure)]
    assert lines == ["hello world", "again"]


def test_a_word_wider_than_a_line_is_cut_as_a_last_resort() -> None:
    lines = wrap("x" * 30, 60, fake_measure)
    assert "".join(x.text for x in lines) == "x" * 30
    assert all(x.width <= 60 for x in lines)


def test_ellipsis() -> None:
    lines = wrap("一二三四五六七八九十" * 3, 50, fake_measure)
    cut = ellipsize(lines, 2, 50, fake_measure)
    assert len(cut) == 2 and cut[-1].text.endswith("…") and fake_measure(cut[-1].text) <= 50
    assert ellipsize(lines, 10, 50, fake_measure) == lines


HAN = st.sampled_from("我们的人工智能是一个模型系统未来语言")
LATIN_WORD = st.text(alphabet="abcXYZ019-'", min_size=1, max_size=8)
PIECES = st.one_of(
    HAN,
    HAN,
    HAN,
    st.sampled_from(sorted(CLOSING)),
    st.sampled_from(sorted(OPENING)),
    LATIN_WORD,
    st.sampled_from([" ", "  ", "\n", "\t "]),
)


def _latin(c: str) -> bool:
    return c != " " and not is_wide(c)


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(PIECES, min_size=1, max_size=60), width=st.integers(100, 400))
def test_line_breaking_properties(pieces: list[str], width: int) -> None:
    text = "".join(pieces)
    norm = normalize(text)
    # The rules hold whenever every unbreakable unit fits in a line (else the
    # last-resort cut applies, tested above).
    assume(all(fake_measure(norm[s:e]) <= width for s, e in _clusters(norm)))
    lines = wrap(text, width, fake_measure)
    if not norm:
        assert lines == []
        return
    assert lines and lines[0].start == 0 and lines[-1].end == len(norm)
    for i, line in enumerate(lines):
        assert line.text and line.text == norm[line.start : line.end]
        assert line.text == line.text.strip()
        assert fake_measure(line.text) <= width
        if i > 0:
            assert line.text[0] not in CLOSING, lines
        if i < len(lines) - 1:
            nxt = lines[i + 1]
            assert line.text[-1] not in OPENING, lines
            gap = norm[line.end : nxt.start]
            assert gap in ("", " ")  # only the space at a break is dropped
            if gap == "":
                assert not (_latin(norm[line.end - 1]) and _latin(norm[nxt.start])), lines
    for line in lines:  # justified, a line fills the width exactly, in order, nothing lost
        pieces = justify(line, width, fake_measure, max_extra=width)
        if pieces is None:
            continue
        assert "".join(p for _x, p in pieces) == line.text
        xs = [x for x, _p in pieces]
        assert xs == sorted(xs) and xs[0] == 0
        assert xs[-1] + fake_measure(pieces[-1][1]) == pytest.approx(width)
    rejoined = "".join(
        line.text + norm[line.end : (lines[i + 1].start if i + 1 < len(lines) else line.end)]
        for i, line in enumerate(lines)
    )
    assert rejoined == norm


# -- the cache ------------------------------------------------------------


def test_cache_hit_returns_the_same_bytes_without_drawing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passage, conv = longest(1)[0]
    cards = CardCache(tmp_path / "cards")
    first = cards.get_or_render(passage, conv, BOT, "dark")
    assert cards.renders == 1 and first.startswith(b"\x89PNG")

    def no_drawing(*args, **kwargs):
        raise AssertionError("drew a cached card again")

    monkeypatch.setattr(card_render, "render_card", no_drawing)
    again = CardCache(tmp_path / "cards")  # a restart: the files are the cache
    assert again.get_or_render(passage, conv, BOT, "dark") == first
    assert again.renders == 0 and again.hits == 1
    assert not list((tmp_path / "cards").glob(".tmp-*"))


def test_cache_key_has_style_bot_and_font_version(tmp_path: Path) -> None:
    cards = CardCache(tmp_path)
    a = cards.path_for("l367-3-0", "light", BOT)
    assert a != cards.path_for("l367-3-0", "dark", BOT)
    assert a != cards.path_for("l367-3-0", "light", "OtherBot")
    assert a.parent == tmp_path and a.name.startswith("l367-3-0.light.")


def test_cache_keeps_the_most_recently_used_cards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(card_render, "render_card", lambda text, *a: text.encode())
    cards = CardCache(tmp_path, max_files=3)
    passages = corpus()[20:25]
    for passage, conv in passages[:3]:
        cards.get_or_render(passage, conv, BOT)
    import os
    import time

    # the first card is used again, so the second is the least recently used
    old = time.time() - 100
    for n, (passage, _conv) in enumerate(passages[:3]):
        os.utime(cards.path_for(passage.id, "light", BOT), (old + n, old + n))
    cards.get_or_render(*passages[0], BOT)
    cards.get_or_render(*passages[3], BOT)
    kept = {p.name for p in tmp_path.glob("*.png")}
    assert len(kept) == 3
    assert cards.path_for(passages[1][0].id, "light", BOT).name not in kept
    assert cards.path_for(passages[0][0].id, "light", BOT).name in kept
