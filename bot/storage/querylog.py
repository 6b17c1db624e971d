"""The query log: every query queued in memory and written by one background task.

A slow or full disk delays the log, never a reply; failed writes are retried
with backoff, and `close()` drains the queue so nothing is lost on shutdown.
Users are logged as a salted hash unless raw ids were configured.
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
from dataclasses import dataclass

from bot.storage.database import Database
from bot.text import clean_input

log = logging.getLogger(__name__)


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


class QueryLog:
    """Create with `await QueryLog.open(db)`; it starts its writer task."""

    QUEUE_LIMIT = 100_000  # pending log rows kept in memory while the disk is failing

    def __init__(self, db: Database, raw_user_ids: bool = False, salt: str = "") -> None:
        self.db = db
        self.raw_user_ids = raw_user_ids
        self._salt = salt
        self._pending: asyncio.Queue[QueryRecord] = asyncio.Queue(self.QUEUE_LIMIT)
        self._writer: asyncio.Task[None] | None = None
        self._inflight: list[QueryRecord] = []
        self._write_task: asyncio.Future[None] | None = None  # the writer's write of _inflight
        self._written = asyncio.Event()  # set while the writer holds no unwritten batch
        self._written.set()
        self.dropped = 0

    @classmethod
    async def open(cls, db: Database, raw_user_ids: bool = False) -> QueryLog:
        querylog = cls(db, raw_user_ids, await _get_or_create_salt(db))
        querylog._writer = asyncio.create_task(querylog._drain_forever(), name="query-log-writer")
        return querylog

    def user_ref(self, user_id: int | None) -> str | None:
        """What the log keeps of a user: a salted hash unless raw ids were configured."""
        if user_id is None:
            return None
        if self.raw_user_ids:
            return str(user_id)
        return self.hashed_ref(user_id)

    def hashed_ref(self, user_id: int) -> str:
        """The salted hash of a user id, as logged unless raw ids were configured."""
        return hashlib.sha256(f"{self._salt}:{user_id}".encode()).hexdigest()[:16]

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
            self._inflight = batch  # written again by close() if cancelled before it was written
            self._write_task = None
            self._written.clear()
            try:
                await self._write_with_retry(batch)
            except Exception:  # the writer must outlive any one batch
                log.exception("query log: %d rows could not be written", len(batch))
                self.dropped += len(batch)
            self._inflight = []
            self._written.set()

    async def _write_with_retry(self, batch: list[QueryRecord]) -> None:
        """Keep the batch (in memory, bounded by QUEUE_LIMIT behind it) until it is written.

        A database error (disk full, read-only, I/O error, locked) is logged as an
        ERROR and retried with backoff; a row that can never be written (a bug) is
        dropped alone, with an ERROR, and the others are written.
        """
        delay = 0.5
        failed = False
        while True:
            try:
                # Shielded: a close() that cancels the writer waits for this write to end,
                # and knows whether the batch is in the database (never written twice).
                self._write_task = asyncio.ensure_future(self._write(batch))
                await asyncio.shield(self._write_task)
            except sqlite3.Error as exc:  # disk full, locked, I/O error: keep the rows, retry
                failed = True
                log.error(
                    "query log write failed (%s); %d rows kept in memory, retrying in %.1fs",
                    exc,
                    self.pending,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            except Exception:  # not the database: some row cannot be stored (a bug); find it
                log.exception(
                    "query log: a batch of %d rows failed; writing them one by one", len(batch)
                )
                batch = await self._write_each(batch)
                if batch:
                    continue  # a database error met on the way: retry what is left
            if failed:
                log.warning("query log writes resumed")
            return

    async def _write_each(self, batch: list[QueryRecord]) -> list[QueryRecord]:
        """Write rows singly, dropping any that raise something other than a database
        error; returns the rows still unwritten when a database error stops it."""
        for n, record in enumerate(batch):
            try:
                await self._write([record])
            except sqlite3.Error:
                return batch[n:]
            except Exception as exc:  # deliberate: this row can never be stored; the rest can
                self.dropped += 1
                log.error("query log: dropped a row that cannot be stored: %r", exc)
        return []

    def _rows(self, batch: list[QueryRecord]) -> list[tuple]:
        text = lambda value: None if value is None else clean_input(str(value))  # noqa: E731
        return [
            (
                r.ts,
                r.chat_id,
                text(r.chat_type),
                self.user_ref(r.user_id),
                text(r.kind),
                clean_input(r.query[:4096]),
                text(r.top_passage),
                r.top_score,
                r.n_results,
                round(r.latency_ms, 3),
            )
            for r in batch
        ]

    async def _write(self, batch: list[QueryRecord]) -> None:
        rows = self._rows(batch)
        async with self.db.atomic() as conn:
            await conn.executemany(
                "INSERT INTO queries (ts, chat_id, chat_type, user_ref, kind, query, top_passage,"
                " top_score, n_results, latency_ms) VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows,
            )

    async def flush(self) -> None:
        """Write every queued row now (used on shutdown and by stats).

        A batch the writer task is writing is waited for (a few seconds at most:
        while the disk fails the writer keeps retrying it on its own).
        """
        batch: list[QueryRecord] = []
        if self._writer is None:  # the writer's half-written batch is ours once it stopped
            batch, self._inflight = self._inflight, []
        while not self._pending.empty():
            batch.append(self._pending.get_nowait())
        if batch:
            try:
                await self._write(batch)
            except sqlite3.Error:
                for record in batch:  # not lost: back in the queue for the writer (or close)
                    self.log_query(record)
                raise
        if self._writer is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._written.wait(), timeout=5.0)

    async def stats(self, now: float, day_start: float, top: int = 10) -> Stats:
        try:
            await self.flush()
        except sqlite3.Error as exc:  # the rows wait in the queue; count what is written
            log.error("query log: could not write queued rows before /stats: %s", exc)

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
            today=await scalar("SELECT COUNT(*) FROM queries WHERE ts >= ?", day_start)
            + (
                await scalar(
                    "SELECT COALESCE(SUM(queries), 0) FROM query_days WHERE day >= ?",
                    int(day_start // 86400),
                )
                if day_start % 86400 == 0  # query_days counts UTC days
                else 0
            ),
            # Rows pruned or forgotten still count: query_days keeps their per-day counts.
            total=await scalar("SELECT COUNT(*) FROM queries")
            + await scalar("SELECT COALESCE(SUM(queries), 0) FROM query_days"),
            top_queries=await grouped("query != ''"),
            misses=await grouped("n_results = 0 AND query != ''"),
        )

    async def per_day(self, since: float, day_seconds: int = 86400) -> dict[int, int]:
        """Queries per day since `since`: {day number (ts // day_seconds): count}, the counts
        of pruned or forgotten rows (query_days, UTC days) included."""
        await self.flush()
        async with self.db.execute(
            "SELECT CAST(ts / ? AS INTEGER) AS day, COUNT(*) FROM queries WHERE ts >= ?"
            " GROUP BY day",
            (day_seconds, since),
        ) as cur:
            days = {int(day): int(n) for day, n in await cur.fetchall()}
        if day_seconds == 86400:
            async with self.db.execute(
                "SELECT day, queries FROM query_days WHERE day >= ?", (int(since // 86400),)
            ) as cur:
                for day, n in await cur.fetchall():
                    days[int(day)] = days.get(int(day), 0) + int(n)
        return days

    async def close(self) -> None:
        """Stop the writer and write what is still queued (the database stays open)."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
            task, self._write_task = self._write_task, None
            if task is not None:
                with contextlib.suppress(Exception):  # its outcome is read just below
                    await task  # a write in progress ends first
                if not task.cancelled() and task.exception() is None:
                    self._inflight = []  # that write succeeded: the batch is stored
        try:
            await self.flush()
        except sqlite3.Error as exc:
            log.error("query log: %d rows could not be written at shutdown: %s", self.pending, exc)

    @property
    def pending(self) -> int:
        return self._pending.qsize() + len(self._inflight)


async def _get_or_create_salt(db: Database) -> str:
    async with db.atomic() as conn:
        async with conn.execute("SELECT value FROM meta WHERE key='user_salt'") as cur:
            row = await cur.fetchone()
        if row:
            return str(row[0])
        salt = secrets.token_hex(16)
        await conn.execute("INSERT INTO meta (key, value) VALUES ('user_salt', ?)", (salt,))
    return salt
