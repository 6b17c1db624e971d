"""The command table (bot.app.commands) drives every list of commands: the Telegram
handlers, the command menu, /help and the console agree with it and with each other."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from bot.data import DATA_DIR
from telegram import Chat, Message, Update, User
from telegram.ext import Application, CommandHandler

from bot.app.commands import (
    BY_NAME,
    COMMANDS,
    EVERYWHERE,
    command_for,
    help_lines,
    menu_commands,
)
from bot.app.i18n import gettext_for
from bot.app.quotebot import Options, QuoteBot
from bot.app.replies import Links
from bot.app.sender import Sender
from bot.config import Settings
from bot.console import Console
from bot.search.engine import QuoteEngine
from bot.storage import Store
from handlers import context as handler_context
from handlers.app import COMMAND_CALLBACKS, build_application, chat_filter, commands_for
from handlers.context import Context, sender
from tests.bot_harness import running_bot
from tests.test_conversations import write_second

NAMES = [c.name for c in COMMANDS]


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> QuoteEngine:
    """The bundled conversation and a second one: /conversation is offered."""
    root = tmp_path_factory.mktemp("two-conversations")
    write_second(root / "library")
    return QuoteEngine.load(DATA_DIR, root / "cache", meaning="off", library_dir=root / "library")


def test_the_table_is_well_formed() -> None:
    assert len(set(NAMES)) == len(NAMES) == len(BY_NAME)
    for command in COMMANDS:
        assert re.fullmatch(r"[a-z0-9_]{1,32}", command.name)  # Telegram's command names
        assert command.scopes and command.scopes <= EVERYWHERE
        if command.menu is not None:
            assert 0 < len(command.menu.en) <= 256 and 0 < len(command.menu.zh) <= 256
        if command.admin_only:  # offered to no one: the menu and /help are for everyone
            assert command.menu is None and command.help is None


def test_every_help_line_is_translated() -> None:
    zh = gettext_for("zh")
    for _name, text in help_lines(several=True):
        assert zh(text) != text


@pytest.fixture
def application(engine: QuoteEngine, tmp_path: Path) -> Application:
    settings = Settings(
        data_dir=DATA_DIR,
        cache_dir=None,
        db_path=tmp_path / "quotebot.db",
        timezone="Asia/Shanghai",
        token="123456:TEST-table-token",
    )
    return build_application(settings, engine)


def test_every_command_has_one_handler_and_every_handler_a_command(
    application: Application,
) -> None:
    handlers = [h for h in application.handlers[0] if isinstance(h, CommandHandler)]
    registered = [name for h in handlers for name in h.commands]
    assert sorted(registered) == sorted(NAMES)
    assert set(COMMAND_CALLBACKS) == set(NAMES)
    for handler in handlers:
        [name] = handler.commands
        assert handler.callback is COMMAND_CALLBACKS[name]


def test_a_commands_scopes_become_its_chat_filter() -> None:
    def update(chat_type: str) -> Update:
        chat = Chat(-5 if chat_type != "private" else 5, chat_type)
        message = Message(1, dt.datetime.now(dt.UTC), chat, from_user=User(5, "Li", False))
        return Update(1, message=message)

    assert chat_filter(EVERYWHERE) is None  # CommandHandler's own default: any chat
    private, groups = chat_filter(frozenset({"private"})), chat_filter(frozenset({"groups"}))
    assert private is not None and groups is not None
    assert private.check_update(update("private")) and not private.check_update(update("group"))
    assert groups.check_update(update("supergroup")) and not groups.check_update(update("private"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_menu_is_the_tables_offered_commands(
    engine: QuoteEngine, two: QuoteEngine, lang: str
) -> None:
    one_menu = [c.command for c in commands_for(engine, lang)]
    two_menu = [c.command for c in commands_for(two, lang)]
    assert one_menu == [name for name, _ in menu_commands(several=False)]
    assert two_menu == [name for name, _ in menu_commands(several=True)]
    assert "conversation" in two_menu and "conversation" not in one_menu
    assert "stats" not in two_menu and "start" not in two_menu
    # One menu is set for every chat (the default scope): right while each command in it
    # is answered everywhere.
    assert all(BY_NAME[name].scopes == EVERYWHERE for name in two_menu)
    descriptions = {c.command: c.description for c in commands_for(two, lang)}
    assert descriptions["quote"] == getattr(BY_NAME["quote"].menu, lang)


async def test_help_lists_the_tables_help_lines_in_order(
    engine: QuoteEngine, two: QuoteEngine, tmp_path: Path
) -> None:
    store = await Store.open(tmp_path / "quotebot.db")
    try:
        for several, served in ((False, engine), (True, two)):
            bot = QuoteBot(served, store, Options(links=Links("quote_test_bot")))
            for lang in ("zh", "en"):
                who = Sender(1, "private", 1, lang)
                listed = [
                    line.split(" ")[0]
                    for line in bot.help(who).html.splitlines()
                    if line.startswith("/")
                ]
                assert listed == [name for name, _ in help_lines(several)]
                assert ("/conversation" in listed) == several
                assert "/stats" not in listed and "/start" not in listed
    finally:
        await store.close()


async def test_the_console_routes_every_command_of_the_table(
    engine: QuoteEngine, tmp_path: Path
) -> None:
    store = await Store.open(tmp_path / "quotebot.db")
    try:
        bot = QuoteBot(engine, store, Options())
        console = Console(bot, "en", io.StringIO())
        assert set(console.routes()) == set(NAMES)
        unknown = bot.unknown_command(console.sender).html
        assert command_for("nonsense", "private") is None
        assert (await console.handle("/nonsense")).html == unknown
        assert (await console.handle("/help")).html == bot.help(console.sender).html
        assert (await console.handle("/stats")).html != unknown
    finally:
        await store.close()


def test_an_updates_sender_is_built_once(application: Application) -> None:
    chat = Chat(5, "private")
    message = Message(1, dt.datetime.now(dt.UTC), chat, from_user=User(5, "Li", False))
    update = Update(1, message=message)
    context = Context.from_update(update, application)
    first = sender(update, context)
    assert first == Sender(5, "private", 5, "zh") and sender(update, context) is first


async def test_the_flood_guard_and_the_answering_handler_share_one_sender(
    engine: QuoteEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Sender] = []
    build = handler_context._sender

    def counted(update: Update, context: Context) -> Sender:
        built.append(build(update, context))
        return built[-1]

    monkeypatch.setattr(handler_context, "_sender", counted)
    async with running_bot(engine, tmp_path / "bot") as bot:
        li = bot.user("Li")
        for text in ("人类反馈强化学习", "/quote 人类反馈强化学习", "/help"):
            built.clear()
            reply = await bot.ask(bot.dm(li), li, text)
            assert reply.text and len(built) == 1, text
