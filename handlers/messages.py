"""Plain messages: in a private chat any text is a query."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from handlers.commands import admitted, send
from handlers.context import quotebot, sender


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A private text message (or an edit of one): search for it."""
    message = update.effective_message
    if message is None or not await admitted(update, context):
        return
    await send(update, await quotebot(context).query(sender(update, context), message.text or ""))


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice...: say what the bot can read."""
    if await admitted(update, context):
        await send(update, quotebot(context).text_only(sender(update, context)))
