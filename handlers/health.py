"""/healthz and /metrics: served by the webhook server, or in polling mode by a small
listener on QUOTEBOT_METRICS_LISTEN (off by default).

`/healthz` answers 200 `ok` only while the bot takes updates and the database
answers; otherwise 503 with one line saying why:

- the Application is not running (starting or stopping);
- polling mode: the updater stopped, or getUpdates has not answered for
  `POLL_STALE` seconds (Telegram unreachable, a revoked token);
- the database cannot be opened and read afresh (bot.storage.probe_database).

`/metrics` is the Prometheus text of bot.metrics. Neither carries user text,
ids or the token. getUpdates answers are seen by `PollWatchRequest`, the HTTP
request object python-telegram-bot uses for getUpdates alone.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from http import HTTPStatus
from pathlib import Path
from typing import Any

import tornado.web
from telegram.ext import Application
from telegram.request import HTTPXRequest
from tornado.httpserver import HTTPServer

from bot import metrics
from bot.search import QuoteEngine
from bot.storage import probe_database

log = logging.getLogger(__name__)

POLL_STALE = 60.0  # seconds without a getUpdates answer before /healthz turns red
PROBE_TIMEOUT = 5.0


class PollWatchRequest(HTTPXRequest):
    """PTB's HTTP request for getUpdates that notes each answer from the Bot API."""

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        status, payload = await super().do_request(*args, **kwargs)
        if status == HTTPStatus.OK:
            metrics.polled()
        return status, payload


class Health:
    """What /healthz checks, for one Application."""

    def __init__(self, application: Application, db_path: Path, polling: bool) -> None:
        self.application = application
        self.db_path = db_path
        self.polling = polling

    async def check(self) -> str | None:
        """None when healthy; else the reason, one line."""
        app = self.application
        if not app.running:
            return "not taking updates: the bot is not running (starting or stopping)"
        if self.polling:
            if app.updater is None or not app.updater.running:
                return "not taking updates: polling has stopped"
            since = metrics.seconds_since_poll()
            if since is None:
                return "not taking updates: getUpdates has not answered yet"
            if since > POLL_STALE:
                return f"not taking updates: getUpdates has not answered for {since:.0f} s"
        try:
            problem = await asyncio.wait_for(
                asyncio.to_thread(probe_database, self.db_path), timeout=PROBE_TIMEOUT
            )
        except TimeoutError:
            problem = f"no answer within {PROBE_TIMEOUT:.0f} s"
        if problem is not None:
            return f"database: {problem}"
        return None


class HealthHandler(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("GET", "HEAD")  # type: ignore[assignment]

    def initialize(self, health: Health) -> None:
        self.health = health

    async def get(self) -> None:
        problem = await self.health.check()
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        if problem is not None:
            self.set_status(HTTPStatus.SERVICE_UNAVAILABLE.value)
        self.finish((problem or "ok") + "\n")

    async def head(self) -> None:
        await self.get()


class MetricsHandler(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("GET",)  # type: ignore[assignment]

    def get(self) -> None:
        body, content_type = metrics.exposition()
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", "no-store")
        self.finish(body)


def routes(health: Health) -> list[tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]]:
    """The two endpoints, for any tornado application."""
    return [
        (r"/healthz", HealthHandler, {"health": health}),
        (r"/metrics", MetricsHandler, {}),
    ]


class NotFound(tornado.web.RequestHandler):
    def prepare(self) -> None:
        self.set_status(HTTPStatus.NOT_FOUND.value)
        self.finish()


def serve_metrics(health: Health, host: str, port: int) -> HTTPServer:
    """The polling mode's listener (call on the running event loop); stop() it at shutdown."""
    app = tornado.web.Application(
        routes(health), default_handler_class=NotFound, log_function=lambda handler: None
    )
    server = HTTPServer(app, idle_connection_timeout=60.0, body_timeout=10.0)
    server.listen(port, address=host)
    log.info("/healthz and /metrics on http://%s:%d", host, port)
    return server


def watch_engine(engine: QuoteEngine, load_seconds: float) -> None:
    """Index figures now; the embedder's state now and when its background build ends."""
    metrics.INDEX_PASSAGES.set(len(engine.table))
    metrics.INDEX_LOAD_SECONDS.set(load_seconds)
    if engine.meaning() is not None:
        metrics.EMBEDDER.state("ready")
        return
    metrics.EMBEDDER.state("loading")

    def wait() -> None:
        metrics.EMBEDDER.state("ready" if engine.wait_for_meaning() is not None else "off")

    threading.Thread(target=wait, name="embedder-state", daemon=True).start()
