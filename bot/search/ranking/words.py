"""The words stage: candidates by BM25, scored on evidence a person would accept.

BM25 over words and character bigrams picks a few hundred candidates
cheaply; each is then scored on how much of the query's meaningful
vocabulary it contains (weighted by rarity, with words the transcript never
uses counting against it) and how closely the query's characters align with
it (rapidfuzz, which forgives typos). A question is scored as typed and
without its frame (怎么看, 吗, "what does … think about"), and a speaker it
names prefers that speaker's turns. The confidence is evidence only; what
to do with it is decided in bot.search.engine. The query arrives read
once (bot.search.query); this module only scores it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from bot.search.index.inverted import InvertedIndex
from bot.search.index.table import PassageTable
from bot.search.language.aliases import Aliases
from bot.search.language.question import Question
from bot.search.language.segmenter import Segmenter
from bot.search.transcripts.passages import Quality
from bot.text import HAN, compact_text, normalize

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


@dataclass(frozen=True)
class PreparedQuery:
    text: str  # normalised and alias-folded
    compact: str  # text without spaces/punctuation, for fuzzy alignment
    words: list[str]
    bigrams: list[str]


class WordScorer:
    """Scores passages by the words they share with a query."""

    def __init__(
        self,
        table: PassageTable,
        index: InvertedIndex,
        segmenter: Segmenter,
        aliases: Aliases,
        intro: np.ndarray,
    ) -> None:
        self.table = table
        self.index = index
        self.segmenter = segmenter
        self.aliases = aliases
        self.intro = intro  # per row: introduction and sponsor reads

    def fold(self, text: str) -> str:
        return self.aliases.fold(normalize(text))

    def prepare_folded(self, text: str) -> PreparedQuery | None:
        """A normalised, alias-folded text's terms; None when it has none."""
        words, bigrams = self.segmenter.terms(text)
        compact = compact_text(text)
        if not words and not bigrams and not compact:
            return None
        return PreparedQuery(text, compact, words, bigrams)

    def score(
        self,
        full: PreparedQuery,
        question: Question,
        frames: bool = True,
        allowed: np.ndarray | None = None,
    ) -> tuple[list[tuple[int, float, float]], float]:
        """(row, confidence, order key) of candidates, best first, and the best
        confidence of the query as typed (a quote's, frames included).

        A question is scored twice, as typed and (with `frames`) without its
        frame; each passage keeps the better confidence, so stripping a frame
        can only add evidence (a verbatim quote that happens to contain 为什么
        loses nothing).
        """
        best: dict[int, tuple[float, float]] = {}
        # A speaker's name says whose turn to prefer, not a word to find: a
        # question about Sam is rarely answered by a passage that names him.
        variants = [full]
        if question.speakers and question.unnamed:
            unnamed = self.prepare_folded(self.aliases.fold(question.unnamed))
            variants = [unnamed] if unnamed is not None else variants
        if frames and question.topic:
            core = self.prepare_folded(self.aliases.fold(question.topic))
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
        return [(r, round(best[r][0], 4), best[r][1]) for r in rows], as_typed

    def speaker_mask(self, speakers: frozenset[tuple[str, int]]) -> np.ndarray:
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
            + (W_SPEAKER * self.speaker_mask(speakers)[cand] if speakers else 0.0)
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
        word_cov, word_win = coverage(self.index, words, word_mass, cand, before, after)
        bigram_cov, bigram_win = coverage(self.index, bigrams, bigram_mass, cand, before, after)
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


_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def is_english(query: str) -> bool:
    """Three or more Latin words and no Han: a sentence, not a term."""
    return not HAN.search(query) and len(_LATIN_WORD.findall(query)) >= 3


def clean_query(query: str) -> str:
    # Pasted formatting (<b>…</b>) is not what anyone means to search for.
    return _TAG.sub(" ", query[:MAX_QUERY_CHARS])


def coverage(
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
