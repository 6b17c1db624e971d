"""`quotebot backup` and `quotebot restore`.

The process test takes a backup of a running `quotebot run` in the middle of a
daily round (200 chats due, sends slow to answer, users querying meanwhile),
restores it after the bot stopped, and checks that everything recorded before
the backup started is in the restored database. The others check what a
restore refuses, and that a refused restore leaves the database as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.storage import Store, hold
from bot.storage.migrations import MIGRATIONS
from tests.emulator import BotApiEmulator
from tests.test_delivery_process import SUBSCRIBERS, _mid_round
from tests.test_run_process import (  # noqa: F401  (fixtures)
    BOT_USERNAME,
    TOKEN,
    StartBot,
    _clean_env,
    cache_dir,
    start_bot,
)

pytestmark = pytest.mark.timeout(180)


def quotebot(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=_clean_env(QUOTEBOT_DB=str(db_path)),
        cwd=db_path.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def quotebot_async(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The same, off the event loop: the emulator keeps answering the bot meanwhile."""
    return await asyncio.to_thread(quotebot, db_path, *args)


def rows(db_path: Path, sql: str) -> set[tuple]:
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        return set(db.execute(sql).fetchall())


DELIVERED = "SELECT chat_id, day, passage FROM deliveries WHERE status = 'sent'"
QUERIES = "SELECT id, ts, query FROM queries"


async def test_backup_during_a_round_under_load_restores_everything_recorded_before_it(
    start_bot: StartBot,  # noqa: F811
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "live.db"
    backup_file = tmp_path / "backups" / "quotebot-backup.db"
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        chats, bot = await _mid_round(start_bot, emu, db_path)
        for n, chat in enumerate(chats[:20]):  # users query while the round goes on
            emu.send_text(chat, emu.world.users[chat.id], f"意识 {n}")
        await bot.poll_until(lambda: len(rows(db_path, QUERIES)) >= 5, 30, "queries logged")
        delivered_before = rows(db_path, DELIVERED)
        queries_before = rows(db_path, QUERIES)
        assert 30 <= len(delivered_before) < SUBSCRIBERS

        made = await quotebot_async(db_path, "backup", str(backup_file))
        assert made.returncode == 0, made.stderr
        assert f"backed up {db_path} to {backup_file}" in made.stdout
        assert bot.proc.poll() is None  # the bot ran on through the backup

        refused = await quotebot_async(db_path, "restore", str(backup_file))
        assert refused.returncode == 2
        assert "in use by another quotebot" in refused.stderr and "stop it first" in refused.stderr

        code, _took = await bot.stop(signal.SIGTERM)
        assert code == 0, bot.tail()
    delivered_at_stop = rows(db_path, DELIVERED)
    assert delivered_at_stop > delivered_before  # the round went on after the backup

    restored = quotebot(db_path, "restore", str(backup_file))
    assert restored.returncode == 0, restored.stderr
    assert "the previous database is kept as" in restored.stdout
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        assert db.execute("SELECT COUNT(*) FROM subscriptions").fetchone() == (SUBSCRIBERS,)
    assert rows(db_path, DELIVERED) >= delivered_before  # nothing recorded before it is lost
    assert rows(db_path, QUERIES) >= queries_before
    kept = db_path.with_name(db_path.name + ".before-restore")
    assert rows(kept, DELIVERED) == delivered_at_stop  # the replaced database, kept whole
    assert not db_path.with_name(db_path.name + "-wal").exists()


async def _db_with_rows(path: Path, n: int) -> None:
    store = await Store.open(path)
    try:
        async with store.db.atomic() as conn:
            await conn.executemany(
                "INSERT INTO searches (key, text, ts) VALUES (?, ?, 1)",
                [(f"k{i}", f"q{i}") for i in range(n)],
            )
    finally:
        await store.close()


def test_restore_refuses_a_bad_backup_and_leaves_the_database_alone(tmp_path: Path) -> None:
    db_path = tmp_path / "q.db"
    asyncio.run(_db_with_rows(db_path, 3))
    before = db_path.read_bytes()

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    damaged = tmp_path / "damaged.db"
    asyncio.run(_db_with_rows(damaged, 2000))
    data = bytearray(damaged.read_bytes())
    data[8192:12288] = b"\xff" * 4096  # a page of the table overwritten
    damaged.write_bytes(bytes(data))
    newer = tmp_path / "newer.db"
    asyncio.run(_db_with_rows(newer, 1))
    with contextlib.closing(sqlite3.connect(newer)) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    other = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(other)) as db:
        db.execute("CREATE TABLE t (x)")

    for bad, why in (
        (garbage, "not a usable SQLite database"),
        (damaged, "integrity_check"),
        (newer, "newer than this quotebot"),
        (other, "not a quotebot database"),
        (tmp_path / "missing.db", "is not a file"),
    ):
        result = quotebot(db_path, "restore", str(bad))
        assert result.returncode == 2, (bad, result.stdout)
        assert why in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert db_path.read_bytes() == before
    assert not db_path.with_name("q.db.before-restore").exists()


def test_restore_is_refused_while_the_database_is_held(tmp_path: Path) -> None:
    db_path = tmp_path / "q.db"
    asyncio.run(_db_with_rows(db_path, 3))
    good = tmp_path / "good.db"
    assert quotebot(db_path, "backup", str(good)).returncode == 0
    held = hold(db_path)  # as `quotebot run` holds it
    try:
        result = quotebot(db_path, "restore", str(good))
    finally:
        held.release()
    assert result.returncode == 2 and "in use by another quotebot" in result.stderr
    assert quotebot(db_path, "restore", str(good)).returncode == 0


def test_backup_of_a_missing_database_is_one_line(tmp_path: Path) -> None:
    result = quotebot(tmp_path / "none.db", "backup", str(tmp_path / "b.db"))
    assert result.returncode == 2
    assert result.stderr.strip().endswith("does not exist") and "Traceback" not in result.stderr
