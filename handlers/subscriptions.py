"""/subscribe, /unsubscribe and /conversation (the chat's settings), and the Telegram side of
sending daily quotes."""

from __future__ import annotations

import logging

from telegram import Bot, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.app.replies import Reply
from bot.daily.scheduler import Kind, Outcome
from bot.logs import redact
from handlers.commands import send
from handlers.context import Context, quotebot, sender
from handlers.ratelimit import retry_seconds
from handlers.render import message_kwargs

log = logging.getLogger(__name__)

_GONE = (
    "chat not found",
    "bot was kicked",
    "user is deactivated",
    "have no rights to send",
    "not enough rights",
    "chat was deleted",
    "bot is not a member",
)


async def may_manage(update: Update, context: Context) -> bool:
    """In groups only administrators change the subscription; everyone may in private."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None or chat.type == ChatType.PRIVATE:
        return True
    if (
        message is not None
        and message.sender_chat is not None
        and message.sender_chat.id == chat.id
    ):
        return True  # an anonymous group administrator
    if user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError as exc:
        log.warning("could not check admin rights in %s: %s", chat.id, redact(str(exc)))
        return False
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


async def subscribe(update: Update, context: Context) -> None:
    who = sender(update, context)
    args = list(context.args or [])
    # Anyone may look at an active subscription (/subscribe alone); everything else,
    # including /subscribe alone on a stopped one (which starts it again), is a change.
    current = await quotebot(context).subscriptions.get(who.chat_id or 0) if not args else None
    looking = current is not None and current.active
    manage = True if looking else await may_manage(update, context)
    await send(update, await quotebot(context).subscribe(who, args, may_manage=manage))


async def unsubscribe(update: Update, context: Context) -> None:
    who = sender(update, context)
    await send(
        update,
        await quotebot(context).unsubscribe(who, may_manage=await may_manage(update, context)),
    )


async def conversation(update: Update, context: Context) -> None:
    """/conversation [#id | all]: like a subscription, a group's choice is its admins' to change."""
    who = sender(update, context)
    arg = " ".join(context.args or [])
    manage = await may_manage(update, context) if arg else True
    await send(update, await quotebot(context).conversation(who, arg, may_manage=manage))


def telegram_sender(bot: Bot):
    """The daily scheduler's send: one message, its failure translated into an Outcome.

    The scheduler paces and retries itself, so PTB's rate limiter is told not
    to retry here (rate_limit_args=0 is its max_retries): a RetryAfter must reach the pacer.
    """

    async def send_daily(chat_id: int, reply: Reply) -> Outcome:
        try:
            # A private chat's id is its user's (positive); groups' are negative.
            kwargs = message_kwargs(reply, private=chat_id > 0)
            await bot.send_message(chat_id=chat_id, **kwargs, rate_limit_args=0)
        except TelegramError as exc:
            return outcome_for(exc)
        return Outcome(Kind.SENT)

    return send_daily


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
