"""The web front's tornado handlers: pages, the search API, quote cards, the Mini App entry.

`WebFront` holds what every handler needs (the current engine, the card cache,
the settings); `web_routes(front)` gives the URL rules, which the Telegram
layer adds to its webhook server, or `serve_web` serves alone (polling mode,
and `quotebot web`). Nothing here imports Telegram: the one Telegram-specific
step, checking a Mini App's initData, is bot.web.initdata, and sending a
passage to a chat is a callback the Telegram layer passes in.

Every response carries a Content-Security-Policy allowing scripts from this
origin and https://telegram.org only, no inline script or style. Search
requests are limited per client address (a token bucket); a query longer
than MAX_QUERY is refused before it is searched; a POST is judged on its
headers (length, type) before any body byte is read. Searches are not
logged, and nothing about users is ever served.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import tornado.web
from tornado.httpserver import HTTPServer

from bot.app import Lang
from bot.cards import CardCache
from bot.search import QuoteEngine
from bot.text import clean_input, has_searchable_text
from bot.web import pages
from bot.web.initdata import MAX_AGE, InvalidInitData, check_init_data

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_QUERY = 500  # characters of a search query
MAX_POST = 8 * 1024  # bytes of a POST body (initData is at most 4 kB)
MAX_HEADERS = 16 * 1024  # bytes of a request's headers (and URL)
API_LIMIT = 10  # results /api/search returns at most
PAGE_RESULTS = 5  # results a page search shows (the bot's "next match" browses as many)
TELEGRAM_SCRIPT = "https://telegram.org"
CSP = (
    "default-src 'self'; "
    f"script-src 'self' {TELEGRAM_SCRIPT}; "
    "style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'self' https://web.telegram.org"
)

SendPassage = Callable[[int, str, Lang], Awaitable[bool]]


class RateLimit:
    """A token bucket per client: `per_minute` requests on average, bursts of `burst`.

    `clock` is injectable so tests step time instead of sleeping. At most
    `max_clients` buckets are kept (the least recently seen dropped)."""

    def __init__(
        self,
        per_minute: int = 60,
        burst: int = 20,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self.max_clients = max_clients
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, client: str) -> float:
        """0 if `client` may go on now (and a token is taken), else seconds to wait."""
        now = self.clock()
        tokens, then = self.buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens >= 1.0:
            self.buckets[client] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self.buckets[client] = (tokens, now)
            wait = (1.0 - tokens) / self.rate if self.rate > 0 else 60.0
        while len(self.buckets) > self.max_clients:
            self.buckets.popitem(last=False)
        return wait


@dataclass
class WebFront:
    """What the web pages need. `engine` is called per request, so a reloaded library
    is served at once; `token` (the bot's) only checks Mini App initData."""

    engine: Callable[[], QuoteEngine]
    cards: CardCache
    base_url: str = ""  # public URL (QUOTEBOT_WEB_URL); "" uses the request's own host
    bot_username: str = ""  # drawn on cards
    token: str | None = field(default=None, repr=False)
    send: SendPassage | None = None  # "send this passage to my chat" (needs token)
    limit: RateLimit = field(default_factory=RateLimit)
    init_max_age: int = MAX_AGE
    max_bodies: int = 32  # conversation pages kept rendered (~0.3 MB each), least recent dropped
    _bodies: OrderedDict[tuple[int, str, str], str] = field(default_factory=OrderedDict, repr=False)
    _engine_id: int = 0

    def __post_init__(self) -> None:
        digest = hashlib.sha256()
        for name in ("app.css", "app.js"):
            digest.update((STATIC_DIR / name).read_bytes())
        self.asset_version = digest.hexdigest()[:12]

    def body(self, engine: QuoteEngine, conv_id: str, lang: Lang) -> str:
        """A conversation's turns as HTML, rendered once per engine and language and kept
        for the `max_bodies` most recently read (a catalogue's pages are not all held)."""
        if id(engine) != self._engine_id:
            self._bodies.clear()
            self._engine_id = id(engine)
        key = (id(engine), conv_id, lang)
        body = self._bodies.pop(key, None)
        if body is None:
            body = pages.conversation_body(engine, engine.conversations[conv_id], lang)
        self._bodies[key] = body  # the most recent last
        while len(self._bodies) > self.max_bodies:
            self._bodies.popitem(last=False)
        return body


class Page(tornado.web.RequestHandler):
    """Common headers (CSP and friends), the reader's language, errors as small pages."""

    SUPPORTED_METHODS = ("GET", "HEAD")  # type: ignore[assignment]

    def initialize(self, front: WebFront) -> None:
        self.front = front

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Content-Type", "text/html; charset=utf-8")

    def lang(self) -> Lang:
        asked = self.get_query_argument("lang", "")
        if asked in ("en", "zh"):
            return asked  # type: ignore[return-value]
        accept = self.request.headers.get("Accept-Language", "")
        first = accept.split(",")[0].strip().lower()
        return "en" if first.startswith("en") else "zh"

    def base_url(self) -> str:
        if self.front.base_url:
            return self.front.base_url.rstrip("/")
        return f"{self.request.protocol}://{self.request.host}"

    def query_text(self) -> str | None:
        """The `q` argument, cleaned; None (and a 400 sent) when it is too long."""
        raw = self.get_query_argument("q", "")
        if len(raw) > MAX_QUERY:
            self.send_error(HTTPStatus.BAD_REQUEST.value, reason="query too long")
            return None
        return clean_input(raw).strip()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code == HTTPStatus.NOT_FOUND.value:
            self.finish(pages.not_found_page(self.lang(), self.request.path[:100], self._v()))
            return
        self.finish(f"<!doctype html><title>{status_code}</title><p>{status_code}</p>")

    def _v(self) -> str:
        return self.front.asset_version

    async def search(self, engine: QuoteEngine, text: str, limit: int, conversation: str | None):
        if not has_searchable_text(text):
            return []
        return await asyncio.to_thread(engine.search, text, limit, conversation)


class Catalogue(Page):
    def get(self) -> None:
        self.finish(pages.catalogue_page(self.front.engine(), self.lang(), self._v()))


class ConversationPage(Page):
    """`/c/<id>[?p=<passage>][&q=<words>]`; `/app?tgWebAppStartParam=<passage>` (the Mini App)."""

    async def get(self, conv_id: str | None = None) -> None:
        engine = self.front.engine()
        lang = self.lang()
        highlight = self.get_query_argument("p", None)
        if conv_id is None:  # the Mini App: Telegram passes the startapp parameter
            start = self.get_query_argument("tgWebAppStartParam", "") or highlight or ""
            passage = engine.get(start) if start else None
            if passage is None:
                self.finish(pages.catalogue_page(engine, lang, self._v()))
                return
            conv_id, highlight = passage.conversation, passage.id
        conv = engine.conversations.get(conv_id)
        if conv is None:
            raise tornado.web.HTTPError(HTTPStatus.NOT_FOUND.value)
        if highlight is not None and (
            (p := engine.get(highlight)) is None or p.conversation != conv.id
        ):
            highlight = None  # never another passage
        query = self.query_text()
        if query is None:
            return
        found = ""
        if query:
            results = await self.search(engine, query, PAGE_RESULTS, conv.id)
            found = pages.results_html(engine, query, results, lang, conv.id)
        self.finish(
            pages.conversation_page(
                engine,
                conv,
                lang,
                self.front.body(engine, conv.id, lang),
                query=query,
                results_html=found,
                highlight=highlight,
                asset_version=self._v(),
            )
        )


class SearchPage(Page):
    """`/search?q=`: every conversation (or `c`), answers as the bot decides them."""

    async def get(self) -> None:
        engine = self.front.engine()
        lang = self.lang()
        query = self.query_text()
        if query is None:
            return
        conversation = self.get_query_argument("c", "") or None
        if conversation is not None and conversation not in engine.conversations:
            conversation = None
        found = ""
        if query:
            results = await self.search(engine, query, PAGE_RESULTS, conversation)
            found = pages.results_html(engine, query, results, lang)
        self.finish(pages.search_page(engine, lang, query, found, self._v()))


class SharePage(Page):
    def get(self, passage_id: str) -> None:
        engine = self.front.engine()
        passage = engine.get(passage_id)
        if passage is None:
            raise tornado.web.HTTPError(HTTPStatus.NOT_FOUND.value)
        self.finish(pages.share_page(engine, passage, self.lang(), self.base_url(), self._v()))


class CardImage(Page):
    """`/card/<id>.png`: the light quote card, drawn once and kept in the card cache."""

    async def get(self, passage_id: str) -> None:
        engine = self.front.engine()
        passage = engine.get(passage_id)
        if passage is None:
            raise tornado.web.HTTPError(HTTPStatus.NOT_FOUND.value)
        png = await asyncio.to_thread(
            self.front.cards.get_or_render,
            passage,
            engine.conversation(passage),
            self.front.bot_username,
            "light",
        )
        self.set_header("Content-Type", "image/png")
        self.set_header("Cache-Control", "public, max-age=86400")
        self.finish(png)


class SearchApi(Page):
    """`GET /api/search?q=&c=&limit=`: JSON, rate-limited per client."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(json.dumps({"ok": False, "status": status_code}))

    async def get(self) -> None:
        wait = self.front.limit.allow(self.request.remote_ip or "")
        if wait > 0:
            self.set_status(HTTPStatus.TOO_MANY_REQUESTS.value)
            self.set_header("Retry-After", str(max(1, round(wait))))
            self.finish(json.dumps({"ok": False, "status": 429}))
            return
        query = self.query_text()
        if query is None:
            return
        engine = self.front.engine()
        conversation = self.get_query_argument("c", "") or None
        if conversation is not None and conversation not in engine.conversations:
            self.send_error(HTTPStatus.NOT_FOUND.value)
            return
        try:
            limit = max(1, min(API_LIMIT, int(self.get_query_argument("limit", str(PAGE_RESULTS)))))
        except ValueError:
            self.send_error(HTTPStatus.BAD_REQUEST.value)
            return
        results = await self.search(engine, query, limit, conversation) if query else []
        self.finish(
            json.dumps(pages.results_json(engine, query, results, self.lang()), ensure_ascii=False)
        )


@tornado.web.stream_request_body
class SendApi(tornado.web.RequestHandler):
    """`POST /api/send` {"initData", "passage"}: send the passage to the Mini App user's
    own chat with the bot. Only with initData signed by this bot's token; the headers are
    judged before the body is read (length required and at most MAX_POST, JSON)."""

    SUPPORTED_METHODS = ("POST",)  # type: ignore[assignment]

    def initialize(self, front: WebFront) -> None:
        self.front = front
        self.chunks: list[bytes] = []
        self.received = 0

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")

    def refuse(self, status: HTTPStatus, why: str) -> None:
        log.info("web: refused a POST from %s (%s): %d", self.request.remote_ip, why, status.value)
        self.set_status(status.value)
        self.set_header("Connection", "close")
        self.finish(json.dumps({"ok": False, "status": status.value}))

    def prepare(self) -> None:
        if self.front.send is None or not self.front.token:
            self.refuse(HTTPStatus.NOT_FOUND, "no bot to send with")
            return
        length = self.request.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.refuse(HTTPStatus.LENGTH_REQUIRED, "no Content-Length")
            return
        if int(length) > MAX_POST:
            self.refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too large")
            return
        kind = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            self.refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "not JSON")
            return
        self.request.connection.set_max_body_size(MAX_POST)  # type: ignore[union-attr]

    def data_received(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > MAX_POST:
            raise tornado.web.HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE.value)
        self.chunks.append(chunk)

    async def post(self) -> None:
        try:
            data = json.loads(b"".join(self.chunks))
            init_data, passage_id = data["initData"], data["passage"]
            if not isinstance(init_data, str) or not isinstance(passage_id, str):
                raise TypeError
        except (ValueError, TypeError, KeyError):
            self.refuse(HTTPStatus.BAD_REQUEST, "not {initData, passage}")
            return
        assert self.front.token is not None and self.front.send is not None
        try:
            user = check_init_data(init_data, self.front.token, max_age=self.front.init_max_age)
        except InvalidInitData as exc:
            self.refuse(HTTPStatus.FORBIDDEN, f"initData: {exc}")
            return
        if self.front.engine().get(passage_id) is None:
            self.refuse(HTTPStatus.NOT_FOUND, "no such passage")
            return
        lang: Lang = "en" if user.language_code.lower().startswith("en") else "zh"
        sent = await self.front.send(user.id, passage_id, lang)
        self.set_status(HTTPStatus.OK.value if sent else HTTPStatus.BAD_GATEWAY.value)
        self.finish(json.dumps({"ok": bool(sent)}))


class Static(tornado.web.StaticFileHandler):
    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", CSP)
        self.set_header("X-Content-Type-Options", "nosniff")


def web_routes(front: WebFront) -> list[tuple[str, type, dict[str, Any]]]:
    """The URL rules of the web front, for any tornado application."""
    kw = {"front": front}
    return [
        (r"/", Catalogue, kw),
        (r"/c/([A-Za-z0-9_.\-]{1,64})", ConversationPage, kw),
        (r"/app", ConversationPage, kw),
        (r"/search", SearchPage, kw),
        (r"/q/([^/]{1,200})", SharePage, kw),
        (r"/card/([^/]{1,200})\.png", CardImage, kw),
        (r"/api/search", SearchApi, kw),
        (r"/api/send", SendApi, kw),
        (r"/static/(app\.css|app\.js)", Static, {"path": str(STATIC_DIR)}),
    ]


class NotFoundPage(Page):
    def prepare(self) -> None:
        raise tornado.web.HTTPError(HTTPStatus.NOT_FOUND.value)


def web_application(front: WebFront) -> tornado.web.Application:
    """The web front alone (polling mode, `quotebot web`)."""
    return tornado.web.Application(
        web_routes(front),  # type: ignore[arg-type]
        default_handler_class=NotFoundPage,
        default_handler_args={"front": front},
        log_function=lambda handler: None,  # no access log: queries are not recorded
        compress_response=True,
    )


def web_server(app: tornado.web.Application) -> HTTPServer:
    """An HTTP server with small limits: headers (and URL) and bodies are refused past them."""
    return HTTPServer(
        app,
        max_header_size=MAX_HEADERS,
        max_body_size=MAX_POST,
        body_timeout=10.0,
        idle_connection_timeout=60.0,
    )


async def serve(
    front: WebFront,
    host: str,
    port: int,
    ready: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the web front alone on host:port (0: any free port) until `stop` is set or a
    SIGINT/SIGTERM arrives; `ready` hears the port once the socket listens."""
    import signal
    import threading

    from tornado.netutil import bind_sockets

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    # Signals can be handled only on the main thread (tests serve from another one).
    signals = (
        (signal.SIGINT, signal.SIGTERM)
        if threading.current_thread() is threading.main_thread()
        else ()
    )
    server = web_server(web_application(front))
    sockets = bind_sockets(port, address=host)
    server.add_sockets(sockets)
    try:
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
        if ready is not None:
            ready(sockets[0].getsockname()[1])
        await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        server.stop()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(server.close_all_connections(), timeout=5)
