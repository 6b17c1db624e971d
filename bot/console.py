"""`quotebot console`: the bot's conversation in a terminal, no Telegram needed.

The same QuoteBot answers as on Telegram; this module only reads lines,
routes commands the way handlers/ does, and prints replies as text with
buttons shown as numbered choices (type the number to press one).
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
from collections.abc import Awaitable, Callable
from typing import TextIO

from bot.app import (
    Button,
    CardReply,
    Lang,
    Links,
    QuoteBot,
    Reply,
    Sender,
    command_for,
    gettext_for,
)
from bot.assembly import open_parts
from bot.config import Settings
from bot.daily.scheduler import Kind, Outcome
from bot.daily.throttle_sends import Pacer
from bot.search import QuoteEngine, stop_watch

CONSOLE_CHAT_ID = 0
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@(\S+))?(?:\s+(.*))?$", re.S)


def console_text(markup: str) -> str:
    """Our HTML as terminal text: tags dropped, link targets shown after their text."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", markup)
    text = re.sub(r"</?blockquote>", "", text)
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(text)


Route = Callable[[str], Awaitable[Reply]]


class Console:
    """Routes console input to QuoteBot; the terminal twin of handlers/.

    Commands are routed by the command table (bot.app.commands), as a private
    chat's: what each does here is `routes()`.
    """

    def __init__(self, bot: QuoteBot, lang: Lang, out: TextIO) -> None:
        self.bot = bot
        self.out = out
        self.sender = Sender(CONSOLE_CHAT_ID, "console", CONSOLE_CHAT_ID, lang, is_admin=True)
        self.buttons: list[Button] = []
        self.last_passage: str | None = None  # the last passage shown: /card draws it

    def routes(self) -> dict[str, Route]:
        """What each command of the table does in the console (a test checks none is missing)."""
        bot, who = self.bot, self.sender

        async def at_once(reply: Reply) -> Reply:
            """A quick answer (QuoteBot computes it without waiting), awaitable like the rest."""
            return reply

        return {
            "start": lambda args: at_once(bot.start(who, args)),
            "quote": lambda args: bot.query(who, args, kind="quote"),
            "topic": lambda args: bot.topic(who, args),
            "random": lambda args: bot.random_quote(who, args),
            "card": self.card,
            "subscribe": lambda args: bot.subscribe(who, args.split()),
            "unsubscribe": lambda args: bot.unsubscribe(who),
            "conversation": lambda args: bot.conversation(who, args),
            "privacy": lambda args: at_once(bot.privacy(who)),
            "forget": lambda args: bot.forget(who),
            "help": lambda args: at_once(bot.help(who)),
            "stats": lambda args: bot.stats(who),
        }

    async def handle(self, line: str) -> Reply | None:
        line = line.strip()
        if line.isdigit() and self.buttons:
            return await self.press(int(line) - 1)
        match = _COMMAND.match(line)
        if not match:
            return await self.bot.query(self.sender, line)
        name, args = match.group(1).lower(), (match.group(3) or "").strip()
        command = command_for(name, "private")  # the console is a private chat
        if command is None:
            return self.bot.unknown_command(self.sender)
        return await self.routes()[command.name](args)

    async def press(self, index: int) -> Reply | None:
        """Typing a shown button's number presses it."""
        if not 0 <= index < len(self.buttons):
            return Reply(html.escape(f"Choose 1-{len(self.buttons)}."))
        button = self.buttons[index]
        if button.url:
            return Reply(html.escape(button.url))
        reply = await self.bot.press(self.sender, button.data or "")
        if isinstance(reply, CardReply):
            return await self.card_file(reply.passage_id, reply.style)
        return reply or self.bot.expired_button(self.sender)

    async def card(self, args: str) -> Reply:
        """/card: the last shown passage's card as a PNG file (its path is printed);
        /card <words>: the best match's card."""
        if args:
            answer = await self.bot.card(self.sender, args)
            if not isinstance(answer, CardReply):
                return answer
            return await self.card_file(answer.passage_id, answer.style)
        if self.last_passage is None:
            _ = gettext_for(self.sender.lang)
            return Reply(
                html.escape(_("No passage shown yet. Search for one, or use /card <words>."))
            )
        return await self.card_file(self.last_passage, "light")

    async def card_file(self, passage_id: str, style: str) -> Reply:
        path = await self.bot.cards.path(passage_id, style)
        self.last_passage = passage_id
        return Reply(html.escape(str(path)))

    def show(self, reply: Reply | None) -> None:
        if reply is None or (reply.silent and not reply.html):
            return
        if reply.passage_id is not None:
            self.last_passage = reply.passage_id
        self.out.write(console_text(reply.html) + "\n")
        self.buttons = [b for row in reply.buttons for b in row]
        for n, button in enumerate(self.buttons, 1):
            self.out.write(f"  [{n}] {button.text}\n")
        self.out.write("\n")
        self.out.flush()


async def _loop(
    engine: QuoteEngine, settings: Settings, lang: Lang, stdin: TextIO, out: TextIO
) -> int:
    async def print_daily(chat_id: int, reply: Reply) -> Outcome:
        out.write(console_text(reply.html) + "\n\n")
        out.flush()
        return Outcome(Kind.SENT)

    parts = await open_parts(
        settings,
        engine,
        links=Links(None),
        send=print_daily,
        pacer=Pacer(settings.send_rate_per_second),
        user_rate_per_minute=10_000,
    )
    watching: asyncio.Task | None = None
    try:
        bot = parts.quotebot
        console = Console(bot, lang, out)
        parts.daily.start()
        if settings.library_poll > 0:
            watching = asyncio.create_task(
                parts.library_watch(settings).run(), name="library-watch"
            )
        console.show(bot.help(console.sender, welcome=True))
        interactive = stdin.isatty()
        while True:
            if interactive:
                out.write("> ")
                out.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            if not line.strip():
                continue
            console.show(await console.handle(line))
    finally:
        await stop_watch(watching)
        await parts.close()
    return 0


def run_console(engine: QuoteEngine, settings: Settings, lang: Lang = "zh") -> int:
    try:
        return asyncio.run(_loop(engine, settings, lang, sys.stdin, sys.stdout))
    except KeyboardInterrupt:
        return 0
