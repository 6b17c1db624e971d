"""Text helpers every layer shares: what a person sent made safe, and normalisation.

Both sides of a match must go through the same function: if the transcript
and the query were folded differently, an exact phrase would stop matching.
The app (input cleaned once per query), storage (the query log) and the
engine all use these, so they live below every layer, not inside the engine.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import opencc

# Control characters (other than newline/tab) come from pasted text and
# terminals; they never carry meaning for a search.
_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\ufeff]")
_SPACES = re.compile(r"\s+")
# Han characters (CJK unified ideographs and extension A).
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_WORDISH = re.compile(r"[\w\u3400-\u4dbf\u4e00-\u9fff]")


@functools.cache
def _converter() -> opencc.OpenCC:
    # tw2sp converts Taiwan phrases too (軟體→软件, 人工智慧→人工智能), which
    # plain t2s leaves alone; it is a no-op on Simplified text.
    return opencc.OpenCC("tw2sp")


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_input(text: str) -> str:
    """Anything a user can send, made safe to encode: lone surrogates become U+FFFD.

    A terminal's undecodable byte (surrogateescape) or a JSON escape like "\\udcff"
    in an update reaches Python as a lone surrogate, which UTF-8 cannot encode, so
    SQLite, hashing and Telegram would all fail on it. NUL, RTL marks and the rest
    are kept (the search folds them away, the log stores them as sent).
    """
    return _SURROGATE.sub("\ufffd", text)


def to_simplified(text: str) -> str:
    """Traditional (incl. Taiwan/HK vocabulary) to Simplified Chinese."""
    if not HAN.search(text):
        return text
    return _converter().convert(text)


def normalize(text: str) -> str:
    """Fold width, case, script and whitespace so that equal meaning compares equal.

    NFKC turns full-width Latin letters, digits and punctuation into ASCII
    (users on Chinese keyboards type ＧＰＴ－４), casefold makes RLHF == rlhf.
    """
    text = _CONTROL.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text)
    text = text.casefold()
    return _SPACES.sub(" ", text).strip()


def has_searchable_text(text: str) -> bool:
    """True if the text holds at least one letter, digit or Han character.

    Emoji, punctuation and whitespace alone can never name a passage.
    """
    return bool(_WORDISH.search(text))


def compact_text(folded: str) -> str:
    """Already-normalised text reduced to letters, digits and Han: what fuzzy alignment compares."""
    return "".join(ch for ch in folded if ch.isalnum())
