"""From a Telegram update to the core's view of who is asking."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.app.i18n import lang_for
from bot.app.quotebot import QuoteBot, Sender

QUOTEBOT_KEY = "quotebot"
ADMINS_KEY = "admin_ids"
DAILY_KEY = "daily_quotes"
PACER_KEY = "pacer"


def quotebot(context: ContextTypes.DEFAULT_TYPE) -> QuoteBot:
    return context.application.bot_data[QUOTEBOT_KEY]


def sender(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Sender:
    user = update.effective_user
    chat = update.effective_chat
    admins: frozenset[int] = context.application.bot_data.get(ADMINS_KEY, frozenset())
    return Sender(
        chat_id=chat.id if chat else None,
        chat_type=chat.type if chat else ("inline" if update.inline_query else None),
        user_id=user.id if user else None,
        lang=lang_for(user.language_code if user else None),
        is_admin=bool(user and user.id in admins),
    )
