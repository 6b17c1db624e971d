"""The webhook server of `quotebot run`: the secret and the size checked before a body is read.

python-telegram-bot's own webhook server (`Updater.start_webhook`) reads a whole
request body into memory before it looks at the secret header, so anyone who
can reach the port can make the bot hold large bodies. This server is a small
tornado application (tornado comes with python-telegram-bot[webhooks]) in the
way PTB documents for custom webhook servers: the Application is built without
an Updater and updates are put on `application.update_queue`.

Each request is judged on its headers alone (`prepare`, before any body byte
is read): a wrong path is 404, a method other than POST 405, a missing or
wrong `X-Telegram-Bot-Api-Secret-Token` 403 (compared in constant time), a
`Content-Length` above `MAX_BODY` 413 (none at all 411); the connection is closed
after such an answer, the body never read. An accepted body is collected up
to the cap (enforced again as it arrives), parsed, and queued: 200. A body
that is not an Update is 400.

`serve_webhook` runs the Application as `Application.run_webhook` does:
initialize, post_init, listen, setWebhook (with the secret and the allowed
updates), start; on SIGINT, SIGTERM or SIGABRT the server stops taking
requests, then stop (every accepted update is processed), post_stop,
shutdown, post_shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

import tornado.web
from telegram import Update
from telegram.ext import Application, ExtBot
from tornado.httpserver import HTTPServer

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # Telegram's updates are a few kB; 1 MiB leaves ample room
BODY_TIMEOUT = 10.0  # seconds for an accepted body to arrive in full
IDLE_TIMEOUT = 60.0  # seconds a kept-alive connection may sit idle
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGABRT)


@tornado.web.stream_request_body
class WebhookHandler(tornado.web.RequestHandler):
    """One POST from Telegram. Headers are checked in `prepare`, before the body is read;
    tornado answers any other method 405 before `prepare`."""

    SUPPORTED_METHODS = ("POST",)  # type: ignore[assignment]

    def initialize(self, ptb: Application, secret: str, max_body: int) -> None:
        self.ptb = ptb  # (tornado's own `application` is the tornado app)
        self.secret = secret.encode()
        self.max_body = max_body
        self.chunks: list[bytes] = []
        self.received = 0

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")

    def prepare(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self.secret):
            self.refuse(HTTPStatus.FORBIDDEN, "no secret token" if not given else "wrong secret")
            return
        length = self.request.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.refuse(HTTPStatus.LENGTH_REQUIRED, "no Content-Length")
            return
        if int(length) > self.max_body:
            self.refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"Content-Length {length!r}")
            return
        # tornado enforces it too: a body longer than announced ends the connection.
        self.request.connection.set_max_body_size(self.max_body)  # type: ignore[union-attr]

    def refuse(self, status: HTTPStatus, why: str) -> None:
        log.info(
            "webhook: refused a %s from %s (%s): %d",
            self.request.method,
            self.request.remote_ip,
            why,
            status.value,
        )
        self.set_status(status.value)
        self.set_header("Connection", "close")  # the body, if any, is never read
        self.finish(json.dumps({"ok": False, "status": status.value}))

    def data_received(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > self.max_body:  # cannot happen past set_max_body_size; belt and braces
            raise tornado.web.HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE.value)
        self.chunks.append(chunk)

    async def post(self) -> None:
        app = self.ptb
        try:
            data = json.loads(b"".join(self.chunks))
            if not isinstance(data, dict):
                raise TypeError("not a JSON object")
            update = Update.de_json(data, app.bot)
        except Exception as exc:  # any malformed body is the sender's fault, not ours
            log.warning("webhook: refused a body that is not an Update (%s): 400", exc)
            self.set_status(HTTPStatus.BAD_REQUEST.value)
            self.finish(json.dumps({"ok": False, "status": 400}))
            return
        finally:
            self.chunks = []
        if isinstance(app.bot, ExtBot):
            app.bot.insert_callback_data(update)
        log.debug("webhook: update %s received", update.update_id)
        await app.update_queue.put(update)
        self.finish(json.dumps({"ok": True}))


class NotFound(tornado.web.RequestHandler):
    def prepare(self) -> None:
        self.set_status(HTTPStatus.NOT_FOUND.value)
        self.set_header("Connection", "close")
        self.finish()


def webhook_app(
    application: Application,
    path: str,
    secret: str,
    max_body: int = MAX_BODY,
    extra_routes: Sequence[tuple[str, Any, dict[str, Any]]] = (),
) -> tornado.web.Application:
    """The tornado application: `path` (with or without a trailing slash), the extra routes
    (/healthz and /metrics in `quotebot run`), and nothing else."""
    path = "/" + path.strip("/")
    kwargs: dict[str, Any] = {"ptb": application, "secret": secret, "max_body": max_body}
    return tornado.web.Application(
        [*extra_routes, (rf"{path}/?", WebhookHandler, kwargs)],
        default_handler_class=NotFound,
        log_function=lambda handler: None,  # our own log lines; no access log
    )


def webhook_server(app: tornado.web.Application, max_body: int = MAX_BODY) -> HTTPServer:
    return HTTPServer(
        app,
        max_body_size=max_body,
        body_timeout=BODY_TIMEOUT,
        idle_connection_timeout=IDLE_TIMEOUT,
    )


async def serve_webhook(
    application: Application,
    *,
    listen: str,
    port: int,
    url: str,
    path: str,
    secret: str,
    allowed_updates: Sequence[str],
    max_body: int = MAX_BODY,
    extra_routes: Sequence[tuple[str, Any, dict[str, Any]]] = (),
    routes: Callable[[], Sequence[Any]] = tuple,
) -> None:
    """Run `application` (built with `.updater(None)`) behind our webhook server until a
    stop signal, in the order of `Application.run_webhook`. `routes` gives further URL
    rules once post_init has run (the web pages)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    server: HTTPServer | None = None
    try:
        await application.initialize()
        if application.post_init:
            await application.post_init(application)
        app = webhook_app(application, path, secret, max_body, [*extra_routes, *routes()])
        server = webhook_server(app, max_body)
        server.listen(port, address=listen)  # before setWebhook: a taken port fails first
        await application.bot.set_webhook(
            url=url, secret_token=secret, allowed_updates=list(allowed_updates)
        )
        await application.start()
        log.info("webhook server listening on %s:%d", listen, port)
        await stop.wait()
        log.debug("stop signal received: shutting down")
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        if server is not None:
            server.stop()  # no new connections; requests in progress finish
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.close_all_connections(), timeout=5)
        if application.running:
            await application.stop()  # every accepted update is processed first
            if application.post_stop:
                await application.post_stop(application)
        await application.shutdown()  # a no-op when initialize() failed, as in run_webhook
        if application.post_shutdown:
            await application.post_shutdown(application)
