"""Database.atomic(): one transaction per change, even with coroutines interleaving."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.storage import MIGRATIONS, Database


def rows(path: Path) -> list[tuple[str, str]]:
    return sqlite3.connect(path).execute("SELECT key, value FROM meta ORDER BY key").fetchall()


async def test_a_failing_change_is_rolled_back_and_the_interleaved_one_is_whole(
    db_path: Path,
) -> None:
    db = await Database.open(db_path)
    first_half_written = asyncio.Event()

    async def half_then_fail() -> None:
        async with db.atomic() as conn:
            await conn.execute("INSERT INTO meta (key, value) VALUES ('a1', 'half')")
            first_half_written.set()
            await asyncio.sleep(0.05)  # the other coroutine runs (and would commit) meanwhile
            raise RuntimeError("failed halfway")

    async def whole() -> None:
        await first_half_written.wait()
        async with db.atomic() as conn:
            await conn.execute("INSERT INTO meta (key, value) VALUES ('b1', 'whole')")
            await asyncio.sleep(0)
            await conn.execute("INSERT INTO meta (key, value) VALUES ('b2', 'whole')")

    failing = asyncio.create_task(half_then_fail())
    committing = asyncio.create_task(whole())
    with pytest.raises(RuntimeError, match="halfway"):
        await failing
    await committing
    await db.close()
    assert [r for r in rows(db_path) if r[0] != "user_salt"] == [("b1", "whole"), ("b2", "whole")]


async def test_cancelled_change_is_rolled_back(db_path: Path) -> None:
    db = await Database.open(db_path)
    started = asyncio.Event()

    async def slow() -> None:
        async with db.atomic() as conn:
            await conn.execute("INSERT INTO meta (key, value) VALUES ('x', 'never')")
            started.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(slow())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.atomic() as conn:  # the lock was released and no transaction is left open
        await conn.execute("INSERT INTO meta (key, value) VALUES ('y', 'kept')")
    await db.close()
    assert rows(db_path) == [("y", "kept")]


async def test_migration_is_one_transaction_per_version(db_path: Path) -> None:
    db = await Database.open(db_path)
    await db.close()
    con = sqlite3.connect(db_path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"meta", "queries", "searches", "subscriptions", "deliveries"} <= tables
