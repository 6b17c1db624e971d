"""The bot's SQLite database: query log, saved searches, settings of its own.

One connection (aiosqlite runs it on its own thread), WAL mode so readers
never wait for the writer, and a schema versioned by PRAGMA user_version
with forward-only migrations. Query logging goes through an in-memory queue
drained by a background task: a slow or full disk delays the log, never a
reply, and `close()` drains the queue so nothing is lost on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import secrets
import sqlite3
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

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
]


@dataclass(frozen=True, slots=True)
class QueryRecord:
    chat_id: int | None
    chat_type: str | None
    user_id: int | None
    kind: str  # "message", "quote", "topic", "inline", "random", ...
    query: str
    top_passage: str | None
    top_score: float | None
    n_results: int
    latency_ms: float
    ts: float | None = None


@dataclass(frozen=True)
class Stats:
    today: int
    total: int
    top_queries: list[tuple[str, int]]
    misses: list[tuple[str, int]]


def search_key(query: str) -> str:
    """Short stable key for a query, small enough for Telegram's 64-byte callback data."""
    return hashlib.sha256(query.encode("utf-8")).hexdigest()[:12]


class Store:
    """Async access to the database; create with `await Store.open(path)`."""

    QUEUE_LIMIT = 100_000  # pending log rows kept in memory while the disk is failing

    def __init__(self, db: aiosqlite.Connection, raw_user_ids: bool) -> None:
        self.db = db
        self.raw_user_ids = raw_user_ids
        self._salt = ""
        self._pending: asyncio.Queue[QueryRecord] = asyncio.Queue(self.QUEUE_LIMIT)
        self._writer: asyncio.Task[None] | None = None
        self._inflight: list[QueryRecord] = []
        self._searches: OrderedDict[str, str] = OrderedDict()
        self.dropped = 0

    @classmethod
    async def open(cls, path: Path | str, raw_user_ids: bool = False) -> Store:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path))
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA busy_timeout=5000")
            await migrate(db)
        except BaseException:
            await db.close()
            raise
        store = cls(db, raw_user_ids)
        store._salt = await store._get_or_create_salt()
        await store._forget_old_searches()
        store._writer = asyncio.create_task(store._drain_forever(), name="query-log-writer")
        return store

    async def _get_or_create_salt(self) -> str:
        async with self.db.execute("SELECT value FROM meta WHERE key='user_salt'") as cur:
            row = await cur.fetchone()
        if row:
            return str(row[0])
        salt = secrets.token_hex(16)
        await self.db.execute("INSERT INTO meta (key, value) VALUES ('user_salt', ?)", (salt,))
        await self.db.commit()
        return salt

    def user_ref(self, user_id: int | None) -> str | None:
        """What the log keeps of a user: a salted hash unless raw ids were configured."""
        if user_id is None:
            return None
        if self.raw_user_ids:
            return str(user_id)
        return hashlib.sha256(f"{self._salt}:{user_id}".encode()).hexdigest()[:16]

    # -- query log ------------------------------------------------------------
    def log_query(self, record: QueryRecord) -> None:
        """Queue a log row; never blocks and never raises."""
        if record.ts is None:
            record = dataclasses.replace(record, ts=time.time())
        try:
            self._pending.put_nowait(record)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped in (1, 100, 10_000):
                log.error("query log queue full; %d rows dropped so far", self.dropped)

    async def _drain_forever(self) -> None:
        while True:
            first = await self._pending.get()
            batch = [first]
            while not self._pending.empty() and len(batch) < 500:
                batch.append(self._pending.get_nowait())
            self._inflight = batch  # written again by close() if cancelled mid-write
            await self._write_with_retry(batch)
            self._inflight = []

    async def _write_with_retry(self, batch: list[QueryRecord]) -> None:
        delay = 0.5
        while True:
            try:
                await self._write(batch)
                return
            except sqlite3.Error as exc:  # disk full, locked, I/O error: keep the rows, retry
                log.error("query log write failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _write(self, batch: list[QueryRecord]) -> None:
        rows = [
            (
                r.ts,
                r.chat_id,
                r.chat_type,
                self.user_ref(r.user_id),
                r.kind,
                r.query[:4096],
                r.top_passage,
                r.top_score,
                r.n_results,
                round(r.latency_ms, 3),
            )
            for r in batch
        ]
        await self.db.executemany(
            "INSERT INTO queries (ts, chat_id, chat_type, user_ref, kind, query, top_passage,"
            " top_score, n_results, latency_ms) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        await self.db.commit()

    async def flush(self) -> None:
        """Write every queued row now (used on shutdown and by tests)."""
        batch: list[QueryRecord] = []
        if self._writer is None:  # the writer's half-written batch is ours once it stopped
            batch, self._inflight = self._inflight, []
        while not self._pending.empty():
            batch.append(self._pending.get_nowait())
        if batch:
            await self._write(batch)

    async def stats(self, now: float, day_start: float, top: int = 10) -> Stats:
        await self.flush()

        async def scalar(sql: str, *args: object) -> int:
            async with self.db.execute(sql, args) as cur:
                row = await cur.fetchone()
            return int(row[0]) if row else 0

        async def grouped(where: str) -> list[tuple[str, int]]:
            sql = (
                f"SELECT query, COUNT(*) AS n FROM queries WHERE {where} "
                "GROUP BY query ORDER BY n DESC, query LIMIT ?"
            )
            async with self.db.execute(sql, (top,)) as cur:
                return [(str(q), int(n)) for q, n in await cur.fetchall()]

        return Stats(
            today=await scalar("SELECT COUNT(*) FROM queries WHERE ts >= ?", day_start),
            total=await scalar("SELECT COUNT(*) FROM queries"),
            top_queries=await grouped("query != ''"),
            misses=await grouped("n_results = 0 AND query != ''"),
        )

    # -- saved searches (for "next result" buttons) ----------------------------
    async def remember_search(self, query: str) -> str:
        """Key under which a query can be found again after a button press, even after a restart."""
        key = search_key(query)
        self._searches[key] = query
        self._searches.move_to_end(key)
        while len(self._searches) > 10_000:
            self._searches.popitem(last=False)
        try:
            await self.db.execute(
                "INSERT OR REPLACE INTO searches (key, query, ts) VALUES (?, ?, ?)",
                (key, query[:1000], time.time()),
            )
            await self.db.commit()
        except sqlite3.Error as exc:  # the in-memory copy still serves this session
            log.warning("could not save search %s: %s", key, exc)
        return key

    async def _forget_old_searches(self, days: int = 90) -> None:
        """Buttons older than this may say "expired"; the table must not grow for ever."""
        try:
            await self.db.execute(
                "DELETE FROM searches WHERE ts < ?", (time.time() - days * 86400,)
            )
            await self.db.commit()
        except sqlite3.Error as exc:
            log.warning("could not prune saved searches: %s", exc)

    async def find_search(self, key: str) -> str | None:
        if key in self._searches:
            return self._searches[key]
        try:
            async with self.db.execute("SELECT query FROM searches WHERE key = ?", (key,)) as cur:
                row = await cur.fetchone()
        except sqlite3.Error as exc:
            log.warning("could not read search %s: %s", key, exc)
            return None
        return str(row[0]) if row else None

    async def close(self) -> None:
        """Drain the log queue, stop the writer, close the database."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        try:
            await self.flush()
        except sqlite3.Error as exc:
            log.error("query log: %d rows could not be written at shutdown: %s", self.pending, exc)
        finally:
            await self.db.close()

    @property
    def pending(self) -> int:
        return self._pending.qsize() + len(self._inflight)


async def migrate(db: aiosqlite.Connection) -> int:
    """Bring the schema to the newest version; returns it."""
    async with db.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    version = int(row[0]) if row else 0
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema v{version} is newer than this quotebot (v{len(MIGRATIONS)})"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        await db.executescript(f"BEGIN; {script} PRAGMA user_version = {number}; COMMIT;")
        log.info("database migrated to schema v%d", number)
    return len(MIGRATIONS)
