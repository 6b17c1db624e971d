"""The query log: schema, WAL, nothing lost on shutdown or while the disk fails."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.storage import MIGRATIONS, QueryRecord, SavedSearch, StorageError, Store, search_key


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


async def test_one_store_opens_every_part_on_one_database(db_path: Path) -> None:
    store = await Store.open(db_path)
    try:
        parts = (store.querylog, store.searches, store.chats, store.subscriptions)
        assert all(part.db is store.db for part in (*parts, store.card_files))
        await store.card_files.put("l367-1-0", "light", "v1", "file-1")
        assert await store.card_files.get("l367-1-0", "light", "v1") == "file-1"
        assert await store.subscriptions.get(42) is None
    finally:
        await store.close()


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
    assert await store.find_search(key) == SavedSearch(None, "开源")
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
        await conn.execute("INSERT INTO searches (key, text, ts) VALUES ('old', '旧的', 0)")
    await store.close()
    store = await Store.open(db_path)
    try:
        assert await store.find_search("old") is None
        assert await store.find_search(search_key("新的")) == SavedSearch(None, "新的")
    finally:
        await store.close()


class DiskFull:
    """Fault injection on the shared connection: the next `commits` COMMITs fail the way
    a full disk makes them fail, leaving the transaction open (the worst case)."""

    def __init__(self, db, commits: int) -> None:
        self.remaining = commits
        self.failed = 0
        self._execute = db.conn.execute
        db.conn.execute = self.execute

    def execute(self, sql, *args):
        if sql == "COMMIT" and self.remaining > 0:
            self.remaining -= 1
            self.failed += 1

            async def fail():
                raise sqlite3.OperationalError("database or disk is full")

            return fail()
        return self._execute(sql, *args)


async def test_disk_full_keeps_rows_in_memory_logs_an_error_and_loses_nothing(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = await Store.open(db_path)
    try:
        faults = DiskFull(store.db, commits=3)
        # A saved search fails first: its failed COMMIT must not leave the shared
        # connection inside a transaction that swallows every later write.
        key = await store.remember_search("人类反馈强化学习")
        assert await store.find_search(key) == SavedSearch(None, "人类反馈强化学习")  # memory
        for i in range(50):
            store.log_query(record(f"disk full {i}"))
        for _ in range(200):  # the writer retries with backoff (0.5 s, 1 s, ...)
            if count(db_path) == 50:
                break
            await asyncio.sleep(0.05)
        assert faults.failed == 3
        assert count(db_path) == 50
        errors = [r for r in caplog.records if r.levelname == "ERROR"]
        assert any("query log write failed" in r.getMessage() for r in errors)
        # The connection is healthy again: a new search is saved for real.
        key2 = await store.remember_search("意识")
        assert sqlite3.connect(db_path).execute(
            "SELECT text FROM searches WHERE key = ?", (key2,)
        ).fetchone() == ("意识",)
    finally:
        await store.close()


async def test_disk_full_at_shutdown_is_an_error_not_a_silent_loss(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = await Store.open(db_path)
    DiskFull(store.db, commits=1000)
    for i in range(5):
        store.log_query(record(f"q{i}"))
    await store.close()
    assert any(
        r.levelname == "ERROR" and "5 rows could not be written" in r.getMessage()
        for r in caplog.records
    )


@pytest.mark.parametrize(
    "text",
    [
        "RLHF\udcff",  # a terminal's undecodable byte (surrogateescape)
        "\ud83d 人类反馈",  # a lone surrogate from a JSON escape
        "a\x00b RLHF",
        "\u202eRLHF\u202c \u200f意识",
        "人" * 4096,
    ],
    ids=["surrogate-escape", "lone-surrogate", "nul", "rtl-marks", "4096-chars"],
)
async def test_any_text_a_user_can_send_is_stored_and_the_writer_survives(
    db_path: Path, text: str
) -> None:
    store = await Store.open(db_path)
    try:
        store.log_query(record(text))
        store.log_query(record("after it"))
        key = await store.remember_search(text)
        assert await store.find_search(key) == SavedSearch(None, text)
        await store.flush()
        stored = [q for (q,) in sqlite3.connect(db_path).execute("SELECT query FROM queries")]
        assert stored[-1] == "after it" and len(stored) == 2
        assert stored[0] == text.replace("\udcff", "\ufffd").replace("\ud83d", "\ufffd")
        assert store.querylog._writer is not None and not store.querylog._writer.done()
    finally:
        await store.close()


DISK_FULL_CHILD = """
import asyncio, logging, resource, sys
from bot.storage import Store
from bot.storage.querylog import QueryRecord

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)


async def main(path):
    store = await Store.open(path)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, hard))  # files stop at 256 KB
    for i in range(400):
        store.log_query(QueryRecord(1, "private", 2, "message", f"{i} " + "x" * 3000, None, None, 0, 1.0))
    await asyncio.sleep(2.0)
    print("kept", store.querylog.pending, flush=True)
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # space is freed
    for _ in range(400):
        if store.querylog.pending == 0:
            break
        await asyncio.sleep(0.05)
    await store.close()


asyncio.run(main(sys.argv[1]))
"""


def test_disk_full_for_real_with_a_file_size_limit(tmp_path: Path) -> None:
    """RLIMIT_FSIZE (`ulimit -f`) in a child process: SQLite meets a real "disk full"."""
    import resource
    import subprocess
    import sys

    if resource.getrlimit(resource.RLIMIT_FSIZE)[1] != resource.RLIM_INFINITY:
        pytest.skip("the file size limit is already capped here; cannot raise it back")
    db = tmp_path / "full.db"
    proc = subprocess.run(
        [sys.executable, "-c", DISK_FULL_CHILD, str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    kept = int(proc.stdout.split()[1])
    assert kept > 0, proc.stderr  # the writes failed meanwhile, and the rows waited in memory
    # EFBIG reaches SQLite as an I/O error ("disk I/O error"); a full disk as SQLITE_FULL.
    assert re.search(
        r"ERROR.*query log write failed \((disk I/O error|database or disk is full)\)", proc.stderr
    )
    assert "Traceback" not in proc.stderr
    assert count(db) == 400  # none lost once there was room again
