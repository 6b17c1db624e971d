"""Shared fixtures: one index cache and one engine per test session.

Loading the index and embedding the passages for the meaning layer are the
slow parts (tens of seconds for the vectors on two cores), so they happen
once, in `shared_cache`, and every test, subprocess and bot started by the
tests reads that cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from bot.data import DATA_DIR as DEFAULT_DATA_DIR

from bot.search.engine import QuoteEngine


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The index cache (and meaning vectors) every test uses, built once."""
    cache = Path(os.environ.get("QUOTEBOT_CACHE_DIR") or tmp_path_factory.mktemp("index-cache"))
    os.environ["QUOTEBOT_CACHE_DIR"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def engine(shared_cache: Path) -> QuoteEngine:
    engine = QuoteEngine.load(DEFAULT_DATA_DIR, shared_cache, meaning="lazy")
    engine.meaning()  # embed (or load) the passages now, not inside the first test that needs them
    return engine


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "quotebot.db"
