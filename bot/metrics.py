"""The bot's Prometheus metrics (prometheus_client), served as /metrics by handlers/health.py.

One registry for the process, holding the metrics below plus the process
collector (CPU, memory, open files). Labels take only values from a fixed set
chosen by the code (a surface such as "message" or "inline", an outcome, an
API method name): never a user's words, a chat or user id, or the token.

- `quotebot_queries_total{surface, outcome}`: searches people asked for, by where
  they asked (message, quote, topic, card, inline, random, conversation) and what
  they got: `confident` (an answer), `suggestions` (closest in meaning) or `nothing`.
- `quotebot_answer_seconds{surface}`: from the bot taking an update to its handlers
  having answered it (replies sent), as a histogram.
- `quotebot_sends_total{method, outcome}`: Bot API sends and edits by outcome.
- `quotebot_flood_waits_total`, `quotebot_flood_wait_seconds_total`: Telegram's 429s.
- `quotebot_daily_due`, `quotebot_daily_left` (the current daily round, or the last one
  that had quotes due), `quotebot_daily_sent_total`.
- `quotebot_index_passages`, `quotebot_index_load_seconds`: the search index at start
  (loaded from the cache, or built when the library changed).
- `quotebot_embedder_state{quotebot_embedder_state=loading|ready|off}`.
- `quotebot_updates_polled_timestamp_seconds`: when getUpdates last answered.
"""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

disable_created_metrics()  # no *_created series: creation times are noise for a scrape
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

QUERIES = Counter(
    "quotebot_queries",
    "Searches people asked for, by surface and outcome (confident, suggestions, nothing)",
    ["surface", "outcome"],
    registry=REGISTRY,
)
ANSWER_SECONDS = Histogram(
    "quotebot_answer_seconds",
    "Seconds from taking an update to having answered it, by surface",
    ["surface"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
SENDS = Counter(
    "quotebot_sends",
    "Bot API sends and edits, by method and outcome",
    ["method", "outcome"],
    registry=REGISTRY,
)
FLOOD_WAITS = Counter(
    "quotebot_flood_waits", "429 answers (RetryAfter) from Telegram", registry=REGISTRY
)
FLOOD_WAIT_SECONDS = Counter(
    "quotebot_flood_wait_seconds", "Seconds Telegram asked the bot to wait", registry=REGISTRY
)
DAILY_DUE = Gauge(
    "quotebot_daily_due",
    "Daily quotes due when the current (or last) round began",
    registry=REGISTRY,
)
DAILY_LEFT = Gauge(
    "quotebot_daily_left",
    "Daily quotes of the current (or last) round not yet handled",
    registry=REGISTRY,
)
DAILY_SENT = Counter("quotebot_daily_sent", "Daily quotes sent", registry=REGISTRY)
INDEX_PASSAGES = Gauge("quotebot_index_passages", "Passages in the search index", registry=REGISTRY)
INDEX_LOAD_SECONDS = Gauge(
    "quotebot_index_load_seconds",
    "Seconds the index took to load (or build) at start",
    registry=REGISTRY,
)
EMBEDDER = Enum(
    "quotebot_embedder_state",
    "The meaning layer's embedder: loading, ready, or off (lexical search only)",
    states=["loading", "ready", "off"],
    registry=REGISTRY,
)
POLLED = Gauge(
    "quotebot_updates_polled_timestamp_seconds",
    "Unix time getUpdates last answered (polling mode)",
    registry=REGISTRY,
)

SURFACES = frozenset(
    {"message", "quote", "topic", "card", "inline", "random", "conversation", "console"}
)
_last_poll: float | None = None  # monotonic


def query(surface: str, found: int, confident: bool) -> None:
    """Count one search by its surface and outcome."""
    outcome = "nothing" if found == 0 else "confident" if confident else "suggestions"
    QUERIES.labels(surface if surface in SURFACES else "other", outcome).inc()


def polled() -> None:
    """getUpdates answered: the bot is taking updates."""
    global _last_poll
    _last_poll = time.monotonic()
    POLLED.set_to_current_time()


def seconds_since_poll() -> float | None:
    """Seconds since getUpdates last answered; None if it never did."""
    return None if _last_poll is None else time.monotonic() - _last_poll


def exposition() -> tuple[bytes, str]:
    """The Prometheus text and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
