"""The request log benchmarks and tests read.

Every HTTP request the bot makes is recorded with its monotonic arrival time, method,
chat and outcome, so a benchmark can compute the peak send rate in any sliding window,
count 429s, and compare what was attempted with what was delivered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RecordedRequest", "peak_rate"]


@dataclass(eq=False)
class RecordedRequest:
    """One call to the emulated Bot API."""

    seq: int
    method: str
    arrived: float
    chat_id: int | str | None
    params: dict[str, Any] = field(repr=False)
    http_method: str = "POST"
    content_type: str | None = None
    finished: float | None = None
    status: int | None = None
    ok: bool | None = None
    description: str | None = None
    result: Any = field(default=None, repr=False)
    injected: bool = False
    flood_limited: bool = False

    @property
    def latency(self) -> float | None:
        return None if self.finished is None else self.finished - self.arrived

    def summary(self) -> str:
        outcome = "pending" if self.status is None else f"{self.status} {self.description or 'OK'}"
        return f"#{self.seq} {self.method} chat={self.chat_id} -> {outcome}"


def peak_rate(times: Iterable[float], window: float = 1.0) -> int:
    """Largest number of events inside any half-open window ``[t, t + window)``."""
    ordered = sorted(times)
    best = 0
    start = 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best
