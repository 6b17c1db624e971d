"""The errors quotebot raises on purpose, as one small hierarchy (as httpx's _exceptions.py).

Every one of them is a `QuotebotError`, whose message is one line for whoever
reads it (the operator, or for ScheduleError a code the bot words for the
user). An entry point may catch `QuotebotError` for "a refusal we explain",
and anything else is a bug. Errors that belong to one module's work are
defined there, subclassing the base here; the ones several layers raise or
catch are defined here. Each stays importable from where it always was.

    QuotebotError
    ├── ConfigError (ValueError)        here, via bot.config: a setting missing or malformed
    ├── StorageError                    here, via bot.storage: the database cannot be used
    │   └── SchemaTooNew                here, via bot.storage.migrations: from a newer quotebot
    ├── TranscriptError (ValueError)    bot.search.transcripts.conversation: a data file, naming file and line
    │   └── CalibrationError            bot.search.ranking.calibration: the decision's calibration file
    ├── CacheError (ValueError)         bot.search.index.arrayfiles: an index cache folder (rebuilt)
    ├── EmbeddingError (RuntimeError)   bot.search.meaning.models: the meaning model could not embed
    ├── ImportRefused (ValueError)      bot.search.library.cues: a file `add` cannot import
    ├── LibraryError (ValueError)       bot.search.library.catalog: `add`/`remove` refused
    ├── ScheduleError (ValueError)      bot.daily.times: a time or zone a user typed
    └── InvalidInitData (ValueError)    bot.web.initdata: a Mini App's initData refused

The builtin second bases keep every `except ValueError` written before this
module existed working. This module imports nothing of the project (it is
the bottom layer of the import contract), so any module may import it.
"""

from __future__ import annotations

__all__ = ["ConfigError", "QuotebotError", "SchemaTooNew", "StorageError"]


class QuotebotError(Exception):
    """An error quotebot raises on purpose; the message is one line, safe to show."""


class ConfigError(QuotebotError, ValueError):
    """A setting that is missing or malformed; the message names the variable."""


class StorageError(QuotebotError):
    """The database cannot be used; the message is one line for the operator."""


class SchemaTooNew(StorageError):
    """The database (or a backup) was written by a newer quotebot."""

    def __init__(self, version: int, known: int) -> None:
        super().__init__(
            f"has schema v{version}, newer than this quotebot (v{known}); "
            "run the newer quotebot or restore a backup"
        )
        self.version = version
        self.known = known
