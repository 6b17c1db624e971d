"""The web pages (bot.web) inside `quotebot run`: built once the bot is connected.

With a webhook, the pages are routes of the webhook's own tornado server
(handlers/webhook.py); in polling mode they get a server of their own on
QUOTEBOT_WEB_LISTEN. This module gives the web front the two things only the
Telegram layer has: the bot token (to check Mini App initData; it is never
logged or served) and a way to send a passage to a user's private chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram.error import TelegramError
from telegram.ext import Application
from tornado.httpserver import HTTPServer

from bot.app import Lang, passage_view
from bot.config import Settings
from bot.logs import redact
from bot.web import SendPassage, WebFront, web_application, web_server
from handlers.context import BotData
from handlers.render import message_kwargs

log = logging.getLogger(__name__)


def wanted(settings: Settings) -> bool:
    """Whether `quotebot run` serves the web pages at all."""
    return bool(settings.web_url or settings.web_listen)


def passage_sender(application: Application) -> SendPassage:
    """ "Send this passage to my chat", for a user the Mini App's initData vouches for."""

    async def send(user_id: int, passage_id: str, lang: Lang) -> bool:
        data: BotData = application.bot_data
        bot = data.quotebot
        if bot is None:
            return False
        passage = bot.engine.get(passage_id)
        if passage is None:
            return False
        reply = passage_view(bot.engine, passage, lang, bot.links)
        try:
            await application.bot.send_message(
                chat_id=user_id, **message_kwargs(reply, private=True)
            )
        except TelegramError as exc:  # the user never started the bot, or blocked it
            log.info("web: could not send a passage to a user: %s", redact(str(exc)))
            return False
        return True

    return send


def web_front(application: Application, settings: Settings) -> WebFront:
    """The web front over the bot's current engine (a reloaded library is served at once)
    and the bot's card cache (one LRU bound for the cards both draw)."""
    data: BotData = application.bot_data
    assert data.quotebot is not None  # opened first (bot.assembly)

    def engine():
        assert data.quotebot is not None
        return data.quotebot.engine

    return WebFront(
        engine=engine,
        cards=data.quotebot.cards.cache,
        base_url=settings.web_url or "",
        bot_username=application.bot.username or "",
        token=settings.token,
        send=passage_sender(application),
    )


def start_own_server(front: WebFront, host: str, port: int) -> HTTPServer:
    """Polling mode: the pages on host:port (QUOTEBOT_WEB_LISTEN); the server is returned
    so shutdown can stop it."""
    server = web_server(web_application(front))
    server.listen(port, address=host)
    log.info("web pages listening on %s:%d", host, port)
    return server


async def stop_own_server(data: BotData) -> None:
    """Stop the polling mode's web server (requests in progress get a few seconds)."""
    server, data.web_server = data.web_server, None
    if server is None:
        return
    server.stop()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(server.close_all_connections(), timeout=5)
