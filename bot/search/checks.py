"""What `quotebot doctor` asks of the search engine, without loading it: is the index
cache current and readable, and which meaning models load.

Kept here so the doctor needs no more than the engine's public surface.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from bot.search.index.arrayfiles import DAMAGED
from bot.search.index.build import data_key, read_cache
from bot.search.meaning import models as meaning_models


@dataclass(frozen=True)
class IndexState:
    """The index cache for the current transcripts and library."""

    folder: Path
    exists: bool
    damage: str | None = None  # why it cannot be read (the bot would rebuild it)
    conversations: int = 0
    passages: int = 0


def index_state(data_dir: Path, library_dir: Path | None, cache_dir: Path) -> IndexState:
    """The cache folder the bot would read at start, and whether it reads. OSError when
    the transcripts or the library cannot be listed."""
    key = data_key(data_dir, library_dir)
    folder = cache_dir / f"index-{key}"
    if not folder.is_dir():
        return IndexState(folder, exists=False)
    try:
        conversations, table, _index = read_cache(folder, key)
    except DAMAGED as exc:
        return IndexState(folder, exists=True, damage=f"{type(exc).__name__}: {exc}")
    return IndexState(folder, True, None, len(conversations), len(table))


@dataclass(frozen=True)
class ModelsState:
    """Which meaning models load here, and the warnings of those that do not."""

    off: bool  # QUOTEBOT_SEMANTIC=off: words only, by the operator's choice
    first: str | None = None  # the main model's id, if it loads
    second: str | None = None  # the second model's id, if it loads
    reasons: list[str] = field(default_factory=list)


def models_state() -> ModelsState:
    """Load both models as the bot would (slow: seconds), catching their warnings."""
    if meaning_models.semantic_disabled():
        return ModelsState(off=True)
    reasons: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            reasons.append(record.getMessage())

    logger = logging.getLogger("bot.search.meaning.models")
    catch = Catch(logging.WARNING)
    logger.addHandler(catch)
    try:
        first = meaning_models.load_embedder()
        second = meaning_models.load_second_embedder()
    finally:
        logger.removeHandler(catch)
    return ModelsState(
        off=False,
        first=first.model_id if first is not None else None,
        second=second.model_id if second is not None else None,
        reasons=reasons,
    )


__all__ = ["IndexState", "ModelsState", "index_state", "models_state"]
