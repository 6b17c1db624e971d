"""Building the search index once and keeping it on disk, keyed by the data.

Segmenting a large catalogue with jieba's full dictionary takes minutes;
loading the result takes well under a second. Two levels of cache:

- `parts/part-<key>`: one conversation segmented (`bot.search.index.shards`), keyed
  by its own files and the shared word lists. Adding a conversation segments
  only that one; a first build of many segments them on every core.
- `index-<key>`: the whole index, assembled from the parts and keyed by every
  data file, so editing a transcript, an alias or a stopword rebuilds it and
  nothing else does. A restart loads this folder and nothing else.

Both are `bot.search.index.arrayfiles` folders: no pickles, every file checked
against its SHA-256 and its dtype; a folder that fails any check is rebuilt
and replaced, so the next start uses it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import multiprocessing
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jieba
import numpy as np

from bot.search.index.arrayfiles import (
    DAMAGED,
    CacheError,
    check,
    feed,
    read_folder,
    strings,
    text_arrays,
    text_column,
    text_dtypes,
    write_folder,
    write_into_place,
)
from bot.search.index.inverted import InvertedIndex, Vocabulary, assemble
from bot.search.index.shards import (
    PART_FORMAT,
    TABLE_ARRAYS,
    Part,
    conversation_from,
    conversation_json,
    read_part,
    segment,
    write_part,
)
from bot.search.index.table import PassageTable
from bot.search.language.aliases import Aliases, load_aliases
from bot.search.language.asks import Ask, load_asks
from bot.search.language.segmenter import (
    Segmenter,
    is_dictionary_word,
    load_word_list,
    read_user_dict,
    write_compact_dict,
)
from bot.search.transcripts.conversation import (
    Conversation,
    catalogue_files,
    load_conversation,
    no_conversations,
    no_duplicates,
)

log = logging.getLogger(__name__)

FORMAT_VERSION = "12"
_DATA_FILES = ("aliases.toml", "userdict.txt", "stopwords.txt", "asks.toml")
WORDS = "words.dict"
INDEX_ARRAYS: dict[str, type] = {
    "offsets": np.int64,
    "docs": np.int32,
    "impacts": np.float32,
    "idf": np.float32,
}
VOCABULARY_ARRAYS: dict[str, type] = {"hashes": np.uint64, "ids": np.int32}
_DTYPES = {
    **{f"table.{n}": t for n, t in TABLE_ARRAYS.items()},
    **text_dtypes("texts"),
    **text_dtypes("compact"),
    **{f"index.{n}": t for n, t in INDEX_ARRAYS.items()},
    **{f"vocabulary.{n}": t for n, t in VOCABULARY_ARRAYS.items()},
    **text_dtypes("vocabulary.terms"),
}
# Segment on several processes only when there is enough to share out: each
# worker pays ~1 s to start and load jieba's full dictionary.
PARALLEL_FROM = 4
# An index or a part nobody has used for this long is deleted after a build: every
# add, remove or edit leaves the previous index behind (hundreds of MB for a
# catalogue). Folders in use are touched at every start; a week leaves room for
# another configuration sharing the cache folder (a test run, a second bot).
PRUNE_AFTER_DAYS = 7

Progress = Callable[[int, int], None]

__all__ = ["CacheError", "IndexFiles", "default_cache_dir", "load_or_build"]


@dataclass
class IndexFiles:
    conversations: list[Conversation]  # metadata only (no turns)
    table: PassageTable
    index: InvertedIndex
    segmenter: Segmenter
    aliases: Aliases
    key: str
    asks: list[Ask]  # bit i of table.asks is asks[i]


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """The index and card cache: QUOTEBOT_CACHE_DIR, else $XDG_CACHE_HOME/quotebot
    (~/.cache/quotebot), read from `env` (the process environment by default).
    bot.config resolves it once for the bot; the engine used without settings (tests,
    benchmarks, tools) asks here."""
    env = os.environ if env is None else env
    raw = env.get("QUOTEBOT_CACHE_DIR", "").strip()
    if raw:
        return Path(raw)
    base = env.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "quotebot"


def _hash_files(digest: Any, files: list[tuple[str, Path]]) -> None:
    for tag, path in files:
        digest.update(tag.encode() + b"\0")
        feed(digest, path)


def data_key(data_dir: Path, library_dir: Path | None = None) -> str:
    """Hash of everything the index is made from: the bundled data and the user library."""
    digest = hashlib.sha256(f"format={FORMAT_VERSION};jieba={jieba.__version__}".encode())
    folders = [("data", data_dir)]
    if library_dir is not None and library_dir.is_dir():
        folders.append(("library", library_dir))
    for tag, folder in folders:
        files = sorted(set(folder.glob("*.txt")) | set(folder.glob("*.toml")))
        _hash_files(digest, [(f"{tag}/{path.name}", path) for path in files])
    return digest.hexdigest()[:20]


def words_key(data_dir: Path) -> str:
    """Hash of what segmenting depends on besides the text: the shared word lists."""
    digest = hashlib.sha256(f"format={FORMAT_VERSION};jieba={jieba.__version__}".encode())
    _hash_files(digest, [(n, data_dir / n) for n in _DATA_FILES if (data_dir / n).exists()])
    return digest.hexdigest()[:20]


def part_key(words: str, transcript: Path) -> str:
    """Hash of one conversation's files (its .txt and .toml) and the shared word lists."""
    digest = hashlib.sha256(f"{words};part={PART_FORMAT}".encode())
    _hash_files(digest, [("txt", transcript), ("toml", transcript.with_suffix(".toml"))])
    return digest.hexdigest()[:20]


