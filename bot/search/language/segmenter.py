"""Word segmentation (jieba) and the terms a passage or query is indexed by.

Loading jieba's full dictionary costs ~0.8 s, which would dominate a cold
`quotebot search`. Only words that occur in the indexed text can ever match,
so the index stores a compact dictionary of exactly those words (with their
jieba frequencies) and queries are segmented with it: same segmentation of
known words, a few milliseconds to load.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

import jieba

from bot.text import HAN, normalize

jieba.setLogLevel(logging.WARNING)

_TOKEN_OK = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff]")
# Latin words and numbers ("gpt-4", "3.5", "e-max") are tokens as they stand:
# handing them to jieba would let dictionary words split "worldcoin" into w/or/ldco/in.
_LATIN = re.compile(r"[a-z0-9]+(?:[-.+#'][a-z0-9]+)*[+#]?")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
# A lone Latin letter ("B" in "A, ... B, ...") is a list marker, not a topic.
_LONE_LETTER = re.compile(r"^[a-z]$")
BIGRAM_PREFIX = "\x01"  # marks character-bigram terms so they never collide with words


def load_word_list(path: Path) -> list[str]:
    """Lines of a word-list file, without comments and blanks, normalised."""
    if not path.exists():
        return []
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.append(normalize(line))
    return words


def read_user_dict(path: Path) -> list[tuple[str, int]]:
    """Entries "word freq [tag]" of a jieba user dictionary, normalised."""
    entries = []
    for line in load_word_list(path):
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 100
        entries.append((parts[0], freq))
    return entries


class Segmenter:
    """Turns normalised text into index terms: words (minus stopwords) and Han bigrams.

    Bigrams make matching survive segmentation differences and typos (one
    wrong character still leaves most bigrams of a phrase intact).
    """

    def __init__(self, tokenizer: jieba.Tokenizer, stopwords: Iterable[str]) -> None:
        self._tokenizer = tokenizer
        self.stopwords = frozenset(stopwords)

    @classmethod
    def full(cls, user_words: Iterable[tuple[str, int]], stopwords: Iterable[str]) -> Segmenter:
        """jieba's full dictionary plus our user words: used to build the index."""
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        for word, freq in user_words:
            tokenizer.add_word(word, freq)
        return cls(tokenizer, stopwords)

    @classmethod
    def compact(cls, dict_path: Path, stopwords: Iterable[str]) -> Segmenter:
        """A tokenizer over a small dictionary file written by `write_compact_dict`."""
        tokenizer = jieba.Tokenizer(dictionary=str(dict_path))
        tokenizer.tmp_dir = tempfile.gettempdir()
        tokenizer.initialize()
        return cls(tokenizer, stopwords)

    def word_frequency(self, word: str) -> int:
        return int(self._tokenizer.FREQ.get(word) or 1)

    def words(self, normalized_text: str) -> list[str]:
        """Content words in order, without stopwords, punctuation and spaces."""
        out: list[str] = []
        pos = 0
        for latin in _LATIN.finditer(normalized_text):
            out.extend(self._tokenizer.lcut(normalized_text[pos : latin.start()], HMM=True))
            out.append(latin.group(0))
            pos = latin.end()
        out.extend(self._tokenizer.lcut(normalized_text[pos:], HMM=True))
        return [
            w
            for w in (t.strip() for t in out)
            if w and _TOKEN_OK.search(w) and w not in self.stopwords and not _LONE_LETTER.match(w)
        ]

    def terms(self, normalized_text: str) -> tuple[list[str], list[str]]:
        """(words, bigrams) of a text; bigrams carry BIGRAM_PREFIX."""
        return self.words(normalized_text), bigrams(normalized_text)

    def frequencies(self, words: Iterable[str]) -> dict[str, int]:
        """The jieba frequency of each word a compact dictionary can hold (Han, no spaces)."""
        return {w: self.word_frequency(w) for w in words if is_dictionary_word(w)}


def is_dictionary_word(word: str) -> bool:
    """Whether jieba's dictionary format can hold the word (Han, no spaces)."""
    return bool(word) and is_han(word) and not any(ch.isspace() for ch in word)


def write_compact_dict(frequencies: dict[str, int], path: Path) -> None:
    """Save the words we index with their jieba frequencies, for `Segmenter.compact`."""
    lines = [f"{word} {frequencies[word]}\n" for word in sorted(frequencies)]
    path.write_text("".join(lines), encoding="utf-8")


def bigrams(normalized_text: str) -> list[str]:
    """Overlapping pairs of Han characters within each run of Han text."""
    out = []
    for run in _HAN_RUN.findall(normalized_text):
        out.extend(BIGRAM_PREFIX + run[i : i + 2] for i in range(len(run) - 1))
    return out


def is_han(text: str) -> bool:
    return bool(HAN.search(text))
