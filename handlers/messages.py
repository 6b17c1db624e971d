"""Plain messages: in a private chat any text is a query; an administrator's subtitle
file is imported."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from handlers.context import Context, quotebot, sender
from handlers.replying import send

log = logging.getLogger(__name__)


async def text(update: Update, context: Context) -> None:
    """A private text message (or an edit of one): search for it."""
    message = update.effective_message
    if message is None:
        return
    await send(update, await quotebot(context).query(sender(update, context), message.text or ""))


async def not_text(update: Update, context: Context) -> None:
    """Stickers, photos, voice...: say what the bot can read."""
    await send(update, quotebot(context).text_only(sender(update, context)))


async def document(update: Update, context: Context) -> None:
    """A file in a private chat: from an administrator, subtitles to import (checked by
    name and size before it is downloaded); from anyone else, the text-only answer."""
    message = update.effective_message
    bot, who = quotebot(context), sender(update, context)
    doc = message.document if message is not None else None
    if doc is None or not bot.takes_uploads(who):
        await send(update, bot.text_only(who))
        return
    refused = bot.upload_refusal(who, doc.file_name, doc.file_size)
    if refused is not None:
        await send(update, refused)
        return
    try:
        file = await doc.get_file()
        data = bytes(await file.download_as_bytearray())
    except TelegramError as exc:  # e.g. "File is too big" for more than 20 MB
        log.warning("upload: could not download %r: %s", doc.file_name, exc)
        refused = bot.upload_refusal(who, doc.file_name, None)
        await send(update, refused or bot.download_failed(who, doc.file_name, str(exc)))
        return
    await send(update, await bot.upload(who, doc.file_name, data, message.caption))
