"""Quote cards for the bot's faces: the PNG of a card, and the file_ids Telegram gave them.

`CardShop` joins the renderer's disk cache (bot.cards.CardCache; a render takes
tens of milliseconds, so it runs on a thread) with the store of uploaded
cards (bot.storage.CardFileStore), keyed by the font subset's VERSION: the
Telegram layer sends a stored file_id when there is one and uploads the PNG
otherwise. The console only asks for the file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.app.replies import Links
from bot.cards import FONT_VERSION, CardCache, Style
from bot.search import QuoteEngine
from bot.storage import CardFileStore

STYLES: tuple[Style, ...] = ("light", "dark")


class CardShop:
    def __init__(
        self, engine: QuoteEngine, cache: CardCache, files: CardFileStore, links: Links
    ) -> None:
        self.engine = engine
        self.cache = cache
        self.files = files
        self.links = links

    def _style(self, style: str) -> Style:
        if style not in STYLES:
            raise ValueError(f"unknown card style {style!r}")
        return style  # type: ignore[return-value]

    async def png(self, passage_id: str, style: str = "light") -> bytes:
        """The card's PNG bytes (drawn on a thread if not cached on disk)."""
        passage = self.engine.get(passage_id)
        if passage is None:
            raise KeyError(passage_id)
        return await asyncio.to_thread(
            self.cache.get_or_render,
            passage,
            self.engine.conversation(passage),
            self.links.bot_username or "",
            self._style(style),
        )

    async def path(self, passage_id: str, style: str = "light") -> Path:
        """The card as a file on disk (drawn first if needed)."""
        await self.png(passage_id, style)
        return self.cache.path_for(passage_id, self._style(style), self.links.bot_username or "")

    async def file_id(self, passage_id: str, style: str) -> str | None:
        return await self.files.get(passage_id, style, FONT_VERSION)

    async def remember(self, passage_id: str, style: str, file_id: str) -> None:
        await self.files.put(passage_id, style, FONT_VERSION, file_id)

    async def forget(self, passage_id: str, style: str) -> None:
        await self.files.forget(passage_id, style, FONT_VERSION)

    async def uploaded(self, passage_ids: list[str]) -> list[tuple[str, str, str]]:
        """(passage id, style, file_id) of the uploaded cards of these passages, in order."""
        return await self.files.uploaded(passage_ids, FONT_VERSION)
