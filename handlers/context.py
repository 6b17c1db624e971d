"""What handlers read from the Application: a typed bot_data, and who is asking."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from telegram import Update
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot
from tornado.httpserver import HTTPServer

from bot.app import QuoteBot, Sender, lang_for
from bot.daily.scheduler import DailyQuotes
from bot.web import WebFront
from handlers.health import Health


@dataclass
class BotData:
    """`context.bot_data`: set up by handlers/app.py (quotebot and daily once connected)."""

    quotebot: QuoteBot | None = None
    daily: DailyQuotes | None = None
    admins: frozenset[int] = frozenset()
    error_chat_id: int | None = None  # QUOTEBOT_ERROR_CHAT_ID: where unexpected errors go
    secrets: tuple[str, ...] = ()  # scrubbed from error reports besides anything token-shaped
    # Reloads conversations added to or removed from the library (bot.search.watch).
    library_watch: asyncio.Task | None = None
    # The web pages (bot.web), when QUOTEBOT_WEB_URL or QUOTEBOT_WEB_LISTEN asks for them;
    # `web_server`: their own server in polling mode (with a webhook they share its server).
    web: WebFront | None = None
    web_server: HTTPServer | None = None
    health: Health | None = None  # what /healthz checks
    metrics_server: HTTPServer | None = None  # polling mode's /healthz and /metrics listener


class Context(CallbackContext[ExtBot[None], dict, dict, BotData]):
    """PTB's context, carrying who is asking and when the update was taken.

    PTB builds one context per update and hands it to every handler group that
    takes the update, so the Sender built for the flood guard (group -1) is the
    one the answering handler (group 0) reads, and the time noted in group -3 is
    read in the last group (the answer latency metric).
    """

    def __init__(
        self,
        application: Application,
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.asker: Sender | None = None
        self.taken_at: float | None = None  # time.perf_counter() when group -3 took it


CONTEXT_TYPES = ContextTypes(context=Context, bot_data=BotData)


def quotebot(context: Context) -> QuoteBot:
    bot = context.bot_data.quotebot
    if bot is None:
        raise RuntimeError("update handled before post_init set up the bot")
    return bot


def sender(update: Update, context: Context) -> Sender:
    """Who is asking, and where: built once per update, then kept on its context."""
    if context.asker is None:
        context.asker = _sender(update, context)
    return context.asker


def _sender(update: Update, context: Context) -> Sender:
    user = update.effective_user
    chat = update.effective_chat
    return Sender(
        chat_id=chat.id if chat else None,
        chat_type=chat.type if chat else ("inline" if update.inline_query else None),
        user_id=user.id if user else None,
        lang=lang_for(user.language_code if user else None),
        is_admin=bool(user and user.id in context.bot_data.admins),
    )
