"""Rendered cards on disk, so each card is drawn once.

A card is a file `<passage id>.<style>.<key>.png` in the cache folder, where
`key` hashes the font subset's VERSION, the drawing's RENDER_VERSION and the
bot's @name (the card shows it): a new font or a new look draws every card
again, and stale files age out. Files are written atomically (a temporary
file, then `os.replace`), so a reader never sees half a PNG, and the folder
keeps at most `max_files` cards, dropping the least recently used (a hit
touches its file's mtime).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from bot.cards import render
from bot.cards.render import Style
from bot.search import Conversation, Passage, format_hms

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class CardText:
    """What a card says about a passage."""

    passage_text: str
    speaker: str  # "山姆·奥特曼 Sam Altman"
    time_hms: str  # the passage's own time, HH:MM:SS
    title: str  # the episode title, Chinese


def card_text(passage: Passage, conversation: Conversation) -> CardText:
    who = conversation.speakers.get(passage.speaker)
    if who is None:
        speaker = f"发言人{passage.speaker}"
    elif who.name_zh and who.name_zh != who.name:
        speaker = f"{who.name_zh} {who.name}"
    else:
        speaker = who.name
    return CardText(
        passage.text, speaker, format_hms(passage.at), conversation.title_zh or conversation.title
    )


class CardCache:
    """PNG cards in `folder`, keyed by passage id, style, font version and bot name."""

    def __init__(self, folder: Path | str, max_files: int = 500) -> None:
        self.folder = Path(folder)
        self.max_files = max_files
        self.renders = 0  # cards drawn by this cache (misses)
        self.hits = 0
        self._lock = threading.Lock()

    def path_for(self, passage_id: str, style: Style, bot_username: str) -> Path:
        key = hashlib.sha256(
            f"{render.FONT_VERSION}\0{render.RENDER_VERSION}\0{bot_username}".encode()
        ).hexdigest()[:12]
        return self.folder / f"{_UNSAFE.sub('_', passage_id)}.{style}.{key}.png"

    def get(self, passage_id: str, style: Style, bot_username: str) -> bytes | None:
        """The cached card, or None; a hit counts as a use (for the LRU bound)."""
        path = self.path_for(passage_id, style, bot_username)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        with contextlib.suppress(OSError):  # dropped meanwhile: the bytes are still good
            os.utime(path)
        self.hits += 1
        return data

    def get_or_render(
        self,
        passage: Passage,
        conversation: Conversation,
        bot_username: str,
        style: Style = "light",
    ) -> bytes:
        """The passage's card as PNG bytes, drawn only if not cached yet."""
        data = self.get(passage.id, style, bot_username)
        if data is not None:
            return data
        text = card_text(passage, conversation)
        data = render.render_card(
            text.passage_text, text.speaker, text.time_hms, text.title, bot_username, style
        )
        self.renders += 1
        self._store(self.path_for(passage.id, style, bot_username), data)
        return data

    def _store(self, path: Path, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".png")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._trim()

    def _trim(self) -> None:
        """Drop the least recently used cards beyond max_files."""
        with self._lock:
            entries = []
            for entry in os.scandir(self.folder):
                if entry.name.endswith(".png") and not entry.name.startswith(".tmp-"):
                    try:
                        entries.append((entry.stat().st_mtime_ns, entry.path))
                    except FileNotFoundError:
                        continue
            if len(entries) <= self.max_files:
                return
            entries.sort()
            for _mtime, path in entries[: len(entries) - self.max_files]:
                Path(path).unlink(missing_ok=True)
