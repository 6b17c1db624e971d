"""The flood guard: one handler in group -1, before every handler that answers.

An update that some handler of group 0 would answer (a command, a private
message, a button press, an inline query) counts against its user's
per-minute budget (bot.app.flood). Over budget, the update stops here
(ApplicationHandlerStop): a message gets one polite answer a minute, then
silence; a button press a short notice; an inline query no answer at all.
Updates no handler answers (group chatter, member updates) are not counted.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.app.i18n import gettext_for
from handlers.context import Context, quotebot, sender
from handlers.render import message_kwargs


def would_answer(update: Update, context: Context) -> bool:
    return any(handler.check_update(update) for handler in context.application.handlers.get(0, []))


async def flood_guard(update: Update, context: Context) -> None:
    if not would_answer(update, context):
        return
    who = sender(update, context)
    refusal = quotebot(context).admit(who)
    if refusal is None:
        return
    if update.callback_query is not None:
        _ = gettext_for(who.lang)
        await update.callback_query.answer(_("Too fast — please wait a moment."))
    elif update.inline_query is None and update.effective_message is not None and refusal.html:
        message = update.effective_message
        await message.reply_text(**message_kwargs(refusal), do_quote=message.chat.type != "private")
    raise ApplicationHandlerStop
