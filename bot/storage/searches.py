"""Saved searches: the query behind a result button's short key, kept across restarts."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections import OrderedDict

from bot.storage.database import Database
from bot.text import clean_input

log = logging.getLogger(__name__)


def search_key(query: str) -> str:
    """Short stable key for a query, small enough for Telegram's 64-byte callback data."""
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()[:12]


class SavedSearches:
    MEMORY = 10_000  # recent searches also kept in memory

    def __init__(self, db: Database) -> None:
        self.db = db
        self._recent: OrderedDict[str, str] = OrderedDict()

    async def remember(self, query: str) -> str:
        """Key under which a query can be found again after a button press, even after a restart."""
        key = search_key(query)
        self._recent[key] = query
        self._recent.move_to_end(key)
        while len(self._recent) > self.MEMORY:
            self._recent.popitem(last=False)
        try:
            async with self.db.atomic() as conn:
                await conn.execute(
                    "INSERT OR REPLACE INTO searches (key, query, ts) VALUES (?, ?, ?)",
                    (key, clean_input(query[:1000]), time.time()),
                )
        except sqlite3.Error as exc:  # the in-memory copy still serves this session
            log.warning("could not save search %s: %s", key, exc)
        return key

    async def find(self, key: str) -> str | None:
        if key in self._recent:
            return self._recent[key]
        try:
            async with self.db.execute("SELECT query FROM searches WHERE key = ?", (key,)) as cur:
                row = await cur.fetchone()
        except sqlite3.Error as exc:
            log.warning("could not read search %s: %s", key, exc)
            return None
        return str(row[0]) if row else None

    def drop(self, keys: list[str]) -> None:
        """Forget these keys in memory too (the rows were deleted: /forget)."""
        for key in keys:
            self._recent.pop(key, None)

    async def forget_old(self, days: int = 90) -> None:
        """Buttons older than this may say "expired"; the table must not grow for ever."""
        try:
            async with self.db.atomic() as conn:
                await conn.execute(
                    "DELETE FROM searches WHERE ts < ?", (time.time() - days * 86400,)
                )
        except sqlite3.Error as exc:
            log.warning("could not prune saved searches: %s", exc)
