"""Throttling sends: pacing that Telegram's flood limits can't catch out.

Telegram allows about 30 messages a second overall and 20 a minute into one
group. A token bucket that starts full lets a whole second's budget out at
once, and after a pause held sends leave together; both trip the limit. This
pacer is a sliding window instead: a send may start only if fewer than
`per_second` sends started in the last second (and, for a group, fewer than
`per_group_minute` in its last minute), so no one-second window ever holds
more than the limit. A RetryAfter from Telegram pauses every sender.

One pacer serves the daily quotes (bot.daily.scheduler) and, through
handlers/throttle_api.py, every other send of the bot; it lives here, below
storage and Telegram-free, because the scheduler paces with it. Throttling
users (how often one person may ask) is bot/app/throttle_users.py.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class Pacer:
    def __init__(
        self,
        per_second: float = 30.0,
        per_group_minute: int = 20,
        clock: Callable[[], float] = time.monotonic,
        window: float = 1.1,
    ) -> None:
        self.per_second = max(1, int(per_second))
        # Sends leave here but are counted by Telegram on arrival, after network
        # jitter has bunched some together: a window 10% longer than a second
        # keeps the arrival rate under the limit too.
        self.window = window
        self.per_group_minute = per_group_minute
        self._clock = clock
        self._recent: deque[float] = deque()
        self._groups: dict[int, deque[float]] = {}
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """Hold every send for `seconds` (Telegram said RetryAfter)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _wait_time(self, now: float, group: int | None) -> float:
        wait = max(0.0, self._paused_until - now)
        while self._recent and now - self._recent[0] >= self.window:
            self._recent.popleft()
        if len(self._recent) >= self.per_second:
            wait = max(wait, self._recent[0] + self.window - now)
        if group is not None:
            sent = self._groups.get(group)
            if sent:
                while sent and now - sent[0] >= 60.0:
                    sent.popleft()
                if len(sent) >= self.per_group_minute:
                    wait = max(wait, sent[0] + 60.0 - now)
        return wait

    async def acquire(self, group: int | None = None) -> None:
        """Wait until one more send fits every window, then count it as started.

        The check and the count happen together under a lock, and waiting
        happens outside it, so a group at its per-minute limit never holds up
        sends to other chats, and waiters woken together re-check one by one.
        """
        while True:
            async with self._lock:
                now = self._clock()
                wait = self._wait_time(now, group)
                if wait <= 0:
                    self._recent.append(now)
                    if group is not None:
                        self._groups.setdefault(group, deque()).append(now)
                        if len(self._groups) > 10_000:
                            self._forget_idle_groups(now)
                    return
            await asyncio.sleep(wait)

    def _forget_idle_groups(self, now: float) -> None:
        for chat in [c for c, d in self._groups.items() if not d or now - d[-1] >= 60.0]:
            del self._groups[chat]
