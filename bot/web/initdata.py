"""Telegram Mini App `initData`: checked on the server with the bot token.

The one thing the web front knows about Telegram. A Mini App opened from the bot
is handed `initData`, a URL-encoded query string signed by Telegram; the page
sends it back with anything user-specific, and this module decides whether it
is genuine (Telegram's documented scheme, core.telegram.org/bots/webapps):

- the data-check-string is every field but `hash`, as `key=value`, sorted by key,
  joined by newlines;
- the secret key is HMAC-SHA256(key="WebAppData", message=bot token);
- `hash` must equal hex(HMAC-SHA256(key=secret key, message=data-check-string)),
  compared in constant time;
- `auth_date` must be no older than `max_age` seconds (and not in the future
  beyond a small clock skew).

Nothing here logs or returns the token or the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from bot.errors import QuotebotError

MAX_AGE = 24 * 3600  # seconds an initData stays acceptable
MAX_LENGTH = 4096  # bytes of initData read at all
CLOCK_SKEW = 60  # seconds an auth_date may lie in the future


class InvalidInitData(QuotebotError, ValueError):
    """initData that is malformed, forged or too old; the message says which, never why in detail."""


@dataclass(frozen=True, slots=True)
class WebAppUser:
    """Who opened the Mini App, as Telegram vouches for it."""

    id: int
    language_code: str
    auth_date: int


def secret_key(token: str) -> bytes:
    """HMAC-SHA256 with the key "WebAppData" over the bot token."""
    return hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()


def data_check_string(fields: dict[str, str]) -> str:
    """Every field but `hash`, as key=value lines sorted by key."""
    return "\n".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "hash")


def sign(fields: dict[str, str], token: str) -> str:
    """The `hash` Telegram would put on these fields (tests and tools build initData with it)."""
    return hmac.new(
        secret_key(token), data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()


def check_init_data(
    init_data: str, token: str, *, max_age: int = MAX_AGE, now: float | None = None
) -> WebAppUser:
    """The user `init_data` vouches for; InvalidInitData if it is malformed, not signed
    with this bot's token, or older than `max_age` seconds."""
    if not token:
        raise InvalidInitData("no bot token to check against")
    if not init_data or len(init_data.encode("utf-8", "replace")) > MAX_LENGTH:
        raise InvalidInitData("empty or too long")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InvalidInitData("not a query string") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise InvalidInitData("a field given twice")
        fields[key] = value
    given = fields.get("hash", "")
    if not given:
        raise InvalidInitData("no hash")
    if not hmac.compare_digest(sign(fields, token).encode(), given.encode("ascii", "replace")):
        raise InvalidInitData("wrong hash")
    try:
        auth_date = int(fields.get("auth_date", ""))
    except ValueError:
        raise InvalidInitData("no auth_date") from None
    current = time.time() if now is None else now
    if current - auth_date > max_age:
        raise InvalidInitData("expired")
    if auth_date - current > CLOCK_SKEW:
        raise InvalidInitData("from the future")
    try:
        user = json.loads(fields.get("user", ""))
        user_id = int(user["id"])
        lang = str(user.get("language_code") or "")
    except (ValueError, TypeError, KeyError):
        raise InvalidInitData("no user") from None
    return WebAppUser(user_id, lang[:16], auth_date)
