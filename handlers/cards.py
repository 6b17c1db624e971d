"""Quote cards on Telegram: sent as photos, each uploaded once and then resent by file_id.

The first send of a card uploads its PNG and stores the file_id Telegram
returns (per passage, style and font version); later sends pass that
file_id. If Telegram no longer accepts a stored file_id ("wrong file
identifier"), it is forgotten and the card is uploaded again.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, InputFile, Message, ReplyParameters, Update
from telegram.error import BadRequest

from bot.app import CardReply, CardShop, Reply
from handlers.context import Context, quotebot, sender
from handlers.render import keyboard
from handlers.replying import send

log = logging.getLogger(__name__)

_STALE_FILE = ("wrong file identifier", "file reference", "wrong remote file", "file_id")


def _stale(exc: BadRequest) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in _STALE_FILE)


async def send_card(
    bot: Bot, chat_id: int, card: CardReply, shop: CardShop, **kwargs: Any
) -> Message:
    """Send the card as a photo: by stored file_id if there is one, else by upload."""
    markup = keyboard(Reply("", card.buttons)) if card.buttons else None
    common = {"caption": card.caption, "reply_markup": markup, **kwargs}
    file_id = await shop.file_id(card.passage_id, card.style)
    if file_id is not None:
        try:
            return await bot.send_photo(chat_id, file_id, **common)
        except BadRequest as exc:
            if not _stale(exc):
                raise
            log.info("stored card file_id refused (%s); uploading again", exc)
            await shop.forget(card.passage_id, card.style)
    png = await shop.png(card.passage_id, card.style)
    name = f"quote-{card.passage_id}-{card.style}.png"
    message = await bot.send_photo(chat_id, InputFile(png, filename=name), **common)
    if message.photo:
        await shop.remember(card.passage_id, card.style, message.photo[-1].file_id)
    return message


async def answer(update: Update, context: Context, reply: Reply | CardReply | None) -> None:
    """Answer in the update's chat: a card as a new photo, anything else as text."""
    if not isinstance(reply, CardReply):
        await send(update, reply)
        return
    message = update.effective_message
    chat = update.effective_chat
    if chat is None:
        return
    extra: dict[str, Any] = {}
    if message is not None and chat.type != "private" and update.callback_query is None:
        extra["reply_parameters"] = ReplyParameters(message.message_id)
    await send_card(context.bot, chat.id, reply, quotebot(context).cards, **extra)


async def card(update: Update, context: Context) -> None:
    """/card <words>: the best match as a quote card."""
    text = " ".join(context.args or [])
    await answer(update, context, await quotebot(context).card(sender(update, context), text))
