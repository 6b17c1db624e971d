"""bot.app's replies (bot.app.replies.Reply) to Telegram keyword arguments.

Replies are HTML and never show link previews: DEFAULTS says so once for
every call of a bot built with it (the Application, the daily benchmark).
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, WebAppInfo
from telegram.constants import ParseMode
from telegram.ext import Defaults

from bot.app import Button, Reply

DEFAULTS = Defaults(
    parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
)


def button(b: Button, private: bool = False) -> InlineKeyboardButton:
    """One button. A Mini App (`web_app`) opens only from a private chat with the bot;
    anywhere else (groups, inline messages) the button is its `url`."""
    if b.web_app and private:
        return InlineKeyboardButton(b.text, web_app=WebAppInfo(b.web_app))
    if b.url:
        return InlineKeyboardButton(b.text, url=b.url)
    return InlineKeyboardButton(b.text, callback_data=b.data)


def keyboard(reply: Reply, private: bool = False) -> InlineKeyboardMarkup | None:
    """`private`: the message goes to a private chat (Mini App buttons allowed)."""
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup([[button(b, private) for b in row] for row in reply.buttons if row])


def message_kwargs(reply: Reply, private: bool = False) -> dict[str, Any]:
    """Arguments for send_message / reply_text / edit_message_text; `private`: for a
    private chat."""
    return {
        "text": reply.html,
        "reply_markup": keyboard(reply, private),
        **({"disable_notification": True} if reply.silent else {}),
    }


def edit_kwargs(reply: Reply, private: bool = False) -> dict[str, Any]:
    kwargs = message_kwargs(reply, private)
    kwargs.pop("disable_notification", None)
    return kwargs
