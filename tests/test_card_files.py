"""The pieces behind quote cards on Telegram: button data, the file_id store, the card
subscription flag, the /stats chart."""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from pathlib import Path

from PIL import Image

from bot.app import buttons
from bot.app.subscribe import split_card_flag
from bot.cards.chart import ChartData, render_chart
from bot.daily.times import Zone
from bot.storage import CardFileStore, Store, SubscriptionStore


def test_card_button_data_round_trips() -> None:
    data = buttons.send_card("l367-140-0", "dark")
    assert data == "g|l367-140-0|d" and len(data.encode()) <= 64
    assert buttons.decode(data) == buttons.SendCard("l367-140-0", "dark")
    assert buttons.decode(buttons.send_card("l367-1-0")) == buttons.SendCard("l367-1-0", "light")
    for bad in ("g|l367-1-0|x", "g||l", "g|l367-1-0", "g|a|l|d"):
        assert buttons.decode(bad) is None


def test_card_word_in_subscribe_arguments() -> None:
    assert split_card_flag(["08:00", "card"]) == (["08:00"], True)
    assert split_card_flag(["卡片", "UTC+8"]) == (["UTC+8"], True)
    assert split_card_flag(["08:00", "UTC"]) == (["08:00", "UTC"], False)


async def test_file_ids_are_kept_per_passage_style_and_font_version(db_path: Path) -> None:
    store = await Store.open(db_path)
    try:
        files = CardFileStore(store.db)
        assert await files.get("l367-1-0", "light", "v1") is None
        await files.put("l367-1-0", "light", "v1", "A")
        await files.put("l367-1-0", "dark", "v1", "B")
        await files.put("l367-2-0", "light", "v2", "C")
        await files.put("l367-1-0", "light", "v1", "A2")  # a re-upload replaces it
        assert await files.get("l367-1-0", "light", "v1") == "A2"
        assert await files.get("l367-2-0", "light", "v1") is None  # another font: not this card
        found = await files.uploaded(["l367-2-0", "l367-1-0"], "v1")
        assert [(p, s) for p, s, _ in found] == [("l367-1-0", "light"), ("l367-1-0", "dark")]
        await files.forget("l367-1-0", "light", "v1")
        assert await files.get("l367-1-0", "light", "v1") is None
    finally:
        await store.close()


async def test_card_flag_is_stored_with_the_subscription(db_path: Path) -> None:
    store = await Store.open(db_path)
    try:
        subs = SubscriptionStore(store.db)
        now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
        sub = await subs.subscribe(
            1, "private", "zh", dt.time(8), Zone.from_name("UTC"), now, card=True
        )
        assert sub.card
        sub = await subs.subscribe(1, "private", "zh", dt.time(8), Zone.from_name("UTC"), now)
        assert not sub.card
    finally:
        await store.close()
    columns = [r[1] for r in sqlite3.connect(db_path).execute("PRAGMA table_info(subscriptions)")]
    assert "card" in columns


def test_chart_draws_days_and_misses_even_with_characters_the_font_lacks() -> None:
    days = [(f"05-{d:02d}", d % 7) for d in range(1, 31)]
    png = render_chart(
        ChartData(
            days, [("红烧肉怎么做 😀", 3)], "每天的问题数（最近 30 天）", "找不到答案的问题", "没有"
        )
    )
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width == 1080
    empty = Image.open(io.BytesIO(render_chart(ChartData([], [], "a", "b", "none"))))
    assert empty.width == 1080
