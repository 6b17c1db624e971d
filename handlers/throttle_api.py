"""Throttling Telegram API calls: python-telegram-bot's rate limiter, backed by the same
sliding-window pacer (bot/daily/throttle_sends.py) as the daily quotes.

PTB's AIORateLimiter lets a whole second's budget out at once and, after a
429, releases held sends together. This limiter asks bot.daily.throttle_sends.Pacer for a
slot before every send or edit, so interactive replies and daily quotes share
one budget that no one-second window exceeds, and a RetryAfter pauses both.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

from bot import metrics
from bot.daily.throttle_sends import Pacer

log = logging.getLogger(__name__)

_PACED_PREFIXES = ("send", "edit", "copy", "forward")


def retry_seconds(exc: RetryAfter) -> float:
    """RetryAfter's wait in seconds (PTB 22 gives a timedelta, older versions an int)."""
    retry = exc.retry_after
    return retry.total_seconds() if hasattr(retry, "total_seconds") else float(retry)


class PacedRateLimiter(BaseRateLimiter[int]):
    """`rate_limit_args` is the number of retries after a RetryAfter for one call (0: none)."""

    def __init__(self, pacer: Pacer, max_retries: int = 3) -> None:
        self.pacer = pacer
        self.max_retries = max_retries

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        retries = self.max_retries if rate_limit_args is None else rate_limit_args
        paced = endpoint.lower().startswith(_PACED_PREFIXES)
        group = _group(data.get("chat_id"))
        attempt = 0
        while True:
            if paced:
                await self.pacer.acquire(group=group)
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as exc:
                metrics.FLOOD_WAITS.inc()
                metrics.FLOOD_WAIT_SECONDS.inc(retry_seconds(exc))
                if paced:
                    metrics.SENDS.labels(endpoint, "flood_wait").inc()
                self.pacer.pause(retry_seconds(exc))
                if attempt >= retries:
                    raise
                attempt += 1
                log.info("flood limit on %s; retrying after %.1fs", endpoint, retry_seconds(exc))
                if not paced:
                    await asyncio.sleep(retry_seconds(exc))
            except Exception as exc:
                if paced:
                    metrics.SENDS.labels(endpoint, _outcome(exc)).inc()
                raise
            else:
                if paced:
                    metrics.SENDS.labels(endpoint, "ok").inc()
                return result


def _outcome(exc: Exception) -> str:
    """A failed send's outcome label."""
    if isinstance(exc, Forbidden):
        return "forbidden"  # blocked, kicked
    if isinstance(exc, BadRequest):
        return "bad_request"
    if isinstance(exc, TimedOut):
        return "timeout"
    if isinstance(exc, NetworkError):
        return "network_error"
    return "error"


def _group(chat_id: object) -> int | None:
    """Group and channel ids are negative (or @usernames): they get the per-group limit."""
    try:
        value = int(chat_id)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return hash(chat_id) if isinstance(chat_id, str) else None
    return value if value < 0 else None
