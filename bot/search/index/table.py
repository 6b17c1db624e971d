"""All passages of all conversations, stored as columns.

At catalogue scale (hundreds of thousands of passages) a list of objects is
slow to load and heavy in memory; columns load in a blink and a `Passage`
is made only for the few passages an answer shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.search.index.columns import TextColumn
from bot.search.transcripts.conversation import Conversation
from bot.search.transcripts.passages import Passage, Quality, cut_passages


@dataclass
class PassageTable:
    conversation_ids: list[str]  # index -> conversation id
    texts: TextColumn
    conversation: np.ndarray  # int32 index into conversation_ids
    turn: np.ndarray  # int32
    number: np.ndarray  # int32
    speaker: np.ndarray  # int16
    turn_start: np.ndarray  # int32 seconds
    at: np.ndarray  # int32 seconds
    quality: np.ndarray  # int8
    # Bit i: the passage (or its neighbour) carries the answer to ask i of
    # data/asks.toml (bot.search.language.asks); filled in by the index build.
    asks: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    # Alias-folded text without spaces or punctuation, for fuzzy alignment;
    # made by the index build so queries never re-normalise passages.
    compact: TextColumn = field(default_factory=lambda: TextColumn.from_strings([]))
    _by_id: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i: int) -> Passage:
        conv = self.conversation_ids[int(self.conversation[i])]
        turn, number = int(self.turn[i]), int(self.number[i])
        return Passage(
            id=f"{conv}-{turn}-{number}",
            conversation=conv,
            turn=turn,
            number=number,
            speaker=int(self.speaker[i]),
            turn_start=int(self.turn_start[i]),
            at=int(self.at[i]),
            text=self.texts[i],
            quality=Quality(int(self.quality[i])),
        )

    def find(self, passage_id: str) -> int | None:
        """Row of a passage id such as "l367-12-3", or None."""
        if self._by_id is None:
            self._by_id = {
                f"{self.conversation_ids[c]}-{t}-{n}": i
                for i, (c, t, n) in enumerate(
                    zip(
                        self.conversation.tolist(),
                        self.turn.tolist(),
                        self.number.tolist(),
                        strict=True,
                    )
                )
            }
        return self._by_id.get(passage_id)

    def same_turn(self, a: int, b: int) -> bool:
        """Rows a and b are passages of one turn of one conversation."""
        return bool(self.conversation[a] == self.conversation[b] and self.turn[a] == self.turn[b])

    def same_conversation(self, a: int, b: int) -> bool:
        return 0 <= b < len(self.texts) and self.conversation[a] == self.conversation[b]

    @classmethod
    def concat(cls, tables: Sequence[PassageTable]) -> PassageTable:
        """The passages of every table, in order (each table's conversations after the last's)."""
        ids: list[str] = []
        shifted = []
        for table in tables:
            shifted.append(table.conversation + np.int32(len(ids)))
            ids += table.conversation_ids
        columns = {
            name: np.concatenate([getattr(t, name) for t in tables])
            for name in ("turn", "number", "speaker", "turn_start", "at", "quality", "asks")
        }
        return cls(
            conversation_ids=ids,
            texts=TextColumn.concat([t.texts for t in tables]),
            conversation=np.concatenate(shifted).astype(np.int32),
            compact=TextColumn.concat([t.compact for t in tables]),
            **columns,
        )


def table_from_conversations(conversations: list[Conversation]) -> PassageTable:
    """The passages of these conversations (`compact` is left for the index build to fill)."""
    cols: dict[str, list[int]] = {
        k: [] for k in ("conv", "turn", "number", "speaker", "start", "at", "q")
    }
    texts: list[str] = []
    for ci, conv in enumerate(conversations):
        for p in cut_passages(conv):
            texts.append(p.text)
            cols["conv"].append(ci)
            cols["turn"].append(p.turn)
            cols["number"].append(p.number)
            cols["speaker"].append(p.speaker)
            cols["start"].append(p.turn_start)
            cols["at"].append(p.at)
            cols["q"].append(int(p.quality))
    return PassageTable(
        conversation_ids=[c.id for c in conversations],
        texts=TextColumn.from_strings(texts),
        conversation=np.array(cols["conv"], dtype=np.int32),
        turn=np.array(cols["turn"], dtype=np.int32),
        number=np.array(cols["number"], dtype=np.int32),
        speaker=np.array(cols["speaker"], dtype=np.int16),
        turn_start=np.array(cols["start"], dtype=np.int32),
        at=np.array(cols["at"], dtype=np.int32),
        quality=np.array(cols["q"], dtype=np.int8),
        asks=np.zeros(len(texts), dtype=np.uint64),
    )
