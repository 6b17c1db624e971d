"""Telegram's file_id for each quote card already uploaded, so a card is uploaded once.

Keyed by passage id, style and the font subset's VERSION (a new font draws
new cards, which need new uploads). The Telegram layer asks here first,
sends by file_id, and forgets an id Telegram no longer accepts.
"""

from __future__ import annotations

import time

from bot.storage.database import Database


class CardFileStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, passage_id: str, style: str, font_version: str) -> str | None:
        async with self.db.execute(
            "SELECT file_id FROM card_files WHERE passage = ? AND style = ? AND font_version = ?",
            (passage_id, style, font_version),
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def put(self, passage_id: str, style: str, font_version: str, file_id: str) -> None:
        async with self.db.atomic() as conn:
            await conn.execute(
                "INSERT INTO card_files (passage, style, font_version, file_id, at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (passage, style, font_version)"
                " DO UPDATE SET file_id = excluded.file_id, at = excluded.at",
                (passage_id, style, font_version, file_id, time.time()),
            )

    async def forget(self, passage_id: str, style: str, font_version: str) -> None:
        async with self.db.atomic() as conn:
            await conn.execute(
                "DELETE FROM card_files WHERE passage = ? AND style = ? AND font_version = ?",
                (passage_id, style, font_version),
            )

    async def uploaded(
        self, passage_ids: list[str], font_version: str
    ) -> list[tuple[str, str, str]]:
        """(passage id, style, file_id) of the given passages' uploaded cards, in their order."""
        if not passage_ids:
            return []
        marks = ",".join("?" * len(passage_ids))
        async with self.db.execute(
            f"SELECT passage, style, file_id FROM card_files WHERE font_version = ?"
            f" AND passage IN ({marks}) ORDER BY style DESC",
            (font_version, *passage_ids),
        ) as cur:
            rows = [(str(p), str(s), str(f)) for p, s, f in await cur.fetchall()]
        order = {pid: n for n, pid in enumerate(passage_ids)}
        return sorted(rows, key=lambda r: order[r[0]])
