"""Questions and answers: which host turn each of a guest's answers follows.

An interview is an exchange of questions and answers. A person who asks "what
does Sam think of open source" wants Sam's answer, not the host's question
that shares its words; and an answer read alone ("我不这么认为") often means
nothing without the question before it. So the engine knows, for every
passage of a guest's turn that directly follows a host's turn, the passage
that asked (the host turn's last passage):

- the meaning layer embeds each such passage together with the end of the
  question (`exchange_texts`), so a question in a user's own words is matched
  against the answer with its question;
- a reply quotes the answer with the question on a line above it.

Who the host is: the conversation's `host = N` in its .toml, or else the
speaker who ends the most turns with a question mark (with two speakers or
more; a monologue has no host).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.search.index.table import PassageTable
from bot.search.transcripts.conversation import Conversation

# How much of the question goes in front of an answer when it is embedded:
# its end, where the question is asked.
QUESTION_TAIL_CHARS = 120
_QUESTION_MARKS = ("？", "?")


@dataclass(frozen=True)
class Exchanges:
    """Per row: the row of the question it answers, or -1; per conversation: the host."""

    asked_by: np.ndarray  # int64, row of the host's last passage before this answer, or -1
    hosts: dict[str, int]  # conversation id -> host speaker number (absent: no host)
    # Per row: the passage it follows asks something (holds a question mark).
    # Only then is it shown as "Lex 问：…" above the answer: a machine
    # transcript often moves a speaker change into a sentence, and the host's
    # "turn" is then the start of the guest's own sentence.
    asks: np.ndarray
    guest: np.ndarray  # per row: a guest's passage (a speaker other than the host)

    def question_of(self, row: int) -> int | None:
        """The row of the question a passage answers (to show above it), or None."""
        asked = int(self.asked_by[row])
        return asked if asked >= 0 and bool(self.asks[row]) else None


def find_host(conversation: Conversation, table: PassageTable, lo: int, hi: int) -> int | None:
    """The host of one conversation (rows lo..hi of the table), or None.

    The .toml's `host` wins; otherwise the speaker who ends the most turns
    with a question mark, if there are two speakers or more and that speaker
    asked at least two questions.
    """
    if conversation.host:
        return conversation.host
    speakers = table.speaker[lo:hi]
    if len(np.unique(speakers)) < 2:
        return None
    asked: dict[int, int] = {}
    turns = table.turn[lo:hi]
    last_of_turn = np.flatnonzero(np.append(turns[1:] != turns[:-1], True)) + lo
    for row in last_of_turn.tolist():
        if table.texts[row].rstrip().endswith(_QUESTION_MARKS):
            speaker = int(table.speaker[row])
            asked[speaker] = asked.get(speaker, 0) + 1
    if not asked:
        return None
    host = max(sorted(asked), key=lambda s: asked[s])
    return host if asked[host] >= 2 else None


def find_exchanges(table: PassageTable, conversations: Sequence[Conversation]) -> Exchanges:
    """Which question every answer follows, over every conversation of the table."""
    by_id = {c.id: c for c in conversations}
    asked_by = np.full(len(table), -1, dtype=np.int64)
    hosts: dict[str, int] = {}
    if len(table) == 0:
        return Exchanges(asked_by, hosts, np.zeros(0, dtype=bool), np.zeros(0, dtype=bool))
    bounds = (np.flatnonzero(np.diff(table.conversation)) + 1).tolist()
    for lo, hi in zip([0, *bounds], [*bounds, len(table)], strict=True):
        conv_id = table.conversation_ids[int(table.conversation[lo])]
        conversation = by_id.get(conv_id)
        host = find_host(conversation, table, lo, hi) if conversation is not None else None
        if host is None:
            continue
        hosts[conv_id] = host
        turns = table.turn[lo:hi]
        speakers = table.speaker[lo:hi]
        starts = np.flatnonzero(np.insert(turns[1:] != turns[:-1], 0, True))  # first row of a turn
        for k in range(1, len(starts)):
            first = int(starts[k])
            if int(speakers[first]) == host or int(speakers[first - 1]) != host:
                continue  # a host turn, or a guest turn that follows another guest's
            end = int(starts[k + 1]) if k + 1 < len(starts) else hi - lo
            asked_by[lo + first : lo + end] = lo + first - 1
    asked_rows = np.unique(asked_by[asked_by >= 0])
    asking = [r for r in asked_rows.tolist() if any(m in table.texts[r] for m in _QUESTION_MARKS)]
    asks = np.isin(asked_by, asking)
    host_of = np.array([hosts.get(c, -1) for c in table.conversation_ids], dtype=np.int64)
    host = host_of[table.conversation]
    guest = (host >= 0) & (table.speaker != host)
    return Exchanges(asked_by, hosts, asks, guest)


def question_tail(text: str) -> str:
    """The end of a question, where it is asked: at most QUESTION_TAIL_CHARS characters."""
    text = text.strip()
    if len(text) <= QUESTION_TAIL_CHARS:
        return text
    return "…" + text[-QUESTION_TAIL_CHARS:]


_SENTENCE_END = ("。", "！", "!", "？", "?", "；", ";", "…")
QUESTION_LINE_CHARS = 80


def question_line(text: str) -> str:
    """The question a host's passage asks, for the line above an answer: its last
    sentence that ends in a question mark, cut to QUESTION_LINE_CHARS from the front."""
    end = max(text.rfind(mark) for mark in _QUESTION_MARKS)
    if end < 0:
        return text.strip()[-QUESTION_LINE_CHARS:]
    start = max(text.rfind(mark, 0, end) for mark in _SENTENCE_END) + 1
    sentence = text[start : end + 1].strip()
    if len(sentence) > QUESTION_LINE_CHARS:
        sentence = "…" + sentence[-QUESTION_LINE_CHARS:]
    return sentence


def exchange_texts(table: PassageTable, exchanges: Exchanges) -> list[str | None]:
    """Per row: the end of the question and the answer, as embedded; None for a passage
    that answers no question (its own vector serves)."""
    out: list[str | None] = []
    for row in range(len(table)):
        asked = int(exchanges.asked_by[row])
        out.append(None if asked < 0 else f"{question_tail(table.texts[asked])} {table.texts[row]}")
    return out


__all__ = [
    "Exchanges",
    "exchange_texts",
    "find_exchanges",
    "find_host",
    "question_line",
    "question_tail",
]
