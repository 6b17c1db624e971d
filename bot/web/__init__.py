"""The web front: the conversations as pages, a search API, share pages with a preview.

Served by tornado: on the webhook server (`quotebot run` with a webhook), on its
own port in polling mode (QUOTEBOT_WEB_LISTEN), or alone by `quotebot web`.
It answers with the same engine and decision as the bot and knows nothing of
Telegram but the Mini App initData check (initdata.py).
"""

from bot.web.initdata import InvalidInitData, WebAppUser, check_init_data
from bot.web.server import (
    RateLimit,
    SendPassage,
    WebFront,
    serve,
    web_application,
    web_routes,
    web_server,
)

__all__ = [
    "InvalidInitData",
    "RateLimit",
    "SendPassage",
    "WebAppUser",
    "WebFront",
    "check_init_data",
    "serve",
    "web_application",
    "web_routes",
    "web_server",
]
