"""The daily-delivery contract, against the real Application and `quotebot run` as a process.

About 200 subscriptions are due at once; the process is stopped in the middle of
the round, gracefully (SIGTERM, SIGINT) or not (SIGKILL), then started again on
the same database. A graceful stop exits within 10 s and every chat gets exactly
one quote that day; after a crash every chat gets its quote, only the sends in
flight at the crash may arrive twice (with the same passage), and the rotation
counter moves on once per chat.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from bot.config import settings_from_env
from bot.search.engine import QuoteEngine
from handlers.app import build_application
from tests.emulator import BotApiEmulator, Chat
from tests.seeding import subscribe_all_due
from tests.test_run_process import (  # noqa: F401  (fixtures)
    BOT_USERNAME,
    EXIT_TIMEOUT,
    START_TIMEOUT,
    TOKEN,
    BotProcess,
    StartBot,
    cache_dir,
    start_bot,
)

pytestmark = pytest.mark.timeout(180)

SUBSCRIBERS = 200
SEND_DELAY = 0.5  # Telegram slow to answer: several sends are always in flight


def _sent(emu: BotApiEmulator, chats: list[Chat]) -> dict[int, list[str]]:
    """The daily quotes each chat received (texts), from the emulator's side."""
    return {c.id: [m.text for m in emu.messages(c)] for c in chats}


