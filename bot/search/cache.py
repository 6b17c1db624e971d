"""Building the search index once and keeping it on disk, keyed by the data.

Segmenting a large catalogue with jieba's full dictionary takes minutes;
loading the result takes well under a second. The cache key is a hash of
every data file and of the index format, so editing a transcript, an alias
or a stopword rebuilds it, and nothing else does.

No pickles: the arrays are `.npy` files read with `allow_pickle=False`, everything
else (conversations, passage texts, the index vocabulary) is JSON, and every file
is checked against the SHA-256 recorded in `index.json` and for its shape and
dtype before it is used. A cache that fails any check is rebuilt and replaced
(written to a temporary folder, then renamed into place), so the next start uses
it. No other file in the folder (an `index.pkl` someone left there) is ever read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jieba
import numpy as np

from bot.search.aliases import Aliases, load_aliases
from bot.search.index import InvertedIndex, build_index
from bot.search.library import PassageTable, table_from_conversations
from bot.search.segment import Segmenter, load_word_list, read_user_dict
from bot.search.textnorm import compact_text, normalize
from bot.search.transcript import Conversation, Speaker, Turn, load_all

log = logging.getLogger(__name__)

FORMAT_VERSION = "8"
_DATA_FILES = ("aliases.toml", "userdict.txt", "stopwords.txt")
MANIFEST = "index.json"
WORDS = "words.dict"
# Every array in the cache, with the dtype it must have (all one-dimensional).
TABLE_ARRAYS = {
    "conversation": np.int32,
    "turn": np.int32,
    "number": np.int32,
    "speaker": np.int16,
    "turn_start": np.int32,
    "at": np.int32,
    "quality": np.int8,
}
INDEX_ARRAYS = {"offsets": np.int64, "docs": np.int32, "impacts": np.float32, "idf": np.float32}


class CacheError(ValueError):
    """A cache folder that is not exactly what this version writes."""


@dataclass
class IndexFiles:
    conversations: list[Conversation]
    table: PassageTable
    index: InvertedIndex
    segmenter: Segmenter
    aliases: Aliases
    key: str


def default_cache_dir() -> Path:
    env = os.environ.get("QUOTEBOT_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "quotebot"


def data_key(data_dir: Path, library_dir: Path | None = None) -> str:
    """Hash of everything the index is made from: the bundled data and the user library."""
    digest = hashlib.sha256(f"format={FORMAT_VERSION};jieba={jieba.__version__}".encode())
    folders = [("data", data_dir)]
    if library_dir is not None and library_dir.is_dir():
        folders.append(("library", library_dir))
    for tag, folder in folders:
        files = sorted(folder.glob("*.txt")) + sorted(folder.glob("*.toml"))
        for path in sorted(set(files)):
            digest.update(f"{tag}/{path.name}".encode() + b"\0")
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()[:20]


def _stopwords(data_dir: Path) -> list[str]:
    return load_word_list(data_dir / "stopwords.txt")


def load_or_build(
    data_dir: Path, cache_dir: Path | None = None, library_dir: Path | None = None
) -> IndexFiles:
    """The index for `data_dir` (and the user library): from the cache if it matches, else built."""
    cache_dir = cache_dir or default_cache_dir()
    key = data_key(data_dir, library_dir)
    folder = cache_dir / f"index-{key}"
    aliases = load_aliases(data_dir / "aliases.toml")
    stopwords = _stopwords(data_dir)
    if folder.exists():
        try:
            conversations, table, index = read_cache(folder, key)
            segmenter = Segmenter.compact(folder / WORDS, stopwords)
            return IndexFiles(conversations, table, index, segmenter, aliases, key)
        except Exception as exc:  # a truncated, tampered or stale cache is rebuilt, never fatal
            log.warning("index cache %s unreadable (%s); rebuilding it", folder, exc)
    return _build(data_dir, folder, key, aliases, stopwords, library_dir)


def _build(
    data_dir: Path,
    folder: Path,
    key: str,
    aliases: Aliases,
    stopwords: list[str],
    library_dir: Path | None = None,
) -> IndexFiles:
    conversations = load_all(data_dir, library_dir)
    table = table_from_conversations(conversations)
    user_words = read_user_dict(data_dir / "userdict.txt")
    # Alias keys are single tokens by design: make jieba keep them whole.
    user_words += [(k, 2000) for k in aliases.keys if " " not in k]
    full = Segmenter.full(user_words, stopwords)
    vocabulary: set[str] = {w for w, _ in user_words}

    def segmented():
        # A generator, so a large catalogue is never held as lists of strings.
        for text in table.texts:
            folded = aliases.fold(normalize(text))
            table.compact.append(compact_text(folded))
            words, bigrams = full.terms(folded)
            vocabulary.update(words)
            yield words, bigrams

    index = build_index(segmented())
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
        try:
            full.write_compact_dict(vocabulary, tmp / WORDS)
            write_cache(tmp, key, conversations, table, index)
            _move_into_place(tmp, folder, key)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # gone already when it was renamed
        segmenter = Segmenter.compact(folder / WORDS, stopwords)
    except OSError as exc:
        # An unwritable or full disk costs speed next time, not the answer now.
        log.warning("could not write index cache to %s (%s); using it from memory", folder, exc)
        segmenter = full
    return IndexFiles(conversations, table, index, segmenter, aliases, key)


def _move_into_place(tmp: Path, folder: Path, key: str) -> None:
    """Rename the new cache to `folder`; an unreadable folder there is moved aside first.

    When another process wrote a good cache meanwhile, theirs stays and ours is dropped.
    """
    try:
        tmp.rename(folder)
        return
    except OSError:
        if not folder.exists():
            raise
    try:
        read_cache(folder, key)
        return  # another process won the race with a good cache: use theirs
    except Exception:
        pass
    broken = Path(tempfile.mkdtemp(prefix=".broken-", dir=folder.parent))
    folder.rename(broken / "old")
    try:
        tmp.rename(folder)
    finally:
        shutil.rmtree(broken, ignore_errors=True)


# -- the on-disk format ------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _conversation_json(conv: Conversation) -> dict[str, Any]:
    return {
        "id": conv.id,
        "title": conv.title,
        "title_zh": conv.title_zh,
        "language": conv.language,
        "video_url": conv.video_url,
        "speakers": [
            [s.number, s.name, s.name_zh, list(s.aliases)] for s in conv.speakers.values()
        ],
        "turns": [
            [t.index, t.speaker, t.start, t.text, t.line, [list(c) for c in t.cues]]
            for t in conv.turns
        ],
        "source": None if conv.source is None else str(conv.source),
        "intro_end": conv.intro_end,
        "end": conv.end,
    }


def _conversation_from(obj: dict[str, Any]) -> Conversation:
    speakers = {}
    for number, name, name_zh, aliases in obj["speakers"]:
        _check(isinstance(number, int) and isinstance(name, str) and isinstance(name_zh, str))
        _check(isinstance(aliases, list) and all(isinstance(a, str) for a in aliases))
        speakers[number] = Speaker(number, name, name_zh, tuple(aliases))
    turns = []
    for index, speaker, start, text, line, cues in obj["turns"]:
        _check(all(isinstance(v, int) for v in (index, speaker, start, line)))
        _check(isinstance(text, str))
        _check(
            isinstance(cues, list)
            and all(
                isinstance(c, list) and len(c) == 2 and all(isinstance(v, int) for v in c)
                for c in cues
            ),
            "cues",
        )
        turns.append(Turn(index, speaker, start, text, line, tuple((o, s) for o, s in cues)))
    for name in ("id", "title", "title_zh", "language", "video_url"):
        _check(isinstance(obj[name], str), name)
    _check(isinstance(obj["intro_end"], int), "intro_end")
    _check(isinstance(obj["end"], int), "end")
    _check(obj["source"] is None or isinstance(obj["source"], str), "source")
    return Conversation(
        id=obj["id"],
        title=obj["title"],
        title_zh=obj["title_zh"],
        language=obj["language"],
        video_url=obj["video_url"],
        speakers=speakers,
        turns=turns,
        source=None if obj["source"] is None else Path(obj["source"]),
        intro_end=obj["intro_end"],
        end=obj["end"],
    )


def write_cache(
    folder: Path,
    key: str,
    conversations: list[Conversation],
    table: PassageTable,
    index: InvertedIndex,
) -> None:
    """Write the index files into `folder` (a fresh temporary one), manifest last."""
    terms = sorted(index.vocabulary, key=index.vocabulary.__getitem__)
    if [index.vocabulary[t] for t in terms] != list(range(len(terms))):
        raise ValueError("index vocabulary ids are not 0..V-1")
    arrays = {f"table.{name}": getattr(table, name) for name in TABLE_ARRAYS}
    arrays |= {f"index.{name}": getattr(index, name) for name in INDEX_ARRAYS}
    files = {}
    for name, array in arrays.items():
        np.save(folder / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        files[f"{name}.npy"] = _sha256(folder / f"{name}.npy")
    files[WORDS] = _sha256(folder / WORDS)
    manifest = {
        "format": FORMAT_VERSION,
        "key": key,
        "files": files,
        "conversations": [_conversation_json(c) for c in conversations],
        "table": {
            "conversation_ids": table.conversation_ids,
            "texts": table.texts,
            "compact": table.compact,
        },
        "index": {"vocabulary": terms, "n_docs": index.n_docs},
    }
    with (folder / MANIFEST).open("w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, separators=(",", ":"))
        fh.flush()
        os.fsync(fh.fileno())


def _check(ok: bool, what: str = "a field") -> None:
    if not ok:
        raise CacheError(f"{what} is malformed")


def _strings(value: object, what: str) -> list[str]:
    _check(isinstance(value, list) and all(isinstance(v, str) for v in value), what)
    return value  # type: ignore[return-value]


def read_cache(folder: Path, key: str) -> tuple[list[Conversation], PassageTable, InvertedIndex]:
    """Read and validate a cache folder; CacheError (or OSError) when anything is off."""
    with (folder / MANIFEST).open(encoding="utf-8") as fh:
        manifest = json.load(fh)
    _check(isinstance(manifest, dict), MANIFEST)
    if manifest.get("format") != FORMAT_VERSION or manifest.get("key") != key:
        raise CacheError("written for another format or data")
    files = manifest["files"]
    expected = {f"table.{n}.npy" for n in TABLE_ARRAYS} | {f"index.{n}.npy" for n in INDEX_ARRAYS}
    _check(isinstance(files, dict) and set(files) == expected | {WORDS}, "file list")
    for name, digest in files.items():
        if _sha256(folder / name) != digest:
            raise CacheError(f"{name} does not match its checksum")

    def array(name: str, dtype: type) -> np.ndarray:
        value = np.load(folder / f"{name}.npy", allow_pickle=False)
        if value.dtype != np.dtype(dtype) or value.ndim != 1:
            raise CacheError(f"{name} has dtype {value.dtype} and {value.ndim} dimensions")
        return value

    conversations = [_conversation_from(c) for c in manifest["conversations"]]
    t = manifest["table"]
    texts = _strings(t["texts"], "texts")
    compact = _strings(t["compact"], "compact")
    conversation_ids = _strings(t["conversation_ids"], "conversation ids")
    _check(conversation_ids == [c.id for c in conversations], "conversation ids")
    columns = {name: array(f"table.{name}", dtype) for name, dtype in TABLE_ARRAYS.items()}
    n = len(texts)
    _check(len(compact) == n and all(c.size == n for c in columns.values()), "table lengths")
    conv = columns["conversation"]
    _check(n == 0 or (conv.min() >= 0 and conv.max() < len(conversation_ids)), "conversations")
    table = PassageTable(conversation_ids, texts, **columns, compact=compact)

    i = manifest["index"]
    terms = _strings(i["vocabulary"], "vocabulary")
    n_docs = i["n_docs"]
    _check(n_docs == n, "n_docs")
    idx = {name: array(f"index.{name}", dtype) for name, dtype in INDEX_ARRAYS.items()}
    offsets, docs = idx["offsets"], idx["docs"]
    _check(offsets.size == len(terms) + 1 and idx["idf"].size == len(terms), "term counts")
    _check(int(offsets[0]) == 0 and int(offsets[-1]) == docs.size, "offsets")
    _check(bool(np.all(np.diff(offsets) >= 0)), "offsets")
    _check(idx["impacts"].size == docs.size, "postings")
    _check(docs.size == 0 or (docs.min() >= 0 and docs.max() < n_docs), "postings")
    vocabulary = {term: tid for tid, term in enumerate(terms)}
    _check(len(vocabulary) == len(terms), "vocabulary")
    index = InvertedIndex(vocabulary=vocabulary, n_docs=n_docs, **idx)
    return conversations, table, index
