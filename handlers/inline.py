"""Inline mode: `@bot words` in any chat offers matching passages to send, and beside
them the cards of those passages already uploaded (cached photos, by file_id)."""

from __future__ import annotations

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultCachedPhoto,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode

from handlers.context import Context, quotebot, sender


async def inline_query(update: Update, context: Context) -> None:
    query = update.inline_query
    if query is None:
        return
    who = sender(update, context)
    items = quotebot(context).inline(who, query.query)
    results: list[InlineQueryResultArticle | InlineQueryResultCachedPhoto] = [
        InlineQueryResultArticle(
            id=item.id,
            title=item.title,
            description=item.description,
            # HTML, no link preview: the Application's Defaults (handlers/render.py)
            input_message_content=InputTextMessageContent(item.reply.html),
        )
        for item in items
    ]
    cards = await quotebot(context).inline_cards(who, items)
    results.extend(
        InlineQueryResultCachedPhoto(
            id=card.id, photo_file_id=card.file_id, caption=card.caption, parse_mode=ParseMode.HTML
        )
        for card in cards[: 50 - len(results)]
    )
    await query.answer(results, cache_time=30 if query.query else 300, is_personal=False)
