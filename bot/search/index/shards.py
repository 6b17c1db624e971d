"""One conversation's share of the index, made and cached on its own.

Segmenting is what makes an index slow to build (minutes for a catalogue);
it depends only on the conversation's own text and on the shared word lists
(aliases, user dictionary, stopwords). So each conversation is segmented
once into a `Part` and cached under a key of exactly those inputs: adding a
conversation to a catalogue of 500 segments one, and the whole index is
then put together from the parts in seconds (`index.assemble`).

A part on disk is an `arrayfiles` folder: the passage columns, the passage
texts and their folded forms as text columns, the term counts, and in the
manifest the conversation's metadata, its local vocabulary and the jieba
frequencies of its words (for the compact query dictionary).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.search.index.arrayfiles import (
    CacheError,
    check,
    read_folder,
    text_arrays,
    text_column,
    text_dtypes,
    write_folder,
)
from bot.search.index.columns import TextColumn
from bot.search.index.inverted import TermCounts
from bot.search.index.table import PassageTable, table_from_conversations
from bot.search.language.aliases import Aliases
from bot.search.language.asks import Ask, carrier_bits
from bot.search.language.segmenter import Segmenter
from bot.search.transcripts.conversation import Conversation, Speaker
from bot.text import compact_text, normalize

PART_FORMAT = "5"
# Every passage column, with the dtype it must have (all one-dimensional).
TABLE_ARRAYS: dict[str, type] = {
    "conversation": np.int32,
    "turn": np.int32,
    "number": np.int32,
    "speaker": np.int16,
    "turn_start": np.int32,
    "at": np.int32,
    "quality": np.int8,
    "asks": np.uint64,
}
COUNT_ARRAYS: dict[str, type] = {
    "hashes": np.uint64,
    "term_ids": np.int32,
    "docs": np.int32,
    "tf": np.int32,
    "word_len": np.int32,
    "bigram_len": np.int32,
}


@dataclass
class Part:
    conversation: Conversation  # metadata only: see `metadata`
    table: PassageTable  # its passages, with `compact` filled
    counts: TermCounts
    words: dict[str, int]  # Han words it was segmented into -> jieba frequency


def metadata(conv: Conversation) -> Conversation:
    """The conversation without its turns: all a running engine needs once passages are cut.

    The turns are the bulk of a transcript; keeping them out of the cache is
    what lets a catalogue's index load in well under a second.
    """
    return dataclasses.replace(conv, turns=[], end=conv.duration)


def segment(
    conv: Conversation, segmenter: Segmenter, aliases: Aliases, asks: Sequence[Ask] = ()
) -> Part:
    """Cut a conversation into passages and count the terms of each (the slow part);
    mark the passages that carry an answer to each of `asks`."""
    table = table_from_conversations([conv])
    compact: list[str] = []
    seen: set[str] = set()

    def term_lists():
        for text in table.texts:
            folded = aliases.fold(normalize(text))
            compact.append(compact_text(folded))
            words, bigrams = segmenter.terms(folded)
            seen.update(words)
            yield words, bigrams

    counts = TermCounts.count(term_lists())
    table.compact = TextColumn.from_strings(compact)
    table.asks = carrier_bits(asks, compact)
    return Part(metadata(conv), table, counts, segmenter.frequencies(seen))


# -- conversations as JSON ---------------------------------------------------------------


def conversation_json(conv: Conversation) -> dict[str, Any]:
    """A conversation's metadata (not its turns) as JSON."""
    return {
        "id": conv.id,
        "title": conv.title,
        "title_zh": conv.title_zh,
        "language": conv.language,
        "video_url": conv.video_url,
        "speakers": [
            [s.number, s.name, s.name_zh, list(s.aliases)] for s in conv.speakers.values()
        ],
        "source": None if conv.source is None else str(conv.source),
        "intro_end": conv.intro_end,
        "end": conv.duration,
        "host": conv.host,
    }


