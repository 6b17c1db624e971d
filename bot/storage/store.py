"""Store: the bot's storage in one object (database, query log, saved searches, each chat's
chosen conversation).

Create with `await Store.open(path)`; `store.db` is the shared Database that
the subscription store (bot.storage.subscriptions) uses too.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from bot.storage.chats import ChatConversations
from bot.storage.database import Database
from bot.storage.opening import StorageError
from bot.storage.querylog import QueryLog, QueryRecord, Stats
from bot.storage.searches import SavedSearches


class Store:
    def __init__(self, db: Database, querylog: QueryLog) -> None:
        self.db = db
        self.querylog = querylog
        self.searches = SavedSearches(db)
        self.chats = ChatConversations(db)

    @classmethod
    async def open(cls, path: Path | str, raw_user_ids: bool = False) -> Store:
        db = await Database.open(path)
        querylog: QueryLog | None = None
        try:
            querylog = await QueryLog.open(db, raw_user_ids)
            store = cls(db, querylog)
            await store.searches.forget_old()
        except BaseException as exc:
            if querylog is not None:
                await querylog.close()
            with contextlib.suppress(Exception):
                await db.close()
            if isinstance(exc, sqlite3.Error):
                raise StorageError(f"cannot be used: {exc}") from None
            raise
        return store

    def log_query(self, record: QueryRecord) -> None:
        """Queue a log row; never blocks and never raises."""
        self.querylog.log_query(record)

    async def flush(self) -> None:
        await self.querylog.flush()

    async def stats(self, now: float, day_start: float, top: int = 10) -> Stats:
        return await self.querylog.stats(now, day_start, top)

    async def queries_per_day(self, since: float) -> dict[int, int]:
        return await self.querylog.per_day(since)

    async def remember_search(self, query: str) -> str:
        return await self.searches.remember(query)

    async def find_search(self, key: str) -> str | None:
        return await self.searches.find(key)

    async def close(self) -> None:
        """Drain the query log, then close the database."""
        try:
            await self.querylog.close()
        finally:
            await self.db.close()
