"""The real quotebot Application, polling a local Bot API emulator, driven like a user would.

`BotHarness` builds the bot exactly as `quotebot run` does (handlers/app.py's
`build_application`), runs it the way `Application.run_polling` does
(initialize, post_init, polling, start; and the reverse on stop, so the
SQLite store and the daily-quote scheduler open and close as in production),
and gives a test a user side: send, press, ask inline, then read what the
user actually received from the emulator.

Waiting is on events, never on sleeps: a handler in the last group records
every update the bot has finished processing (after every other handler and
the error handler ran), and `settle()` waits until every update the
emulator queued is in that set, so "the bot ignored it" is a real assertion.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from telegram import Update
from telegram.ext import Application, ApplicationBuilder

from bot.app.quotebot import QuoteBot
from bot.config import Settings, settings_from_env
from bot.daily.scheduler import DailyQuotes
from bot.search.engine import QuoteEngine
from bot.storage.subscriptions import Subscription
from handlers.app import build_application
from tests.emulator import (
    BotApiEmulator,
    CallbackAnswer,
    Chat,
    InlineAnswer,
    StoredMessage,
    User,
)

T = TypeVar("T")

TOKEN = "7654321098:AAH-quote_SECRET-part-0123456789"
SECRET = TOKEN.split(":", 1)[1]
BOT_USERNAME = "quote_test_bot"
ADMIN_ID = 1_000_000_900
FIRST_UPDATE_ID = 100_000_001  # the emulator's first update_id


class TrackedApplication(Application):
    """Reports each update once every handler group is done with it, even when one stopped
    the rest (the flood guard's ApplicationHandlerStop)."""

    on_processed: Callable[[object], None] | None = None

    async def process_update(self, update: object) -> None:
        try:
            await super().process_update(update)
        finally:
            if self.on_processed is not None:
                self.on_processed(update)


# Methods whose 400 answers mean the bot sent something Telegram rejects
# (bad HTML, too long, bad buttons...).
CHECKED_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "editMessageText",
        "editMessageReplyMarkup",
        "answerCallbackQuery",
        "answerInlineQuery",
        "setMyCommands",
        "setMyDescription",
    }
)


