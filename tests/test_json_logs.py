"""QUOTEBOT_LOG_FORMAT=json: `quotebot run` writes one JSON object per line, token-free."""

from __future__ import annotations

import json
import signal

import pytest

from tests.emulator import BotApiEmulator
from tests.test_run_process import (  # noqa: F401  (fixtures)
    BOT_USERNAME,
    QUERY,
    REPLY_TIMEOUT,
    TOKEN,
    TOKEN_SECRET,
    StartBot,
    cache_dir,
    new_user,
    start_bot,
)

pytestmark = pytest.mark.timeout(90)


async def test_json_log_lines_parse_and_carry_no_token(start_bot: StartBot) -> None:  # noqa: F811
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        bot = start_bot(emu, QUOTEBOT_LOG_FORMAT="json")  # at DEBUG: PTB logs its API URL
        user, chat = new_user(emu)
        emu.send_text(chat, user, QUERY)
        await bot.until(emu.wait_for_messages(chat, 1, REPLY_TIMEOUT), "the reply")
        code, _took = await bot.stop(signal.SIGTERM)
        assert code == 0, bot.tail()
    lines = [line for line in bot.stderr.splitlines() if line.strip()]
    assert len(lines) > 5
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(set(r) == {"time", "level", "logger", "message"} for r in records)
    assert TOKEN not in bot.stderr and TOKEN_SECRET not in bot.stderr
    urls = [r for r in records if "Set Bot API URL" in r["message"]]
    assert urls and "/bot<redacted>" in urls[0]["message"]  # the leak path, scrubbed
    assert any(r["level"] == "INFO" for r in records)


def test_log_format_and_retention_settings() -> None:
    from bot.config import ConfigError, settings_from_env

    assert settings_from_env({}).log_format == "text"
    assert settings_from_env({"QUOTEBOT_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ConfigError, match="QUOTEBOT_LOG_FORMAT must be text or json"):
        settings_from_env({"QUOTEBOT_LOG_FORMAT": "xml"})
    assert settings_from_env({}).log_days == 365
    assert settings_from_env({"QUOTEBOT_LOG_DAYS": "30"}).log_days == 30
    with pytest.raises(ConfigError, match="QUOTEBOT_LOG_DAYS"):
        settings_from_env({"QUOTEBOT_LOG_DAYS": "0"})
