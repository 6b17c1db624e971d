"""Inline mode: `@bot words` in any chat offers matching passages to send."""

from __future__ import annotations

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update

from handlers.context import Context, quotebot, sender


async def inline_query(update: Update, context: Context) -> None:
    query = update.inline_query
    if query is None:
        return
    items = quotebot(context).inline(sender(update, context), query.query)
    results = [
        InlineQueryResultArticle(
            id=item.id,
            title=item.title,
            description=item.description,
            # HTML, no link preview: the Application's Defaults (handlers/render.py)
            input_message_content=InputTextMessageContent(item.reply.html),
        )
        for item in items
    ]
    await query.answer(results, cache_time=30 if query.query else 300, is_personal=False)
