"""A faithful local Telegram Bot API for quotebot's end-to-end tests and benchmarks.

Typical use::

    async with BotApiEmulator(token="123456:TEST-secret-token", username="quote_test_bot") as emu:
        app = ApplicationBuilder().token(emu.token).base_url(emu.base_url).build()
        user = emu.add_user("Li", language_code="zh-hans")
        chat = emu.private_chat(user)
        emu.send_text(chat, user, "你好")
        [reply] = await emu.wait_for_messages(chat, count=1, timeout=5)

See :class:`BotApiEmulator` for the user side, fault injection and flood control.
"""

from .emulator import BotApiEmulator
from .entities import Entity, FormattedText, utf16_len
from .errors import ApiError
from .faults import SEND_METHODS, Fault, FloodLimits
from .html_entities import HtmlParseError, parse_html
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
    "SEND_METHODS",
    "ApiError",
    "BotApiEmulator",
    "CallbackAnswer",
    "Chat",
    "Entity",
    "Fault",
    "FloodLimits",
    "FormattedText",
    "HtmlParseError",
    "InlineAnswer",
    "InlineResultView",
    "MessageVersion",
    "RecordedRequest",
    "StoredMessage",
    "User",
    "parse_html",
    "peak_rate",
    "utf16_len",
]
