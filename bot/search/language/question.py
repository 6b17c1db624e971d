"""The shape of a question: what is asked about, and of whom.

People ask a quote bot in their own words: "Sam怎么看开源模型的风险",
"有没有聊到马斯克", "what does Sam think about open source". The frame of
such a question (怎么看, 有没有聊到, what does … think about) and its
particles (吗, 呢) are not words the answer contains, so matching them only
lowers the evidence of the right passage. A speaker named in the question
(Sam, 奥特曼, Lex) says whose turns to prefer; the name itself is rarely in
the passage that answers. This module splits a normalised query into the
topic words to match and the speaker to prefer; it knows nothing about the
index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Question frames in Simplified Chinese, longest first when compiled. Only
# multi-character frames: single characters (对, 有, 说) are parts of content
# words far too often. "什么时候" is not a frame: it is what is asked.
_ZH_FRAMES = (
    "是怎么看待",
    "怎么看待",
    "如何看待",
    "怎样看待",
    "怎么看",
    "怎么想",
    "怎么评价",
    "如何评价",
    "怎么说的",
    "怎么说",
    "说了什么",
    "讲了什么",
    "聊了什么",
    "谈了什么",
    "说了些什么",
    "有什么看法",
    "什么看法",
    "的看法",
    "看法",
    "的观点",
    "什么观点",
    "是什么意思",
    "什么意思",
    "是什么",
    "什么是",
    "为什么",
    "为何",
    "算不算",
    "是不是",
    "有没有",
    "有没",
    "是否",
    "会不会",
    "能不能",
    "可不可以",
    "觉得",
    "认为",
    "聊到",
    "聊过",
    "谈到",
    "谈过",
    "谈及",
    "提到",
    "提过",
    "提及",
    "讲到",
    "讲过",
    "说到",
    "说过",
    "问过",
    "问到",
    "请问",
    "对于",
    "关于",
    "这期节目",
    "节目里",
    "节目中",
    "访谈里",
    "访谈中",
    "对话里",
    "对话中",
    "播客里",
    "播客中",
    "怎么",
    "如何",
    "怎样",
    "哪些",
    "什么",
)
_ZH_PARTICLES = re.compile(r"[吗呢啊吧呀嘛么]+(?=[\s?？!！。.,，]*$)")
# English frames, on casefolded text.
_EN_FRAMES = (
    r"what (?:does|did|do|would|will) (?:he|she|they|you|it)?\s*(?:think|say|said|believe|feel|mean)"
    r"(?: about| of| on| by)?",
    r"(?:did|do|does) (?:they|he|she|you|anyone|the podcast|the conversation)?\s*"
    r"(?:talk|speak|say anything|mention|discuss|bring up|get into|touch on|cover)(?: about| on)?",
    r"what (?:is|was|are|were) (?:his|their|the)?\s*(?:view|views|take|opinion|stance|position)"
    r"(?: on| of| about)?",
    r"(?:his|their) (?:view|views|take|opinion|thoughts)(?: on| of| about)?",
    r"thoughts on",
    r"opinion (?:on|of|about)",
    r"according to",
    r"tell me about",
    r"in the (?:podcast|interview|conversation|episode|show)",
    r"on the (?:podcast|show)",
    r"what(?:'s| is| are| was| were)",
    r"why (?:does|did|do|is|are|was|were|would|should)",
    r"how (?:does|did|do|is|are|was|would|should|can|could)",
    r"^(?:is|are|does|do|did|was|were|can|could|should|would|will)\b",
    r"\b(?:what|why|how|when)\b",
)
_EN_FRAME = re.compile("|".join(f"(?:{f})" for f in _EN_FRAMES))
# "Sam Altman's weaknesses": the 's stays behind when the name is removed.
_POSSESSIVE = re.compile(r"(?:(?<=[a-z])|(?<![^\s])|^)'s\b")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class SpeakerName:
    """A way to name one speaker of one conversation."""

    conversation: str
    speaker: int
    name: str  # normalised


@dataclass(frozen=True)
class Question:
    """A query split into what to match and whom to prefer."""

    topic: str  # the query without frames, particles and speaker names ("" if nothing is left)
    unnamed: str  # the query without speaker names only
    speakers: frozenset[tuple[str, int]]  # (conversation id, speaker number) to prefer
    framed: bool  # a frame or particle was removed: the query was asked as a question


class QuestionReader:
    """Reads normalised queries; built once from the conversations' speaker names."""

    def __init__(self, names: Iterable[SpeakerName]) -> None:
        # One pattern per distinct name, longest first: a catalogue of one show has
        # the same host in every episode, and a query is read against each name once.
        owners: dict[str, set[tuple[str, int]]] = {}
        for n in names:
            if n.name.strip():
                owners.setdefault(n.name, set()).add((n.conversation, n.speaker))
        zh = sorted(_ZH_FRAMES, key=len, reverse=True)
        self._zh_frame = re.compile("|".join(re.escape(f) for f in zh))
        self._name_patterns = [
            (frozenset(owners[name]), re.compile(_name_pattern(name)))
            for name in sorted(owners, key=lambda name: (-len(name), name))
        ]

    def read(self, normalized: str) -> Question:
        text = normalized
        speakers: set[tuple[str, int]] = set()
        for owners, pattern in self._name_patterns:
            text, hits = pattern.subn(" ", text)
            if hits:
                speakers.update(owners)
        text = _POSSESSIVE.sub("", text)
        unnamed = _SPACES.sub(" ", text).strip()
        stripped = self._zh_frame.sub(" ", text)
        stripped = _EN_FRAME.sub(" ", stripped)
        stripped = _ZH_PARTICLES.sub(" ", stripped)
        stripped = _SPACES.sub(" ", stripped.replace("?", " ").replace("？", " ")).strip()
        framed = stripped != _SPACES.sub(" ", text.replace("?", " ").replace("？", " ")).strip()
        # Two speakers named ("Lex问Sam…") say nothing about whose turn answers.
        chosen = frozenset(speakers) if len({s for _, s in speakers}) == 1 else frozenset()
        return Question(stripped, unnamed, chosen, framed)


def _name_pattern(name: str) -> str:
    if re.fullmatch(r"[a-z0-9 .'-]+", name):
        return rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])"
    return re.escape(name)


__all__ = ["Question", "QuestionReader", "SpeakerName"]
