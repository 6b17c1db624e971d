"""Closest passages by meaning, and whether they are close enough to offer.

The lexical engine answers when the words of a query are in a passage. When
they are not ("Sam为什么觉得要慢慢发布模型", "why release models early"), the
embedder can still place the query near the passages that discuss it. But an
embedding's similarity alone cannot tell a paraphrase from a recipe question:
every query is "somewhat similar" to some passage. What separates them here is
a contrast: a query about the conversation is closer to its best passage than
to any of a fixed list of everyday off-topic sentences; an off-topic query is
closer to one of those. `MeaningIndex.closest` ranks, `gate` decides.

Passages are embedded twice: alone, and with their neighbours in the same
conversation (a passage cut from a longer thought is matched by its context).
Both matrices are cached on disk per conversation, keyed by its passage texts
and the model: a change of aliases or stopwords re-embeds nothing, and adding a
conversation to a catalogue embeds that conversation only.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.search.library import PassageTable
from bot.search.semantic import Embedder

log = logging.getLogger(__name__)

VECTORS_VERSION = "1"
WINDOW_CHARS = 400  # a passage with its neighbours, cut to what e5 reads well

# Everyday questions nobody asks a podcast about AI. A query closer to one of
# these than to any passage is not about the conversation. Chinese and English,
# since users write both; kept short and generic (food, weather, sport, money,
# travel, health, shopping, tech support, chit-chat, keyboard mash).
OFF_TOPIC = (
    "糖醋排骨的做法",
    "今天天气怎么样",
    "明天会下雨吗",
    "附近有什么好吃的餐厅",
    "怎么才能瘦下来",
    "感冒了吃什么药",
    "头疼怎么办",
    "世界杯谁是冠军",
    "湖人队昨晚赢了吗",
    "NBA总决赛什么时候开始",
    "比特币今天多少钱",
    "房价会跌吗",
    "股票明天会涨吗",
    "去日本旅游要签证吗",
    "北京到上海的高铁票多少钱",
    "酒店怎么订便宜",
    "电脑开不了机怎么办",
    "怎么重装Windows系统",
    "手机屏幕碎了去哪修",
    "WiFi密码忘了怎么办",
    "打印机连不上怎么办",
    "推荐一部好看的电影",
    "周末去哪里玩",
    "生日礼物送什么好",
    "猫为什么喜欢睡觉",
    "狗狗不吃饭怎么办",
    "怎么学好英语",
    "高考数学怎么提分",
    "信用卡逾期怎么办",
    "快递几天能到",
    "宝宝发烧怎么办",
    "咖啡和茶哪个更健康",
    "你好",
    "哈哈哈哈",
    "asdfghjkl",
    "qwerty 123",
    "how do I cook rice",
    "what's the weather tomorrow",
    "who won the football game last night",
    "best pizza near me",
    "how to lose weight fast",
    "cheap flights to Paris",
    "how much is a bitcoin today",
    "my laptop won't turn on",
    "how do I reset my router password",
    "recommend a good movie",
    "how to train a puppy",
    "what should I buy for my mom's birthday",
    "how to fix a leaking faucet",
    "is it going to rain today",
)


@dataclass(frozen=True)
class Vectors:
    passages: np.ndarray  # (n, dim) unit rows
    windows: np.ndarray  # (n, dim) unit rows: each passage with its neighbours
    anchors: np.ndarray  # (len(OFF_TOPIC), dim) unit rows


class MeaningIndex:
    """Passage vectors plus the embedder that made them; queries are embedded lazily."""

    def __init__(self, embedder: Embedder, vectors: Vectors) -> None:
        self.embedder = embedder
        self.vectors = vectors

    def embed(self, query: str) -> np.ndarray | None:
        """The query's vector, or None when the embedder fails (search goes on lexically)."""
        return self.embedder.try_embed_query(query)

    def similarities(self, qvec: np.ndarray) -> np.ndarray:
        """Per passage: the mean of its similarity alone and with its neighbours."""
        return 0.5 * (self.vectors.passages @ qvec + self.vectors.windows @ qvec)

    def off_topic_similarity(self, qvec: np.ndarray) -> float:
        """How close the query is to the nearest everyday off-topic sentence."""
        return float(np.max(self.vectors.anchors @ qvec))


def model_key(model_id: str) -> str:
    """What every vector depends on besides the text: the model and how windows are made."""
    text = f"v={VECTORS_VERSION};model={model_id};window={WINDOW_CHARS}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def texts_key(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8") + b"\0")
    return digest.hexdigest()[:20]


