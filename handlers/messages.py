"""Plain messages: in a private chat any text is a query."""

from __future__ import annotations

from telegram import Update

from handlers.commands import send
from handlers.context import Context, quotebot, sender


async def text(update: Update, context: Context) -> None:
    """A private text message (or an edit of one): search for it."""
    message = update.effective_message
    if message is None:
        return
    await send(update, await quotebot(context).query(sender(update, context), message.text or ""))


async def not_text(update: Update, context: Context) -> None:
    """Stickers, photos, voice...: say what the bot can read."""
    await send(update, quotebot(context).text_only(sender(update, context)))
