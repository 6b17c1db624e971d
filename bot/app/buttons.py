"""Button data: the one module that encodes and decodes callback payloads.

Telegram gives a button at most 64 bytes of data. Every prefix lives here:

    r|<search key>|<rank>   a search's result at rank (0 = best)
    t|<search key>|<page>   a page of a /topic search
    c|<passage id>|<±1>     the passage before (-1) or after (1)
    p|<passage id>          open one passage (a closest-in-meaning suggestion)
    k|<topic index>         a suggested topic
    x|random                another random quote
    x|random|<conv id>      another random quote of that conversation
    g|<passage id>|<l|d>    send the passage's quote card (light or dark) as a photo
    v|<conv id>             /conversation: this chat searches that conversation (`*`: all)
    u|<token>               /forget: put back what was just deleted (within a minute)

`decode` turns a payload back into one typed value, or None when it is
malformed (old clients, hand-made payloads): the caller says "expired".
"""

from __future__ import annotations

from dataclasses import dataclass

RANDOM = "x|random"


@dataclass(frozen=True, slots=True)
class ResultAt:
    key: str
    rank: int


@dataclass(frozen=True, slots=True)
class TopicPage:
    key: str
    page: int


@dataclass(frozen=True, slots=True)
class Neighbour:
    passage_id: str
    step: int  # -1 before, 1 after


@dataclass(frozen=True, slots=True)
class OpenPassage:
    passage_id: str


@dataclass(frozen=True, slots=True)
class SuggestedTopic:
    index: int


@dataclass(frozen=True, slots=True)
class AnotherRandom:
    conversation: str | None = None  # the conversation the first one came from, if narrowed


@dataclass(frozen=True, slots=True)
class SendCard:
    passage_id: str
    style: str  # "light" or "dark"


@dataclass(frozen=True, slots=True)
class ChooseConversation:
    conversation: str | None  # None: all conversations


@dataclass(frozen=True, slots=True)
class UndoForget:
    token: str  # names the deleted rows held in memory for the undo


_STYLES = {"l": "light", "d": "dark"}
_ALL = "*"  # never a conversation id (those are letters and digits)

Press = (
    ResultAt
    | TopicPage
    | Neighbour
    | OpenPassage
    | SuggestedTopic
    | AnotherRandom
    | SendCard
    | ChooseConversation
    | UndoForget
)


def result_at(key: str, rank: int) -> str:
    return f"r|{key}|{rank}"


def topic_page(key: str, page: int) -> str:
    return f"t|{key}|{page}"


def neighbour(passage_id: str, step: int) -> str:
    return f"c|{passage_id}|{step}"


def open_passage(passage_id: str) -> str:
    return f"p|{passage_id}"


def suggested_topic(index: int) -> str:
    return f"k|{index}"


def another_random(conversation: str | None = None) -> str:
    return f"{RANDOM}|{conversation}" if conversation else RANDOM


def choose_conversation(conversation: str | None) -> str:
    return f"v|{conversation or _ALL}"


def send_card(passage_id: str, style: str = "light") -> str:
    return f"g|{passage_id}|{style[0]}"


def undo_forget(token: str) -> str:
    return f"u|{token}"


def decode(data: str | None) -> Press | None:
    """The press a payload encodes; None if it is not one of ours."""
    data = data or ""
    if data == RANDOM:
        return AnotherRandom()
    parts = data.split("|")
    try:
        if parts[0] == "r" and len(parts) == 3:
            return ResultAt(parts[1], int(parts[2]))
        if parts[0] == "t" and len(parts) == 3:
            return TopicPage(parts[1], int(parts[2]))
        if parts[0] == "c" and len(parts) == 3:
            step = int(parts[2])
            return Neighbour(parts[1], step) if step in (-1, 1) else None
        if parts[0] == "p" and len(parts) == 2 and parts[1]:
            return OpenPassage(parts[1])
        if parts[0] == "g" and len(parts) == 3 and parts[1] and parts[2] in _STYLES:
            return SendCard(parts[1], _STYLES[parts[2]])
        if parts[0] == "k" and len(parts) == 2:
            return SuggestedTopic(int(parts[1]))
        if data.startswith(RANDOM + "|") and len(parts) == 3 and parts[2].isalnum():
            return AnotherRandom(parts[2])
        if parts[0] == "u" and len(parts) == 2 and parts[1]:
            return UndoForget(parts[1])
        if parts[0] == "v" and len(parts) == 2 and parts[1]:
            return ChooseConversation(None if parts[1] == _ALL else parts[1])
    except ValueError:
        return None
    return None