def conversation_rows(table: PassageTable) -> list[tuple[int, int]]:
    """(first row, end row) of each conversation: the table keeps a conversation's rows together."""
    if len(table) == 0:
        return []
    bounds = (np.flatnonzero(np.diff(table.conversation)) + 1).tolist()
    return list(zip([0, *bounds], [*bounds, len(table)], strict=True))


def window_texts(texts: Sequence[str]) -> list[str]:
    """Each passage of one conversation with the passages before and after it."""
    n = len(texts)
    out = []
    for i in range(n):
        before = texts[i - 1] if i > 0 else ""
        after = texts[i + 1] if i + 1 < n else ""
        # Keep the passage whole and centred; trim the context around it.
        room = max(0, WINDOW_CHARS - len(texts[i])) // 2
        out.append(f"{before[-room:] if room else ''}{texts[i]}{after[:room]}")
    return out


def _load(path: Path, shape: tuple[int, ...]) -> np.ndarray | None:
    """A cached array of this shape, finite float32; None when missing or unusable."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        if path.exists():
            log.warning("meaning vectors %s unreadable (%s); rebuilding", path, exc)
        return None
    if array.shape != shape or array.dtype != np.float32 or not np.isfinite(array).all():
        log.warning("meaning vectors %s do not match the passages; rebuilding", path)
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # in use: not pruned (bot.search.cache.prune)
    return array


def _save(path: Path, array: np.ndarray) -> None:
    """Write beside, then rename into place: a reader sees the whole file or none."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".vectors-", suffix=".npy", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, array, allow_pickle=False)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("could not cache meaning vectors in %s (%s)", path, exc)


def load_or_build_meaning(
    embedder: Embedder,
    table: PassageTable,
    cache_dir: Path,
    progress: Callable[[int, int], None] | None = None,
) -> MeaningIndex:
    """The meaning index for these passages: each conversation's vectors from the cache,
    or embedded (only the conversations that have none) and cached."""
    folder = cache_dir / f"vectors-{model_key(embedder.model_id)}"
    ranges = conversation_rows(table)
    blocks: list[np.ndarray | None] = []
    for lo, hi in ranges:
        path = folder / f"conv-{texts_key(table.texts[lo:hi])}.npy"
        blocks.append(_load(path, (2, hi - lo, embedder.dim)))
    todo = [i for i, block in enumerate(blocks) if block is None]
    total = 2 * sum(ranges[i][1] - ranges[i][0] for i in todo)
    if todo:
        started = time.perf_counter()
        log.info("embedding %d passages (once; cached in %s)", total // 2, folder)
        done = 0

        def step(offset: int) -> Callable[[int, int], None] | None:
            if progress is None:
                return None
            return lambda done_now, _total: progress(offset + done_now, total)

        for i in todo:
            lo, hi = ranges[i]
            texts = table.texts[lo:hi]
            passages = embedder.embed_passages(texts, step(done))
            windows = embedder.embed_passages(window_texts(texts), step(done + hi - lo))
            done += 2 * (hi - lo)
            blocks[i] = np.stack([passages, windows])
            _save(folder / f"conv-{texts_key(texts)}.npy", blocks[i])
        log.info("embedded %d passages in %.1f s", total // 2, time.perf_counter() - started)
    anchors_path = folder / f"anchors-{texts_key(OFF_TOPIC)}.npy"
    anchors = _load(anchors_path, (len(OFF_TOPIC), embedder.dim))
    if anchors is None:
        anchors = embedder.embed_queries(list(OFF_TOPIC))
        _save(anchors_path, anchors)
    ready = [b for b in blocks if b is not None]
    dim = embedder.dim
    return MeaningIndex(
        embedder,
        Vectors(
            np.concatenate([b[0] for b in ready]) if ready else np.zeros((0, dim), np.float32),
            np.concatenate([b[1] for b in ready]) if ready else np.zeros((0, dim), np.float32),
            anchors,
        ),
    )


class BackgroundMeaning:
    """Builds the meaning index on a thread so the bot answers lexically meanwhile."""

    def __init__(self, build: Callable[[], MeaningIndex | None]) -> None:
        self._build = build
        self.ready = threading.Event()
        self.index: MeaningIndex | None = None
        self._thread = threading.Thread(target=self._run, name="meaning-index", daemon=True)

    def start(self) -> BackgroundMeaning:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.index = self._build()
        except Exception:  # never take the bot down: it keeps answering lexically
            log.exception("building the meaning index failed; answering lexically")
        finally:
            self.ready.set()


__all__ = [
    "OFF_TOPIC",
    "BackgroundMeaning",
    "MeaningIndex",
    "Vectors",
    "load_or_build_meaning",
]
