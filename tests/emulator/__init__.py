"""A local Telegram Bot API for quotebot's end-to-end tests and benchmarks.

Typical use::

    async with BotApiEmulator(token="123456:TEST-secret-token", username="quote_test_bot") as emu:
        app = ApplicationBuilder().token(emu.token).base_url(emu.base_url).build()
        user = emu.add_user("Li", language_code="zh-hans")
        chat = emu.private_chat(user)
        emu.send_text(chat, user, "你好")
        [reply] = await emu.wait_for_messages(chat, count=1, timeout=5)

It implements the methods quotebot calls (see ``methods.py``) with Telegram's checks
that matter to a bot: HTML parse_mode validated against Telegram's tag set, the 4096
limit counted after parsing, callback data limits, blocked users, migrated groups,
webhooks, and injected faults (429, 5xx, dropped connections) via ``fail_next``.
"""

from .emulator import BotApiEmulator
from .errors import ApiError
from .faults import Fault
from .formatting import MESSAGE_LIMIT, HtmlError, format_text, parse_html, utf16_len
from .recording import RecordedRequest, peak_rate
from .state import (
    CallbackAnswer,
    Chat,
    InlineAnswer,
    InlineResultView,
    MessageVersion,
    StoredMessage,
    User,
)

__all__ = [
    "MESSAGE_LIMIT",
    "ApiError",
    "BotApiEmulator",
    "CallbackAnswer",
    "Chat",
    "Fault",
    "HtmlError",
    "InlineAnswer",
    "InlineResultView",
    "MessageVersion",
    "RecordedRequest",
    "StoredMessage",
    "User",
    "format_text",
    "parse_html",
    "peak_rate",
    "utf16_len",
]
