"""An inverted index with precomputed BM25 impacts, held in numpy arrays.

Postings are stored per term as sorted passage numbers with the BM25 weight
of the term in that passage already computed, so a query costs one vectorised
add per query term: it grows with the length of the posting lists touched,
not with the size of the corpus, and the whole index saves as a few arrays.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.search.index.columns import TextColumn
from bot.search.language.segmenter import BIGRAM_PREFIX

K1 = 1.2
B = 0.75


def term_hash(term: str) -> int:
    """A stable 64-bit hash of a term (the same in every process, unlike `hash`)."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest(), "little")


class Vocabulary:
    """Term -> id for millions of terms without a dict of millions of strings.

    A catalogue's vocabulary (words and character bigrams) runs into the
    millions; a dict of them takes seconds to rebuild at every start and
    hundreds of megabytes. Here the terms' 64-bit hashes are kept sorted, a
    lookup is one binary search, and the term's own text is compared too, so
    a hash collision can never return another term's postings.
    """

    def __init__(self, terms: TextColumn, hashes: np.ndarray, ids: np.ndarray) -> None:
        self.terms = terms  # id -> term
        self.hashes = hashes  # uint64, sorted
        self.ids = ids  # int32: ids[k] is the id of the term with hash hashes[k]

    def get(self, term: str) -> int | None:
        h = np.uint64(term_hash(term))
        k = int(np.searchsorted(self.hashes, h))
        while k < self.hashes.size and self.hashes[k] == h:
            tid = int(self.ids[k])
            if self.terms[tid] == term:
                return tid
            k += 1
        return None

    def __len__(self) -> int:
        return len(self.terms)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return self.terms == other.terms

    __hash__ = None  # type: ignore[assignment]


@dataclass
class InvertedIndex:
    vocabulary: Vocabulary
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


@dataclass
class TermCounts:
    """How often each term occurs in each passage of one stretch of passages.

    This is what segmenting costs minutes to find out, so it is what a
    conversation keeps in the cache; BM25 weights depend on the whole
    catalogue (idf, average lengths) and are computed when the parts are put
    together, in seconds. Local term ids follow the terms' hashes, and pairs
    are sorted by (term, passage): every part is then already in the order of
    the whole index, and putting hundreds together is a merge, not a sort.
    """

    terms: TextColumn  # local term id -> term, in order of `hashes`
    hashes: np.ndarray  # uint64 `term_hash` of each local term, ascending
    term_ids: np.ndarray  # int32 local term id, one entry per (term, passage) pair
    docs: np.ndarray  # int32 passage number within the stretch
    tf: np.ndarray  # int32 occurrences of the term in the passage
    word_len: np.ndarray  # int32 per passage: words it was segmented into
    bigram_len: np.ndarray  # int32 per passage: its character bigrams

    @classmethod
    def count(cls, term_lists: Iterable[tuple[list[str], list[str]]]) -> TermCounts:
        """Count (words, bigrams) given per passage."""
        local: dict[str, int] = {}
        term_ids = array("i")
        doc_ids = array("i")
        word_len = array("i")
        bigram_len = array("i")
        for doc, (words, bigrams) in enumerate(term_lists):
            word_len.append(len(words))
            bigram_len.append(len(bigrams))
            for term in (*words, *bigrams):
                term_ids.append(local.setdefault(term, len(local)))
                doc_ids.append(doc)
        terms = list(local)
        hashes = np.fromiter((term_hash(t) for t in terms), dtype=np.uint64, count=len(terms))
        by_hash = np.argsort(hashes, kind="stable")
        rank = np.empty(len(terms), dtype=np.int64)
        rank[by_hash] = np.arange(len(terms))
        n_docs = max(1, len(word_len))
        keys = rank[np.frombuffer(term_ids, dtype=np.int32)] * n_docs + np.frombuffer(
            doc_ids, dtype=np.int32
        )
        unique_keys, tf = np.unique(keys, return_counts=True)
        return cls(
            terms=TextColumn.from_strings(terms[i] for i in by_hash.tolist()),
            hashes=hashes[by_hash],
            term_ids=(unique_keys // n_docs).astype(np.int32),
            docs=(unique_keys % n_docs).astype(np.int32),
            tf=tf.astype(np.int32),
            word_len=np.frombuffer(word_len, dtype=np.int32).copy(),
            bigram_len=np.frombuffer(bigram_len, dtype=np.int32).copy(),
        )


def build_index(term_lists: Iterable[tuple[list[str], list[str]]]) -> InvertedIndex:
    """Index (words, bigrams) per passage; words and bigrams get separate length norms."""
    return assemble([TermCounts.count(term_lists)])


def assemble(parts: Sequence[TermCounts]) -> InvertedIndex:
    """One index over the passages of every part, in order (part 0's passages first).

    A term's id is the rank of its hash among all terms, so each part's local
    ids map to global ones in the same order, and the pairs of all parts,
    concatenated, are runs already sorted by (term, passage) that a stable sort
    merges. Two different terms with the same 64-bit hash (odds around 1e-7 for
    a catalogue's two million terms) would share postings; the vocabulary keeps
    one of their texts, so a query for the other finds nothing rather than
    something wrong.
    """
    if sum(p.word_len.size for p in parts) == 0:
        raise ValueError("no passages to index")
    all_hashes = np.concatenate([p.hashes for p in parts])
    hashes, first, global_ids = np.unique(all_hashes, return_index=True, return_inverse=True)
    global_ids = global_ids.astype(np.int32).reshape(-1)
    terms, docs, tfs, word_lens, bigram_lens = [], [], [], [], []
    base = start = 0
    for part in parts:
        terms.append(global_ids[start : start + len(part.terms)][part.term_ids])
        docs.append(part.docs + np.int32(base))
        tfs.append(part.tf)
        word_lens.append(part.word_len)
        bigram_lens.append(part.bigram_len)
        start += len(part.terms)
        base += part.word_len.size
    n_docs, n_terms = base, hashes.size
    term = np.concatenate(terms)
    order = np.argsort(term, kind="stable")
    term, doc = term[order], np.concatenate(docs)[order]
    tf = np.concatenate(tfs)[order].astype(np.float32)
    del order
    df = np.bincount(term, minlength=n_terms)
    offsets = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(df, out=offsets[1:])
    idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)

    vocabulary_terms = TextColumn.concat([p.terms for p in parts]).take(first)
    # Bigram terms start with BIGRAM_PREFIX, one ASCII byte: read it off the buffer
    # rather than decoding two million strings.
    prefix = BIGRAM_PREFIX.encode()[0]
    data = vocabulary_terms.data
    starts = vocabulary_terms.offsets[:-1]
    nonempty = vocabulary_terms.offsets[1:] > starts
    is_bigram = nonempty & (data[np.minimum(starts, max(data.size - 1, 0))] == prefix)
    wl = np.concatenate(word_lens).astype(np.float32)
    bl = np.concatenate(bigram_lens).astype(np.float32)
    length = np.where(is_bigram[term], bl[doc] / max(bl.mean(), 1.0), wl[doc] / max(wl.mean(), 1.0))
    impacts = idf[term] * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length))
    return InvertedIndex(
        vocabulary=Vocabulary(vocabulary_terms, hashes, np.arange(n_terms, dtype=np.int32)),
        offsets=offsets,
        docs=doc,
        impacts=impacts.astype(np.float32),
        idf=idf,
        n_docs=n_docs,
    )
