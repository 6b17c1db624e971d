"""Checks before the database is used: one process per database, and a clear error.

`hold(path)` is called once at start by `quotebot run` and `quotebot console`:
it takes an exclusive lock on `<path>.lock` for the life of the process (a
second bot on the same database would send every daily quote twice and fight
over getUpdates), then opens the file with the standard library's sqlite3 and
reads its schema. Every way this can fail (the folder is a file or read-only,
the file is a folder, garbage, corrupt, from a newer quotebot, or in use) is a
StorageError with one line of explanation, which the entry points print naming
QUOTEBOT_DB; nothing is left open, so the process can exit at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from pathlib import Path
from typing import IO

from bot.errors import StorageError
from bot.storage.migrations import check_schema

__all__ = ["DatabaseLock", "StorageError", "check", "hold", "lock"]


class DatabaseLock:
    """An exclusive flock on `<db>.lock`, held while this object lives (or until exit)."""

    def __init__(self, handle: IO[str] | None) -> None:
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def _folder(path: Path) -> None:
    parent = path.parent
    for folder in (parent, *parent.parents):
        if folder.exists():
            if not folder.is_dir():
                raise StorageError(f"cannot be created: {folder} is a file, not a folder")
            break
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot be created: folder {parent}: {exc.strerror}") from None
    if path.is_dir():
        raise StorageError("is a folder, not a database file")


def lock(path: Path) -> DatabaseLock:
    """Take the one-instance lock; StorageError if another process holds it."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the process)
    except OSError as exc:
        raise StorageError(
            f"is not writable: cannot create {lock_path.name} in its folder ({exc.strerror})"
        ) from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        who = f" (pid {holder})" if holder.isdigit() else ""
        raise StorageError(
            f"is in use by another quotebot{who}; one process per database"
        ) from None
    except OSError as exc:
        handle.close()
        raise StorageError(f"cannot lock {lock_path.name}: {exc.strerror}") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return DatabaseLock(handle)


def check(path: Path) -> None:
    """Open the database with sqlite3, read its schema and write nothing; StorageError if unusable."""
    try:
        conn = sqlite3.connect(path, timeout=5)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot be opened: {exc}") from None
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:  # touches each table's root page: a damaged file shows here
            conn.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchall()
        conn.execute("BEGIN IMMEDIATE")  # can we write (read-only file or folder)?
        conn.execute("ROLLBACK")
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        if "not a database" in text:
            raise StorageError("is not a SQLite database (a garbage or encrypted file?)") from None
        if "malformed" in text or "corrupt" in text:
            raise StorageError(f"is corrupt ({text}); restore a backup or move it away") from None
        if "readonly" in text or "read-only" in text or "unable to open" in text:
            raise StorageError(f"is not writable ({text}): check the file and its folder") from None
        raise StorageError(f"cannot be used: {text}") from None
    finally:
        conn.close()
    check_schema(version)


def hold(path: Path | str) -> DatabaseLock:
    """At start: the folder, the one-instance lock, then a read of the database."""
    if str(path) == ":memory:":
        return DatabaseLock(None)
    path = Path(path)
    _folder(path)
    held = lock(path)
    try:
        check(path)
    except BaseException:
        held.release()
        raise
    return held
