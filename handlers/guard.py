"""The flood guard: one handler in group -1, before every handler that answers.

An update that some handler of group 0 would answer (a command, a private
message, a button press, an inline query) counts against its user's
per-minute budget (bot.app.throttle_users). Over budget, the update stops here
(ApplicationHandlerStop): a message gets one polite answer a minute, then
silence; a button press a short notice; an inline query no answer at all.
Updates no handler answers (group chatter, member updates) are not counted.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.app import gettext_for
from handlers.context import Context, quotebot, sender
from handlers.render import message_kwargs

log = logging.getLogger(__name__)

SEEN_UPDATES = 10_000  # update ids remembered to drop replays; memory stays bounded


class SeenUpdates:
    """The last `size` update ids, oldest dropped first."""

    def __init__(self, size: int = SEEN_UPDATES) -> None:
        self.size = size
        self._ids: OrderedDict[int, None] = OrderedDict()

    def first_time(self, update_id: int) -> bool:
        if update_id in self._ids:
            return False
        self._ids[update_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._ids)


def duplicate_filter(
    seen: SeenUpdates | None = None,
) -> Callable[[Update, Context], Awaitable[None]]:
    """A handler for group -2: an update whose id was already seen (a webhook delivery
    replayed, or retried by Telegram after a timeout) stops there, unanswered."""
    seen = seen or SeenUpdates()

    async def drop_duplicates(update: Update, context: Context) -> None:
        if not seen.first_time(update.update_id):
            log.info("update %s seen before: dropped", update.update_id)
            raise ApplicationHandlerStop

    return drop_duplicates


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
