"""Settings from the environment and an optional .env file.

Every variable is documented in .env.example. A bad value is a one-line
error naming the variable (the CLI turns it into exit code 2), never a
traceback halfway through start-up.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv

from bot.data import DATA_DIR as DEFAULT_DATA_DIR
from bot.errors import ConfigError
from bot.search import default_cache_dir

__all__ = ["ConfigError", "Settings", "load_settings", "settings_from_env"]

_TOKEN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{8,100}$")
DEFAULT_API_URL = "https://api.telegram.org/bot"


def default_library_dir(env: dict[str, str]) -> Path:
    """The user library `quotebot add` writes to: QUOTEBOT_LIBRARY_DIR, else
    $XDG_DATA_HOME/quotebot/library (~/.local/share/quotebot/library)."""
    raw = env.get("QUOTEBOT_LIBRARY_DIR", "").strip()
    if raw:
        return Path(raw).expanduser()
    base = env.get("XDG_DATA_HOME", "").strip() or str(Path.home() / ".local" / "share")
    return Path(base) / "quotebot" / "library"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    # The index cache and the rendered cards (cache_dir / "cards"), resolved once here:
    # QUOTEBOT_CACHE_DIR, else $XDG_CACHE_HOME/quotebot (default_cache_dir).
    cache_dir: Path
    db_path: Path
    timezone: str
    token: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    admin_ids: frozenset[int] = frozenset()
    error_chat_id: int | None = None
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_secret: str | None = field(default=None, repr=False)
    log_level: str = "INFO"
    log_raw_user_ids: bool = False
    user_rate_per_minute: int = 20
    send_rate_per_second: float = 30.0
    catch_up: bool = True
    # The user library `quotebot add` writes to; loaded beside data_dir.
    library_dir: Path | None = None
    # Seconds between looks at the library for added or removed conversations
    # (`run` and `console` reload without a restart); 0: never.
    library_poll: int = 2
    # The largest subtitle file an administrator may send the bot (Telegram lets bots
    # download 20 MB at most).
    upload_max_mb: int = 5
    # The web front (bot.web): its public base URL, for share links and the Mini App
    # button; and where polling mode serves it (host, port), None: not served.
    web_url: str | None = None
    web_listen: tuple[str, int] | None = None
    log_format: str = "text"  # or "json": one object per line
    log_days: int = 365  # query-log retention
    # (host, port) of the /healthz and /metrics listener in polling mode; None: off.
    metrics_listen: tuple[str, int] | None = None

    def require_token(self) -> str:
        if not self.token:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set (get one from @BotFather)")
        return self.token


def _int(env: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be on/off (or true/false), got {raw!r}")


def _admin_ids(raw: str) -> frozenset[int]:
    ids = set()
    for part in filter(None, (p.strip() for p in raw.replace(";", ",").split(","))):
        if not re.fullmatch(r"-?\d{1,20}", part):
            raise ConfigError(f"QUOTEBOT_ADMIN_IDS must be comma-separated user ids, got {part!r}")
        ids.add(int(part))
    return frozenset(ids)


def _chat_id(env: dict[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"-?\d{1,20}", raw):
        raise ConfigError(
            f"{name} must be a chat id (a whole number, negative for groups), got {raw!r}"
        )
    return int(raw)


def _url(env: dict[str, str], name: str, default: str) -> str:
    """An http(s) URL with a host and, if given, a port in 1-65535 (urllib would accept 99999
    here and fail only when the first request is made)."""
    raw = env.get(name, "").strip() or default
    if not raw:
        return raw
    problem = f"{name} must be an http(s) URL with a host and a port in 1-65535, got {raw!r}"
    if any(ch.isspace() for ch in raw):
        raise ConfigError(problem)
    try:
        parts = urlsplit(raw)
        port = parts.port  # ValueError when not a number or out of 0-65535
    except ValueError:
        raise ConfigError(problem) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise ConfigError(problem)
    return raw


def _ip_address(env: dict[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise ConfigError(
            f"{name} must be an IP address to listen on (like 0.0.0.0, 127.0.0.1 or ::), "
            f"got {raw!r}"
        ) from None


def _listen(env: dict[str, str], name: str) -> tuple[str, int] | None:
    """host:port, [v6]:port or a port alone (127.0.0.1); empty: None."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    problem = (
        f"{name} must be a port or host:port (like 9090, 127.0.0.1:9090 or [::1]:9090), got {raw!r}"
    )
    host, _, port = raw.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(problem)
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        if host != "localhost":
            raise ConfigError(problem) from None
    return host, int(port)


