"""Saved searches: the search behind a result button's short key, kept across restarts.

A saved search is its words and the conversation it was narrowed to (None: all),
stored as two columns (schema v6). The key is a hash of the form the bot saved
before v6, `#id words` (or the words alone), so buttons sent by an older bot
still find their search.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections import OrderedDict
from dataclasses import dataclass

from bot.storage.database import Database
from bot.text import clean_input

log = logging.getLogger(__name__)

MAX_TEXT = 1000  # characters of the words kept on disk (memory keeps them whole)


@dataclass(frozen=True, slots=True)
class SavedSearch:
    """What a result button replays: these words, in this conversation (None: all)."""

    conversation: str | None
    text: str


def search_key(text: str, conversation: str | None = None) -> str:
    """Short stable key for a search, small enough for Telegram's 64-byte callback data."""
    legacy = f"#{conversation} {text}" if conversation else text
    return hashlib.sha256(legacy.encode("utf-8", "surrogatepass")).hexdigest()[:12]


class SavedSearches:
    MEMORY = 10_000  # recent searches also kept in memory

    def __init__(self, db: Database) -> None:
        self.db = db
        self._recent: OrderedDict[str, SavedSearch] = OrderedDict()

    async def remember(self, text: str, conversation: str | None = None) -> str:
        """Key under which a search can be found again after a button press, even after a restart."""
        key = search_key(text, conversation)
        self._recent[key] = SavedSearch(conversation, text)
        self._recent.move_to_end(key)
        while len(self._recent) > self.MEMORY:
            self._recent.popitem(last=False)
        try:
            async with self.db.atomic() as conn:
                await conn.execute(
                    "INSERT OR REPLACE INTO searches (key, conversation, text, ts)"
                    " VALUES (?, ?, ?, ?)",
                    (key, conversation, clean_input(text[:MAX_TEXT]), time.time()),
                )
        except sqlite3.Error as exc:  # the in-memory copy still serves this session
            log.warning("could not save search %s: %s", key, exc)
        return key

    async def find(self, key: str) -> SavedSearch | None:
        if key in self._recent:
            return self._recent[key]
        try:
            async with self.db.execute(
                "SELECT conversation, text FROM searches WHERE key = ?", (key,)
            ) as cur:
                row = await cur.fetchone()
        except sqlite3.Error as exc:
            log.warning("could not read search %s: %s", key, exc)
            return None
        if row is None:
            return None
        return SavedSearch(None if row[0] is None else str(row[0]), str(row[1]))

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
