"""The one SQLite connection and its transaction scope.

aiosqlite runs the connection on its own thread; WAL mode lets readers go on
while the writer writes. The connection is in autocommit mode and every
change goes through `atomic()`: an asyncio.Lock admits one writing coroutine
at a time, and its statements run in one BEGIN IMMEDIATE … COMMIT (ROLLBACK
on any error or cancellation). Without it, the stores sharing this connection
(query log, saved searches, subscriptions) and the daily workers would commit
each other's half-finished multi-statement changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage.migrations import SchemaTooNew, migrate
from bot.storage.opening import StorageError

log = logging.getLogger(__name__)

PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=5000")


class Database:
    """The shared connection; open with `await Database.open(path)` (migrates the schema)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        """Connect and migrate; StorageError (one line) if the database cannot be used.

        On every failure the connection, and so aiosqlite's thread, is closed:
        a thread left running would keep the process from exiting.
        """
        try:
            if str(path) != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # autocommit: see atomic(); aiosqlite stops its thread if connecting fails
            conn = await aiosqlite.connect(str(path), isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot be opened: {exc}") from None
        db = cls(conn)
        try:
            for pragma in PRAGMAS:
                await conn.execute(pragma)
            await migrate(db)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await conn.close()
            conn.stop()  # the thread ends even if close() failed
            if isinstance(exc, sqlite3.Error | SchemaTooNew):
                raise StorageError(f"cannot be used: {exc}") from None
            raise
        return db

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction: all of the block's statements are committed, or none."""
        async with self._write_lock:
            if self.conn.in_transaction:  # never expected; heals rather than failing every write
                log.error("database: a transaction was left open; rolling it back")
                await self._rollback()
            try:
                await self._finish("BEGIN IMMEDIATE")
            except asyncio.CancelledError:
                await self._rollback()  # BEGIN may have run after all
                raise
            try:
                yield self.conn
            except BaseException:
                await self._rollback()
                raise
            try:
                await self._finish("COMMIT")
            except BaseException:
                # A failed COMMIT (disk full, I/O error) may leave the transaction open;
                # every later BEGIN on this shared connection would then fail, and other
                # writers' rows would be lost. End it here; the caller sees the error.
                await self._rollback()
                raise

    async def _finish(self, sql: str) -> None:
        """Run a statement to its end even if the caller is cancelled meanwhile.

        aiosqlite runs statements on its thread: a cancelled await does not stop
        one, so without this a BEGIN or COMMIT could land after its caller gave up,
        and the connection's transaction state would no longer be what atomic() thinks.
        """
        statement = asyncio.ensure_future(self.conn.execute(sql))
        try:
            await asyncio.shield(statement)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await statement
            raise

    async def _rollback(self) -> None:
        if self.conn.in_transaction:
            try:
                await self._finish("ROLLBACK")
            except sqlite3.Error as exc:
                log.error("database: rollback failed: %s", exc)

    def execute(self, sql: str, parameters: Iterable[Any] = ()):
        """A read (awaitable, or `async with` for a cursor). Writes go through atomic()."""
        return self.conn.execute(sql, tuple(parameters))

    async def close(self) -> None:
        try:
            await self.conn.close()
        finally:
            self.conn.stop()  # never leave aiosqlite's thread behind (it keeps the process alive)
