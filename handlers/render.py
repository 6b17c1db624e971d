"""bot.app's replies (bot.app.replies.Reply) to Telegram keyword arguments.

Replies are HTML and never show link previews: DEFAULTS says so once for
every call of a bot built with it (the Application, the daily benchmark).
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Defaults

from bot.app.replies import Reply

DEFAULTS = Defaults(
    parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b.text, url=b.url)
                if b.url
                else InlineKeyboardButton(b.text, callback_data=b.data)
                for b in row
            ]
            for row in reply.buttons
            if row
        ]
    )


def message_kwargs(reply: Reply) -> dict[str, Any]:
    """Arguments for send_message / reply_text / edit_message_text."""
    return {
        "text": reply.html,
        "reply_markup": keyboard(reply),
        **({"disable_notification": True} if reply.silent else {}),
    }


def edit_kwargs(reply: Reply) -> dict[str, Any]:
    kwargs = message_kwargs(reply)
    kwargs.pop("disable_notification", None)
    return kwargs
