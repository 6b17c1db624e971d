"""Waiting for the Bot API at start: an unreachable server is retried, not a traceback.

A bot that runs for months is started by a supervisor at boot, sometimes
before the network or a self-hosted Bot API server is up. The first call
(getMe) is retried with backoff, one line per attempt on stderr, until it
answers; a refusal (bad token) is not retried: it will not change. A signal
while waiting ends the process cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from telegram import Bot
from telegram.error import BadRequest, NetworkError

from bot.logs import redact

FIRST_DELAY = 1.0
MAX_DELAY = 60.0


async def wait_for_bot_api(
    token: str, api_url: str, secrets: tuple[str, ...], max_delay: float = MAX_DELAY
) -> bool:
    """True once getMe answers; False if SIGTERM/SIGINT came while waiting.

    A refusal (InvalidToken, Forbidden, BadRequest) propagates: the caller
    reports it as one redacted line.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        delay, attempt = FIRST_DELAY, 0
        while not stop.is_set():
            attempt += 1
            bot = Bot(token, base_url=api_url, base_file_url=api_url.replace("/bot", "/file/bot"))
            try:
                async with bot:  # initialize() calls getMe
                    return True
            except BadRequest:
                raise
            except NetworkError as exc:  # refused connection, timeout, 5xx, DNS
                print(
                    f"quotebot: Bot API unreachable (attempt {attempt}: "
                    f"{redact(str(exc), secrets)}); retrying in {delay:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, max_delay)
        return False
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
