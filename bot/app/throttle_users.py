"""Throttling users: each user's messages in a sliding one-minute window, one polite
answer over the limit, then silence (QuoteBot.admit; handlers/guard.py asks it first).

One of three throttles: bot/daily/throttle_sends.py paces what the bot sends, and
handlers/throttle_api.py puts that pacer in front of its sends and edits.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Literal

Verdict = Literal["ok", "warn", "drop"]


class RateLimiter:
    """At most `per_minute` messages per user in any minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}

    def check(self, user_id: int | None, now: float | None = None) -> Verdict:
        """'ok', 'warn' (first refusal in a window) or 'drop'."""
        if user_id is None:
            return "ok"
        now = time.monotonic() if now is None else now
        if len(self._hits) > 10_000:  # months of users: keep only the recent ones
            self.forget_idle(now)
        hits = self._hits.setdefault(user_id, deque())
        while hits and now - hits[0] >= 60:
            hits.popleft()
        if len(hits) < self.per_minute:
            hits.append(now)
            self._warned.pop(user_id, None)
            return "ok"
        if now - self._warned.get(user_id, -1e9) >= 60:
            self._warned[user_id] = now
            return "warn"
        return "drop"

    def forget_idle(self, now: float | None = None) -> None:
        """Drop users with no recent messages so memory stays bounded over months."""
        now = time.monotonic() if now is None else now
        for uid in [u for u, h in self._hits.items() if not h or now - h[-1] >= 60]:
            self._hits.pop(uid, None)
            self._warned.pop(uid, None)
