"""`quotebot backup FILE` and `quotebot restore FILE`.

A backup is taken with SQLite's online backup API (`sqlite3.Connection.backup`)
in one step: it reads one consistent snapshot of the database under a read
transaction, which in WAL mode never blocks the running bot's writer, and
everything committed before it started is in the copy. The copy is written
beside FILE, checked (`PRAGMA integrity_check`), switched out of WAL mode so it
is one self-contained file, flushed to disk, and renamed onto FILE: a reader
never sees half a backup.

A restore refuses while a quotebot holds the database (the same lock as
`quotebot run`, bot.storage.opening), checks the backup's integrity and schema
version, copies it beside QUOTEBOT_DB, keeps the current database as
`<QUOTEBOT_DB>.before-restore`, and renames the copy into place: the database
is either the old one or the restored one, never a mix. An older schema is
migrated by the next start, as any older database is.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bot.errors import SchemaTooNew, StorageError
from bot.storage.migrations import check_schema
from bot.storage.opening import _folder, lock

_COUNTED = ("queries", "subscriptions", "deliveries", "searches")


@dataclass(frozen=True)
class Summary:
    """What a database file holds, for the operator's one line."""

    path: Path
    schema: int
    size: int
    rows: dict[str, int]

    def line(self) -> str:
        counts = ", ".join(f"{n} {table}" for table, n in self.rows.items())
        size = f"{self.size / 1e6:.1f} MB" if self.size >= 1e6 else f"{self.size / 1e3:.0f} kB"
        return f"schema v{self.schema}, {size}, {counts}"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def inspect(path: Path) -> Summary:
    """Open `path` read-only and check it: integrity, a quotebot schema this version can use.

    StorageError (one line) if it is not a usable quotebot database.
    """
    if not path.is_file():
        raise StorageError(f"{path} is not a file")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        raise StorageError(f"{path} cannot be opened: {exc}") from None
    try:
        try:
            result = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
        except sqlite3.DatabaseError as exc:
            if "not a database" in str(exc):
                raise
            result = [str(exc)]  # a damaged file can stop the check itself
        if result != ["ok"]:
            raise StorageError(f"{path} fails integrity_check: {'; '.join(result)[:200]}")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        rows = {
            t: int(conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0])
            for t in _COUNTED
            if t in tables
        }
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"{path} is not a usable SQLite database: {exc}") from None
    finally:
        conn.close()
    if version < 1 or "queries" not in tables:
        raise StorageError(f"{path} is not a quotebot database (schema v{version})")
    try:
        check_schema(version)
    except SchemaTooNew as exc:
        raise StorageError(f"{path} {exc}") from None
    return Summary(path, version, path.stat().st_size, rows)


def backup(db_path: Path, target: Path) -> Summary:
    """Copy the database (live or not) to `target`, consistently; the copy's summary."""
    if not db_path.is_file():
        raise StorageError(f"QUOTEBOT_DB ({db_path}) does not exist")
    if target.resolve() == db_path.resolve():
        raise StorageError("the backup cannot be the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    try:
        source = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
        try:
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)  # pages=-1: one step, one snapshot
                copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            finally:
                copy.close()
        finally:
            source.close()
        summary = inspect(partial)
        _fsync(partial)
        os.replace(partial, target)
        _fsync(target.parent)
    except sqlite3.Error as exc:
        raise StorageError(f"backup failed: {exc}") from None
    except OSError as exc:
        raise StorageError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return Summary(target, summary.schema, summary.size, summary.rows)


def restore(backup_file: Path, db_path: Path) -> tuple[Summary, Path | None]:
    """Put `backup_file` in place of the database; (its summary, where the old one was kept).

    Refuses (StorageError) while a quotebot holds the database, or when the backup
    fails its checks; the database is then untouched.
    """
    try:
        _folder(db_path)
        held = lock(db_path)  # "is in use by another quotebot (pid N)" while one runs
    except StorageError as exc:
        raise StorageError(f"QUOTEBOT_DB ({db_path}) {exc}; stop it first") from None
    try:
        summary = inspect(backup_file)
        staged = db_path.with_name(f".{db_path.name}.restore-{os.getpid()}")
        kept: Path | None = None
        try:
            source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
            try:
                copy = sqlite3.connect(staged)
                try:
                    source.backup(copy)
                    copy.execute("PRAGMA journal_mode=DELETE")
                finally:
                    copy.close()
            finally:
                source.close()
            _fsync(staged)
            if db_path.exists():
                # Fold the current database's WAL into it, so that neither the copy kept
                # aside nor (worse) the restored file is ever read with a stale -wal.
                current = sqlite3.connect(db_path, timeout=5)
                try:
                    current.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    current.execute("PRAGMA journal_mode=DELETE")
                finally:
                    current.close()
                kept = db_path.with_name(db_path.name + ".before-restore")
                kept.unlink(missing_ok=True)
                try:
                    os.link(db_path, kept)
                except OSError:  # no hard links here: a copy
                    shutil.copy2(db_path, kept)
            for suffix in ("-wal", "-shm", "-journal"):
                db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
            os.replace(staged, db_path)
            _fsync(db_path.parent)
        except sqlite3.Error as exc:
            raise StorageError(f"restore failed, QUOTEBOT_DB is unchanged: {exc}") from None
        except OSError as exc:
            raise StorageError(
                f"restore failed, QUOTEBOT_DB is unchanged: {exc.strerror or exc}"
            ) from None
        finally:
            with contextlib.suppress(OSError):
                staged.unlink(missing_ok=True)
    finally:
        held.release()
    return Summary(db_path, summary.schema, db_path.stat().st_size, summary.rows), kept
