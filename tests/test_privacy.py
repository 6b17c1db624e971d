"""/forget, its undo, /privacy and the query log's retention.

End to end: the real Application against the local Bot API emulator, with the
rows in SQLite counted before and after. The undo's minute and the retention
prune are checked on the core with a clock the test sets.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.privacy import UNDO_SECONDS
from bot.app.quotebot import Options, QuoteBot
from bot.app.sender import Sender
from bot.search.engine import QuoteEngine
from bot.storage import QueryRecord, Store
from tests.bot_harness import (
    ADMIN_ID,
    BotHarness,
    button_text,
    eventually,
    running_bot,
)

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]

DAY = 86400


@pytest.fixture
async def bot(engine: QuoteEngine, tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with running_bot(engine, tmp_path / "bot") as harness:
        yield harness


def counts(db_path: Path, user_id: int, group_id: int) -> dict[str, int]:
    """What the database holds that /forget is about, counted with plain SQL."""
    with sqlite3.connect(db_path) as db:

        def one(sql: str, *args: object) -> int:
            return int(db.execute(sql, args).fetchone()[0])

        return {
            "dm queries": one("SELECT COUNT(*) FROM queries WHERE chat_id = ?", user_id),
            "group queries": one("SELECT COUNT(*) FROM queries WHERE chat_id = ?", group_id),
            "all queries": one("SELECT COUNT(*) FROM queries"),
            "searches": one("SELECT COUNT(*) FROM searches"),
            "dm subscription": one("SELECT COUNT(*) FROM subscriptions WHERE chat_id = ?", user_id),
            "group subscription": one(
                "SELECT COUNT(*) FROM subscriptions WHERE chat_id = ?", group_id
            ),
        }


async def test_forget_deletes_the_askers_rows_keeps_others_and_groups_and_undo_restores(
    bot: BotHarness,
) -> None:
    li = bot.user("Li")
    bob = bot.user("Bob")
    li_dm, bob_dm = bot.dm(li), bot.dm(bob)
    group = bot.emu.add_group("Readers", owner=li, members=[bob], bot_admin=True)
    await bot.ask(li_dm, li, "什么是RLHF")  # an answer: a saved search behind its buttons
    await bot.ask(li_dm, li, "意识")
    await bot.ask(li_dm, li, "/subscribe 08:00")
    await bot.ask(group, li, "/quote 开源")  # Li's words in the group: Li's too
    await bot.ask(group, li, "/subscribe 09:00")  # the group's, set by its owner: kept
    await bot.ask(bob_dm, bob, "人类反馈强化学习")
    await bot.quotebot.store.flush()
    before = counts(bot.db_path, li.id, group.id)
    assert before["dm queries"] == 2 and before["group queries"] == 1
    assert before["dm subscription"] == before["group subscription"] == 1
    assert before["searches"] == 4  # each answered search is saved (Li's 3, Bob's 1)
    bob_rows = before["all queries"] - 3

    reply = await bot.ask(li_dm, li, "/forget")
    assert "删除了关于你的 7 条记录" in reply.text  # 3 queries, 3 saved searches, 1 subscription
    assert "搜索记录：3；保存的搜索：3；每日原话订阅：1；选定的对话：0" in reply.text
    after = counts(bot.db_path, li.id, group.id)
    assert after["dm queries"] == after["group queries"] == 0
    assert after["all queries"] == bob_rows  # Bob's queries are Bob's
    assert after["dm subscription"] == 0
    assert after["group subscription"] == 1  # the group keeps what its admin set
    assert after["searches"] == 1  # Bob's

    await bot.press(li_dm, li, reply, button_text(reply, "↩"))
    assert "已撤销：7 条记录已恢复" in reply.text
    assert counts(bot.db_path, li.id, group.id) == before
    assert (await bot.subscription(li_dm)) is not None

    assert reply.buttons == []  # the undo is used up: the edit took the button away


async def test_forget_in_a_group_deletes_nothing_and_privacy_explains(bot: BotHarness) -> None:
    li = bot.user("Li", lang="en")
    group = bot.emu.add_group("Readers", owner=li, bot_admin=True)
    await bot.ask(bot.dm(li), li, "consciousness")
    await bot.quotebot.store.flush()
    before = counts(bot.db_path, li.id, group.id)
    reply = await bot.ask(group, li, "/forget")
    assert "private chat" in reply.text
    assert counts(bot.db_path, li.id, group.id) == before
    privacy = await bot.ask(bot.dm(li), li, "/privacy")
    assert "Kept 365 days" in privacy.text and "/forget" in privacy.text
    new = bot.user("New", lang="en")
    nothing = await bot.ask(bot.dm(new), new, "/forget")
    assert "nothing to delete" in nothing.text and not nothing.buttons


async def test_stats_totals_survive_forget(bot: BotHarness) -> None:
    admin = bot.user("Admin", user_id=ADMIN_ID)
    li = bot.user("Li")
    for words in ("意识", "开源", "红烧肉怎么做"):
        await bot.ask(bot.dm(li), li, words)
    stats = await bot.quotebot.store.stats(1e12, 0)
    await bot.ask(bot.dm(li), li, "/forget")
    again = await bot.quotebot.store.stats(1e12, 0)
    assert again.total == stats.total == 3  # counted per day before the rows went
    assert again.top_queries == []  # the words themselves are gone
    text, _chart = await bot.exchange(bot.dm(admin), admin, "/stats")
    assert "今日查询：3，总计：3" in text.text


# ------------------------------------------------------------------- the core, with a clock


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


ME = Sender(chat_id=7, chat_type="private", user_id=7, lang="en")
OTHER = Sender(chat_id=8, chat_type="private", user_id=8, lang="en")


@pytest.fixture
async def core(engine: QuoteEngine, db_path: Path) -> AsyncIterator[tuple[QuoteBot, Clock]]:
    store = await Store.open(db_path)
    clock = Clock()
    try:
        yield QuoteBot(engine, store, Options(clock=clock)), clock
    finally:
        await store.close()


def undo_data(reply) -> str:
    [data] = [b.data for row in reply.buttons for b in row if b.data]
    return data


async def test_undo_is_refused_after_a_minute_and_to_anyone_else(
    core: tuple[QuoteBot, Clock], db_path: Path
) -> None:
    quotebot, clock = core
    await quotebot.query(ME, "consciousness")
    await quotebot.query(ME, "open source")
    reply = await quotebot.forget(ME)
    data = undo_data(reply)
    someone_else = await quotebot.press(OTHER, data)
    assert someone_else is not None and "Too late" in someone_else.html
    clock.now += dt.timedelta(seconds=UNDO_SECONDS + 1)
    late = await quotebot.press(ME, data)
    assert late is not None and "Too late" in late.html
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM queries").fetchone()[0] == 0
    # Within the minute it works (a fresh /forget of new rows).
    await quotebot.query(ME, "consciousness")
    reply = await quotebot.forget(ME)
    clock.now += dt.timedelta(seconds=UNDO_SECONDS - 1)
    done = await quotebot.press(ME, undo_data(reply))
    assert done is not None and "Undone: 2 records" in done.html  # the query and its saved search
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM queries").fetchone()[0] == 1


async def test_nothing_to_forget_has_no_undo(core: tuple[QuoteBot, Clock]) -> None:
    quotebot, _clock = core
    reply = await quotebot.forget(ME)
    assert "nothing to delete" in reply.html and reply.buttons == ()


async def test_prune_deletes_old_rows_and_stats_stay_the_same(db_path: Path) -> None:
    store = await Store.open(db_path)
    now = 400 * DAY + 3600.0  # an hour into UTC day 400
    try:
        for age_days, words, found in ((500, "old", 1), (366, "older miss", 0), (10, "new", 2)):
            store.log_query(
                QueryRecord(7, "private", 7, "message", words, None, None, found, 1.0,
                            ts=now - age_days * DAY)
            )  # fmt: skip
        store.log_query(QueryRecord(7, "private", 7, "message", "today", None, None, 1, 1.0, now))
        before = await store.stats(now, now - now % DAY)
        per_day_before = await store.queries_per_day(0)
        assert await store.privacy.prune(365, now) == 2
        after = await store.stats(now, now - now % DAY)
        assert (after.total, after.today) == (before.total, before.today) == (4, 1)
        assert await store.queries_per_day(0) == per_day_before
        assert [q for q, _ in after.top_queries] == ["new", "today"]  # old words are gone
        assert await store.privacy.prune(365, now) == 0  # nothing twice
        assert (await store.stats(now, now - now % DAY)).total == 4
    finally:
        await store.close()
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM queries").fetchone()[0] == 2
        assert db.execute("SELECT SUM(queries), SUM(misses) FROM query_days").fetchone() == (2, 1)


async def test_retention_task_prunes_at_start(db_path: Path) -> None:
    store = await Store.open(db_path)
    try:
        store.log_query(QueryRecord(7, "private", 7, "message", "ancient", None, None, 1, 1.0, 5.0))
        await store.flush()
        store.start_retention(days=30)

        async def pruned() -> bool:
            async with store.db.execute("SELECT COUNT(*) FROM queries") as cur:
                row = await cur.fetchone()
            return row is not None and row[0] == 0

        await eventually(pruned, what="the retention task's first prune")
        assert (await store.stats(1e9, 0)).total == 1
    finally:
        await store.close()
