"""Inline mode: `@bot words` in any chat offers matching passages to send."""

from __future__ import annotations

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from handlers.context import quotebot, sender
from handlers.render import NO_PREVIEW


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.inline_query
    if query is None:
        return
    items = quotebot(context).inline(sender(update, context), query.query)
    results = [
        InlineQueryResultArticle(
            id=item.id,
            title=item.title,
            description=item.description,
            input_message_content=InputTextMessageContent(
                item.reply.html, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
            ),
        )
        for item in items
    ]
    await query.answer(results, cache_time=30 if query.query else 300, is_personal=False)