def settings_from_env(env: dict[str, str], data_dir: Path | None = None) -> Settings:
    """Parse settings from a mapping (os.environ in production, a dict in tests)."""
    from bot.daily.times import ScheduleError, parse_zone

    token = env.get("TELEGRAM_BOT_TOKEN", "").strip() or None
    if token is not None and not _TOKEN.match(token):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is malformed (expected digits:letters from @BotFather)"
        )
    api_url = _url(env, "TELEGRAM_API_URL", DEFAULT_API_URL)
    tz = env.get("QUOTEBOT_TZ", "").strip() or "Asia/Shanghai"
    try:
        tz = parse_zone(tz).name
    except ScheduleError:
        raise ConfigError(f"QUOTEBOT_TZ is not a known time zone: {tz!r}") from None
    webhook_url = _url(env, "QUOTEBOT_WEBHOOK_URL", "") or None
    webhook_secret = env.get("QUOTEBOT_WEBHOOK_SECRET", "").strip() or None
    if webhook_url:
        if not webhook_url.startswith("https://") and not webhook_url.startswith("http://127."):
            raise ConfigError("QUOTEBOT_WEBHOOK_URL must be an https:// URL")
        if not webhook_secret or not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", webhook_secret):
            raise ConfigError(
                "QUOTEBOT_WEBHOOK_SECRET must be set with a webhook: 16-256 of A-Z a-z 0-9 _ -"
            )
    level = env.get("QUOTEBOT_LOG_LEVEL", "").strip().upper() or "INFO"
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(
            f"QUOTEBOT_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}"
        )
    data = data_dir or Path(env.get("QUOTEBOT_DATA_DIR", "").strip() or DEFAULT_DATA_DIR)
    if not data.is_dir():
        raise ConfigError(f"QUOTEBOT_DATA_DIR is not a folder: {str(data)!r}")
    send_rate = _int(env, "QUOTEBOT_SEND_RATE", 30, 1, 1000)
    log_format = env.get("QUOTEBOT_LOG_FORMAT", "").strip().lower() or "text"
    if log_format not in {"text", "json"}:
        raise ConfigError(f"QUOTEBOT_LOG_FORMAT must be text or json, got {log_format!r}")
    return Settings(
        data_dir=data,
        cache_dir=default_cache_dir(env),
        db_path=Path(env.get("QUOTEBOT_DB", "").strip() or "quotebot.db"),
        timezone=tz,
        token=token,
        api_url=api_url,
        admin_ids=_admin_ids(env.get("QUOTEBOT_ADMIN_IDS", "")),
        error_chat_id=_chat_id(env, "QUOTEBOT_ERROR_CHAT_ID"),
        webhook_url=webhook_url,
        webhook_listen=_ip_address(env, "QUOTEBOT_WEBHOOK_LISTEN", "0.0.0.0"),
        webhook_port=_int(env, "QUOTEBOT_WEBHOOK_PORT", 8443, 1, 65535),
        webhook_secret=webhook_secret,
        log_level=level,
        log_raw_user_ids=_bool(env, "QUOTEBOT_LOG_RAW_USER_IDS", False),
        user_rate_per_minute=_int(env, "QUOTEBOT_USER_RATE", 20, 1, 10_000),
        send_rate_per_second=float(send_rate),
        catch_up=_bool(env, "QUOTEBOT_CATCH_UP", True),
        library_dir=default_library_dir(env),
        library_poll=_int(env, "QUOTEBOT_LIBRARY_POLL", 2, 0, 3600),
        upload_max_mb=_int(env, "QUOTEBOT_UPLOAD_MAX_MB", 5, 1, 20),
        web_url=_web_url(env),
        web_listen=_listen(env, "QUOTEBOT_WEB_LISTEN"),
        log_format=log_format,
        log_days=_int(env, "QUOTEBOT_LOG_DAYS", 365, 1, 36500),
        metrics_listen=_listen(env, "QUOTEBOT_METRICS_LISTEN"),
    )


def _web_url(env: dict[str, str]) -> str | None:
    raw = env.get("QUOTEBOT_WEB_URL", "").strip().rstrip("/")
    if not raw:
        return None
    parts = urlsplit(raw)
    local = parts.scheme == "http" and (parts.hostname or "") in ("127.0.0.1", "localhost")
    if (parts.scheme != "https" and not local) or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            "QUOTEBOT_WEB_URL must be the web pages' public https:// URL "
            f"(no query or fragment), got {raw[:80]!r}"
        )
    return raw


def load_settings(data_dir: Path | None = None, env_file: Path | None = Path(".env")) -> Settings:
    """Settings from os.environ, after loading .env (real environment variables win)."""
    if env_file is not None and env_file.is_file():
        load_dotenv(env_file, override=False)
    return settings_from_env(dict(os.environ), data_dir=data_dir)
