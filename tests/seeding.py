"""Rows written straight into a quotebot database, for tests and benchmarks that need
many of them at once (a thousand subscriptions through /subscribe would take minutes)."""

from __future__ import annotations

import time
from pathlib import Path

from bot.storage import Store


async def subscribe_all_due(db_path: Path, chat_ids: list[int]) -> None:
    """Every chat subscribed to the daily quote at 08:00 Asia/Shanghai, all due now (a
    round starts as soon as the bot does); seeds 1000, 1001, … in order."""
    store = await Store.open(db_path)
    due = time.time() - 1
    try:
        async with store.db.atomic() as conn:
            await conn.executemany(
                "INSERT INTO subscriptions (chat_id, chat_type, lang, local_time, zone, next_at,"
                " seed, created_at, updated_at)"
                " VALUES (?, 'private', 'zh', '08:00', 'Asia/Shanghai', ?, ?, ?, ?)",
                [(c, due, 1000 + n, due, due) for n, c in enumerate(chat_ids)],
            )
    finally:
        await store.close()
