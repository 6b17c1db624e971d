"""The schema, versioned by PRAGMA user_version, with forward-only migrations."""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import aiosqlite

from bot.errors import SchemaTooNew

log = logging.getLogger(__name__)

MIGRATIONS: list[str] = [
    # v1: query log, saved searches (for result buttons), key/value settings.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE queries (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        chat_id INTEGER,
        chat_type TEXT,
        user_ref TEXT,
        kind TEXT NOT NULL,
        query TEXT NOT NULL,
        top_passage TEXT,
        top_score REAL,
        n_results INTEGER NOT NULL,
        latency_ms REAL NOT NULL
    );
    CREATE INDEX queries_ts ON queries (ts);
    CREATE INDEX queries_miss ON queries (n_results, ts);
    CREATE TABLE searches (key TEXT PRIMARY KEY, query TEXT NOT NULL, ts REAL NOT NULL);
    """,
    # v2: daily-quote subscriptions, found by one index on the next send time,
    # and one delivery row per chat and local day, which makes a send idempotent.
    """
    CREATE TABLE subscriptions (
        chat_id INTEGER PRIMARY KEY,
        chat_type TEXT NOT NULL,
        lang TEXT NOT NULL,
        local_time TEXT NOT NULL,
        zone TEXT NOT NULL,
        next_at REAL NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        inactive_reason TEXT,
        delivered INTEGER NOT NULL DEFAULT 0,
        seed INTEGER NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX subscriptions_due ON subscriptions (next_at) WHERE active = 1;
    CREATE TABLE deliveries (
        chat_id INTEGER NOT NULL,
        day TEXT NOT NULL,
        status TEXT NOT NULL,
        passage TEXT,
        at REAL NOT NULL,
        PRIMARY KEY (chat_id, day)
    );
    """,
    # v3: quote cards. Telegram's file_id of each uploaded card (reused instead of
    # uploading again), and a subscription's wish for its daily quote as a card.
    """
    CREATE TABLE card_files (
        passage TEXT NOT NULL,
        style TEXT NOT NULL,
        font_version TEXT NOT NULL,
        file_id TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (passage, style, font_version)
    );
    ALTER TABLE subscriptions ADD COLUMN card INTEGER NOT NULL DEFAULT 0;
    """,
    # v4: several conversations. A chat's chosen conversation (/conversation #id), which
    # its searches, random quotes and daily quote come from; no row: all of them. Kept
    # apart from subscriptions: a chat may choose one without subscribing.
    """
    CREATE TABLE chat_conversations (
        chat_id INTEGER PRIMARY KEY,
        conversation TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
    # v5: retention and /forget. Query-log rows older than QUOTEBOT_LOG_DAYS (or forgotten)
    # are deleted; their counts are added here first, per UTC day, so /stats stays correct.
    # No text, chat or user: a day, how many queries, how many found nothing.
    """
    CREATE TABLE query_days (
        day INTEGER PRIMARY KEY,
        queries INTEGER NOT NULL,
        misses INTEGER NOT NULL
    );
    """,
    # v6: a saved search as columns, the conversation it was narrowed to (NULL: all) and
    # its words, instead of one "#id words" string parsed again on every button press.
    # Old rows are split once here: a leading `#` and letters and digits up to the first
    # space are the conversation (the bot wrote ids that way). Keys are kept, so the
    # buttons already sent still work.
    """
    ALTER TABLE searches RENAME TO searches_v5;
    CREATE TABLE searches (
        key TEXT PRIMARY KEY,
        conversation TEXT,
        text TEXT NOT NULL,
        ts REAL NOT NULL
    );
    INSERT INTO searches (key, conversation, text, ts)
    SELECT key,
        CASE WHEN narrowed THEN substr(query, 2, instr(query, ' ') - 2) END,
        CASE WHEN narrowed THEN substr(query, instr(query, ' ') + 1) ELSE query END,
        ts
    FROM (
        SELECT key, query, ts,
            query GLOB '#?*' AND instr(query, ' ') BETWEEN 3 AND 34
            AND substr(query, 2, instr(query, ' ') - 2) NOT GLOB '*[^A-Za-z0-9]*' AS narrowed
        FROM searches_v5
    );
    DROP TABLE searches_v5;
    """,
]


class Migratable(Protocol):
    """What migrating needs of a database (bot.storage.database.Database has it): a read,
    and a write transaction. A protocol, so this module does not import the one that
    imports it."""

    def execute(self, sql: str, parameters: Any = ()) -> Any: ...

    def atomic(self) -> AbstractAsyncContextManager[aiosqlite.Connection]: ...


async def migrate(db: Migratable) -> int:
    """Bring the schema to the newest version, one transaction per step; returns it."""
    async with db.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    version = int(row[0]) if row else 0
    check_schema(version)
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        async with db.atomic() as conn:
            for statement in script.split(";"):
                if statement.strip():
                    await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {number}")
        log.info("database migrated to schema v%d", number)
    return len(MIGRATIONS)


def check_schema(version: int) -> None:
    """The one schema-version check (opening, migrating, backup and restore, doctor):
    SchemaTooNew when a newer quotebot wrote the database. An older one is fine:
    opening migrates it."""
    if version > len(MIGRATIONS):
        raise SchemaTooNew(version, len(MIGRATIONS))
