"""What the bot keeps about one person, deleted on request, and the query log's retention.

`Privacy.forget(user_id)` (/forget) deletes in one transaction everything the
database holds about a person:

- their query-log rows: those logged under their user reference (the salted
  hash, or the raw id when QUOTEBOT_LOG_RAW_USER_IDS is on; both forms are
  matched, the setting may have changed) and every row of their private chat;
- the saved searches behind result buttons whose words are one of those queries
  (a saved search is keyed by its words, shared with anyone who searched the
  same words: their buttons on those words then say "expired");
- their private chat's daily-quote subscription with its delivery rows, and
  their private chat's chosen conversation.

A group's subscription and conversation belong to the group (its
administrators set them) and are kept. The deleted rows are returned as a
`Forgotten`, which the caller may hold in memory for the undo button and hand
back to `restore`; nothing of them is written anywhere else.

Before query-log rows are deleted (forgotten, or older than the retention,
`prune`), their counts are added to `query_days` (UTC day, queries, misses:
no text, chat or user), so /stats's totals and per-day chart stay correct.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass, field

import aiosqlite

from bot.storage.database import Database
from bot.storage.querylog import QueryLog

log = logging.getLogger(__name__)

DAY = 86400
_QUERY_COLUMNS = (
    "ts, chat_id, chat_type, user_ref, kind, query, top_passage, top_score, n_results, latency_ms"
)
_SUBSCRIPTION_COLUMNS = (
    "chat_id, chat_type, lang, local_time, zone, next_at, active, inactive_reason, delivered,"
    " seed, failures, created_at, updated_at, card"
)
_DELIVERY_COLUMNS = "chat_id, day, status, passage, at"
_CHAT_COLUMNS = "chat_id, conversation, updated_at"
_SEARCH_COLUMNS = "key, conversation, text, ts"


@dataclass(frozen=True)
class Forgotten:
    """The rows one /forget deleted, as they were (kept in memory only, for the undo)."""

    user_id: int
    queries: list[tuple] = field(default_factory=list)
    searches: list[tuple] = field(default_factory=list)
    subscriptions: list[tuple] = field(default_factory=list)
    deliveries: list[tuple] = field(default_factory=list)
    chats: list[tuple] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Records deleted, as the user is told (delivery rows go with their subscription)."""
        return len(self.queries) + len(self.searches) + len(self.subscriptions) + len(self.chats)


async def _archive(conn: aiosqlite.Connection, where: str, args: tuple, sign: int = 1) -> None:
    """Add (sign 1) or take back (sign -1) the per-day counts of the query rows `where` selects."""
    await conn.execute(
        "INSERT INTO query_days (day, queries, misses)"
        " SELECT CAST(ts / 86400 AS INTEGER) AS d, ? * COUNT(*),"
        " ? * SUM(CASE WHEN n_results = 0 THEN 1 ELSE 0 END)"
        f" FROM queries WHERE {where} GROUP BY d"
        " ON CONFLICT (day) DO UPDATE SET queries = queries + excluded.queries,"
        " misses = misses + excluded.misses",
        (sign, sign, *args),
    )


async def _rows(conn: aiosqlite.Connection, sql: str, args: tuple) -> list[tuple]:
    async with conn.execute(sql, args) as cur:
        return [tuple(r) for r in await cur.fetchall()]