def _db(db_path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        return db.execute(sql).fetchall()


def _start(factory: StartBot, emu: BotApiEmulator, db_path: Path) -> BotProcess:
    return factory(emu, QUOTEBOT_DB=str(db_path), QUOTEBOT_LOG_LEVEL="INFO")


async def _until_sent(bot: BotProcess, emu: BotApiEmulator, count: int, timeout: float) -> None:
    await bot.poll_until(
        lambda: len(emu.requests_for("sendMessage", ok=True)) >= count,
        timeout,
        f"{count} daily quotes sent",
    )


async def _until_in_flight(bot: BotProcess, emu: BotApiEmulator) -> None:
    """The signal must arrive while sends are in flight (asked, not yet answered)."""
    await bot.poll_until(
        lambda: sum(1 for r in emu.requests_for("sendMessage") if r.status is None) >= 2,
        10,
        "daily sends in flight",
    )


async def _mid_round(start: StartBot, emu: BotApiEmulator, db_path: Path):
    """SUBSCRIBERS chats due at once, `quotebot run` started, 30 sent and more in flight."""
    chats = [emu.private_chat(emu.add_user(f"u{i}")) for i in range(SUBSCRIBERS)]
    await subscribe_all_due(db_path, [c.id for c in chats])
    emu.fail_next("sendMessage", delay=SEND_DELAY, times=10 * SUBSCRIBERS)
    first = _start(start, emu, db_path)
    await _until_sent(first, emu, 30, START_TIMEOUT)
    await _until_in_flight(first, emu)
    return chats, first


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_graceful_stop_during_a_round_then_restart_sends_each_chat_exactly_once(
    start_bot: StartBot,  # noqa: F811
    tmp_path: Path,
    sig: signal.Signals,
) -> None:
    db_path = tmp_path / "daily.db"
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        chats, first = await _mid_round(start_bot, emu, db_path)
        code, took = await first.stop(sig)
        assert code == 0, first.tail()
        assert took < EXIT_TIMEOUT, f"took {took:.1f}s to exit"
        # Every send in flight at the signal finished (the HTTP client was still open).
        assert all(r.status == 200 for r in emu.requests_for("sendMessage")), first.tail()
        assert _db(db_path, "SELECT COUNT(*) FROM deliveries WHERE status != 'sent'") == [(0,)]
        partial = sum(1 for texts in _sent(emu, chats).values() if texts)
        assert 30 <= partial < SUBSCRIBERS

        second = _start(start_bot, emu, db_path)
        await _until_sent(second, emu, SUBSCRIBERS, 60)
        code, _ = await second.stop(signal.SIGTERM)
        assert code == 0, second.tail()
        sent = _sent(emu, chats)
        assert {chat: len(texts) for chat, texts in sent.items() if len(texts) != 1} == {}
        assert all(texts[0].startswith("☀️ 今日原话") for texts in sent.values())
        assert _db(db_path, "SELECT MIN(delivered), MAX(delivered) FROM subscriptions") == [(1, 1)]
        for bot in (first, second):
            assert "Traceback" not in bot.stderr, bot.tail()


async def test_crash_during_a_round_skips_no_chat_and_repeats_no_passage(
    start_bot: StartBot,  # noqa: F811
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "daily.db"
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        chats, first = await _mid_round(start_bot, emu, db_path)
        first.proc.send_signal(signal.SIGKILL)
        await first.wait_exit(EXIT_TIMEOUT)
        stuck = _db(db_path, "SELECT chat_id, passage FROM deliveries WHERE status = 'sending'")
        assert stuck, "the crash should leave claims whose send had started"

        second = _start(start_bot, emu, db_path)
        await _until_sent(second, emu, SUBSCRIBERS, 60)
        await second.poll_until(
            lambda: (
                _db(db_path, "SELECT COUNT(*) FROM deliveries WHERE status = 'sent'")
                == [(SUBSCRIBERS,)]
            ),
            30,
            "every delivery recorded",
        )
        code, _ = await second.stop(signal.SIGTERM)
        assert code == 0, second.tail()
        sent = _sent(emu, chats)
        assert [chat for chat, texts in sent.items() if not texts] == []  # nobody skipped
        twice = {chat: texts for chat, texts in sent.items() if len(texts) > 1}
        # At-least-once: only the sends in flight at the crash may have arrived twice,
        # and then with the same passage.
        assert set(twice) <= {chat for chat, _ in stuck}
        assert all(len(texts) == 2 and texts[0] == texts[1] for texts in twice.values())
        # The rotation moved on once per chat: tomorrow's quote is the next passage.
        assert _db(db_path, "SELECT MIN(delivered), MAX(delivered) FROM subscriptions") == [(1, 1)]
        resent = dict(stuck)
        recorded = dict(_db(db_path, "SELECT chat_id, passage FROM deliveries"))
        assert all(recorded[chat] == passage for chat, passage in resent.items())
        assert "sending again" in second.stderr
        assert "Traceback" not in second.stderr, second.tail()


async def test_real_application_stops_the_scheduler_while_its_http_client_works(
    engine: QuoteEngine, tmp_path: Path
) -> None:
    """python-telegram-bot's own run_polling (on a thread, stopped with stop_running): its
    order is updater, handlers, post_stop, shutdown (which closes the HTTP client),
    post_shutdown. The sends in flight at the stop must finish and be recorded."""
    db_path = tmp_path / "daily.db"
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        chats = [emu.private_chat(emu.add_user(f"u{i}")) for i in range(40)]
        await subscribe_all_due(db_path, [c.id for c in chats])
        emu.fail_next("sendMessage", delay=SEND_DELAY, times=400)
        settings = settings_from_env(
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": emu.base_url,
                "QUOTEBOT_DB": str(db_path),
                "QUOTEBOT_SEND_RATE": "10",
            }
        )
        app = build_application(settings, engine)
        loops: list[asyncio.AbstractEventLoop] = []
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            loops.append(loop)
            try:
                app.run_polling(stop_signals=None, poll_interval=0, timeout=1)
            except BaseException as exc:  # reported in the test's thread
                failure.append(exc)

        thread = threading.Thread(target=run, name="ptb-run-polling")
        thread.start()
        try:
            await emu.wait_for(
                lambda: (
                    sum(1 for r in emu.requests_for("sendMessage") if r.status is None) >= 3 or None
                ),
                START_TIMEOUT,
                "daily sends in flight",
            )
            started = time.monotonic()
            loops[0].call_soon_threadsafe(app.stop_running)
            await asyncio.to_thread(thread.join, 20)
            assert not thread.is_alive() and failure == []
            assert time.monotonic() - started < EXIT_TIMEOUT
        finally:
            if thread.is_alive():
                loops[0].call_soon_threadsafe(app.stop_running)
                await asyncio.to_thread(thread.join, 20)
        sends = emu.requests_for("sendMessage")
        assert sends and all(r.status == 200 for r in sends), [r.summary() for r in sends]
        recorded = _db(db_path, "SELECT status, COUNT(*) FROM deliveries GROUP BY status")
        assert recorded == [("sent", len(sends))]
        assert len(sends) < len(chats)  # the rest stays due for the next start
        assert _db(db_path, "SELECT COUNT(*) FROM subscriptions WHERE delivered = 0") == [
            (len(chats) - len(sends),)
        ]
