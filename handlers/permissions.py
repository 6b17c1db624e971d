"""Who may change a chat's settings: the one place handlers decide a permission.

bot.app answers each change with `may_manage` as given: it cannot ask Telegram
who a group's administrators are, so this module does. In a private chat the
user manages their own settings; in a group only its administrators (or an
administrator posting anonymously as the group) change its daily quote and the
conversation it searches. Anyone may look.

(The bot's own administrators, QUOTEBOT_ADMIN_IDS, are a Sender's `is_admin`,
set in handlers/context.py; bot.app decides what they may do.)
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.app import Sender
from bot.logs import redact
from handlers.context import Context, quotebot

log = logging.getLogger(__name__)


async def may_manage(update: Update, context: Context) -> bool:
    """In groups only administrators change the chat's settings; everyone may in private."""
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


async def may_subscribe(update: Update, context: Context, who: Sender, args: list[str]) -> bool:
    """/subscribe: anyone may look at an active subscription (/subscribe alone); everything
    else, including /subscribe alone on a stopped one (which starts it again), is a change."""
    current = await quotebot(context).subscriptions.get(who.chat_id or 0) if not args else None
    looking = current is not None and current.active
    return True if looking else await may_manage(update, context)


async def may_choose(update: Update, context: Context, arg: str) -> bool:
    """/conversation: anyone may see the choice (no argument); changing it is managing."""
    return await may_manage(update, context) if arg else True


async def may_press(update: Update, context: Context, data: str) -> bool:
    """A button that changes the chat's settings is pressed only by who may manage them."""
    return not quotebot(context).changes_chat(data) or await may_manage(update, context)
