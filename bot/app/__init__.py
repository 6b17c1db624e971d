"""What the bot answers: commands, buttons, inline queries, replies as data, i18n.

Independent of Telegram: handlers/ and bot/console.py render its replies. The
names below are its public surface, what the front ends (handlers/, the console,
the web pages, the daily scheduler) use; its modules are internal, which an
import-linter contract checks.
"""

from bot.app.cards import CardShop
from bot.app.commands import COMMANDS, EVERYWHERE, Command, Scope, command_for, menu_commands
from bot.app.i18n import Lang, gettext_for, lang_for
from bot.app.quotebot import Options, QuoteBot
from bot.app.replies import Button, CardReply, Links, Reply
from bot.app.sender import Sender
from bot.app.topics import load_topics
from bot.app.views import daily_card_view, daily_quote_view, passage_view, several

__all__ = [
    "COMMANDS",
    "EVERYWHERE",
    "Button",
    "CardReply",
    "CardShop",
    "Command",
    "Lang",
    "Links",
    "Options",
    "QuoteBot",
    "Reply",
    "Scope",
    "Sender",
    "command_for",
    "daily_card_view",
    "daily_quote_view",
    "gettext_for",
    "lang_for",
    "load_topics",
    "menu_commands",
    "passage_view",
    "several",
]
