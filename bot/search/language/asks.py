"""What a question asks, and whether a passage can answer it.

"Sam Altman结婚了吗", "when does GPT-5 come out", "Sam的身价有多少": each
names someone or something the conversation is about, so the words find
passages about Sam or GPT; but they ask for an attribute (marriage, a date,
wealth) that a passage must also speak of to be an answer. data/asks.toml
lists such attributes: the words that ask for one, and the words a passage
that gives it carries. This module reads a query for the attributes it asks
and marks, for each attribute, the passages that carry its words; it knows
nothing about scoring.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.text import compact_text, normalize


@dataclass(frozen=True)
class Ask:
    """One attribute a question can ask for."""

    name: str
    asked: re.Pattern[str]  # over normalised query text
    answered: re.Pattern[str]  # over compact passage text


def _words(words: Iterable[str]) -> list[str]:
    """Regex alternatives for literal words; Latin ones match whole words only."""
    out = []
    for word in words:
        norm = normalize(word)
        if not norm:
            continue
        escaped = re.escape(norm)
        if norm[:1].isascii() and norm[:1].isalnum():
            escaped = r"(?<![a-z0-9])" + escaped
        if norm[-1:].isascii() and norm[-1:].isalnum():
            escaped += r"(?![a-z0-9])"
        out.append(escaped)
    return out


def _compile(alternatives: Sequence[str]) -> re.Pattern[str]:
    if not alternatives:
        return re.compile(r"(?!x)x")  # matches nothing
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


def build_asks(entries: Iterable[dict[str, object]]) -> list[Ask]:
    """Compile entries {name, ask, ask_regex, answer, answer_regex} (as in asks.toml)."""
    asks = []
    for entry in entries:

        def strings(key: str, entry: dict[str, object] = entry) -> list[str]:
            value = entry.get(key, [])
            return [str(v) for v in value] if isinstance(value, list) else []

        asked = _words(strings("ask")) + strings("ask_regex")
        # Passages are compared without spaces or punctuation (compact text).
        answered = [
            re.escape(compact_text(normalize(w)))
            for w in strings("answer")
            if compact_text(normalize(w))
        ] + strings("answer_regex")
        if asked and answered:
            asks.append(Ask(str(entry["name"]), _compile(asked), _compile(answered)))
    return asks


def load_asks(path: Path) -> list[Ask]:
    """Read data/asks.toml; a missing file means no attribute is ever asked."""
    if not path.exists():
        return []
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return build_asks(data.get("ask", []))


def asked(asks: Sequence[Ask], normalized_query: str) -> list[Ask]:
    """The attributes a normalised query asks for."""
    return [a for a in asks if a.asked.search(normalized_query)]


def carriers(ask: Ask, compact: Sequence[str], conversation: np.ndarray, window: int) -> np.ndarray:
    """Rows whose passage, or one within `window` passages of the same conversation, carries the answer."""
    own = np.fromiter(
        (bool(ask.answered.search(t)) for t in compact), dtype=bool, count=len(compact)
    )
    near = own.copy()
    n = len(own)
    for step in range(1, window + 1):
        same = conversation[step:] == conversation[:-step] if n > step else np.zeros(0, bool)
        near[:-step] |= own[step:] & same  # a carrier after
        near[step:] |= own[:-step] & same  # a carrier before
    return near


# A passage answers a question asking for an attribute only if it or a passage
# this close in its conversation carries the attribute.
ASK_WINDOW = 1
MAX_ASKS = 64  # one bit each in a passage's `asks` column


def carrier_bits(asks: Sequence[Ask], compact: Sequence[str]) -> np.ndarray:
    """Per passage of one conversation, bit i set when it (or one within ASK_WINDOW)
    carries ask i's answer.

    Computed once when a conversation is indexed and kept with it: matching
    seventeen patterns against every passage of a catalogue would cost a
    query seconds; testing bits costs a millisecond.
    """
    if len(asks) > MAX_ASKS:
        raise ValueError(f"at most {MAX_ASKS} asks fit in a passage's bits, not {len(asks)}")
    bits = np.zeros(len(compact), dtype=np.uint64)
    one_conversation = np.zeros(len(compact), dtype=np.int32)
    for i, ask in enumerate(asks):
        bits[carriers(ask, compact, one_conversation, ASK_WINDOW)] |= np.uint64(1 << i)
    return bits


def asked_bits(asks: Sequence[Ask], normalized_query: str) -> int:
    """The bits (as in `carrier_bits`) of the attributes a normalised query asks for."""
    return sum(1 << i for i, a in enumerate(asks) if a.asked.search(normalized_query))


__all__ = [
    "ASK_WINDOW",
    "Ask",
    "asked",
    "asked_bits",
    "build_asks",
    "carrier_bits",
    "carriers",
    "load_asks",
]
