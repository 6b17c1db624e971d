"""When the meaning index is ready: never, at the first query that needs it, or after
a build on a thread.

The engine asks `index()` at each query that needs meaning and answers by words
while it is None; how the index comes to be (the models loaded, every passage
embedded or read from the cache) is decided once, when the layer is made.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.search.index.table import PassageTable
from bot.search.meaning.models import EmbeddingError, load_embedder, load_second_embedder
from bot.search.meaning.vectors import BackgroundMeaning, MeaningIndex, load_or_build_meaning

log = logging.getLogger(__name__)

Build = Callable[[Callable[[MeaningIndex], None] | None], MeaningIndex | None]


def builder(
    table: PassageTable,
    answer_texts: Sequence[str],
    cache_dir: Path,
    progress: Callable[[int, int], None] | None = None,
) -> Build:
    """A build of the meaning index over `table`: both models if they load, every
    passage's vectors from the cache or embedded now. The build may `publish` a
    partial index (the fast model alone) before it ends; it returns None when no
    model loads or a remote model fails mid-build (the bot answers by words)."""

    def build(publish: Callable[[MeaningIndex], None] | None) -> MeaningIndex | None:
        models = [m for m in (load_embedder(), load_second_embedder()) if m is not None]
        if not models:
            return None
        try:
            return load_or_build_meaning(models, table, cache_dir, progress, answer_texts, publish)
        except EmbeddingError as exc:  # a remote server failing mid-build
            log.warning("meaning layer unavailable, answering by words only (%s)", exc)
            return None

    return build


class MeaningLayer:
    """The engine's meaning index, as it becomes ready (see the module)."""

    def __init__(
        self,
        index: MeaningIndex | None = None,
        lazy: Build | None = None,
        background: BackgroundMeaning | None = None,
    ) -> None:
        self._index = index
        self._lazy = lazy
        self._background = background

    @classmethod
    def off(cls) -> MeaningLayer:
        return cls()

    @classmethod
    def ready(cls, index: MeaningIndex) -> MeaningLayer:
        """An index built already (benchmarks)."""
        return cls(index=index)

    @classmethod
    def lazy(cls, build: Build) -> MeaningLayer:
        """Built at the first query that needs it: a one-shot CLI search stays fast
        when its words suffice."""
        return cls(lazy=build)

    @classmethod
    def in_background(cls, build: Build) -> MeaningLayer:
        """Built on a thread at once: the bot answers by words meanwhile, then with
        the fast model alone, then with both."""
        background = BackgroundMeaning(lambda: build(background.publish))
        return cls(background=background.start())

    def index(self) -> MeaningIndex | None:
        """The index if it is ready (building it now if it is lazy)."""
        if self._background is not None:
            return self._background.index
        if self._lazy is not None:
            build, self._lazy = self._lazy, None
            self._index = build(None)
        return self._index

    def wait(self, timeout: float | None = None) -> MeaningIndex | None:
        """The index once a background build has ended (or `timeout` passed); a lazy
        one is built now. `quotebot web` (ready before it prints its URL), the
        health metrics' watch and tests wait; answering never does."""
        if self._background is not None:
            self._background.ready.wait(timeout)
        return self.index()


__all__ = ["Build", "MeaningLayer", "builder"]
