"""The HTTP front end: ``/bot<token>/<method>`` on 127.0.0.1, nothing else.

It only translates between HTTP and the emulator's dispatcher; all Bot API semantics
live elsewhere.  It binds to port 0 by default so parallel test runs never collide.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

__all__ = ["ApiServer", "HttpReply", "json_reply"]


@dataclass(frozen=True, slots=True)
class HttpReply:
    """What to send back: a body, or ``disconnect`` to drop the connection unanswered."""

    status: int
    body: str = ""
    content_type: str = "application/json"
    disconnect: bool = False


def json_reply(status: int, payload: dict[str, Any]) -> HttpReply:
    """Telegram answers UTF-8 JSON without ASCII escaping."""
    return HttpReply(status, json.dumps(payload, ensure_ascii=False))


Dispatcher = Callable[[str, str, web.Request], Awaitable[HttpReply]]
_NOT_FOUND = {"ok": False, "error_code": 404, "description": "Not Found"}


class ApiServer:
    """aiohttp application serving the Bot API on a loopback port."""

    def __init__(self, dispatch: Dispatcher, host: str = "127.0.0.1", port: int = 0) -> None:
        self._dispatch = dispatch
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        """Start listening; return the bound port."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        reply = await self._dispatch(
            request.match_info["token"], request.match_info["method"], request
        )
        if reply.disconnect:
            # Abort the socket without a response, like a crashed front end; aiohttp
            # then has nothing to write to and drops the (empty) response silently.
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=204)
        return web.Response(
            status=reply.status,
            text=reply.body,
            content_type=reply.content_type,
            charset="utf-8",
        )

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            status=404, text=json.dumps(_NOT_FOUND), content_type="application/json"
        )
