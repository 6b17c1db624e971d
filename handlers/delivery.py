"""The Telegram side of the daily quotes: the scheduler's sends (a message or a card),
each failure translated into an Outcome the scheduler (bot.daily.scheduler) acts on.

The scheduler paces and retries itself, so PTB's rate limiter
(handlers/throttle_api.py) is told not to retry here (rate_limit_args=0 is its
max_retries): a RetryAfter must reach the scheduler's pacer.
"""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.app import CardReply, CardShop, Reply
from bot.daily.scheduler import Kind, Outcome, Send, SendCard
from bot.logs import redact
from handlers.cards import send_card
from handlers.render import message_kwargs
from handlers.throttle_api import retry_seconds

log = logging.getLogger(__name__)

# Telegram's words for a chat the bot can no longer write to (the subscription ends).
_GONE = (
    "chat not found",
    "bot was kicked",
    "user is deactivated",
    "have no rights to send",
    "not enough rights",
    "chat was deleted",
    "bot is not a member",
)


def telegram_sender(bot: Bot) -> Send:
    """The daily scheduler's send: one message, its failure translated into an Outcome."""

    async def send_daily(chat_id: int, reply: Reply) -> Outcome:
        try:
            # A private chat's id is its user's (positive); groups' are negative.
            kwargs = message_kwargs(reply, private=chat_id > 0)
            await bot.send_message(chat_id=chat_id, **kwargs, rate_limit_args=0)
        except TelegramError as exc:
            return outcome_for(exc)
        return Outcome(Kind.SENT)

    return send_daily


def telegram_card_sender(bot: Bot, shop: CardShop) -> SendCard:
    """The daily scheduler's card send: one photo, its failure read as a text send's."""

    async def send_daily_card(chat_id: int, card: CardReply) -> Outcome:
        try:
            await send_card(bot, chat_id, card, shop, rate_limit_args=0)
        except TelegramError as exc:
            return outcome_for(exc)
        except Exception as exc:  # a render failure: skip today, like any other failure
            log.exception("daily card for chat %s could not be drawn", chat_id)
            return outcome_for(exc)
        return Outcome(Kind.SENT)

    return send_daily_card


def outcome_for(exc: Exception) -> Outcome:
    """What a failed daily send (a message or a card) means to the scheduler."""
    if isinstance(exc, RetryAfter):
        return Outcome(Kind.RETRY_AFTER, "flood limit", retry_after=retry_seconds(exc))
    if isinstance(exc, ChatMigrated):
        return Outcome(Kind.MIGRATED, "migrated", new_chat_id=exc.new_chat_id)
    if isinstance(exc, Forbidden):
        return Outcome(Kind.GONE, redact(str(exc)))
    if isinstance(exc, BadRequest):
        if any(marker in str(exc).lower() for marker in _GONE):
            return Outcome(Kind.GONE, redact(str(exc)))
        return Outcome(Kind.FAILED, redact(str(exc)))
    if isinstance(exc, TimedOut | NetworkError):
        return Outcome(Kind.TRANSIENT, redact(str(exc)))
    return Outcome(Kind.FAILED, redact(str(exc)))
