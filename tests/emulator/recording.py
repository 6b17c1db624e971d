"""The request log tests and benchmarks read (arrival time, method, chat, outcome)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RecordedRequest", "peak_rate"]


@dataclass(eq=False)
class RecordedRequest:
    """One call to the emulated Bot API (only calls with the right token are recorded)."""

    seq: int
    method: str
    arrived: float  # time.monotonic()
    chat_id: int | str | None
    params: dict[str, Any] = field(repr=False)
    finished: float | None = None
    status: int | None = None  # None while in flight; 0 for a dropped connection
    ok: bool | None = None
    description: str | None = None
    result: Any = field(default=None, repr=False)
    injected: bool = False  # failed by fail_next()

    @property
    def latency(self) -> float | None:
        return None if self.finished is None else self.finished - self.arrived

    def summary(self) -> str:
        outcome = "pending" if self.status is None else f"{self.status} {self.description or 'OK'}"
        return f"#{self.seq} {self.method} chat={self.chat_id} -> {outcome}"


def peak_rate(times: Iterable[float], window: float = 1.0) -> int:
    """Largest number of events inside any half-open window ``[t, t + window)``."""
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best
