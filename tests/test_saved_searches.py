"""Saved searches as columns (schema v6): old "#id words" rows are split once by the
migration and keep their keys, so buttons an older bot sent still replay their search."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from bot.storage import MIGRATIONS, SavedSearch, Store, search_key


def old_key(saved: str) -> str:
    """The key a bot before v6 gave its saved string."""
    return hashlib.sha256(saved.encode("utf-8", "surrogatepass")).hexdigest()[:12]


OLD_ROWS = {
    "#l367 人类 反馈": SavedSearch("l367", "人类 反馈"),
    "意识": SavedSearch(None, "意识"),
    "#GPT-4 是什么": SavedSearch(None, "#GPT-4 是什么"),  # not an id's shape: words
    "＃b42 蜜蜂": SavedSearch(None, "＃b42 蜜蜂"),  # the bot only ever wrote "#"
    "#AI 安全": SavedSearch("AI", "安全"),  # the app tells a one-conversation hashtag
    "#b42": SavedSearch(None, "#b42"),  # no words after it: never a narrowed search
}


async def test_migration_v6_splits_old_saved_searches_and_keeps_their_keys(
    db_path: Path,
) -> None:
    con = sqlite3.connect(db_path)
    for number, script in enumerate(MIGRATIONS[:5], start=1):
        con.executescript(script)
        con.execute(f"PRAGMA user_version = {number}")
    con.executemany(
        "INSERT INTO searches (key, query, ts) VALUES (?, ?, 1e12)",
        [(old_key(saved), saved) for saved in OLD_ROWS],
    )
    con.commit()
    con.close()
    store = await Store.open(db_path)
    try:
        for saved, split in OLD_ROWS.items():
            assert await store.find_search(old_key(saved)) == split, saved
        # A search saved now gets the key the old string had: old and new buttons agree.
        assert search_key("人类 反馈", "l367") == old_key("#l367 人类 反馈")
        assert search_key("意识") == old_key("意识")
    finally:
        await store.close()
    con = sqlite3.connect(db_path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 6
    columns = [row[1] for row in con.execute("PRAGMA table_info(searches)")]
    assert columns == ["key", "conversation", "text", "ts"]
    con.close()


async def test_a_narrowed_search_is_found_again_after_a_restart(db_path: Path) -> None:
    store = await Store.open(db_path)
    key = await store.remember_search("蜜蜂", "b42")
    await store.close()
    store = await Store.open(db_path)  # nothing in memory: read from the columns
    try:
        assert await store.find_search(key) == SavedSearch("b42", "蜜蜂")
    finally:
        await store.close()
