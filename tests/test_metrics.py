"""Metrics and /healthz's reasons, on the real Application against the emulator (in process).

Counters are process-wide, so each test compares before and after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import metrics
from bot.daily.times import utc_now
from bot.search.engine import QuoteEngine
from tests.bot_harness import BotHarness, eventually, running_bot

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def bot(engine: QuoteEngine, tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with running_bot(engine, tmp_path / "bot", checked=False) as harness:
        yield harness


async def test_a_flood_wait_is_counted_and_the_send_then_succeeds(bot: BotHarness) -> None:
    li = bot.user("Li")
    chat = bot.dm(li)
    waits = sample("quotebot_flood_waits_total")
    waited = sample("quotebot_flood_wait_seconds_total")
    limited = sample("quotebot_sends_total", method="sendMessage", outcome="flood_wait")
    ok = sample("quotebot_sends_total", method="sendMessage", outcome="ok")
    bot.emu.fail_next("sendMessage", status=429, retry_after=1, chat_id=chat)
    await bot.ask(chat, li, "GPT-4")
    assert sample("quotebot_flood_waits_total") == waits + 1
    assert sample("quotebot_flood_wait_seconds_total") == waited + 1
    assert sample("quotebot_sends_total", method="sendMessage", outcome="flood_wait") == limited + 1
    assert sample("quotebot_sends_total", method="sendMessage", outcome="ok") == ok + 1


async def test_a_blocked_chat_is_a_forbidden_send(bot: BotHarness) -> None:
    li = bot.user("Li")
    chat = bot.dm(li)
    before = sample("quotebot_sends_total", method="sendMessage", outcome="forbidden")
    bot.emu.fail_next(
        "sendMessage", status=403, description="Forbidden: bot was blocked by the user"
    )
    await bot.exchange(chat, li, "GPT-4")
    assert sample("quotebot_sends_total", method="sendMessage", outcome="forbidden") == before + 1


async def test_the_daily_round_is_counted(bot: BotHarness) -> None:
    li = bot.user("Li")
    chat = bot.dm(li)
    await bot.ask(chat, li, "/subscribe 08:00 UTC")
    sent = sample("quotebot_daily_sent_total")
    await bot.make_due(chat, utc_now())

    async def counted() -> bool:
        return sample("quotebot_daily_sent_total") == sent + 1

    await eventually(counted, what="the daily quote to be counted")
    assert sample("quotebot_daily_due") >= 1 and sample("quotebot_daily_left") == 0


async def test_health_says_why_when_polling_stops(bot: BotHarness) -> None:
    assert bot.app is not None
    health = bot.app.bot_data.health
    assert health is not None

    async def healthy() -> bool:
        return await health.check() is None

    await eventually(healthy, what="a getUpdates answer")
    assert bot.app.updater is not None
    await bot.app.updater.stop()
    assert await health.check() == "not taking updates: polling has stopped"
