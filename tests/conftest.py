"""Shared fixtures: one index cache and one engine per test session.

Loading the index and embedding the passages for the meaning layer are the
slow parts (tens of seconds for the vectors on two cores). They happen once,
when the session starts and before any test's timeout runs, and every test,
subprocess and bot started by the tests reads that cache.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from bot.data import DATA_DIR as DEFAULT_DATA_DIR

from bot.search.engine import QuoteEngine

_session: dict[str, object] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("QUOTEBOT_CACHE_DIR"):
        cache = Path(os.environ["QUOTEBOT_CACHE_DIR"])
    else:
        cache = Path(tempfile.mkdtemp(prefix="quotebot-test-cache-"))
        _session["owned"] = cache
        os.environ["QUOTEBOT_CACHE_DIR"] = str(cache)
    # Hermetic: no test (nor any quotebot it starts) sees the user library of whoever runs them.
    library = Path(tempfile.mkdtemp(prefix="quotebot-test-library-"))
    _session["library"] = library
    os.environ["QUOTEBOT_LIBRARY_DIR"] = str(library / "none")
    engine = QuoteEngine.load(DEFAULT_DATA_DIR, cache, meaning="lazy")
    engine.meaning()  # embed (or load) the passages now, not inside the first test that needs them
    _session["cache"] = cache
    _session["engine"] = engine


def pytest_sessionfinish(session: pytest.Session) -> None:
    shutil.rmtree(_session.get("library", "/nonexistent"), ignore_errors=True)
    owned = _session.get("owned")
    if isinstance(owned, Path):
        shutil.rmtree(owned, ignore_errors=True)


@pytest.fixture(scope="session")
def shared_cache() -> Path:
    """The index cache (and meaning vectors) every test uses, built at session start."""
    cache = _session["cache"]
    assert isinstance(cache, Path)
    return cache


@pytest.fixture(scope="session")
def engine() -> QuoteEngine:
    engine = _session["engine"]
    assert isinstance(engine, QuoteEngine)
    return engine


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "quotebot.db"
