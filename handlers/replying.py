"""Replying in the chat an update came from: bot.app's Reply as a Telegram message."""

from __future__ import annotations

from telegram import Update

from bot.app import Reply
from handlers.render import message_kwargs


async def send(update: Update, reply: Reply | None) -> None:
    """Answer in the chat the update came from (empty silent replies send nothing).

    In a group the answer quotes the message it answers; in a private chat it needs not.
    """
    message = update.effective_message
    if reply is None or message is None or not reply.html:
        return
    private = message.chat.type == "private"
    await message.reply_text(**message_kwargs(reply, private), do_quote=not private)
