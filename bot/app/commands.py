"""The bot's commands, in one table: every front end reads it, none keeps its own list.

`handlers/app.py` registers one CommandHandler per entry (for the chats its
scopes name) and sets the Telegram command menu from it; `QuoteBot.help`
lists it; `bot/console.py` routes typed commands by it. Each front end maps
a command's name to its own callable, and a test checks that the table, the
registered handlers, the menu, /help and the console agree.

The order of the table is the order of the menu and of /help.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.app.i18n import N_, Lang

Scope = Literal["private", "groups"]
EVERYWHERE: frozenset[Scope] = frozenset({"private", "groups"})


@dataclass(frozen=True, slots=True)
class Menu:
    """A command's line in Telegram's command menu, in each language the menu is set in."""

    en: str
    zh: str

    def text(self, lang: Lang) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True, slots=True)
class Command:
    """One command.

    `help`: its line in /help after the command's name (a gettext msgid), or None
    when /help does not list it. `menu`: its line in Telegram's command menu, or
    None when the menu leaves it out. `scopes`: the chats it is answered in.
    `admin_only`: only the bot's administrators get an answer beyond a refusal, so
    neither the menu nor /help offers it. `needs_several`: offered (menu and
    /help) only when there are several conversations to choose from; it is
    answered either way.
    """

    name: str
    help: str | None = None
    menu: Menu | None = None
    scopes: frozenset[Scope] = EVERYWHERE
    admin_only: bool = False
    needs_several: bool = False

    def offered(self, several: bool) -> bool:
        """Whether the menu and /help show it, given whether there are several conversations."""
        return not self.admin_only and (several or not self.needs_several)


COMMANDS: tuple[Command, ...] = (
    Command("start"),  # the welcome (or a shared passage): Telegram's own button sends it
    Command(
        "quote",
        N_("<words> — the best-matching quote (works in groups)"),
        Menu("Find the quote that matches your words", "查找与你的词句最匹配的原话"),
    ),
    Command(
        "topic",
        N_("<keyword> — the best passages on a topic"),
        Menu("Best passages on a topic", "关于某个话题的几段原话"),
    ),
    Command("random", N_("a random quote"), Menu("A random quote", "随机一段原话")),
    Command(
        "card",
        N_("<words> — the best-matching quote as a picture"),
        Menu("A quote as a picture", "把原话做成图片卡片"),
    ),
    Command(
        "subscribe",
        N_("[HH:MM] [time zone] [card] — a quote every day (card: as a picture)"),
        Menu("A quote every day at your time", "每天定时收到一段原话"),
    ),
    Command(
        "unsubscribe", N_("stop the daily quote"), Menu("Stop the daily quote", "取消每日原话")
    ),
    Command(
        "conversation",
        N_("[#id | all] — choose the conversation this chat searches"),
        Menu("Choose the conversation to search", "选择要搜索的对话"),
        needs_several=True,
    ),
    Command(
        "privacy",
        N_("what I keep about you, and /forget to delete it"),
        Menu("What the bot keeps about you", "机器人保存了你的哪些信息"),
    ),
    # /privacy's help line names /forget, so /help gives it no line of its own.
    Command("forget", menu=Menu("Delete what the bot keeps about you", "删除机器人保存的你的信息")),
    Command("help", N_("this message"), Menu("What this bot can do", "这个机器人能做什么")),
    Command("stats", admin_only=True),
)

BY_NAME: dict[str, Command] = {command.name: command for command in COMMANDS}


def menu_commands(several: bool) -> list[tuple[str, Menu]]:
    """(name, menu line) for each command in Telegram's command menu, in table order."""
    return [(c.name, c.menu) for c in COMMANDS if c.menu is not None and c.offered(several)]


def help_lines(several: bool) -> list[tuple[str, str]]:
    """("/name", help msgid) for each command /help lists, in table order."""
    return [(f"/{c.name}", c.help) for c in COMMANDS if c.help is not None and c.offered(several)]


def command_for(name: str, scope: Scope) -> Command | None:
    """The command a front end answers by this name in this kind of chat, or None
    (an unknown command)."""
    command = BY_NAME.get(name)
    return command if command is not None and scope in command.scopes else None
