"""Settings: every variable documented, .env honoured, bad values named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, settings_from_env

ROOT = Path(__file__).resolve().parent.parent


def test_every_variable_read_is_documented_in_env_example() -> None:
    read = set(
        re.findall(r'"((?:TELEGRAM|QUOTEBOT)_[A-Z_]+)"', (ROOT / "bot" / "config.py").read_text())
    )
    documented = set(
        re.findall(r"^((?:TELEGRAM|QUOTEBOT)_[A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    assert read and read <= documented


def test_defaults_need_nothing() -> None:
    s = settings_from_env({})
    assert s.token is None and s.timezone == "Asia/Shanghai" and s.db_path == Path("quotebot.db")
    assert (
        s.api_url == "https://api.telegram.org/bot" and s.catch_up and s.send_rate_per_second == 30
    )


def test_the_cache_folder_is_resolved_once_in_settings() -> None:
    assert settings_from_env({"QUOTEBOT_CACHE_DIR": "/srv/qb"}).cache_dir == Path("/srv/qb")
    assert settings_from_env({"XDG_CACHE_HOME": "/x"}).cache_dir == Path("/x/quotebot")
    assert settings_from_env({}).cache_dir == Path.home() / ".cache" / "quotebot"


def test_dotenv_file_is_read_and_real_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / ".env"
    env.write_text("QUOTEBOT_TZ=Europe/Berlin\nQUOTEBOT_ADMIN_IDS=1, 2\nQUOTEBOT_USER_RATE=7\n")
    monkeypatch.setenv("QUOTEBOT_USER_RATE", "9")
    for var in ("QUOTEBOT_TZ", "QUOTEBOT_ADMIN_IDS"):
        monkeypatch.delenv(var, raising=False)
    s = load_settings(env_file=env)
    assert (s.timezone, s.admin_ids, s.user_rate_per_minute) == (
        "Europe/Berlin",
        frozenset({1, 2}),
        9,
    )


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"TELEGRAM_BOT_TOKEN": "nope"}, "TELEGRAM_BOT_TOKEN"),
        ({"QUOTEBOT_TZ": "../../etc/passwd"}, "QUOTEBOT_TZ"),
        ({"QUOTEBOT_CATCH_UP": "maybe"}, "QUOTEBOT_CATCH_UP"),
        ({"QUOTEBOT_SEND_RATE": "0"}, "QUOTEBOT_SEND_RATE"),
        ({"QUOTEBOT_LOG_LEVEL": "LOUD"}, "QUOTEBOT_LOG_LEVEL"),
        ({"QUOTEBOT_WEBHOOK_URL": "https://x.example/hook"}, "QUOTEBOT_WEBHOOK_SECRET"),
        ({"QUOTEBOT_DATA_DIR": "/no/such/folder"}, "QUOTEBOT_DATA_DIR"),
        ({"QUOTEBOT_ERROR_CHAT_ID": "@ops"}, "QUOTEBOT_ERROR_CHAT_ID"),
        ({"TELEGRAM_API_URL": "http://127.0.0.1:99999/bot"}, "TELEGRAM_API_URL"),
        ({"TELEGRAM_API_URL": "http://127.0.0.1:0/bot"}, "TELEGRAM_API_URL"),
        ({"TELEGRAM_API_URL": "http://127.0.0.1:http/bot"}, "TELEGRAM_API_URL"),
        ({"TELEGRAM_API_URL": "http:///bot"}, "TELEGRAM_API_URL"),
        ({"TELEGRAM_API_URL": "ftp://x/bot"}, "TELEGRAM_API_URL"),
        ({"QUOTEBOT_WEBHOOK_LISTEN": "not-an-ip"}, "QUOTEBOT_WEBHOOK_LISTEN"),
        ({"QUOTEBOT_WEBHOOK_LISTEN": "localhost"}, "QUOTEBOT_WEBHOOK_LISTEN"),
        (
            {
                "QUOTEBOT_WEBHOOK_URL": "https://x.example:70000/hook",
                "QUOTEBOT_WEBHOOK_SECRET": "s" * 20,
            },
            "QUOTEBOT_WEBHOOK_URL",
        ),
    ],
)
def test_bad_values_name_the_variable(env: dict, name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        settings_from_env(env)


def test_error_chat_id_is_a_chat_id() -> None:
    assert settings_from_env({}).error_chat_id is None
    assert settings_from_env({"QUOTEBOT_ERROR_CHAT_ID": "-1001234"}).error_chat_id == -1001234


def test_token_is_not_in_settings_repr() -> None:
    s = settings_from_env({"TELEGRAM_BOT_TOKEN": "123456:abcdefghijklmnopqrstuvwxyz"})
    assert "abcdefghij" not in repr(s)


def test_good_urls_and_listen_addresses_pass() -> None:
    s = settings_from_env(
        {
            "TELEGRAM_API_URL": "http://127.0.0.1:8081/bot",
            "QUOTEBOT_WEBHOOK_LISTEN": "::1",
        }
    )
    assert (s.api_url, s.webhook_listen) == ("http://127.0.0.1:8081/bot", "::1")
    assert settings_from_env({}).webhook_listen == "0.0.0.0"
