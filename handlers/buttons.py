"""Button presses edit the message they belong to instead of flooding the chat;
a card button (🖼) sends the card as a new photo message instead."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest

from bot.app import CardReply
from handlers.cards import send_card
from handlers.context import Context, quotebot, sender
from handlers.permissions import may_press
from handlers.render import edit_kwargs

log = logging.getLogger(__name__)


async def press(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None:
        return
    who = sender(update, context)
    data = query.data or ""
    if not await may_press(update, context, data):
        # Refused: say so on the button, and leave the message (the choice) as it is.
        await query.answer(quotebot(context).refused_change(who), show_alert=True)
        return
    reply = await quotebot(context).press(who, data)
    if reply is None:
        await query.answer(quotebot(context).expired_notice(who), show_alert=False)
        return
    try:
        await query.answer()
    except BadRequest as exc:  # too old: pressed while the bot was down. The edit still helps.
        log.info("could not answer a button press: %s", exc)
    if isinstance(reply, CardReply):
        chat_id = query.message.chat.id if query.message is not None else None
        chat_id = chat_id if chat_id is not None else who.chat_id
        if chat_id is None:
            return  # a button on an inline message: no chat to send the photo to
        await send_card(context.bot, chat_id, reply, quotebot(context).cards)
        return
    if query.message is None or not query.message.is_accessible:
        return  # a button on a message we can no longer see (inline or too old)
    try:
        await query.edit_message_text(**edit_kwargs(reply, query.message.chat.type == "private"))
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise
