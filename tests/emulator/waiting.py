"""Event-driven waiting, so tests never poll with sleeps.

Every state change (a request handled, an update queued) calls
:meth:`ChangeSignal.notify`; waiters re-check their condition only then.  All of it runs
in the single event loop shared by the test, the emulator and PTB.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

__all__ = ["ChangeSignal"]

T = TypeVar("T")


class ChangeSignal:
    """Wakes every current waiter whenever the emulator state changes."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()
        self.version = 0

    def notify(self) -> None:
        self.version += 1
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, timeout: float | None) -> None:
        """Return on the next change or after ``timeout`` seconds, whichever is first."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)

    async def wait_until(
        self, probe: Callable[[], T | None], timeout: float, describe: Callable[[], str]
    ) -> T:
        """Return ``probe()`` as soon as it is not ``None``; raise TimeoutError otherwise.

        ``describe`` builds the failure message lazily (it can list what *did* happen).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = probe()
            if value is not None:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(describe())
            await self.wait(remaining)
