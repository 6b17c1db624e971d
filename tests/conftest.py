"""Shared fixtures: one engine per test session (loading it is the slow part)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bot.data import DATA_DIR as DEFAULT_DATA_DIR

from bot.search.engine import QuoteEngine


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> QuoteEngine:
    return QuoteEngine.load(DEFAULT_DATA_DIR, tmp_path_factory.mktemp("index-cache"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "quotebot.db"
