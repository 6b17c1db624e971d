"""/healthz and /metrics of a real `quotebot run` against the Bot API emulator.

Polling mode serves them on QUOTEBOT_METRICS_LISTEN; webhook mode on the webhook
server. /healthz is red while the database cannot be read (the file moved away:
the tests run as root, for whom permissions do not make a file unreadable) and
green again once it is back. /metrics counts what users did, by surface and
outcome, and carries neither their words, their ids nor the token.
"""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.emulator import BotApiEmulator
from tests.test_run_process import (  # noqa: F401  (fixtures)
    BOT_USERNAME,
    REPLY_TIMEOUT,
    START_TIMEOUT,
    TOKEN,
    TOKEN_SECRET,
    WEBHOOK_SECRET,
    BotProcess,
    StartBot,
    _free_port,
    _start_webhook_bot,
    _until_listening,
    cache_dir,
    new_user,
    start_bot,
)

pytestmark = pytest.mark.timeout(120)

ANSWERED = "什么是RLHF"
NOTHING = "红烧肉怎么做"
QUESTION = "他们怎么看开源模型的风险"  # no passage says it: closest in meaning
ANSWERED_COUNT = "quotebot_answer_seconds_count"
MESSAGE = {"surface": "message"}


async def get(port: int, path: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(f"http://127.0.0.1:{port}{path}")


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} of a Prometheus text exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, frozenset(s.labels.items()))] = s.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


async def until_health(bot: BotProcess, port: int, status: int) -> httpx.Response:
    """Poll /healthz until it answers `status` (the bot's state has no event to wait on)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    last = None
    while True:
        try:
            last = await get(port, "/healthz")
            if last.status_code == status:
                return last
        except httpx.TransportError:
            pass
        if bot.proc.poll() is not None or loop.time() > deadline:
            seen = None if last is None else (last.status_code, last.text)
            raise AssertionError(f"/healthz never answered {status} (last: {seen}){bot.tail()}")
        await asyncio.sleep(0.05)


async def test_polling_metrics_and_health_turn_red_when_the_database_goes(
    start_bot: StartBot,  # noqa: F811
) -> None:
    port = _free_port()
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        bot = start_bot(emu, QUOTEBOT_METRICS_LISTEN=f"127.0.0.1:{port}")
        ok = await until_health(bot, port, 200)
        assert ok.text == "ok\n"

        async def embedder_ready() -> bool:
            text = (await get(port, "/metrics")).text
            return value(text, "quotebot_embedder_state", quotebot_embedder_state="ready") == 1

        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while not await embedder_ready():
            assert loop.time() < deadline, "the embedder never became ready" + bot.tail()
            await asyncio.sleep(0.1)

        user, chat = new_user(emu)
        for words in (ANSWERED, NOTHING, QUESTION):
            emu.send_text(chat, user, words)
            await bot.until(emu.wait_for_messages(chat, 1, REPLY_TIMEOUT), f"reply to {words}")

        # The latency is observed after the reply went out: wait for the third.
        while value(text := (await get(port, "/metrics")).text, ANSWERED_COUNT, **MESSAGE) < 3:
            assert loop.time() < deadline + REPLY_TIMEOUT, "answers not observed" + bot.tail()
            await asyncio.sleep(0.05)
        queries = "quotebot_queries_total"
        assert value(text, queries, surface="message", outcome="confident") == 1
        assert value(text, queries, surface="message", outcome="nothing") == 1
        assert value(text, queries, surface="message", outcome="suggestions") == 1
        assert value(text, ANSWERED_COUNT, **MESSAGE) == 3
        assert value(text, "quotebot_sends_total", method="sendMessage", outcome="ok") == 3
        assert value(text, "quotebot_index_passages") > 100
        assert value(text, "quotebot_updates_polled_timestamp_seconds") > 0
        for secret in (TOKEN, TOKEN_SECRET, ANSWERED, NOTHING, QUESTION, str(user.id)):
            assert secret not in text

        # The database moved away: red, with the reason; back: green.
        moved = bot.db_path.with_name("elsewhere.db")
        bot.db_path.rename(moved)
        red = await until_health(bot, port, 503)
        assert red.text.startswith("database: ") and red.text.count("\n") == 1
        moved.rename(bot.db_path)
        await until_health(bot, port, 200)

        code, _took = await bot.stop(signal.SIGTERM)
        assert code == 0, bot.tail()
    assert "Traceback" not in bot.stderr


async def test_webhook_server_serves_health_and_metrics(start_bot: StartBot) -> None:  # noqa: F811
    port = _free_port()
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        bot = _start_webhook_bot(start_bot, emu, port)
        await _until_listening(bot, port)
        health = await until_health(bot, port, 200)
        assert health.text == "ok\n"
        metrics = await get(port, "/metrics")
        assert metrics.status_code == 200 and "quotebot_index_passages" in metrics.text
        assert WEBHOOK_SECRET not in metrics.text and TOKEN_SECRET not in metrics.text
        elsewhere = await get(port, "/other")
        assert elsewhere.status_code == 404
        code, _took = await bot.stop(signal.SIGTERM)
        assert code == 0, bot.tail()


def test_metrics_listen_setting() -> None:
    from bot.config import ConfigError, settings_from_env

    assert settings_from_env({}).metrics_listen is None
    assert settings_from_env({"QUOTEBOT_METRICS_LISTEN": "9090"}).metrics_listen == (
        "127.0.0.1",
        9090,
    )
    assert settings_from_env({"QUOTEBOT_METRICS_LISTEN": "[::1]:9100"}).metrics_listen == (
        "::1",
        9100,
    )
    for bad in ("99999", "host:90", "1.2.3.4:"):
        with pytest.raises(ConfigError, match="QUOTEBOT_METRICS_LISTEN"):
            settings_from_env({"QUOTEBOT_METRICS_LISTEN": bad})
