"""Store: the bot's storage in one object, as sqlite-utils' `Database` is: the database,
the query log, saved searches, each chat's chosen conversation, daily-quote
subscriptions, uploaded card files, /forget and the query log's retention.

Create with `await Store.open(path)`; every part shares its one Database
(`store.db`), so their changes are serialised by its atomic().
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from pathlib import Path

from bot.errors import StorageError
from bot.storage.cardfiles import CardFileStore
from bot.storage.chats import ChatConversations
from bot.storage.database import Database
from bot.storage.privacy import Forgotten, Privacy
from bot.storage.querylog import QueryLog, QueryRecord, Stats
from bot.storage.searches import SavedSearch, SavedSearches
from bot.storage.subscriptions import SubscriptionStore

log = logging.getLogger(__name__)

DEFAULT_LOG_DAYS = 365  # QUOTEBOT_LOG_DAYS


class Store:
    def __init__(self, db: Database, querylog: QueryLog) -> None:
        self.db = db
        self.querylog = querylog
        self.searches = SavedSearches(db)
        self.chats = ChatConversations(db)
        self.subscriptions = SubscriptionStore(db)
        self.card_files = CardFileStore(db)
        self.privacy = Privacy(db, querylog)
        self._retention: asyncio.Task[None] | None = None

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
            with contextlib.suppress(Exception):  # the error that stopped the opening matters
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

    async def remember_search(self, text: str, conversation: str | None = None) -> str:
        return await self.searches.remember(text, conversation)

    async def find_search(self, key: str) -> SavedSearch | None:
        return await self.searches.find(key)

    def start_retention(self, days: int = DEFAULT_LOG_DAYS, every: float = 86400.0) -> None:
        """Prune query-log rows older than `days` days now, then every `every` seconds."""
        if self._retention is None:
            self._retention = asyncio.create_task(self._retain(days, every), name="retention")

    async def _retain(self, days: int, every: float) -> None:
        while True:
            try:
                await self.flush()
                pruned = await self.privacy.prune(days)
                if pruned:
                    log.info("query log: %d rows older than %d days deleted", pruned, days)
            except sqlite3.Error as exc:  # tried again at the next round
                log.error("query log: could not delete rows older than %d days: %s", days, exc)
            await asyncio.sleep(every)

    async def forget(self, user_id: int) -> Forgotten:
        """/forget: delete what the database keeps about this person (bot.storage.privacy)."""
        forgotten = await self.privacy.forget(user_id)
        self.searches.drop([str(row[0]) for row in forgotten.searches])
        return forgotten

    async def restore(self, forgotten: Forgotten) -> None:
        """Undo a /forget."""
        await self.privacy.restore(forgotten)

    async def close(self) -> None:
        """Stop the retention task, drain the query log, then close the database."""
        if self._retention is not None:
            self._retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retention
            self._retention = None
        try:
            await self.querylog.close()
        finally:
            await self.db.close()
