"""bot/errors.py: the project's errors are one hierarchy, each still importable from where
it was, and still the builtin error it was (every `except ValueError` keeps working)."""

from __future__ import annotations

import pytest

from bot.config import ConfigError
from bot.daily.times import ScheduleError
from bot.errors import QuotebotError, SchemaTooNew, StorageError
from bot.search import TranscriptError
from bot.search.index.arrayfiles import CacheError
from bot.search.library.catalog import LibraryError
from bot.search.library.cues import ImportRefused
from bot.search.meaning.models import EmbeddingError
from bot.search.ranking.calibration import CalibrationError
from bot.storage import MIGRATIONS
from bot.storage import StorageError as StorageErrorFromStorage
from bot.storage.migrations import SchemaTooNew as SchemaTooNewFromMigrations
from bot.storage.migrations import check_schema
from bot.web.initdata import InvalidInitData


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (ConfigError, ValueError),
        (StorageError, Exception),
        (SchemaTooNew, StorageError),
        (TranscriptError, ValueError),
        (CalibrationError, TranscriptError),
        (CacheError, ValueError),
        (EmbeddingError, RuntimeError),
        (ImportRefused, ValueError),
        (LibraryError, ValueError),
        (ScheduleError, ValueError),
        (InvalidInitData, ValueError),
    ],
)
def test_every_error_is_a_quotebot_error_and_keeps_its_builtin_base(
    error: type[Exception], builtin: type[Exception]
) -> None:
    assert issubclass(error, QuotebotError)
    assert issubclass(error, builtin)


def test_the_old_import_paths_name_the_same_classes() -> None:
    assert StorageErrorFromStorage is StorageError
    assert SchemaTooNewFromMigrations is SchemaTooNew


def test_one_schema_check_refuses_only_a_newer_schema() -> None:
    for version in range(len(MIGRATIONS) + 1):
        check_schema(version)  # older ones are migrated at opening
    with pytest.raises(SchemaTooNew) as refused:
        check_schema(len(MIGRATIONS) + 1)
    assert str(refused.value).startswith(
        f"has schema v{len(MIGRATIONS) + 1}, newer than this quotebot (v{len(MIGRATIONS)})"
    )
    assert isinstance(refused.value, StorageError)  # every entry point already catches it
