"""Questions and answers: who the host is, which question each answer follows, and
what a reply shows above the answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.search.engine import QuoteEngine
from bot.search.index.exchanges import (
    QUESTION_LINE_CHARS,
    exchange_texts,
    find_exchanges,
    question_line,
)
from bot.search.index.table import table_from_conversations
from bot.search.transcripts.conversation import TranscriptError, load_conversation

META = """id = "t1"
title = "Test"
[speakers.1]
name = "Guest"
[speakers.2]
name = "Host"
"""

# Speaker 2 asks (ends turns with a question mark); speaker 1 answers. The
# third exchange's host turn asks nothing: a speaker change inside a sentence.
TEXT = """发言人2 00:00:00
欢迎来到节目。你觉得开源模型危险吗？
发言人1 00:00:10
我认为开源很重要，但要小心。
发言人2 00:00:20
那么你怎么看监管？
发言人1 00:00:30
监管应该来自政府。
发言人2 00:00:40
而且我觉得，
发言人1 00:00:45
这句话其实是嘉宾说完的。
"""


def write(tmp_path: Path, meta: str = META, text: str = TEXT) -> Path:
    txt = tmp_path / "t1.txt"
    txt.write_text(text, encoding="utf-8")
    txt.with_suffix(".toml").write_text(meta, encoding="utf-8")
    return txt


def test_the_host_is_who_asks_and_each_answer_knows_its_question(tmp_path: Path) -> None:
    conv = load_conversation(write(tmp_path))
    table = table_from_conversations([conv])
    exchanges = find_exchanges(table, [conv])
    assert exchanges.hosts == {"t1": 2}
    answer = next(r for r in range(len(table)) if table.texts[r].startswith("我认为开源"))
    asked = exchanges.question_of(answer)
    assert asked is not None and table.texts[asked].endswith("你觉得开源模型危险吗？")
    # A host turn that asks nothing is not shown as a question, but the answer is
    # still embedded with it (the context helps, the label would mislead).
    last = len(table) - 1
    assert exchanges.asked_by[last] >= 0 and exchanges.question_of(last) is None
    # The host's own passages answer nothing.
    host_rows = [r for r in range(len(table)) if table.speaker[r] == 2]
    assert all(exchanges.question_of(r) is None for r in host_rows)
    texts = exchange_texts(table, exchanges)
    assert texts[answer] == "欢迎来到节目。你觉得开源模型危险吗？ 我认为开源很重要，但要小心。"
    assert all(texts[r] is None for r in host_rows)


def test_the_toml_names_the_host_and_a_monologue_has_none(tmp_path: Path) -> None:
    conv = load_conversation(write(tmp_path, "host = 1\n" + META))
    assert find_exchanges(table_from_conversations([conv]), [conv]).hosts == {"t1": 1}
    with pytest.raises(TranscriptError, match="host 3 is not one of the speakers"):
        load_conversation(write(tmp_path, "host = 3\n" + META))
    alone = "发言人1 00:00:00\n你好吗？\n发言人1 00:00:10\n我很好吗？\n"
    conv = load_conversation(write(tmp_path, META, alone))
    exchanges = find_exchanges(table_from_conversations([conv]), [conv])
    assert exchanges.hosts == {} and not (exchanges.asked_by >= 0).any()


def test_question_line_is_the_last_question_cut_from_the_front() -> None:
    assert question_line("我们聊聊。你觉得呢？好的") == "你觉得呢？"
    long = "你" * 200 + "吗？"
    line = question_line(long)
    assert line.startswith("…") and line.endswith("吗？") and len(line) == QUESTION_LINE_CHARS + 1


def test_the_seed_host_is_lex_and_a_guest_answer_carries_his_question(
    engine: QuoteEngine,
) -> None:
    assert engine.exchanges.hosts == {"l367": 2}
    table = engine.table
    # "Not very much. If more, it might be funnier" answers Lex asking how much
    # of the data set is the memes subreddit: shown above the answer.
    rows = [r for r in range(len(table)) if "也许会更有趣" in table.texts[r]]
    assert rows
    question = engine.question_for(table[rows[0]])
    assert question is not None and question.speaker == 2 and "memes" in question.text
    shown = [r for r in range(len(table)) if engine.exchanges.question_of(r) is not None]
    assert all(table.speaker[r] == 1 for r in shown)
    # Sam's "definitely not an AGI" follows a turn of Lex's that asks nothing (it
    # ends mid-thought): embedded with it, but no question line.
    agi = next(r for r in range(len(table)) if "绝对不是一个AGI" in table.texts[r])
    assert engine.exchanges.asked_by[agi] == agi - 1 and engine.question_for(table[agi]) is None
    share = float(np.mean(engine.exchanges.asked_by >= 0))
    assert 0.3 < share < 0.8  # most of Sam's passages follow a turn of Lex's


def test_a_question_naming_the_guest_quotes_his_answer_not_the_hosts_question(
    engine: QuoteEngine,
) -> None:
    """Lex asks about Elon Musk with the very words of the query; Sam's answer follows."""
    if engine.meaning() is None:
        pytest.skip("the meaning layer is unavailable here")
    first = engine.search("what does Sam think of Elon Musk", 3)[0]
    assert first.passage.speaker == 1
    # A lookup of Lex's own words still finds Lex.
    quote = engine.search("你们在OpenAI的Elon Musk背后的一些想法上密切合作过", 1)[0]
    assert quote.passage.speaker == 2 and quote.confident
