"""The loader must load the seed exactly and refuse malformed transcripts loudly."""

from __future__ import annotations

from pathlib import Path

import pytest
from bot.data import DATA_DIR as DEFAULT_DATA_DIR

from bot.search.transcripts.conversation import (
    TranscriptError,
    format_hms,
    load_conversation,
    load_directory,
)
from bot.search.transcripts.passages import Quality, cut_passages, split_sentences

SEED = DEFAULT_DATA_DIR / "000_c2cd4d18928321da.txt"
META = SEED.with_suffix(".toml").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str | bytes, name: str = "conv") -> Path:
    txt = tmp_path / f"{name}.txt"
    if isinstance(text, str):
        txt.write_text(text, encoding="utf-8")
    else:
        txt.write_bytes(text)
    (tmp_path / f"{name}.toml").write_text(META, encoding="utf-8")
    return txt


def test_seed_loads_exactly() -> None:
    conv = load_conversation(SEED)
    assert len(conv.turns) == 383
    assert conv.id == "l367"
    assert conv.speakers[1].name == "Sam Altman"
    assert conv.speakers[2].name == "Lex Fridman"
    first, last = conv.turns[0], conv.turns[-1]
    assert (first.speaker, format_hms(first.start)) == (2, "00:00:00")
    assert first.text.startswith("是与OpenAI首席执行官Sam Altman的对话")
    assert (last.speaker, format_hms(last.start)) == (2, "02:27:16")
    assert format_hms(conv.turns[1].start) == "00:08:45" and conv.turns[1].speaker == 1
    # Multi-paragraph turns keep every paragraph.
    assert first.text.count("\n") >= 5
    # No text is lost: every non-header line of the file is in some turn.
    body = [
        ln.strip()
        for ln in SEED.read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith(("发言人", "演讲者"))
    ]
    assert sum(t.text.count("\n") + 1 for t in conv.turns) == len(body)


def test_both_header_forms_bom_crlf_and_blank_lines(tmp_path: Path) -> None:
    text = "\ufeff演讲者2 00:00:00\r\n第一段。\r\n   \r\n第二段。\r\n\r\n发言人1 00:00:07\r\n回答。\r\n"
    conv = load_conversation(write(tmp_path, text))
    assert [(t.speaker, t.start, t.text) for t in conv.turns] == [
        (2, 0, "第一段。\n第二段。"),
        (1, 7, "回答。"),
    ]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("前言\n发言人1 00:00:01\n好。\n", 1, "before the first turn header"),
        ("发言人1 00:00:01\n好。\n发言人2 00:61:00\n坏。\n", 3, "bad timestamp"),
        ("发言人1 00:00:01\n好。\n发言人2 0:0\n坏。\n", 3, "malformed turn header"),
        ("发言人1 00:10:00\n好。\n发言人2 00:09:59\n早。\n", 3, "goes backwards"),
        ("发言人1 00:00:01\n好。\n发言人7 00:00:05\n谁？\n", 3, "unknown speaker 7"),
        ("发言人1 00:00:01\n发言人2 00:00:05\n空的上一轮。\n", 1, "turn has no text"),
    ],
)
def test_malformed_files_name_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(TranscriptError) as err:
        load_conversation(path)
    assert f"{path}:{line}" in str(err.value)
    assert fragment in str(err.value)


def test_not_utf8_and_missing_metadata(tmp_path: Path) -> None:
    bad = write(tmp_path, "发言人1 00:00:01\n好。\n".encode("gb18030"))
    with pytest.raises(TranscriptError, match="not UTF-8"):
        load_conversation(bad)
    lone = tmp_path / "lone.txt"
    lone.write_text("发言人1 00:00:01\n好。\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="metadata file missing"):
        load_conversation(lone)


def test_directory_with_two_conversations_and_duplicate_ids(tmp_path: Path) -> None:
    write(tmp_path, "发言人1 00:00:01\n好。\n", "a")
    write(tmp_path, "发言人2 00:00:01\n也好。\n", "b")
    with pytest.raises(TranscriptError, match="duplicate id"):
        load_directory(tmp_path)
    (tmp_path / "b.toml").write_text(META.replace('id = "l367"', 'id = "other"'), encoding="utf-8")
    assert [c.id for c in load_directory(tmp_path)] == ["l367", "other"]


def test_passages_are_short_ordered_and_timed() -> None:
    conv = load_conversation(SEED)
    passages = cut_passages(conv)
    assert all(len(p.text) <= 160 for p in passages)
    # Every character of every turn ends up in exactly one passage.
    for turn in conv.turns:
        own = [p.text for p in passages if p.turn == turn.index]
        assert "".join(own) == "".join(split_sentences(turn.text))
    # Passage time lies between its turn's start and the next turn's start.
    starts = [t.start for t in conv.turns] + [10**9]
    for p in passages:
        assert starts[p.turn] <= p.at <= starts[p.turn + 1]
    assert [p.at for p in passages] == sorted(p.at for p in passages)
    ids = [p.id for p in passages]
    assert len(set(ids)) == len(ids)


def test_fragments_are_marked() -> None:
    passages = cut_passages(load_conversation(SEED))
    by_text = {p.text: p for p in passages}
    assert by_text["是的。"].quality == Quality.FRAGMENT
    good = [p for p in passages if p.quality == Quality.GOOD]
    assert len(good) > len(passages) // 2
    assert all(len(p.text) >= 30 for p in good)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('intro_end = "00:08:45"', 'intro_end = "8 minutes"'),
        ('intro_end = "00:08:45"', 'intro_end = "00:61:00"'),
        ('aliases = ["Sam", ', 'aliases = "Sam"\nx = ['),
        ('aliases = ["Sam", ', 'aliases = ["", '),
    ],
)
def test_bad_intro_end_or_speaker_aliases_name_the_file(tmp_path: Path, old: str, new: str) -> None:
    assert old in META
    txt = write(tmp_path, "发言人1 00:00:01\n好。\n")
    txt.with_suffix(".toml").write_text(META.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(TranscriptError, match=r"conv\.toml: bad metadata"):
        load_conversation(txt)
