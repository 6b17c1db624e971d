"""The web pages from the bot's side, against the Bot API emulator: the "📜 Read around it"
button (a Mini App in private chats, a startapp link in groups), share links to the web
pages, and the polling mode's web server sending a passage for a Mini App user."""

from __future__ import annotations

import contextlib
import json
import socket
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from bot.search.engine import QuoteEngine
from bot.web.initdata import sign
from tests.bot_harness import BOT_USERNAME, TOKEN, BotHarness, link_urls, running_bot
from tests.emulator import StoredMessage

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]

WEB = "https://quotes.example.org"
MakeBot = Callable[..., Awaitable[BotHarness]]


@pytest.fixture
async def make_bot(engine: QuoteEngine, tmp_path: Path) -> AsyncIterator[MakeBot]:
    async with contextlib.AsyncExitStack() as stack:
        made: list[BotHarness] = []

        async def make(**env: str) -> BotHarness:
            folder = tmp_path / f"bot{len(made)}"
            harness = await stack.enter_async_context(running_bot(engine, folder, env))
            made.append(harness)
            return harness

        yield make


def read_button(message: StoredMessage) -> dict:
    [button] = [b for b in message.buttons if b["text"].startswith("📜")]
    return button


async def test_private_quotes_open_the_page_as_a_mini_app(make_bot: MakeBot) -> None:
    bot = await make_bot(QUOTEBOT_WEB_URL=WEB)
    li = bot.user("Li")
    chat = bot.dm(li)
    reply = await bot.ask(chat, li, "什么是RLHF")
    button = read_button(reply)
    assert button["text"] == "📜 全文"
    assert set(button) == {"text", "web_app"}
    pid = button["web_app"]["url"].removeprefix(f"{WEB}/c/l367?p=")
    assert pid.startswith("l367-") and bot.engine.get(pid) is not None
    assert f"{WEB}/q/{pid}" in link_urls(reply)  # the share link previews as the card
    # Browsing to the next passage (an edit) keeps the Mini App button, for that passage.
    await bot.press(chat, li, reply, "下文 ⬇")
    edited = bot.bot_messages(chat)[-1]
    following = read_button(edited)["web_app"]["url"]
    assert following != button["web_app"]["url"] and following.startswith(f"{WEB}/c/l367?p=")
    en = bot.user("Ann", lang="en")
    assert read_button(await bot.ask(bot.dm(en), en, "RLHF"))["text"] == "📜 Read around it"


async def test_group_quotes_link_to_the_main_mini_app(make_bot: MakeBot) -> None:
    bot = await make_bot(QUOTEBOT_WEB_URL=WEB)
    li, bob = bot.user("Li"), bot.user("Bob")
    group = bot.emu.add_group("Readers", members=[li, bob], bot_admin=True)
    reply = await bot.ask(group, bob, "/quote RLHF")
    button = read_button(reply)
    assert set(button) == {"text", "url"}  # Telegram refuses web_app buttons in groups
    assert button["url"].startswith(f"https://t.me/{BOT_USERNAME}?startapp=l367-")


async def test_without_web_pages_nothing_changes(make_bot: MakeBot) -> None:
    bot = await make_bot()
    li = bot.user("Li")
    reply = await bot.ask(bot.dm(li), li, "什么是RLHF")
    assert not any(b["text"].startswith("📜") for b in reply.buttons)
    assert any(u.startswith(f"https://t.me/{BOT_USERNAME}?start=l367-") for u in link_urls(reply))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def init_data(user_id: int, token: str = TOKEN) -> str:
    fields = {
        "auth_date": str(int(time.time())),
        "user": json.dumps({"id": user_id, "first_name": "Li", "language_code": "zh-hans"}),
    }
    fields["hash"] = sign(fields, token)
    return urllib.parse.urlencode(fields)


async def test_polling_mode_serves_the_pages_and_sends_for_a_mini_app_user(
    make_bot: MakeBot,
) -> None:
    port = free_port()
    bot = await make_bot(QUOTEBOT_WEB_URL=WEB, QUOTEBOT_WEB_LISTEN=f"127.0.0.1:{port}")
    li = bot.user("Li")
    chat = bot.dm(li)
    await bot.ask(chat, li, "/start")
    client = AsyncHTTPClient()
    base = f"http://127.0.0.1:{port}"
    page = await client.fetch(f"{base}/q/l367-49-1")
    assert f'content="{WEB}/card/l367-49-1.png"' in page.body.decode()

    async def post(init: str) -> int:
        body = json.dumps({"initData": init, "passage": "l367-49-1"})
        try:
            response = await client.fetch(
                f"{base}/api/send",
                method="POST",
                body=body,
                headers={"Content-Type": "application/json"},
            )
        except HTTPClientError as exc:
            return exc.code
        return response.code

    before = len(bot.bot_messages(chat))
    assert await post(init_data(li.id, token="999:forged-token_abcdefghij")) == 403
    assert len(bot.bot_messages(chat)) == before
    assert await post(init_data(li.id)) == 200
    sent = bot.bot_messages(chat)[-1]
    assert "我们有一些对我们目前的规模有效的东西" in sent.text
    assert read_button(sent)["web_app"]["url"] == f"{WEB}/c/l367?p=l367-49-1"
