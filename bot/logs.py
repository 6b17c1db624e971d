"""Logging set-up that keeps the bot token out of every log line.

The token travels inside Bot API URLs (`.../bot<token>/sendMessage`) and
httpx logs each request URL at INFO, so a filter scrubs it from messages and
arguments of every record, whatever library produced it.

QUOTEBOT_LOG_FORMAT=json writes each record as one JSON object per line with
the text format's fields (time, level, logger, message; a traceback is part of
the message, as in text), for a log collector. The filter runs first, so the
JSON is as token-free as the text.
"""

from __future__ import annotations

import json
import logging
import re
import sys

from bot.config import Settings

# Any "bot<digits>:<secret>" in a URL, and any bare token shape.
_TOKEN_SHAPES = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{8,100}")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Replace known secrets and anything shaped like a bot token."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return _TOKEN_SHAPES.sub("<redacted>", text)


class RedactingFilter(logging.Filter):
    """Scrubs secrets from a record's final message (args included) and its traceback."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self.secrets)
        if record.exc_info and record.exc_info[1] is not None:
            formatted = logging.Formatter().formatException(record.exc_info)
            clean += "\n" + redact(formatted, self.secrets)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = clean, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time, level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:  # only when no RedactingFilter folded it into the message
            message += "\n" + self.formatException(record.exc_info)
        return json.dumps(
            {
                "time": self.formatTime(record),
                "level": record.levelname,
                "logger": record.name,
                "message": message,
            },
            ensure_ascii=False,
        )


def setup_logging(settings: Settings, stream=None) -> None:
    """Root logging to stderr with redaction, as text or JSON lines (QUOTEBOT_LOG_FORMAT);
    HTTP request and per-query SQLite logs down to WARNING."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(
        RedactingFilter(tuple(s for s in (settings.token, settings.webhook_secret) if s))
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # aiosqlite logs every operation at DEBUG, from its own thread (even after an exit message).
    for noisy in ("httpx", "httpcore", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
