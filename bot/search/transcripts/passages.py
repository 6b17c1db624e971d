"""Cutting turns into passages: the unit the bot quotes.

A turn can run to 2,000 characters; nobody wants that as a quote. A passage
is one sentence or a few, small enough to read in a chat bubble and still
a whole thought.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from bot.search.transcripts.conversation import Conversation, Turn

# A sentence ends at Chinese or Latin terminal punctuation, keeping closing
# quotes and brackets with it.
_SENTENCE = re.compile(
    r"[^。！？!?；;…]*(?:[。！？!?；;…]+|\.{3,})[”」』）)\"']*|[^。！？!?；;…]+$"
)
MIN_PASSAGE = 40  # characters: shorter groups take the next sentence too
MAX_PASSAGE = 160  # characters: longer groups are closed before this
_SOFT_BREAK = re.compile(r"(?<=[，,、：:])")


class Quality(IntEnum):
    """How well a passage stands alone, so random and daily quotes can prefer whole thoughts."""

    FRAGMENT = 0  # e.g. "是的。" or half a sentence left by a diarization split
    OK = 1
    GOOD = 2


@dataclass(frozen=True, slots=True)
class Passage:
    id: str  # "<conversation>-<turn>-<n>", stable for share links
    conversation: str
    turn: int
    number: int  # position within the turn
    speaker: int
    turn_start: int  # seconds, as written in the turn header
    at: int  # seconds, estimated by character offset within the turn
    text: str
    quality: Quality


# A Latin full stop ends a sentence when a capitalised word follows ("works. It"),
# for English transcripts; "3.5", "GPT-4.5" and "..." are not sentence ends.
_LATIN_STOP = re.compile(r"(?<=[a-z0-9)\"'”’][.])\s+(?=[A-Z\"“‘'])")


def split_sentences(text: str) -> list[str]:
    """Sentences of a turn, paragraph breaks counting as sentence ends."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        for sentence in _SENTENCE.findall(paragraph):
            out.extend(s.strip() for s in _LATIN_STOP.split(sentence) if s.strip())
    return out


def _split_long(sentence: str) -> list[str]:
    """Break a run-on sentence at commas so no passage grows past MAX_PASSAGE."""
    if len(sentence) <= MAX_PASSAGE:
        return [sentence]
    pieces, current = [], ""
    for clause in _SOFT_BREAK.split(sentence):
        if current and len(current) + len(clause) > MAX_PASSAGE:
            pieces.append(current)
            current = ""
        current += clause
    if current:
        pieces.append(current)
    # A clause longer than MAX_PASSAGE on its own is cut hard.
    return [p[i : i + MAX_PASSAGE] for p in pieces for i in range(0, len(p), MAX_PASSAGE)]


def _glue(a: str, b: str) -> str:
    """Two sentences of one passage: a space between Latin ones ("works. It"), none in Chinese."""
    if a and b and a[-1].isascii() and b[0].isascii() and not a[-1].isspace():
        return f"{a} {b}"
    return a + b


def group_sentences(sentences: list[str]) -> list[str]:
    """Greedily join sentences into passages of MIN_PASSAGE..MAX_PASSAGE characters."""
    groups: list[str] = []
    current = ""
    for sentence in (piece for s in sentences for piece in _split_long(s)):
        if current and len(current) + len(sentence) > MAX_PASSAGE:
            groups.append(current)
            current = ""
        current = _glue(current, sentence)
        if len(current) >= MIN_PASSAGE:
            groups.append(current)
            current = ""
    if current:
        # A short tail joins the previous passage if it fits, else stands alone.
        if groups and len(groups[-1]) + len(current) <= MAX_PASSAGE:
            groups[-1] = _glue(groups[-1], current)
        else:
            groups.append(current)
    return groups


def _quality(text: str, turn: Turn) -> Quality:
    ends_whole = text.rstrip("”」』）)\"'").endswith(("。", "！", "？", "!", "?", "…"))
    if len(text) < 12 or len(turn.text) < 20:
        return Quality.FRAGMENT
    if len(text) >= 30 and ends_whole and len(turn.text) >= 40:
        return Quality.GOOD
    return Quality.OK


def _chars_per_second(conv: Conversation) -> float:
    turns = conv.turns
    span = turns[-1].start - turns[0].start
    chars = sum(len(t.text) for t in turns[:-1])
    return chars / span if span > 0 and chars else 4.0


def _at(turn: Turn, offset: int, end: int) -> int:
    """The second of character `offset` of a turn.

    With cue times (imported subtitles) it is interpolated between the cues
    around it; otherwise across the whole turn, from its start to `end`.
    """
    points = [(0, turn.start), *turn.cues, (max(1, len(turn.text)), max(end, turn.start))]
    before = max((p for p in points if p[0] <= offset), default=points[0])
    after = min((p for p in points if p[0] > offset), default=points[-1])
    if after[0] <= before[0]:
        return before[1]
    span = max(0, after[1] - before[1])
    return before[1] + int(span * (offset - before[0]) / (after[0] - before[0]))


def cut_passages(conv: Conversation) -> list[Passage]:
    """All passages of a conversation, in order."""
    cps = _chars_per_second(conv)
    passages: list[Passage] = []
    for i, turn in enumerate(conv.turns):
        if i + 1 < len(conv.turns):
            end = conv.turns[i + 1].start
        elif conv.end > turn.start:
            end = conv.end
        else:
            end = turn.start + round(len(turn.text) / cps)
        offset = 0
        cut: list[tuple[str, int]] = []  # (text, where it starts in the turn, or -1)
        for text in group_sentences(split_sentences(turn.text)):
            found = turn.text.find(text[:8], offset)
            cut.append((text, found))
            offset = (found if found >= 0 else offset) + len(text)
        offset = 0
        for n, (text, found) in enumerate(cut):
            # With cue times the passage's own first character decides (the space or
            # line break before it may belong to the cue before); without, as always.
            at = _at(turn, found if turn.cues and found >= 0 else offset, end)
            shown = text
            if turn.parallel:
                shown = _with_parallel(text, turn, found, cut[n + 1][1] if n + 1 < len(cut) else -1)
            passages.append(
                Passage(
                    id=f"{conv.id}-{turn.index}-{n}",
                    conversation=conv.id,
                    turn=turn.index,
                    number=n,
                    speaker=turn.speaker,
                    turn_start=turn.start,
                    at=at,
                    text=shown,
                    quality=_quality(text, turn),
                )
            )
            offset = (found if found >= 0 else offset) + len(text)
    return passages


def _with_parallel(text: str, turn: Turn, begin: int, until: int) -> str:
    """A passage of two-language subtitles: its text, then on a line of its own the
    other-language lines of the cues it starts (so both are searchable and the
    transcript's own language is read first)."""
    if begin < 0:
        return text
    stop = until if until > begin else len(turn.text) + 1
    other = " ".join(line for offset, line in turn.parallel if begin <= offset < stop)
    return f"{text}\n{other}" if other else text
