"""Building the search index once and keeping it on disk, keyed by the data.

Segmenting a large catalogue with jieba's full dictionary takes minutes;
loading the result takes well under a second. The cache key is a hash of
every data file and of the index format, so editing a transcript, an alias
or a stopword rebuilds it, and nothing else does.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jieba

from bot.search.aliases import Aliases, load_aliases
from bot.search.index import InvertedIndex, build_index
from bot.search.library import PassageTable, table_from_conversations
from bot.search.segment import Segmenter, load_word_list, read_user_dict
from bot.search.textnorm import compact_text, normalize
from bot.search.transcript import Conversation, load_directory

log = logging.getLogger(__name__)

FORMAT_VERSION = "6"
_DATA_FILES = ("aliases.toml", "userdict.txt", "stopwords.txt")


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


def data_key(data_dir: Path) -> str:
    """Hash of everything the index is made from."""
    digest = hashlib.sha256(f"format={FORMAT_VERSION};jieba={jieba.__version__}".encode())
    files = sorted(data_dir.glob("*.txt")) + sorted(data_dir.glob("*.toml"))
    for path in sorted(set(files)):
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:20]


def _stopwords(data_dir: Path) -> list[str]:
    return load_word_list(data_dir / "stopwords.txt")


def load_or_build(data_dir: Path, cache_dir: Path | None = None) -> IndexFiles:
    """The index for `data_dir`: from the cache if it matches, else built and cached."""
    cache_dir = cache_dir or default_cache_dir()
    key = data_key(data_dir)
    folder = cache_dir / f"index-{key}"
    aliases = load_aliases(data_dir / "aliases.toml")
    stopwords = _stopwords(data_dir)
    if (folder / "index.pkl").exists():
        try:
            with (folder / "index.pkl").open("rb") as fh:
                conversations, table, index = pickle.load(fh)
            segmenter = Segmenter.compact(folder / "words.dict", stopwords)
            return IndexFiles(conversations, table, index, segmenter, aliases, key)
        except Exception as exc:  # a truncated or stale cache is rebuilt, never fatal
            log.warning("index cache %s unreadable (%s); rebuilding", folder, exc)
    return _build(data_dir, folder, key, aliases, stopwords)


def _build(
    data_dir: Path, folder: Path, key: str, aliases: Aliases, stopwords: list[str]
) -> IndexFiles:
    conversations = load_directory(data_dir)
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
        full.write_compact_dict(vocabulary, tmp / "words.dict")
        with (tmp / "index.pkl").open("wb") as fh:
            pickle.dump((conversations, table, index), fh, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            tmp.rename(folder)
        except OSError:  # another process won the race: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
        segmenter = Segmenter.compact(folder / "words.dict", stopwords)
    except OSError as exc:
        # An unwritable or full disk costs speed next time, not the answer now.
        log.warning("could not write index cache to %s (%s); using it from memory", folder, exc)
        segmenter = full
    return IndexFiles(conversations, table, index, segmenter, aliases, key)
