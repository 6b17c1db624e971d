"""`quotebot` as a person runs it: real subprocesses, real output, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(
    args: list[str], stdin: str | None = None, env: dict | None = None, cwd: Path | None = None
):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture(scope="module")
def cache_env(engine, shared_cache) -> dict:
    env = {"QUOTEBOT_CACHE_DIR": str(shared_cache)}
    assert run(["index"], env=env).returncode == 0
    return env


def test_search_json(cache_env: dict) -> None:
    proc = run(["search", "--json", "--limit", "2", "聊天GPT"], env=cache_env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["query"] == "聊天GPT"
    assert 1 <= len(data["results"]) <= 2
    first = data["results"][0]
    assert set(first) == {
        "timestamp",
        "at",
        "speaker",
        "quote",
        "score",
        "conversation",
        "confident",
        "question",
    }
    assert first["confident"] is True
    assert "GPT" in first["quote"] and first["conversation"] == "l367"
    assert first["speaker"] in {"Sam Altman", "Lex Fridman"}
    assert first["timestamp"] <= first["at"]


def test_search_json_names_the_question_an_answer_follows(cache_env: dict) -> None:
    proc = run(["search", "--json", "--limit", "1", "如果更多的话，也许会更有趣"], env=cache_env)
    first = json.loads(proc.stdout)["results"][0]
    assert first["speaker"] == "Sam Altman"
    question = first["question"]
    assert question["speaker"] == "Lex Fridman" and question["text"].endswith("？")
    assert "memes" in question["text"] and question["at"] <= first["at"]
    human = run(["search", "--limit", "1", "如果更多的话，也许会更有趣"], env=cache_env)
    assert "莱克斯·弗里德曼 问：" in human.stdout


def test_search_json_no_match_is_empty(cache_env: dict) -> None:
    proc = run(["search", "--json", "红烧肉怎么做"], env=cache_env)
    assert json.loads(proc.stdout) == {"query": "红烧肉怎么做", "results": []}


def test_search_human_output(cache_env: dict) -> None:
    proc = run(["search", "RLHF"], env=cache_env)
    assert proc.returncode == 0
    assert "RLHF" in proc.stdout and "youtube.com" in proc.stdout


def test_search_stdin_json_lines(cache_env: dict) -> None:
    proc = run(["search", "--json"], stdin="意识\n\n😂\nChatGPT\n", env=cache_env)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [x["query"] for x in lines] == ["意识", "", "😂", "ChatGPT"]
    assert lines[0]["results"] and not lines[1]["results"] and not lines[2]["results"]
    assert lines[3]["results"]


@pytest.mark.parametrize(
    "args",
    [
        ["search", "--limit", "0", "x"],
        ["search", "--limit", "abc", "x"],
        ["nope"],
        ["search", "--bogus"],
        [],
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str], cache_env: dict) -> None:
    proc = run(args, env=cache_env)
    assert proc.returncode == 2
    if args:
        assert len(proc.stderr.strip().splitlines()) <= 2  # usage line + one-line error
        assert "error" in proc.stderr


def test_help_documents_everything() -> None:
    top = run(["--help"])
    assert top.returncode == 0
    for command in ("search", "card", "console", "run", "index"):
        assert command in top.stdout
    search = run(["search", "--help"])
    for flag in ("--json", "--limit", "standard input"):
        assert flag in search.stdout


def test_card_draws_the_best_match_or_the_passage_by_id(cache_env: dict, tmp_path: Path) -> None:
    out = tmp_path / "card.png"
    proc = run(
        ["card", "--style", "dark", "--bot", "QuoteBot", "--out", str(out), "RLHF"], env=cache_env
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out)
    png = out.read_bytes()
    assert png.startswith(b"\x89PNG") and int.from_bytes(png[16:20], "big") == 1080

    by_id = tmp_path / "id.png"
    proc = run(["card", "--id", "l367-5-3", "--out", str(by_id)], env=cache_env)
    assert proc.returncode == 0, proc.stderr
    assert by_id.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--id", "l367-99999-0"], "no passage with id 'l367-99999-0'"),
        (["红烧肉怎么做"], "no passage matches '红烧肉怎么做'"),
        ([], "give either QUERY or --id"),
        (["--id", "l367-5-3", "RLHF"], "give either QUERY or --id"),
        (["--style", "sepia", "RLHF"], "invalid choice: 'sepia'"),
    ],
)
def test_card_errors_are_one_line_and_exit_2(
    args: list[str], message: str, cache_env: dict, tmp_path: Path
) -> None:
    out = tmp_path / "card.png"
    proc = run(["card", "--out", str(out), *args], env=cache_env)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2
    assert not out.exists()


def test_card_help() -> None:
    proc = run(["card", "--help"])
    assert proc.returncode == 0
    for flag in ("--style", "--id", "--out", "--bot", "QUERY"):
        assert flag in proc.stdout


def test_run_without_token_is_a_one_line_error(tmp_path: Path) -> None:
    proc = run(["run"], env={"TELEGRAM_BOT_TOKEN": ""}, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "quotebot: error: TELEGRAM_BOT_TOKEN is not set (get one from @BotFather)"
    ]


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("TELEGRAM_BOT_TOKEN", "not-a-token"),
        ("QUOTEBOT_TZ", "Mars/Olympus"),
        ("QUOTEBOT_ADMIN_IDS", "12,abc"),
        ("QUOTEBOT_WEBHOOK_PORT", "99999"),
        ("TELEGRAM_API_URL", "ftp://x"),
    ],
)
def test_malformed_settings_name_the_variable(var: str, value: str, tmp_path: Path) -> None:
    proc = run(["search", "x"], env={var: value}, cwd=tmp_path)
    assert proc.returncode == 2
    assert var in proc.stderr and "Traceback" not in proc.stderr
    assert value not in proc.stderr or var != "TELEGRAM_BOT_TOKEN"


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("TELEGRAM_API_URL", "http://127.0.0.1:99999/bot"),
        ("QUOTEBOT_WEBHOOK_LISTEN", "not-an-ip"),
    ],
)
def test_run_with_a_bad_address_is_one_line_naming_the_variable(
    var: str, value: str, tmp_path: Path
) -> None:
    env = {"TELEGRAM_BOT_TOKEN": "123456:abcdefghijklmnopqrstuvwxyz", var: value}
    proc = run(["run"], env=env, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"quotebot: error: {var} must be"), line


def test_console_answers_like_the_bot(cache_env: dict, tmp_path: Path) -> None:
    proc = run(
        ["console"],
        stdin="RLHF\n3\n/topic 意识\n/random\n/nope\n😂\n",
        env={**cache_env, "QUOTEBOT_DB": str(tmp_path / "c.db")},
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "RLHF" in out and "[1]" in out
    assert "话题：意识" in out
    assert "我不认识这个命令" in out
    assert "表情" in out
    assert (tmp_path / "c.db").exists()


def test_search_json_marks_closest_in_meaning(cache_env: dict) -> None:
    """A question no passage answers word for word gets suggestions, marked not confident."""
    proc = run(["search", "--json", "他们怎么看开源模型的风险"], env=cache_env)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    if results:  # empty only where the meaning layer is unavailable
        assert 1 <= len(results) <= 3
        assert all(r["confident"] is False for r in results)
    human = run(["search", "他们怎么看开源模型的风险"], env=cache_env)
    assert ("closest in meaning" in human.stdout) == bool(results)


def test_console_card_renders_the_last_shown_passage(cache_env: dict, tmp_path: Path) -> None:
    proc = run(
        ["console"],
        stdin="/card\nRLHF\n/card\n/card 意识\n",
        env={**cache_env, "QUOTEBOT_DB": str(tmp_path / "c.db")},
    )
    assert proc.returncode == 0, proc.stderr
    assert "还没有显示过任何一段" in proc.stdout  # /card before any passage was shown
    paths = [Path(line) for line in proc.stdout.splitlines() if line.endswith(".png")]
    assert len(paths) == 2 and all(p.is_file() for p in paths)
    assert paths[0].name.startswith("l367-") and ".light." in paths[0].name
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_search_words_answer_never_loads_the_model(tmp_path: Path) -> None:
    """A fresh cache and a query the words answer surely: no passage is embedded."""
    cache = tmp_path / "fresh-cache"
    proc = run(["search", "--json", "人类反馈强化学习"], env={"QUOTEBOT_CACHE_DIR": str(cache)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["results"][0]["confident"] is True
    assert not list(cache.glob("vectors-*")), "the meaning vectors were built for nothing"


def test_search_names_the_conversation_and_can_narrow_to_one(tmp_path: Path) -> None:
    """With an imported conversation beside the bundled one: human output names each
    result's conversation, `--conversation` narrows, an unknown id is one line, exit 2."""
    from tests.test_catalogue_cache import write_conversation

    library = tmp_path / "library"
    new = write_conversation(library, 7)
    env = {
        "QUOTEBOT_CACHE_DIR": str(tmp_path / "cache"),
        "QUOTEBOT_LIBRARY_DIR": str(library),
        "QUOTEBOT_SEMANTIC": "off",
    }
    proc = run(["search", "--limit", "1", "第7场第2段"], env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"#{new} · Show 7" in proc.stdout
    # GPT-4 is the bundled conversation's; narrowed to the new one it is not there.
    both = json.loads(run(["search", "--json", "GPT-4"], env=env).stdout)["results"]
    assert both and both[0]["conversation"] == "l367"
    narrowed = run(["search", "--json", "--conversation", new, "GPT-4"], env=env)
    assert json.loads(narrowed.stdout)["results"] == []
    mine = run(["search", "--json", "--conversation", new, "编号72的故事"], env=env)
    assert {r["conversation"] for r in json.loads(mine.stdout)["results"]} == {new}
    wrong = run(["search", "--conversation", "zz", "GPT-4"], env=env)
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert wrong.stderr.strip().splitlines()[-1].startswith("quotebot: error: no conversation 'zz'")
    huge = run(["search", "--conversation", "x" * 5000, "GPT-4"], env=env)
    assert huge.returncode == 2 and len(huge.stderr.strip().splitlines()[-1]) < 200
