"""Database.atomic(): one transaction per change, even with coroutines interleaving."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.storage import MIGRATIONS, Database, NestedTransactionError


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


async def test_a_nested_block_is_a_savepoint_undone_alone(db_path: Path) -> None:
    db = await Database.open(db_path)
    async with db.atomic() as conn:
        await conn.execute("INSERT INTO meta (key, value) VALUES ('outer', '1')")
        async with db.atomic() as inner:  # same task: a SAVEPOINT, not a deadlock
            await inner.execute("INSERT INTO meta (key, value) VALUES ('inner', '1')")
        with pytest.raises(RuntimeError, match="inner failed"):
            async with db.atomic() as inner:
                await inner.execute("INSERT INTO meta (key, value) VALUES ('undone', '1')")
                raise RuntimeError("inner failed")
        await conn.execute("INSERT INTO meta (key, value) VALUES ('after', '1')")
    async with db.atomic() as conn:  # the lock was released
        await conn.execute("INSERT INTO meta (key, value) VALUES ('next', '1')")
    await db.close()
    keys = [k for k, _ in rows(db_path) if k != "user_salt"]
    assert keys == ["after", "inner", "next", "outer"]


async def test_a_failing_nested_block_fails_the_whole_transaction_unless_caught(
    db_path: Path,
) -> None:
    db = await Database.open(db_path)
    with pytest.raises(RuntimeError, match="inner failed"):
        async with db.atomic() as conn:
            await conn.execute("INSERT INTO meta (key, value) VALUES ('outer', '1')")
            async with db.atomic() as inner:
                await inner.execute("INSERT INTO meta (key, value) VALUES ('inner', '1')")
                raise RuntimeError("inner failed")
    await db.close()
    assert [k for k, _ in rows(db_path) if k != "user_salt"] == []


async def test_a_task_started_inside_a_block_is_refused_not_deadlocked(db_path: Path) -> None:
    db = await Database.open(db_path)

    async def child() -> None:
        async with db.atomic() as conn:
            await conn.execute("INSERT INTO meta (key, value) VALUES ('child', '1')")

    async with db.atomic() as conn:
        await conn.execute("INSERT INTO meta (key, value) VALUES ('parent', '1')")
        with pytest.raises(NestedTransactionError, match="wait forever"):
            await asyncio.wait_for(asyncio.create_task(child()), timeout=5)
    # A task started outside any block still waits its turn and commits.
    await asyncio.create_task(child())
    await db.close()
    assert [k for k, _ in rows(db_path) if k != "user_salt"] == ["child", "parent"]
