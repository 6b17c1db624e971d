"""Daily quotes: scheduling, idempotent delivery, catch-up, failures, pacing."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import sqlite3
import time
from pathlib import Path

import pytest

from bot.app.replies import Reply
from bot.daily.scheduler import DailyQuotes, Kind, Outcome
from bot.daily.throttle_sends import Pacer
from bot.daily.times import Zone
from bot.search.engine import QuoteEngine
from bot.storage import Store
from bot.storage.subscriptions import SubscriptionStore, passage_number

SHANGHAI = Zone.from_name("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 10, 0, 0, tzinfo=dt.UTC)  # 08:00 in Shanghai


class FakeClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class Recorder:
    """A send function that records and answers with scripted outcomes."""

    def __init__(self, script: dict[int, list[Outcome]] | None = None) -> None:
        self.sent: list[tuple[int, str]] = []
        self.calls: list[int] = []
        self.script = script or {}

    async def __call__(self, chat_id: int, reply: Reply) -> Outcome:
        self.calls.append(chat_id)
        queue = self.script.get(chat_id)
        if queue:
            return queue.pop(0)
        self.sent.append((chat_id, reply.html))
        return Outcome(Kind.SENT)


@pytest.fixture
async def store(db_path: Path):
    s = await Store.open(db_path)
    yield s
    await s.close()


def daily(store: Store, engine: QuoteEngine, send, clock: FakeClock, **kw) -> DailyQuotes:
    return DailyQuotes(
        SubscriptionStore(store.db),
        engine,
        send,
        pacer=Pacer(1000),
        clock=clock,
        backoff=0.001,
        **kw,
    )


async def subscribe(
    d: DailyQuotes, chat_id: int, at: dt.time, now: dt.datetime, chat_type: str = "private"
):
    return await d.subscriptions.subscribe(chat_id, chat_type, "zh", at, SHANGHAI, now)


def test_passage_permutation_visits_every_passage_once_per_cycle() -> None:
    for pool in (1, 2, 7, 536, 1000):
        for seed in (0, 1, 12345):
            picks = [passage_number(seed, n, pool) for n in range(pool)]
            assert sorted(picks) == list(range(pool))
            assert [passage_number(seed, n + pool, pool) for n in range(pool)] == picks


async def test_sends_at_due_time_once_then_tomorrow(store: Store, engine: QuoteEngine) -> None:
    clock = FakeClock(T0 - dt.timedelta(hours=1))
    send = Recorder()
    d = daily(store, engine, send, clock)
    sub = await subscribe(d, 1, dt.time(8, 0), clock.now)
    assert sub.next_at == T0
    assert await d.run_due() == 0  # not yet
    clock.now = T0 + dt.timedelta(seconds=1)
    assert await d.run_due() == 1
    assert await d.run_due() == 0
    assert (
        len(send.sent) == 1 and "今日原话" in send.sent[0][1] and "<blockquote>" in send.sent[0][1]
    )
    after = await d.subscriptions.get(1)
    assert after.next_at == T0 + dt.timedelta(days=1) and after.delivered == 1


async def test_no_repeat_until_every_good_passage_was_sent(
    store: Store, engine: QuoteEngine
) -> None:
    clock = FakeClock(T0 - dt.timedelta(minutes=1))
    send = Recorder()
    d = daily(store, engine, send, clock)
    await subscribe(d, 5, dt.time(8, 0), clock.now)
    sub = await d.subscriptions.get(5)
    good = len(engine.good_rows())
    ids = [d.pick(dataclasses.replace(sub, delivered=n)).id for n in range(good)]
    assert len(set(ids)) == good
    assert all(engine.get(i).quality >= 2 for i in ids[:50])


async def test_restart_after_crash_mid_send_resends_the_same_passage_once(
    store: Store, engine: QuoteEngine, db_path: Path
) -> None:
    clock = FakeClock(T0 - dt.timedelta(hours=1))
    send = Recorder()
    d = daily(store, engine, send, clock)
    sub = await subscribe(d, 2, dt.time(8, 0), clock.now)
    chosen = d.pick(sub)
    # The crash: the day was claimed (with its passage), the send had started, the
    # row was never updated.
    assert await d.subscriptions.claim(2, dt.date(2026, 3, 10), chosen.id) == chosen.id
    assert (await d.subscriptions.get(2)).delivered == 1  # the rotation moved with the claim
    clock.now = T0 + dt.timedelta(seconds=5)
    restarted = daily(store, engine, send, clock)
    assert await restarted.subscriptions.recover() == 1  # what start() does first
    assert await restarted.run_due() == 1  # not skipped: sent again (at-least-once)
    assert await restarted.run_due() == 0  # and only once by this process
    assert [c for c, _ in send.sent] == [2]
    assert chosen.text[:10] in send.sent[0][1]
    after = await restarted.subscriptions.get(2)
    assert after.next_at == T0 + dt.timedelta(days=1) and after.delivered == 1
    # Tomorrow's quote is the next one in the rotation, not a repeat.
    assert restarted.pick(after).id != chosen.id
    # A claim that was recorded as sent is never sent again, even after recover().
    assert await restarted.subscriptions.recover() == 0
    assert await restarted.subscriptions.claim(2, dt.date(2026, 3, 10), chosen.id) is None


async def test_a_sent_quote_whose_record_failed_is_not_repeated_the_next_day(
    store: Store, engine: QuoteEngine
) -> None:
    clock = FakeClock(T0)
    send = Recorder()
    d = daily(store, engine, send, clock)
    await subscribe(d, 3, dt.time(8, 0), T0 - dt.timedelta(minutes=1))
    recorded = d.subscriptions.delivered

    async def disk_full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    d.subscriptions.delivered = disk_full  # the message left; recording it failed
    assert await d.run_due() == 0  # logged; the chat is rescheduled for tomorrow
    d.subscriptions.delivered = recorded
    assert await d.run_due() == 0  # the claim stands: not sent twice
    assert len(send.sent) == 1
    clock.now = T0 + dt.timedelta(days=1, seconds=1)
    assert await d.run_due() == 1
    first, second = (html for _, html in send.sent)
    assert first != second  # the rotation had moved on with the claim


async def test_stop_mid_round_finishes_sends_in_flight_and_keeps_the_rest_due(
    store: Store, engine: QuoteEngine
) -> None:
    clock = FakeClock(T0)
    started: list[int] = []

    async def slow_send(chat_id: int, reply: Reply) -> Outcome:
        started.append(chat_id)
        await asyncio.sleep(0.05)
        return Outcome(Kind.SENT)

    d = daily(store, engine, slow_send, clock, concurrency=4)
    for chat in range(100, 140):
        await subscribe(d, chat, dt.time(8, 0), T0 - dt.timedelta(minutes=1))
    d.start()
    while len(started) < 10:
        await asyncio.sleep(0.01)
    await d.stop()
    async with store.db.execute("SELECT chat_id, status FROM deliveries") as cur:
        rows = dict(await cur.fetchall())
    # Every send that started was recorded; nothing is left half-claimed.
    assert set(rows) == set(started) and set(rows.values()) == {"sent"}
    assert len(started) < 40
    # The next start sends the rest, each chat once.
    again = Recorder()
    rest = daily(store, engine, again, clock)
    assert await rest.run_due() == 40 - len(started)
    assert sorted(c for c, _ in again.sent) == sorted(set(range(100, 140)) - set(started))


async def test_stop_gives_back_a_claim_whose_send_failed_while_stopping(
    store: Store, engine: QuoteEngine
) -> None:
    clock = FakeClock(T0)
    d = daily(store, engine, None, clock)

    async def failing(chat_id: int, reply: Reply) -> Outcome:
        d._stopping = True  # the stop arrives while this send is in flight
        return Outcome(Kind.TRANSIENT, "client closed")

    d.send = failing
    await subscribe(d, 150, dt.time(8, 0), T0 - dt.timedelta(minutes=1))
    assert await d.run_due() == 0
    async with store.db.execute("SELECT COUNT(*) FROM deliveries") as cur:
        assert (await cur.fetchone())[0] == 0
    assert (await d.subscriptions.get(150)).next_at <= T0  # still due: the next start sends it


@pytest.mark.parametrize(("catch_up", "expected"), [(True, 1), (False, 0)])
async def test_downtime_gives_at_most_one_catch_up(
    store: Store, engine: QuoteEngine, catch_up: bool, expected: int
) -> None:
    clock = FakeClock(T0 - dt.timedelta(hours=1))
    send = Recorder()
    d = daily(store, engine, send, clock, catch_up=catch_up)
    await subscribe(d, 3, dt.time(8, 0), clock.now)
    clock.now = T0 + dt.timedelta(days=3, hours=2)  # down for three days, back at 10:00
    assert await d.run_due() == expected
    assert await d.run_due() == 0
    nxt = (await d.subscriptions.get(3)).next_at
    assert nxt == T0 + dt.timedelta(days=4)  # tomorrow 08:00, not a backlog


async def test_blocked_chat_is_switched_off_with_reason(
    store: Store, engine: QuoteEngine, db_path: Path
) -> None:
    clock = FakeClock(T0)
    send = Recorder({4: [Outcome(Kind.GONE, "Forbidden: bot was blocked by the user")]})
    d = daily(store, engine, send, clock)
    await subscribe(d, 4, dt.time(8, 0), T0 - dt.timedelta(minutes=1))
    assert await d.run_due() == 0
    sub = await d.subscriptions.get(4)
    assert not sub.active and "blocked" in sub.inactive_reason
    assert await d.subscriptions.next_due() is None


async def test_retry_after_and_transient_errors_are_retried(
    store: Store, engine: QuoteEngine
) -> None:
    clock = FakeClock(T0)
    send = Recorder(
        {
            6: [Outcome(Kind.RETRY_AFTER, retry_after=0.05)],
            7: [Outcome(Kind.TRANSIENT, "timed out"), Outcome(Kind.TRANSIENT, "502")],
        }
    )
    d = daily(store, engine, send, clock)
    for chat in (6, 7):
        await subscribe(d, chat, dt.time(8, 0), T0 - dt.timedelta(minutes=1))
    assert await d.run_due() == 2
    assert sorted(c for c, _ in send.sent) == [6, 7]
    assert send.calls.count(7) == 3


async def test_persistent_outage_keeps_the_quote_due(store: Store, engine: QuoteEngine) -> None:
    clock = FakeClock(T0)
    send = Recorder({8: [Outcome(Kind.TRANSIENT, "down")] * 5})
    d = daily(store, engine, send, clock)
    await subscribe(d, 8, dt.time(8, 0), T0 - dt.timedelta(minutes=1))
    assert await d.run_due() == 0
    sub = await d.subscriptions.get(8)
    assert sub.active and sub.next_at <= T0 + dt.timedelta(minutes=2)  # retried soon, same day
    clock.now = T0 + dt.timedelta(minutes=2)
    assert await d.run_due() == 1


async def test_migrated_group_moves_subscription(
    store: Store, engine: QuoteEngine, db_path: Path
) -> None:
    clock = FakeClock(T0)
    send = Recorder({-100: [Outcome(Kind.MIGRATED, new_chat_id=-1001234)]})
    d = daily(store, engine, send, clock)
    await subscribe(d, -100, dt.time(8, 0), T0 - dt.timedelta(minutes=1), chat_type="group")
    assert await d.run_due() == 1
    assert send.sent[0][0] == -1001234
    assert await d.subscriptions.get(-100) is None
    moved = await d.subscriptions.get(-1001234)
    assert moved.active and moved.chat_type == "supergroup" and moved.delivered == 1


async def test_subscriptions_survive_reopening_the_database(
    db_path: Path, engine: QuoteEngine
) -> None:
    store = await Store.open(db_path)
    await SubscriptionStore(store.db).subscribe(
        9, "private", "en", dt.time(21, 30), Zone.from_name("Europe/Berlin"), T0
    )
    await store.close()
    store = await Store.open(db_path)
    try:
        sub = await SubscriptionStore(store.db).get(9)
        assert (sub.local_time, sub.zone.name, sub.lang) == (dt.time(21, 30), "Europe/Berlin", "en")
    finally:
        await store.close()


async def test_scheduler_task_wakes_for_a_due_subscription(
    store: Store, engine: QuoteEngine
) -> None:
    send = Recorder()
    d = DailyQuotes(SubscriptionStore(store.db), engine, send, pacer=Pacer(1000))
    now = dt.datetime.now(dt.UTC)
    local = (now + dt.timedelta(seconds=1)).astimezone(SHANGHAI.tzinfo)
    await d.subscriptions.subscribe(
        10,
        "private",
        "zh",
        local.time().replace(microsecond=0),
        SHANGHAI,
        now - dt.timedelta(seconds=59),
    )
    async with store.db.atomic() as conn:
        await conn.execute("UPDATE subscriptions SET next_at = ?", (time.time() + 0.3,))
    d.start()
    try:
        for _ in range(50):
            if send.sent:
                break
            await asyncio.sleep(0.1)
    finally:
        await d.stop()
    assert [c for c, _ in send.sent] == [10]


async def test_one_failing_row_does_not_stop_the_others(
    store: Store, engine: QuoteEngine, db_path: Path
) -> None:
    clock = FakeClock(T0)
    send = Recorder()
    d = daily(store, engine, send, clock)
    for chat in (11, 12):
        await subscribe(d, chat, dt.time(8, 0), T0 - dt.timedelta(minutes=1))
    async with store.db.atomic() as conn:
        await conn.execute("UPDATE subscriptions SET zone = 'Not/AZone' WHERE chat_id = 11")
    assert await d.run_due() == 1
    assert [c for c, _ in send.sent] == [12]
    row = (
        sqlite3.connect(db_path)
        .execute("SELECT active, inactive_reason FROM subscriptions WHERE chat_id = 11")
        .fetchone()
    )
    assert row[0] == 0 and "unreadable" in row[1]


async def test_permanent_failures_switch_a_chat_off_after_five_days(
    store: Store, engine: QuoteEngine
) -> None:
    clock = FakeClock(T0)
    send = Recorder({13: [Outcome(Kind.FAILED, "Bad Request: something odd")] * 5})
    d = daily(store, engine, send, clock)
    await subscribe(d, 13, dt.time(8, 0), T0 - dt.timedelta(minutes=1))
    for day in range(5):
        clock.now = T0 + dt.timedelta(days=day)
        assert await d.run_due() == 0
        assert (await d.subscriptions.get(13)).active == (day < 4)
    assert "failed 5 days" in (await d.subscriptions.get(13)).inactive_reason


async def test_pacer_never_exceeds_its_rate_in_any_one_second_window() -> None:
    pacer = Pacer(per_second=10)
    stamps: list[float] = []

    async def one() -> None:
        await pacer.acquire()
        stamps.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(25)))
    stamps.sort()
    peak = max(sum(1 for t in stamps if s <= t < s + 1.0) for s in stamps)
    assert peak <= 10
    assert len(stamps) == 25


async def test_pacer_pause_holds_everyone() -> None:
    pacer = Pacer(per_second=100)
    pacer.pause(0.3)
    started = time.monotonic()
    await pacer.acquire()
    assert time.monotonic() - started >= 0.25


async def test_pacer_group_limit_does_not_block_other_chats() -> None:
    pacer = Pacer(per_second=100, per_group_minute=2)
    await pacer.acquire(group=-5)
    await pacer.acquire(group=-5)
    blocked = asyncio.create_task(pacer.acquire(group=-5))
    started = time.monotonic()
    await pacer.acquire(group=None)
    await pacer.acquire(group=-6)
    assert time.monotonic() - started < 0.5
    assert not blocked.done()
    blocked.cancel()
