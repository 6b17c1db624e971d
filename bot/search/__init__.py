"""The search engine: transcripts in, ranked passages out. Knows nothing about the bot.

The names below are the engine's public surface; the modules behind them
(normalisation, segmentation, index, cache) are its internals.
"""

from bot.search.engine import QuoteEngine, Result
from bot.search.exchanges import question_line
from bot.search.passages import Passage, Quality
from bot.search.transcript import Conversation, TranscriptError, format_hms

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
