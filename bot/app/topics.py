"""Topics offered by /topic and after a miss: data/topics.toml, matched by folded text."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.text import has_searchable_text


def load_topics(data_dir: Path) -> list[str]:
    path = data_dir / "topics.toml"
    if not path.exists():
        return []
    with path.open("rb") as fh:
        return [str(t) for t in tomllib.load(fh).get("topics", [])]


class Topics:
    """The topic names, folded once (with the engine's normalisation) for suggestions."""

    def __init__(self, names: list[str], fold: Callable[[str], str]) -> None:
        self.names = names
        self._fold = fold
        self._folded = [fold(t) for t in names]

    def __len__(self) -> int:
        return len(self.names)

    def suggest(self, text: str, limit: int = 3) -> list[int]:
        """Indexes of topics that look like the text (shared characters or words)."""
        if not self.names or not has_searchable_text(text):
            return []
        found = process.extract(
            self._fold(text), self._folded, scorer=fuzz.partial_ratio, limit=limit, score_cutoff=60
        )
        return [index for _, _, index in found]