class ErrorLog(logging.Handler):
    """Keeps ERROR records of the bot and PTB: an unexpected one means something crashed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class BotHarness:
    def __init__(
        self, emu: BotApiEmulator, engine: QuoteEngine, workdir: Path, env: dict[str, str]
    ) -> None:
        self.emu = emu
        self.engine = engine
        self.workdir = workdir
        self.db_path = workdir / "quotebot.db"
        self.env = {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": emu.base_url,
            "QUOTEBOT_DB": str(self.db_path),
            "QUOTEBOT_CACHE_DIR": str(workdir / "cache"),
            "QUOTEBOT_ADMIN_IDS": str(ADMIN_ID),
            "QUOTEBOT_USER_RATE": "1000",
            "QUOTEBOT_TZ": "Asia/Shanghai",
            **env,
        }
        self.settings: Settings = settings_from_env(self.env)
        self.app: Application | None = None
        self.extensions: list[Callable[[Application], None]] = []  # more handlers, for tests
        self.processed: set[int] = set()
        self._settled = FIRST_UPDATE_ID - 1
        # 400s a test provoked on purpose (by description), besides injected faults.
        self.expected_errors: list[str] = []
        self.allow_error_logs = False
        self.errors = ErrorLog()

    # -- lifecycle (the order of Application.run_polling) --------------------------
    async def start(self) -> Application:
        assert self.app is None, "already running"
        app = build_application(
            self.settings,
            self.engine,
            extensions=[self._track, *self.extensions],
            builder=ApplicationBuilder().application_class(TrackedApplication),
        )
        logging.getLogger().addHandler(self.errors)
        await app.initialize()
        if app.post_init:
            await app.post_init(app)
        assert app.updater is not None
        await app.updater.start_polling(
            poll_interval=0, timeout=1, allowed_updates=Update.ALL_TYPES
        )
        await app.start()
        self.app = app
        return app

    async def stop(self) -> None:
        app, self.app = self.app, None
        if app is None:
            return
        try:
            assert app.updater is not None
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
                if app.post_stop:
                    await app.post_stop(app)
            await app.shutdown()
            if app.post_shutdown:
                await app.post_shutdown(app)
        finally:
            logging.getLogger().removeHandler(self.errors)

    async def restart(self) -> Application:
        await self.stop()
        return await self.start()

    def _track(self, application: Application) -> None:
        assert isinstance(application, TrackedApplication)
        application.on_processed = self._done

    def _done(self, update: object) -> None:
        if isinstance(update, Update):
            self.processed.add(update.update_id)
            self.emu.signal.notify()

    # -- the running bot's parts ----------------------------------------------------
    @property
    def quotebot(self) -> QuoteBot:
        assert self.app is not None
        assert self.app.bot_data.quotebot is not None
        return self.app.bot_data.quotebot

    @property
    def daily(self) -> DailyQuotes:
        assert self.app is not None
        assert self.app.bot_data.daily is not None
        return self.app.bot_data.daily

    async def subscription(self, chat: Chat | int) -> Subscription | None:
        return await self.quotebot.subscriptions.get(chat.id if isinstance(chat, Chat) else chat)

    async def make_due(self, chat: Chat | int, when: dt.datetime) -> None:
        """Pretend the chat's daily quote is due at `when`, and wake the scheduler."""
        chat_id = chat.id if isinstance(chat, Chat) else chat
        await self.quotebot.subscriptions.reschedule(chat_id, when)
        self.daily.wake()

    # -- user side -------------------------------------------------------------------
    def user(self, name: str, lang: str | None = "zh-hans", user_id: int | None = None) -> User:
        return self.emu.add_user(name, language_code=lang, user_id=user_id)

    def dm(self, user: User) -> Chat:
        return self.emu.private_chat(user)

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait until the bot finished processing every update queued so far."""
        last = self.emu.world.next_update_id - 1

        def done() -> bool | None:
            while self._settled < last and self._settled + 1 in self.processed:
                self._settled += 1
            return True if self._settled >= last else None

        missing = lambda: sorted(set(range(self._settled + 1, last + 1)) - self.processed)  # noqa: E731
        try:
            await self.emu.wait_for(done, timeout, "the bot to process every update")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; unprocessed update ids: {missing()}") from None

    def bot_messages(self, chat: Chat) -> list[StoredMessage]:
        return self.emu.messages(chat)

    async def exchange(
        self, chat: Chat, user: User, text: str, **kwargs: Any
    ) -> list[StoredMessage]:
        """Send a text and return every message the bot sent to the chat in answer."""
        return await self.after(lambda: self.emu.send_text(chat, user, text, **kwargs), chat)

    async def after(self, act: Callable[[], object], chat: Chat) -> list[StoredMessage]:
        """Do something on the user side; return the bot's new messages in `chat`."""
        before = {m.message_id for m in self.bot_messages(chat)}
        act()
        await self.settle()
        return [m for m in self.bot_messages(chat) if m.message_id not in before]

    async def ask(self, chat: Chat, user: User, text: str, **kwargs: Any) -> StoredMessage:
        """Send a text and return the bot's one answer."""
        replies = await self.exchange(chat, user, text, **kwargs)
        assert len(replies) == 1, f"expected one answer to {text[:50]!r}, got {replies}"
        return replies[0]

    async def press(
        self, chat: Chat, user: User, message: StoredMessage, button: str | int | tuple[int, int]
    ) -> CallbackAnswer:
        query_id = self.emu.press_button(chat, user, message, button)
        await self.settle()
        answer = self.emu.world.callback_queries[query_id].answer
        assert answer is not None, f"callback query {query_id} was not answered"
        return answer

    async def inline(self, user: User, query: str) -> InlineAnswer:
        query_id = self.emu.inline_query(user, query)
        await self.settle()
        answer = self.emu.world.inline_queries[query_id].answer
        assert answer is not None, f"inline query {query!r} was not answered"
        return answer

    # -- invariants checked after every test -------------------------------------------
    def rejected(self) -> list[str]:
        """400s on what the bot sent that no test injected or expected."""
        return [
            r.summary()
            for r in self.emu.requests
            if r.method in CHECKED_METHODS
            and r.status == 400
            and not r.injected
            and not any(e in (r.description or "") for e in self.expected_errors)
        ]

    def unexpected_errors(self) -> list[str]:
        if self.allow_error_logs:
            return []
        return [f"{r.name}: {r.getMessage()}" for r in self.errors.records]


# -- small helpers -------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_bot(
    engine: QuoteEngine, folder: Path, env: dict[str, str] | None = None, *, checked: bool = True
) -> AsyncIterator[BotHarness]:
    """The real Application against a fresh emulator; stopped afterwards, and with
    `checked`, nothing Telegram rejected and no unexpected error logged."""
    emu = BotApiEmulator(token=TOKEN, username=BOT_USERNAME)
    await emu.start()
    harness = BotHarness(emu, engine, folder, env or {})
    await harness.start()
    try:
        yield harness
    finally:
        try:
            await harness.stop()
        finally:
            await emu.stop()
    if checked:
        assert harness.rejected() == [], "Telegram rejected messages the bot sent"
        assert harness.unexpected_errors() == [], "errors were logged"


def link_urls(message: StoredMessage) -> list[str]:
    """URLs of the message's text links (what the user can tap)."""
    return [e["url"] for e in message.entities if e["type"] == "text_link"]


def share_payload(message: StoredMessage) -> str:
    prefix = f"https://t.me/{BOT_USERNAME}?start="
    [url] = [u for u in link_urls(message) if u.startswith(prefix)]
    return url.removeprefix(prefix)


def callback_data(message: StoredMessage) -> list[str]:
    return [b["callback_data"] for b in message.buttons if "callback_data" in b]


def button_text(message: StoredMessage, startswith: str) -> str:
    """The text of the message's button whose text starts with (or contains) the given string."""
    texts = message.button_texts
    for text in texts:
        if text.startswith(startswith):
            return text
    for text in texts:
        if startswith in text:
            return text
    raise AssertionError(f"no button {startswith!r} among {texts}")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], timeout: float = 5.0, what: str = "condition"
) -> T:
    """Poll an async condition (for database state, which has no change event)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if value is not None and value is not False:
            return value
        if loop.time() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)
