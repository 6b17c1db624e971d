"""Relevance floors on the hand-written evaluation set (tests/eval/queries.toml).

`python -m tests.eval.evaluate -v` prints the table by kind and every miss.
"""

from __future__ import annotations

import pytest

from bot.search.engine import QuoteEngine
from tests.eval.evaluate import LEXICAL_KINDS, evaluate, load_queries, summary


@pytest.fixture(scope="module")
def scores(engine: QuoteEngine):
    queries = load_queries()
    assert len(queries) >= 100
    return evaluate(engine, queries)[0]


def test_top1_on_answerable_queries(scores) -> None:
    total = summary(scores, LEXICAL_KINDS)
    assert total.n >= 100
    assert total.top1 / total.n >= 0.90


def test_no_answer_queries_return_nothing(scores) -> None:
    none = scores["none"]
    assert none.n >= 20
    assert none.top1 / none.n >= 0.90


@pytest.mark.parametrize(
    ("kind", "floor"), [("verbatim", 0.95), ("typo", 0.90), ("traditional", 0.85)]
)
def test_kind_floors(scores, kind: str, floor: float) -> None:
    assert scores[kind].top1 / scores[kind].n >= floor


def test_ranking_is_deterministic(engine: QuoteEngine) -> None:
    for query in ("意识", "GPT-4", "人工智慧", "开源", "我以经说过了"):
        first = [(r.passage.id, r.score) for r in engine.search(query, 5)]
        assert first == [(r.passage.id, r.score) for r in engine.search(query, 5)]


@pytest.mark.parametrize(
    "query", ["", "   ", "😂😂😂", "？？！。", "asdkjh qwzx", "红烧肉怎么做", "12345"]
)
def test_nothing_for_nonsense(engine: QuoteEngine, query: str) -> None:
    assert engine.search(query) == []
