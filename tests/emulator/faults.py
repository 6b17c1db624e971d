"""Fault injection and Telegram-style flood control.

``Fault`` makes the next N matching calls fail (or stall) the way Telegram's front end
does: JSON errors with ``retry_after``/``migrate_to_chat_id`` parameters, nginx's HTML
``502 Bad Gateway`` page, a dropped connection, or a delay.  ``applied=True`` makes the
method take effect *and* still fail, which is how duplicates happen in production (the
message was sent but the response was lost, so the bot retries).

``FloodLimits`` emulates flood control with sliding windows over accepted sends:
about 30 messages per second overall, 1 per second per chat and 20 per minute per
group are Telegram's published guidance.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, too_many_requests

__all__ = ["SEND_METHODS", "Fault", "FaultPlan", "FloodGate", "FloodLimits"]

#: Methods that count as "sending a message" for flood control (lower-case).
SEND_METHODS = frozenset(
    m.lower()
    for m in (
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendSticker",
        "sendAnimation",
        "sendVideo",
        "sendVoice",
        "sendAudio",
        "sendMediaGroup",
        "sendLocation",
        "sendContact",
        "sendPoll",
        "sendDice",
        "forwardMessage",
        "copyMessage",
    )
)

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
}
_NGINX_PAGES = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}


def nginx_page(status: int) -> str:
    """The HTML page Telegram's nginx returns for 5xx gateway errors."""
    title = f"{status} {_NGINX_PAGES.get(status, 'Error')}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
        "</body>\r\n</html>\r\n"
    )


@dataclass(eq=False)
class Fault:
    """One injected failure rule; ``remaining`` counts down, ``hits`` counts up."""

    method: str | None
    chat_id: int | str | None = None
    status: int | None = None
    description: str | None = None
    retry_after: int | None = None
    migrate_to_chat_id: int | None = None
    delay: float = 0.0
    applied: bool = False
    disconnect: bool = False
    body: str | None = None
    remaining: int = 1
    hits: int = 0

    def matches(self, method: str, chat_id: int | str | None) -> bool:
        if self.remaining <= 0:
            return False
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or self.chat_id == chat_id

    @property
    def fails(self) -> bool:
        """False for a pure delay (the call then succeeds normally)."""
        return self.status is not None or self.disconnect

    def error(self) -> ApiError | None:
        """The JSON error to answer with (``None`` for raw-body/disconnect faults)."""
        if self.status is None or self.body is not None:
            return None
        if self.status == 429:
            retry_after = self.retry_after if self.retry_after is not None else 1
            err = too_many_requests(retry_after)
            if self.description:
                err.description = self.description
            return err
        parameters: dict[str, Any] = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        description = self.description
        if description is None and self.migrate_to_chat_id is not None:
            description = "Bad Request: group chat was upgraded to a supergroup chat"
        if description is None:
            description = _DEFAULT_DESCRIPTIONS.get(self.status, f"Error {self.status}")
        return ApiError(self.status, description, parameters or None)

    def raw_body(self) -> str | None:
        """Non-JSON body (nginx HTML for 502/503/504 unless a description was given)."""
        if self.body is not None:
            return self.body
        if self.status in _NGINX_PAGES and self.description is None:
            return nginx_page(self.status)
        return None


class FaultPlan:
    """The queue of pending faults, consumed first-match-first."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def take(self, method: str, chat_id: int | str | None) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, chat_id):
                fault.remaining -= 1
                fault.hits += 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.faults.clear()


@dataclass(frozen=True)
class FloodLimits:
    """Flood-control thresholds; ``None`` disables a limit.

    ``retry_after`` fixes the advertised wait; by default it is the time until the
    oldest send leaves the window that overflowed (at least 1 s, like Telegram).
    """

    per_second: int | None = 30
    per_chat_per_second: int | None = None
    per_group_per_minute: int | None = 20
    methods: frozenset[str] = SEND_METHODS
    retry_after: int | None = None


@dataclass
class FloodGate:
    """Sliding-window counters of accepted sends."""

    limits: FloodLimits
    _all: deque[float] = field(default_factory=deque)
    _per_chat: dict[int | str, deque[float]] = field(default_factory=dict)

    def applies_to(self, method: str) -> bool:
        return method.lower() in self.limits.methods

    def check(self, now: float, chat_id: int | str | None, is_group: bool) -> ApiError | None:
        """The 429 to return if this send would exceed a limit."""
        waits: list[float] = []
        limits = self.limits
        if limits.per_second is not None:
            waits.append(_wait(self._all, now, 1.0, limits.per_second))
        history = self._per_chat.get(chat_id) if chat_id is not None else None
        if history is not None:
            if limits.per_chat_per_second is not None:
                waits.append(_wait(history, now, 1.0, limits.per_chat_per_second))
            if is_group and limits.per_group_per_minute is not None:
                waits.append(_wait(history, now, 60.0, limits.per_group_per_minute))
        wait = max(waits, default=0.0)
        if wait <= 0:
            return None
        retry_after = limits.retry_after or max(1, math.ceil(wait))
        return too_many_requests(retry_after)

    def record(self, now: float, chat_id: int | str | None) -> None:
        self._all.append(now)
        _trim(self._all, now, 60.0)
        if chat_id is not None:
            history = self._per_chat.setdefault(chat_id, deque())
            history.append(now)
            _trim(history, now, 60.0)


def _trim(history: deque[float], now: float, keep: float) -> None:
    while history and history[0] <= now - keep:
        history.popleft()


def _wait(history: Iterable[float], now: float, window: float, limit: int) -> float:
    recent = [t for t in history if t > now - window]
    if len(recent) < limit:
        return 0.0
    return recent[-limit] + window - now
