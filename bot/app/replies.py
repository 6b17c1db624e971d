"""What the bot says, as plain data: HTML text plus buttons.

Replies are built in bot.app (see views.py) and rendered by two faces:
`handlers/` turns them into Telegram messages and keyboards, `bot/console.py`
into terminal text with numbered choices. `esc` and `fit_lines` here keep
everything user-visible HTML-escaped and within Telegram's limits; `Reply`
and `Button` refuse anything longer.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

MAX_MESSAGE = 4096  # Telegram's limit on a message's text (after entity parsing)
MAX_CALLBACK_DATA = 64  # bytes
MAX_CAPTION = 1024  # a photo's caption (after entity parsing)


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    data: str | None = None  # callback payload, at most 64 bytes
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.url is None):
            raise ValueError("a button has either data or a url")
        if self.data is not None and not 1 <= len(self.data.encode()) <= MAX_CALLBACK_DATA:
            raise ValueError(f"callback data too long: {self.data!r}")


@dataclass(frozen=True)
class Reply:
    html: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    silent: bool = False  # for group chats: not worth a notification
    passage_id: str | None = None  # the one passage it shows, if any (the console's /card)

    def __post_init__(self) -> None:
        if len(self.html) > MAX_MESSAGE:
            raise ValueError("reply longer than Telegram allows; build it with fit_lines()")


@dataclass(frozen=True)
class CardReply:
    """A quote card to send as a photo (a new message): which card, and its HTML caption."""

    passage_id: str
    style: str  # "light" or "dark"
    caption: str
    buttons: tuple[tuple[Button, ...], ...] = ()

    def __post_init__(self) -> None:
        if len(self.caption) > MAX_CAPTION:
            raise ValueError("caption longer than Telegram allows; build it with fit_lines()")


@dataclass(frozen=True)
class InlineItem:
    """One choice offered in inline mode."""

    id: str
    title: str
    description: str
    reply: Reply


@dataclass(frozen=True)
class InlineCard:
    """An uploaded quote card offered in inline mode (sent by Telegram's file_id)."""

    id: str
    file_id: str
    caption: str


@dataclass
class Links:
    """How to build share links; the bot's username is known only once connected."""

    bot_username: str | None = None

    def share(self, passage_id: str) -> str | None:
        if not self.bot_username:
            return None
        return f"https://t.me/{self.bot_username}?start={passage_id}"


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def fit_lines(lines: list[str], limit: int = MAX_MESSAGE, more: str = "…") -> str:
    """Join whole lines (each well-formed HTML) while they fit; never cut inside a tag."""
    out: list[str] = []
    size = 0
    for line in lines:
        extra = len(line) + (1 if out else 0)
        if size + extra > limit - len(more) - 1:
            out.append(more)
            break
        out.append(line)
        size += extra
    return "\n".join(out)
