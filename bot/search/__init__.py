"""The search engine: transcripts in, ranked passages out. Knows nothing about the bot.

The names below are the engine's public surface; the modules behind them
(normalisation, segmentation, index, cache) are its internals.
"""

from bot.search.engine import QuoteEngine, Result
from bot.search.index.exchanges import question_line
from bot.search.transcripts.conversation import Conversation, TranscriptError, format_hms
from bot.search.transcripts.passages import Passage, Quality

__all__ = [
    "Conversation",
    "Passage",
    "Quality",
    "QuoteEngine",
    "Result",
    "TranscriptError",
    "format_hms",
    "question_line",
]
