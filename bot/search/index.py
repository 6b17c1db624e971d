"""An inverted index with precomputed BM25 impacts, held in numpy arrays.

Postings are stored per term as sorted passage numbers with the BM25 weight
of the term in that passage already computed, so a query costs one vectorised
add per query term: it grows with the length of the posting lists touched,
not with the size of the corpus, and the whole index saves as a few arrays.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.search.segment import BIGRAM_PREFIX

K1 = 1.2
B = 0.75


@dataclass
class InvertedIndex:
    vocabulary: dict[str, int]
    offsets: np.ndarray  # int64, len V+1: postings of term t are [offsets[t], offsets[t+1])
    docs: np.ndarray  # int32 passage numbers, sorted within each term
    impacts: np.ndarray  # float32 BM25 weight of the term in that passage
    idf: np.ndarray  # float32 per term
    n_docs: int

    @property
    def oov_idf(self) -> float:
        """The idf a term that occurs nowhere would have: unmatched query words weigh the most."""
        return math.log(1 + (self.n_docs + 0.5) / 0.5)

    def term_id(self, term: str) -> int | None:
        return self.vocabulary.get(term)

    def postings(self, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.offsets[term_id], self.offsets[term_id + 1]
        return self.docs[lo:hi], self.impacts[lo:hi]

    def top(
        self,
        weighted_terms: Sequence[tuple[int, float]],
        k: int,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(passages, BM25 sums) of the k best passages, best first, ties by passage number.

        `allowed` (a boolean mask over passages) keeps the k best among those passages,
        so a search narrowed to one conversation gets its own top k, not what is left
        of the global one."""
        if not weighted_terms:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        scores = np.zeros(self.n_docs, dtype=np.float32)
        for term_id, weight in weighted_terms:
            docs, impacts = self.postings(term_id)
            scores[docs] += impacts * np.float32(weight)
        if allowed is not None:
            scores[~allowed] = 0
        candidates = np.flatnonzero(scores)
        if candidates.size > k:
            part = np.argpartition(-scores[candidates], k - 1)[:k]
            candidates = candidates[part]
        order = np.lexsort((candidates, -scores[candidates]))
        return candidates[order], scores[candidates[order]]

    def document_frequency(self, term_id: int) -> int:
        return int(self.offsets[term_id + 1] - self.offsets[term_id])

    def contains(self, term_id: int, passages: np.ndarray) -> np.ndarray:
        """For each passage number, whether the term occurs in it (binary search)."""
        docs, _ = self.postings(term_id)
        if docs.size == 0:
            return np.zeros(passages.shape, dtype=bool)
        pos = np.searchsorted(docs, passages)
        pos = np.minimum(pos, docs.size - 1)
        return docs[pos] == passages


def build_index(term_lists: Iterable[tuple[list[str], list[str]]]) -> InvertedIndex:
    """Index (words, bigrams) per passage; words and bigrams get separate length norms."""
    vocabulary: dict[str, int] = {}
    term_ids = array("i")
    doc_ids = array("i")
    word_len = array("i")
    bigram_len = array("i")
    for doc, (words, bigrams) in enumerate(term_lists):
        word_len.append(len(words))
        bigram_len.append(len(bigrams))
        for term in (*words, *bigrams):
            term_ids.append(vocabulary.setdefault(term, len(vocabulary)))
            doc_ids.append(doc)
    n_docs = len(word_len)
    n_terms = len(vocabulary)
    if n_docs == 0:
        raise ValueError("no passages to index")
    keys = np.frombuffer(term_ids, dtype=np.int32).astype(np.int64) * n_docs + np.frombuffer(
        doc_ids, dtype=np.int32
    )
    unique_keys, tf = np.unique(keys, return_counts=True)
    del keys
    terms = (unique_keys // n_docs).astype(np.int32)
    docs = (unique_keys % n_docs).astype(np.int32)
    del unique_keys
    df = np.bincount(terms, minlength=n_terms)
    offsets = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(df, out=offsets[1:])
    idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)

    is_bigram = np.zeros(n_terms, dtype=bool)
    for term, tid in vocabulary.items():
        is_bigram[tid] = term.startswith(BIGRAM_PREFIX)
    wl = np.frombuffer(word_len, dtype=np.int32).astype(np.float32)
    bl = np.frombuffer(bigram_len, dtype=np.int32).astype(np.float32)
    length = np.where(
        is_bigram[terms], bl[docs] / max(bl.mean(), 1.0), wl[docs] / max(wl.mean(), 1.0)
    )
    tf = tf.astype(np.float32)
    impacts = idf[terms] * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length))
    return InvertedIndex(
        vocabulary=vocabulary,
        offsets=offsets,
        docs=docs,
        impacts=impacts.astype(np.float32),
        idf=idf,
        n_docs=n_docs,
    )
