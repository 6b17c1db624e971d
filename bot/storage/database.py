"""The one SQLite connection and its transaction scope.

aiosqlite runs the connection on its own thread; WAL mode lets readers go on
while the writer writes. The connection is in autocommit mode and every
change goes through `atomic()`: an asyncio.Lock admits one writing coroutine
at a time, and its statements run in one BEGIN IMMEDIATE … COMMIT (ROLLBACK
on any error or cancellation). Without it, the stores sharing this connection
(query log, saved searches, subscriptions) and the daily workers would commit
each other's half-finished multi-statement changes.

A block may call code that opens its own `atomic()` block (one store's change
inside another's): the inner block is a SAVEPOINT inside the outer
transaction, rolled back alone if it fails. A task started inside a block
and awaited there cannot take the lock its parent holds; its `atomic()`
raises NestedTransactionError instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import aiosqlite

from bot.errors import StorageError
from bot.storage.migrations import migrate

log = logging.getLogger(__name__)

PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=5000")

# The databases whose atomic() block the running code is inside. A context variable,
# so a task started inside a block inherits it: that is how atomic() tells a nested
# call of the block's own task (a SAVEPOINT) from one of a task it started (refused).
_INSIDE: ContextVar[tuple[Database, ...]] = ContextVar("quotebot_atomic_blocks", default=())


class NestedTransactionError(RuntimeError):
    """atomic() called by a task started inside another atomic() block of the same
    database: it would wait for the lock its parent holds, forever. A bug, not an
    operator's problem, so not a StorageError."""


class Database:
    """The shared connection; open with `await Database.open(path)` (migrates the schema)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self._write_lock = asyncio.Lock()
        self._owner: asyncio.Task | None = None  # the task whose block holds the lock
        self._savepoints = 0  # how deep the owner's nested blocks are

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
            with contextlib.suppress(Exception):  # the error that stopped the opening matters
                await conn.close()
            conn.stop()  # the thread ends even if close() failed
            if isinstance(exc, sqlite3.Error):
                raise StorageError(f"cannot be used: {exc}") from None
            raise  # a StorageError (SchemaTooNew) says what is wrong as it is
        return db

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction: all of the block's statements are committed, or none.

        Inside another block of the same task it is a SAVEPOINT (see the module's
        docstring); in a task started inside a block, NestedTransactionError.
        """
        if self in _INSIDE.get():
            if asyncio.current_task() is not self._owner:
                raise NestedTransactionError(
                    "atomic() in a task started inside another atomic() block of the same "
                    "database: it would wait forever for the lock its parent holds"
                )
            async with self._savepoint() as conn:
                yield conn
            return
        async with self._write_lock:
            self._owner = asyncio.current_task()
            inside = _INSIDE.set((*_INSIDE.get(), self))
            try:
                async with self._transaction() as conn:
                    yield conn
            finally:
                _INSIDE.reset(inside)
                self._owner = None

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error; the caller holds the lock."""
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

    @asynccontextmanager
    async def _savepoint(self) -> AsyncIterator[aiosqlite.Connection]:
        """A nested block: its statements are undone alone if it fails (the error goes
        on to the outer block, which commits or rolls back everything as usual)."""
        self._savepoints += 1
        name = f"atomic_{self._savepoints}"
        try:
            await self._finish(f"SAVEPOINT {name}")
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    await self._finish(f"ROLLBACK TO {name}")
                    await self._finish(f"RELEASE {name}")
                raise
            await self._finish(f"RELEASE {name}")
        finally:
            self._savepoints -= 1

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
            with contextlib.suppress(Exception):  # the caller was cancelled: that is what it sees
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