def _stopwords(data_dir: Path) -> list[str]:
    return load_word_list(data_dir / "stopwords.txt")


def load_or_build(
    data_dir: Path,
    cache_dir: Path | None = None,
    library_dir: Path | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> IndexFiles:
    """The index for `data_dir` (and the user library): from the cache if it matches, else built.

    `progress(done, total)` is told of every conversation a build finishes;
    `workers` caps the processes that segment (default: the usable cores).
    Workers are started with "spawn", which imports the main module again: a
    script that calls this must guard its work with `if __name__ == "__main__":`
    (as `quotebot` and `python -m bot` do), or pass `workers=1`.
    """
    cache_dir = cache_dir or default_cache_dir()
    key = data_key(data_dir, library_dir)
    folder = cache_dir / f"index-{key}"
    aliases = load_aliases(data_dir / "aliases.toml")
    stopwords = _stopwords(data_dir)
    if folder.exists():
        try:
            conversations, table, index = read_cache(folder, key)
            segmenter = Segmenter.compact(folder / WORDS, stopwords)
            _touch(folder)
            asks = load_asks(data_dir / "asks.toml")
            return IndexFiles(conversations, table, index, segmenter, aliases, key, asks)
        except DAMAGED as exc:  # a truncated, tampered or stale cache is rebuilt, never fatal
            log.warning(
                "index cache %s unreadable (%s: %s); rebuilding it", folder, type(exc).__name__, exc
            )
    return _build(data_dir, cache_dir, key, aliases, stopwords, library_dir, progress, workers)


def _user_words(data_dir: Path, aliases: Aliases) -> list[tuple[str, int]]:
    user_words = read_user_dict(data_dir / "userdict.txt")
    # Alias keys are single tokens by design: make jieba keep them whole.
    return user_words + [(k, 2000) for k in aliases.keys if " " not in k]


def full_segmenter(data_dir: Path, aliases: Aliases) -> Segmenter:
    """jieba's full dictionary plus our words: what passages are segmented with."""
    return Segmenter.full(_user_words(data_dir, aliases), _stopwords(data_dir))


def _build(
    data_dir: Path,
    cache_dir: Path,
    key: str,
    aliases: Aliases,
    stopwords: list[str],
    library_dir: Path | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> IndexFiles:
    started = time.perf_counter()
    parts, segmented = _parts(data_dir, cache_dir, library_dir, progress, workers)
    conversations = [p.conversation for p in parts]
    no_duplicates(conversations, data_dir)
    table = PassageTable.concat([p.table for p in parts])
    index = assemble([p.counts for p in parts])
    words: dict[str, int] = {}
    for part in parts:
        words.update(part.words)
    words.update((w, f) for w, f in _user_words(data_dir, aliases) if is_dictionary_word(w))
    log.info(
        "indexed %d conversation(s), %d passages, in %.1f s (%d segmented, %d from the cache)",
        len(parts),
        len(table),
        time.perf_counter() - started,
        segmented,
        len(parts) - segmented,
    )
    folder = cache_dir / f"index-{key}"

    def fill(tmp: Path) -> None:
        write_compact_dict(words, tmp / WORDS)
        write_cache(tmp, key, conversations, table, index)

    try:
        write_into_place(folder, fill, lambda f: read_cache(f, key))
        segmenter = Segmenter.compact(folder / WORDS, stopwords)
        prune(cache_dir)
    except OSError as exc:
        # An unwritable or full disk costs speed next time, not the answer now.
        log.warning("could not write index cache to %s (%s); using it from memory", folder, exc)
        segmenter = full_segmenter(data_dir, aliases)
    asks = load_asks(data_dir / "asks.toml")
    return IndexFiles(conversations, table, index, segmenter, aliases, key, asks)


def _parts(
    data_dir: Path,
    cache_dir: Path,
    library_dir: Path | None,
    progress: Progress | None,
    workers: int | None,
) -> tuple[list[Part], int]:
    """Every conversation's part, from the cache or segmented now; and how many were segmented."""
    files = catalogue_files(data_dir, library_dir)
    if not files:
        raise no_conversations(data_dir, library_dir)
    words = words_key(data_dir)
    keys = [part_key(words, f) for f in files]
    parts: list[Part | None] = [_cached_part(cache_dir, k) for k in keys]
    missing = [i for i, p in enumerate(parts) if p is None]
    for i in missing:  # a broken file is reported before any slow work starts
        load_conversation(files[i])
    done = len(files) - len(missing)
    if progress is not None:
        progress(done, len(files))
    workers = workers or len(os.sched_getaffinity(0))
    unsaved: list[str] = []  # why parts could not be cached (an unwritable or full disk)

    def finished(i: int, part: Part, error: str | None) -> None:
        nonlocal done
        parts[i] = part
        if error is not None:
            unsaved.append(error)
        done += 1
        if progress is not None:
            progress(done, len(files))

    if len(missing) >= PARALLEL_FROM and workers > 1:
        context = multiprocessing.get_context("spawn")  # never fork a process with threads
        with ProcessPoolExecutor(
            min(workers, len(missing)),
            mp_context=context,
            initializer=_watch_parent,
            initargs=(os.getpid(),),
        ) as pool:
            futures = {
                pool.submit(_segment_file, files[i], data_dir, cache_dir, keys[i]): i
                for i in missing
            }
            for future in as_completed(futures):
                finished(futures[future], *future.result())
    elif missing:
        tools = Segmenting.of(data_dir)
        for i in missing:
            finished(i, *_segment_and_keep(files[i], tools, cache_dir, keys[i]))
    if unsaved:  # one line, not one per conversation
        log.warning(
            "could not cache %d of %d segmented conversations (%s); they are segmented again "
            "at the next start",
            len(unsaved),
            len(missing),
            unsaved[0],
        )
    return [p for p in parts if p is not None], len(missing)


def _touch(folder: Path) -> None:
    """Mark a cache folder as in use (see PRUNE_AFTER_DAYS); a read-only cache is fine."""
    with contextlib.suppress(OSError):
        os.utime(folder)


def prune(cache_dir: Path, now: float | None = None) -> list[Path]:
    """Delete index folders, parts and meaning vectors unused for PRUNE_AFTER_DAYS, and
    temporaries that old; the paths deleted."""
    limit = (now or time.time()) - PRUNE_AFTER_DAYS * 86400
    candidates = [
        *cache_dir.glob("index-*"),
        *cache_dir.glob("parts/part-*"),
        *cache_dir.glob("vectors-*/conv-*.npy"),
        # Temporaries a killed process left half-written (write_into_place, meaning._save).
        *cache_dir.glob(".building-*"),
        *cache_dir.glob(".broken-*"),
        *cache_dir.glob("parts/.building-*"),
        *cache_dir.glob("parts/.broken-*"),
        *cache_dir.glob("vectors-*/.vectors-*"),
    ]
    stale = [p for p in candidates if p.stat().st_mtime < limit]
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    if stale:
        log.info("deleted %d cache entries unused for %d days", len(stale), PRUNE_AFTER_DAYS)
    return stale


def _part_folder(cache_dir: Path, key: str) -> Path:
    return cache_dir / "parts" / f"part-{key}"


def _cached_part(cache_dir: Path, key: str) -> Part | None:
    folder = _part_folder(cache_dir, key)
    if not folder.exists():
        return None
    try:
        part = read_part(folder, key)
        _touch(folder)
        return part
    except DAMAGED as exc:  # rebuilt like the index: never fatal
        log.warning(
            "index part %s unreadable (%s: %s); rebuilding it", folder, type(exc).__name__, exc
        )
        return None


@dataclass(frozen=True)
class Segmenting:
    """What segmenting a conversation needs, made once per process that segments."""

    data_dir: Path
    segmenter: Segmenter
    aliases: Aliases
    asks: list[Ask]

    @classmethod
    def of(cls, data_dir: Path) -> Segmenting:
        aliases = load_aliases(data_dir / "aliases.toml")
        asks = load_asks(data_dir / "asks.toml")
        return cls(data_dir, full_segmenter(data_dir, aliases), aliases, asks)


def _segment_and_keep(
    transcript: Path, tools: Segmenting, cache_dir: Path, key: str
) -> tuple[Part, str | None]:
    """The conversation's part, and why it could not be cached (None when it was)."""
    conv = load_conversation(transcript)
    part = segment(conv, tools.segmenter, tools.aliases, tools.asks)
    folder = _part_folder(cache_dir, key)
    try:
        write_into_place(
            folder, lambda tmp: write_part(tmp, key, part), lambda f: read_part(f, key)
        )
    except OSError as exc:
        return part, f"{folder}: {exc.strerror or exc}"
    return part, None


_worker: Segmenting | None = None
PARENT_CHECK_SECONDS = 0.5


def _watch_parent(parent: int) -> None:
    """In a worker process: exit as soon as the process that started it is gone.

    A parent stopped by SIGTERM or SIGKILL mid-build cannot shut its pool down,
    and idle workers would otherwise wait for work forever (measured: they did).
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _segment_file(
    transcript: Path, data_dir: Path, cache_dir: Path, key: str
) -> tuple[Part, str | None]:
    """In a worker process: segment one conversation (the full dictionary loaded once per worker)."""
    global _worker
    if _worker is None or _worker.data_dir != data_dir:
        _worker = Segmenting.of(data_dir)
    return _segment_and_keep(transcript, _worker, cache_dir, key)


# -- the index on disk ---------------------------------------------------------------------


def write_cache(
    folder: Path,
    key: str,
    conversations: list[Conversation],
    table: PassageTable,
    index: InvertedIndex,
) -> None:
    """Write the index files into `folder` (a fresh temporary one, holding WORDS already)."""
    arrays = {f"table.{n}": getattr(table, n) for n in TABLE_ARRAYS}
    arrays |= text_arrays("texts", table.texts) | text_arrays("compact", table.compact)
    arrays |= {f"index.{n}": getattr(index, n) for n in INDEX_ARRAYS}
    arrays |= {f"vocabulary.{n}": getattr(index.vocabulary, n) for n in VOCABULARY_ARRAYS}
    arrays |= text_arrays("vocabulary.terms", index.vocabulary.terms)
    meta = {
        "format": FORMAT_VERSION,
        "key": key,
        "conversations": [conversation_json(c) for c in conversations],
        "conversation_ids": table.conversation_ids,
        "n_docs": index.n_docs,
    }
    write_folder(folder, arrays, meta, extra_files=[WORDS])


def read_cache(folder: Path, key: str) -> tuple[list[Conversation], PassageTable, InvertedIndex]:
    """Read and validate a cache folder; CacheError (or OSError) when anything is off."""
    arrays, meta = read_folder(folder, _DTYPES, extra_files=[WORDS])
    if meta.get("format") != FORMAT_VERSION or meta.get("key") != key:
        raise CacheError("written for another format or data")
    check(isinstance(meta.get("conversations"), list), "conversations")
    conversations = [conversation_from(c) for c in meta["conversations"]]
    conversation_ids = strings(meta["conversation_ids"], "conversation ids")
    check(conversation_ids == [c.id for c in conversations], "conversation ids")
    texts, compact = text_column(arrays, "texts"), text_column(arrays, "compact")
    columns = {n: arrays[f"table.{n}"] for n in TABLE_ARRAYS}
    n = len(texts)
    check(len(compact) == n and all(c.size == n for c in columns.values()), "table lengths")
    conv = columns["conversation"]
    check(n == 0 or (conv.min() >= 0 and conv.max() < len(conversation_ids)), "conversations")
    table = PassageTable(conversation_ids, texts, **columns, compact=compact)

    terms = text_column(arrays, "vocabulary.terms")
    hashes, ids = arrays["vocabulary.hashes"], arrays["vocabulary.ids"]
    v = len(terms)
    check(hashes.size == v and ids.size == v, "vocabulary")
    check(bool(np.all(hashes[1:] >= hashes[:-1])), "vocabulary order")
    check(v == 0 or (ids.min() >= 0 and ids.max() < v), "vocabulary ids")
    n_docs = meta["n_docs"]
    check(n_docs == n, "n_docs")
    idx = {name: arrays[f"index.{name}"] for name in INDEX_ARRAYS}
    offsets, docs = idx["offsets"], idx["docs"]
    check(offsets.size == v + 1 and idx["idf"].size == v, "term counts")
    check(int(offsets[0]) == 0 and int(offsets[-1]) == docs.size, "offsets")
    check(bool(np.all(np.diff(offsets) >= 0)), "offsets")
    check(idx["impacts"].size == docs.size, "postings")
    check(docs.size == 0 or (docs.min() >= 0 and docs.max() < n_docs), "postings")
    index = InvertedIndex(vocabulary=Vocabulary(terms, hashes, ids), n_docs=n_docs, **idx)
    return conversations, table, index
