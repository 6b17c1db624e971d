"""Each chat's chosen conversation (/conversation), when the engine holds several.

A row names the conversation a chat narrows to; no row means all of them.
The id is stored as given and checked against the engine by whoever reads it:
a conversation later removed from the library is then simply ignored (the
chat falls back to all) instead of breaking the chat or its subscription.
"""

from __future__ import annotations

import time

from bot.storage.database import Database


class ChatConversations:
    """Rows on the bot's shared Database; every change is one atomic() transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, chat_id: int) -> str | None:
        async with self.db.execute(
            "SELECT conversation FROM chat_conversations WHERE chat_id = ?", (chat_id,)
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def choose(self, chat_id: int, conversation: str | None) -> None:
        """Narrow the chat to one conversation; None goes back to all of them."""
        async with self.db.atomic() as conn:
            if conversation is None:
                await conn.execute("DELETE FROM chat_conversations WHERE chat_id = ?", (chat_id,))
            else:
                await conn.execute(
                    "INSERT INTO chat_conversations (chat_id, conversation, updated_at)"
                    " VALUES (?, ?, ?) ON CONFLICT (chat_id) DO UPDATE SET"
                    " conversation = excluded.conversation, updated_at = excluded.updated_at",
                    (chat_id, conversation, time.time()),
                )
