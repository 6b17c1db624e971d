"""Inline mode: `@bot words` in any chat offers matching passages to send, and beside
them the cards of those passages already uploaded (cached photos, by file_id).

Telegram sends an inline query at nearly every keystroke and shows the user
only the answer to the newest one. So one user's queries are searched one at
a time, and a query that a newer one from the same user has superseded while
it waited is dropped unanswered: a fast typist (or a flood within the per-user
limit) costs one search at a time, and other users' updates are not stuck
behind a queue of searches nobody will see.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultCachedPhoto,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode

from handlers.context import Context, quotebot, sender

Handler = Callable[[Update, Context], Awaitable[None]]


class NewestOnly:
    """Per user: one search at a time, and only the newest waiting query runs.

    Memory is bounded by the users with a query in progress (entries go when
    their last query is done).
    """

    def __init__(self) -> None:
        self._newest: dict[int, int] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def run_if_newest(
        self, user_id: int, update_id: int, work: Callable[[], Awaitable[None]]
    ) -> bool:
        self._newest[user_id] = max(update_id, self._newest.get(user_id, update_id))
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        self._waiting[user_id] = self._waiting.get(user_id, 0) + 1
        try:
            async with lock:
                if self._newest[user_id] != update_id:
                    return False  # superseded while it waited
                await work()
                return True
        finally:
            self._waiting[user_id] -= 1
            if self._waiting[user_id] == 0:
                del self._waiting[user_id], self._locks[user_id], self._newest[user_id]


def inline_handler(newest_only: NewestOnly | None = None) -> Handler:
    """The InlineQueryHandler callback; one NewestOnly per Application."""
    newest_only = newest_only or NewestOnly()

    async def inline_query(update: Update, context: Context) -> None:
        query = update.inline_query
        if query is None:
            return

        async def answer() -> None:
            who = sender(update, context)
            items = await quotebot(context).inline(who, query.query)
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
                    id=card.id,
                    photo_file_id=card.file_id,
                    caption=card.caption,
                    parse_mode=ParseMode.HTML,
                )
                for card in cards[: 50 - len(results)]
            )
            await query.answer(results, cache_time=30 if query.query else 300, is_personal=False)

        await newest_only.run_if_newest(query.from_user.id, update.update_id, answer)

    return inline_query
