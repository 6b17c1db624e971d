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
from urllib.parse import quote

MAX_MESSAGE = 4096  # Telegram's limit on a message's text (after entity parsing)
MAX_CALLBACK_DATA = 64  # bytes
MAX_CAPTION = 1024  # a photo's caption (after entity parsing)


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    data: str | None = None  # callback payload, at most 64 bytes
    url: str | None = None
    # A Mini App page opened inside Telegram. Telegram allows such a button only in a
    # private chat with the bot, so it always has a `url` too: what other chats get.
    web_app: str | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.url is None):
            raise ValueError("a button has either data or a url")
        if self.web_app is not None and self.url is None:
            raise ValueError("a web_app button needs a url for chats where it cannot open")
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
    """How to build share links; the bot's username is known only once connected.

    With `web_url` (QUOTEBOT_WEB_URL, the web pages of bot.web) a share link is the
    passage's page there, which previews as its quote card wherever it is pasted, and
    every quote offers the conversation page at that passage (`read`)."""

    bot_username: str | None = None
    web_url: str | None = None

    def share(self, passage_id: str) -> str | None:
        if self.web_url:
            return f"{self.web_url.rstrip('/')}/q/{quote(passage_id, safe='')}"
        if not self.bot_username:
            return None
        return f"https://t.me/{self.bot_username}?start={passage_id}"

    def read(self, conversation: str, passage_id: str) -> tuple[str, str] | None:
        """(Mini App page, link for other chats) opening the conversation at the passage;
        None without web pages. The link is Telegram's main Mini App with the passage as
        its start parameter (`t.me/<bot>?startapp=<id>`), or the page itself while the
        bot's name is unknown."""
        if not self.web_url:
            return None
        pid = quote(passage_id, safe="")
        page = f"{self.web_url.rstrip('/')}/c/{quote(conversation, safe='')}?p={pid}"
        if not self.bot_username:
            return page, page
        return page, f"https://t.me/{self.bot_username}?startapp={pid}"


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
