"""The query log: schema, WAL, nothing lost on shutdown or while the disk fails."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.storage import MIGRATIONS, QueryRecord, StorageError, Store, search_key


def record(query: str = "意识", n: int = 1) -> QueryRecord:
    return QueryRecord(
        42, "private", 7, "message", query, "l367-1-0" if n else None, 0.9 if n else None, n, 1.5
    )


def count(db: Path) -> int:
    return sqlite3.connect(db).execute("SELECT COUNT(*) FROM queries").fetchone()[0]


async def test_schema_is_versioned_and_wal(db_path: Path) -> None:
    store = await Store.open(db_path)
    await store.close()
    con = sqlite3.connect(db_path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # Opening again migrates nothing and keeps the salt.
    salt = con.execute("SELECT value FROM meta WHERE key='user_salt'").fetchone()[0]
    store = await Store.open(db_path)
    await store.close()
    assert (
        sqlite3.connect(db_path)
        .execute("SELECT value FROM meta WHERE key='user_salt'")
        .fetchone()[0]
        == salt
    )


async def test_newer_schema_is_refused(db_path: Path) -> None:
    con = sqlite3.connect(db_path)
    con.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    con.commit()
    with pytest.raises(StorageError, match="newer"):
        await Store.open(db_path)
    assert _sqlite_threads() == []  # closed: a thread left behind keeps the process alive


def _sqlite_threads() -> list[threading.Thread]:
    import aiosqlite

    return [
        t for t in threading.enumerate() if isinstance(t, aiosqlite.Connection) and t.is_alive()
    ]


@pytest.mark.parametrize("content", [b"garbage" * 3000, b"SQLite format 3\x00" + b"\xff" * 8000])
async def test_unreadable_database_is_a_storage_error_and_leaves_no_thread(
    db_path: Path, content: bytes
) -> None:
    db_path.write_bytes(content)
    with pytest.raises(StorageError):
        await Store.open(db_path)
    await asyncio.sleep(0.05)
    assert _sqlite_threads() == []


async def test_close_flushes_every_queued_row(db_path: Path) -> None:
    store = await Store.open(db_path)
    for i in range(2000):
        store.log_query(record(f"q{i}"))
    await store.close()
    assert count(db_path) == 2000


async def test_writes_retry_while_the_disk_fails(db_path: Path) -> None:
    store = await Store.open(db_path)
    async with store.db.atomic() as conn:
        await conn.execute(
            "CREATE TRIGGER fail BEFORE INSERT ON queries BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    store.log_query(record("while failing"))
    await asyncio.sleep(0.2)  # the writer tried and failed at least once
    assert count(db_path) == 0
    async with store.db.atomic() as conn:
        await conn.execute("DROP TRIGGER fail")
    for _ in range(50):
        if count(db_path):
            break
        await asyncio.sleep(0.1)
    await store.close()
    assert count(db_path) == 1


async def test_user_ids_are_salted_hashes_unless_configured(db_path: Path, tmp_path: Path) -> None:
    store = await Store.open(db_path)
    store.log_query(record())
    await store.close()
    ref = sqlite3.connect(db_path).execute("SELECT user_ref FROM queries").fetchone()[0]
    assert ref != "7" and ref[:1] * len(ref) != "7"
    raw = await Store.open(tmp_path / "raw.db", raw_user_ids=True)
    raw.log_query(record())
    await raw.close()
    assert (
        sqlite3.connect(tmp_path / "raw.db").execute("SELECT user_ref FROM queries").fetchone()[0]
        == "7"
    )


async def test_saved_searches(db_path: Path) -> None:
    store = await Store.open(db_path)
    key = await store.remember_search("开源")
    assert key == search_key("开源") and len(key) == 12
    assert await store.find_search(key) == "开源"
    assert await store.find_search("missing") is None
    await store.close()


async def test_stats(db_path: Path) -> None:
    store = await Store.open(db_path)
    for q, n in [("意识", 1), ("意识", 1), ("红烧肉", 0), ("", 1)]:
        store.log_query(record(q, n))
    stats = await store.stats(now=2e9, day_start=0)
    assert stats.total == 4 and stats.today == 4
    assert stats.top_queries[0] == ("意识", 2)
    assert stats.misses == [("红烧肉", 1)]
    await store.close()


async def test_old_saved_searches_are_pruned_at_open(db_path: Path) -> None:
    store = await Store.open(db_path)
    await store.remember_search("新的")
    async with store.db.atomic() as conn:
        await conn.execute("INSERT INTO searches (key, query, ts) VALUES ('old', '旧的', 0)")
    await store.close()
    store = await Store.open(db_path)
    try:
        assert await store.find_search("old") is None
        assert await store.find_search(search_key("新的")) == "新的"
    finally:
        await store.close()