class Privacy:
    """/forget, its undo, and the retention prune, on the bot's shared Database."""

    def __init__(self, db: Database, querylog: QueryLog) -> None:
        self.db = db
        self.querylog = querylog

    async def forget(self, user_id: int) -> Forgotten:
        """Delete what the database keeps about this person (see the module docstring)."""
        try:  # rows still queued in memory are written first, so they are deleted too
            await self.querylog.flush()
        except sqlite3.Error as exc:
            log.error("query log: could not write queued rows before /forget: %s", exc)
        hashed, raw = self.querylog.hashed_ref(user_id), str(user_id)
        mine = "(user_ref IN (?, ?) OR (chat_type = 'private' AND chat_id = ?))"
        mine_args = (hashed, raw, user_id)
        private = "chat_id = ? AND chat_type = 'private'"
        async with self.db.atomic() as conn:
            queries = await _rows(
                conn, f"SELECT {_QUERY_COLUMNS} FROM queries WHERE {mine} ORDER BY id", mine_args
            )
            # A log row holds the words searched, without the `#id`; a saved search holds
            # them apart from its conversation. (A one-conversation hashtag such as
            # "#AI 安全" was saved before schema v6 as words and is now split: matched whole.)
            texts = sorted({str(q[5])[:1000] for q in queries})
            searches: list[tuple] = []
            for start in range(0, len(texts), 400):
                chunk = tuple(texts[start : start + 400])
                marks = ",".join("?" * len(chunk))
                where = (
                    f"text IN ({marks}) OR (conversation IS NOT NULL AND"
                    f" '#' || conversation || ' ' || text IN ({marks}))"
                )
                searches += await _rows(
                    conn, f"SELECT {_SEARCH_COLUMNS} FROM searches WHERE {where}", chunk + chunk
                )
                await conn.execute(f"DELETE FROM searches WHERE {where}", chunk + chunk)
            subscriptions = await _rows(
                conn,
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE {private}",
                (user_id,),
            )
            deliveries = []
            if subscriptions:
                deliveries = await _rows(
                    conn,
                    f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE chat_id = ?",
                    (user_id,),
                )
                await conn.execute("DELETE FROM deliveries WHERE chat_id = ?", (user_id,))
                await conn.execute(f"DELETE FROM subscriptions WHERE {private}", (user_id,))
            # A private chat's id is its user's id; a group's is negative, never one.
            chats = await _rows(
                conn,
                f"SELECT {_CHAT_COLUMNS} FROM chat_conversations WHERE chat_id = ? AND chat_id > 0",
                (user_id,),
            )
            await conn.execute(
                "DELETE FROM chat_conversations WHERE chat_id = ? AND chat_id > 0", (user_id,)
            )
            await _archive(conn, mine, mine_args)
            await conn.execute(f"DELETE FROM queries WHERE {mine}", mine_args)
        return Forgotten(user_id, queries, searches, subscriptions, deliveries, chats)

    async def restore(self, forgotten: Forgotten) -> None:
        """Undo a `forget`: the rows go back (what the person set again meanwhile is kept)."""
        async with self.db.atomic() as conn:
            await conn.executemany(
                f"INSERT INTO queries ({_QUERY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                forgotten.queries,
            )
            # The counts forget() archived are taken back: the rows count again.
            per_day: dict[int, list[int]] = {}
            for row in forgotten.queries:
                counts = per_day.setdefault(int(float(row[0]) // DAY), [0, 0])
                counts[0] += 1
                counts[1] += int(row[8]) == 0
            await conn.executemany(
                "UPDATE query_days SET queries = MAX(queries - ?, 0), misses = MAX(misses - ?, 0)"
                " WHERE day = ?",
                [(n, misses, day) for day, (n, misses) in per_day.items()],
            )
            await conn.execute("DELETE FROM query_days WHERE queries = 0")
            await conn.executemany(
                f"INSERT OR IGNORE INTO searches ({_SEARCH_COLUMNS}) VALUES (?,?,?,?)",
                forgotten.searches,
            )
            await conn.executemany(
                f"INSERT OR IGNORE INTO subscriptions ({_SUBSCRIPTION_COLUMNS})"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                forgotten.subscriptions,
            )
            await conn.executemany(
                f"INSERT OR IGNORE INTO deliveries ({_DELIVERY_COLUMNS}) VALUES (?,?,?,?,?)",
                forgotten.deliveries,
            )
            await conn.executemany(
                f"INSERT OR IGNORE INTO chat_conversations ({_CHAT_COLUMNS}) VALUES (?,?,?)",
                forgotten.chats,
            )

    async def prune(self, days: int, now: float | None = None) -> int:
        """Delete query-log rows older than `days` days (their counts archived first);
        returns how many were deleted."""
        cutoff = (time.time() if now is None else now) - days * DAY
        async with self.db.atomic() as conn:
            await _archive(conn, "ts < ?", (cutoff,))
            cur = await conn.execute("DELETE FROM queries WHERE ts < ?", (cutoff,))
        return int(cur.rowcount)
