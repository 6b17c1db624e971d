"""The commands that only ask bot.app's QuoteBot and send what it answers.

/card is handlers/cards.py's (a photo), and /subscribe, /unsubscribe and
/conversation are handlers/chat_settings.py's (they ask who may change them).
Which command reaches which callback is handlers/app.py's `COMMAND_CALLBACKS`,
checked against bot.app.commands.COMMANDS. Flooding users never get here:
handlers/guard.py stops them first.
"""

from __future__ import annotations

from telegram import InputFile, Update

from handlers.context import Context, quotebot, sender
from handlers.replying import send


def _args(context: Context) -> str:
    return " ".join(context.args or [])


async def start(update: Update, context: Context) -> None:
    await send(update, quotebot(context).start(sender(update, context), _args(context)))


async def help_command(update: Update, context: Context) -> None:
    await send(update, quotebot(context).help(sender(update, context)))


async def quote(update: Update, context: Context) -> None:
    reply = await quotebot(context).query(sender(update, context), _args(context), kind="quote")
    await send(update, reply)


async def topic(update: Update, context: Context) -> None:
    await send(update, await quotebot(context).topic(sender(update, context), _args(context)))


async def random_quote(update: Update, context: Context) -> None:
    reply = await quotebot(context).random_quote(sender(update, context), _args(context))
    await send(update, reply)


async def stats(update: Update, context: Context) -> None:
    await send(update, await quotebot(context).stats(sender(update, context)))
    chat = update.effective_chat
    png = await quotebot(context).stats_picture(sender(update, context))
    if png is not None and chat is not None:  # an administrator, in private: the chart too
        await context.bot.send_photo(chat.id, InputFile(png, filename="stats.png"))


async def forget(update: Update, context: Context) -> None:
    await send(update, await quotebot(context).forget(sender(update, context)))


async def privacy(update: Update, context: Context) -> None:
    await send(update, quotebot(context).privacy(sender(update, context)))


async def unknown(update: Update, context: Context) -> None:
    """Unknown commands get a hint in private chats; in groups they may be another bot's."""
    await send(update, quotebot(context).unknown_command(sender(update, context)))