def conversation_from(obj: object) -> Conversation:
    check(isinstance(obj, dict), "conversation")
    assert isinstance(obj, dict)
    speakers = {}
    for number, name, name_zh, aliases in obj["speakers"]:
        check(isinstance(number, int) and isinstance(name, str) and isinstance(name_zh, str))
        check(isinstance(aliases, list) and all(isinstance(a, str) for a in aliases))
        speakers[number] = Speaker(number, name, name_zh, tuple(aliases))
    for name in ("id", "title", "title_zh", "language", "video_url"):
        check(isinstance(obj[name], str), name)
    check(isinstance(obj["intro_end"], int), "intro_end")
    check(isinstance(obj["end"], int), "end")
    check(isinstance(obj.get("host", 0), int), "host")
    check(obj["source"] is None or isinstance(obj["source"], str), "source")
    return Conversation(
        id=obj["id"],
        title=obj["title"],
        title_zh=obj["title_zh"],
        language=obj["language"],
        video_url=obj["video_url"],
        speakers=speakers,
        turns=[],
        source=None if obj["source"] is None else Path(obj["source"]),
        intro_end=obj["intro_end"],
        end=obj["end"],
        host=obj.get("host", 0),
    )


# -- a part on disk ----------------------------------------------------------------------

_DTYPES = {
    **{f"table.{n}": t for n, t in TABLE_ARRAYS.items()},
    **text_dtypes("texts"),
    **text_dtypes("compact"),
    **{f"counts.{n}": t for n, t in COUNT_ARRAYS.items()},
    **text_dtypes("terms"),
}


def write_part(folder: Path, key: str, part: Part) -> None:
    """Write a part into `folder` (a fresh temporary one)."""
    arrays = {f"table.{n}": getattr(part.table, n) for n in TABLE_ARRAYS}
    arrays |= text_arrays("texts", part.table.texts) | text_arrays("compact", part.table.compact)
    arrays |= {f"counts.{n}": getattr(part.counts, n) for n in COUNT_ARRAYS}
    arrays |= text_arrays("terms", part.counts.terms)
    meta = {
        "format": PART_FORMAT,
        "key": key,
        "conversation": conversation_json(part.conversation),
        "words": part.words,
    }
    write_folder(folder, arrays, meta)


def read_part(folder: Path, key: str) -> Part:
    """Read and validate a part; CacheError (or OSError) when anything is off."""
    arrays, meta = read_folder(folder, _DTYPES)
    if meta.get("format") != PART_FORMAT or meta.get("key") != key:
        raise CacheError("written for another format or data")
    conv = conversation_from(meta["conversation"])
    texts, compact = text_column(arrays, "texts"), text_column(arrays, "compact")
    n = len(texts)
    columns = {n_: arrays[f"table.{n_}"] for n_ in TABLE_ARRAYS}
    check(len(compact) == n and all(c.size == n for c in columns.values()), "table lengths")
    check(n == 0 or not columns["conversation"].any(), "conversation column")
    table = PassageTable([conv.id], texts, **columns, compact=compact)
    terms = text_column(arrays, "terms")
    counts = TermCounts(terms, **{n_: arrays[f"counts.{n_}"] for n_ in COUNT_ARRAYS})
    check(counts.hashes.size == len(terms), "term hashes")
    check(bool(np.all(counts.hashes[1:] >= counts.hashes[:-1])), "term order")
    pairs = counts.term_ids.size
    check(counts.docs.size == pairs and counts.tf.size == pairs, "term counts")
    check(counts.word_len.size == n and counts.bigram_len.size == n, "passage lengths")
    check(
        pairs == 0 or (counts.term_ids.min() >= 0 and counts.term_ids.max() < len(terms)),
        "term ids",
    )
    check(pairs == 0 or (counts.docs.min() >= 0 and counts.docs.max() < n), "passages")
    words = meta["words"]
    check(
        isinstance(words, dict)
        and all(isinstance(k, str) and isinstance(v, int) for k, v in words.items()),
        "words",
    )
    return Part(conv, table, counts, words)
