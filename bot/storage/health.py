"""Whether the database answers, for /healthz and `quotebot doctor`.

`probe` opens QUOTEBOT_DB afresh, read-only, and reads its schema and the query
log's first page: a file that was moved away, deleted, replaced by garbage,
made unreadable or whose disk failed shows here, even while the bot's own
long-open connection still reads its cached pages.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path


def probe(path: Path, timeout: float = 2.0) -> str | None:
    """None if the database can be opened and read now; else one line saying why not."""
    if str(path) == ":memory:":
        return None
    if not path.exists():
        return f"{path} does not exist"
    try:
        with contextlib.closing(
            sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
        ) as conn:
            conn.execute("PRAGMA user_version").fetchone()
            conn.execute("SELECT 1 FROM queries LIMIT 1").fetchall()
    except sqlite3.Error as exc:
        return f"{path} cannot be read: {exc}"
    return None
