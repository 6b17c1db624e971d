"""The search engine: transcripts in, ranked passages out. Knows nothing about the bot.

The names below are the engine's public surface, and `bot.search.library` is the
user library's (importing subtitles); every other module under bot.search is
internal, and an import-linter contract keeps the rest of the project out of
them. Inside, a query goes one way (see the README's layout):
`transcripts` → `language` → `index` → `ranking.words` | `meaning` →
`query` → `ranking.weigh` → `engine`.
"""

from bot.search.checks import IndexState, ModelsState, index_state, models_state
from bot.search.engine import MeaningMode, QuoteEngine, Result, SearchOptions
from bot.search.index.build import default_cache_dir
from bot.search.index.exchanges import question_line
from bot.search.query import Query
from bot.search.transcripts.conversation import Conversation, TranscriptError, format_hms
from bot.search.transcripts.passages import Passage, Quality
from bot.search.watch import LibraryWatch, engine_builder
from bot.search.watch import stop as stop_watch

__all__ = [
    "Conversation",
    "IndexState",
    "LibraryWatch",
    "MeaningMode",
    "ModelsState",
    "Passage",
    "Quality",
    "Query",
    "QuoteEngine",
    "Result",
    "SearchOptions",
    "TranscriptError",
    "default_cache_dir",
    "engine_builder",
    "format_hms",
    "index_state",
    "models_state",
    "question_line",
    "stop_watch",
]
