"""Tests of the Bot API emulator, against the real python-telegram-bot stack.

The emulator is only useful if PTB cannot tell it from Telegram, so most tests drive
it through ``telegram.Bot`` or a real ``Application`` and assert on both sides: the
exception PTB raises and what the emulator recorded.  Nothing here sleeps; waits are
on emulator events with timeouts.
"""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from tests.emulator import (
    BotApiEmulator,
    FloodLimits,
    HtmlParseError,
    parse_html,
    peak_rate,
    utf16_len,
)
from tests.emulator.entities import fix_formatted_text

pytestmark = [
    pytest.mark.timeout(20),
    # PTB 22 warns when RetryAfter.retry_after is read as an int; that is what we test.
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]

TOKEN = "123456:TEST-secret-token"


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, username="quote_test_bot") as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url) as client:
        yield client


def ents(text: str) -> list[tuple[str, int, int]]:
    """Parse HTML and reduce entities to (type, offset, length) for terse asserts."""
    _, entities = parse_html(text)
    return [(e.type, e.offset, e.length) for e in entities]


# --------------------------------------------------------------------------- HTML parser


class TestHtmlParser:
    def test_nested_tags_and_order(self) -> None:
        text, entities = parse_html("<b>bold <i>both</i></b> plain")
        assert text == "bold both plain"
        assert [(e.type, e.offset, e.length) for e in entities] == [
            ("bold", 0, 9),
            ("italic", 5, 4),
        ]

    def test_entity_decoding(self) -> None:
        text, entities = parse_html("&lt;b&gt; &amp; &quot;q&quot; &#65;&#x42; &lt")
        assert text == '<b> & "q" AB <'
        assert entities == []

    def test_unsupported_named_entity_is_literal_when_lenient(self) -> None:
        assert parse_html("a&nbsp;b AT&T", strict=False)[0] == "a&nbsp;b AT&T"

    def test_bare_ampersand_rejected_in_strict_mode(self) -> None:
        with pytest.raises(HtmlParseError, match="byte offset 2"):
            parse_html("AT&T")

    def test_emoji_offsets_are_utf16(self) -> None:
        text, entities = parse_html("😀<b>x</b>你<i>😀</i>")
        assert text == "😀x你😀"
        assert utf16_len(text) == 6
        assert [(e.type, e.offset, e.length) for e in entities] == [
            ("bold", 2, 1),
            ("italic", 4, 2),
        ]

    def test_all_supported_tags(self) -> None:
        html = (
            "<strong>a</strong><em>b</em><ins>c</ins><del>d</del><strike>e</strike><s>f</s>"
            '<u>g</u><span class="tg-spoiler">h</span><tg-spoiler>i</tg-spoiler>'
            "<code>j</code><blockquote>k</blockquote><blockquote expandable>l</blockquote>"
            '<tg-emoji emoji-id="5368324170671202286">m</tg-emoji>'
        )
        types = [t for t, _, _ in ents(html)]
        assert types == [
            "bold",
            "italic",
            "underline",
            "strikethrough",
            "strikethrough",
            "strikethrough",
            "underline",
            "spoiler",
            "spoiler",
            "code",
            "blockquote",
            "expandable_blockquote",
            "custom_emoji",
        ]

    def test_pre_with_language_and_links(self) -> None:
        text, entities = parse_html(
            '<pre><code class="language-python">x = 1</code></pre>'
            '<a href="Example.COM">site</a><a href="javascript:alert(1)">bad</a>'
        )
        assert text == "x = 1sitebad"
        assert entities[0].to_dict() == {
            "offset": 0,
            "length": 5,
            "type": "pre",
            "language": "python",
        }
        assert entities[1].to_dict() == {
            "offset": 5,
            "length": 4,
            "type": "text_link",
            "url": "http://example.com/",
        }
        assert len(entities) == 2  # the javascript: link silently became plain text

    def test_tg_user_link_becomes_text_mention(self) -> None:
        user = {"id": 42, "is_bot": False, "first_name": "Li"}
        _, entities = parse_html(
            '<a href="tg://user?id=42">Li</a>', resolve_user=lambda uid: user if uid == 42 else None
        )
        assert entities[0].to_dict() == {
            "offset": 0,
            "length": 2,
            "type": "text_mention",
            "user": user,
        }

    def test_empty_tags_create_no_entity_and_tags_are_case_insensitive(self) -> None:
        assert ents("<b></b>x<B>y</B>") == [("bold", 1, 1)]

    @pytest.mark.parametrize(
        ("html", "message"),
        [
            ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
            ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
            ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
            (
                "<b><i>test</b></i>",
                'Unmatched end tag at byte offset 10, expected "</i>", found "</b>"',
            ),
            ("x</b>", "Unexpected end tag at byte offset 1"),
            ("你<script>", 'Unsupported start tag "script" at byte offset 3'),
            (
                '<span class="x">y</span>',
                'Tag "span" must have class "tg-spoiler" at byte offset 0',
            ),
            ("<b", "Unclosed start tag at byte offset 0"),
            ('<tg-emoji emoji-id="abc">x</tg-emoji>', "Invalid custom emoji identifier specified"),
        ],
    )
    def test_errors_match_telegram(self, html: str, message: str) -> None:
        with pytest.raises(HtmlParseError) as info:
            parse_html(html)
        assert str(info.value) == message


class TestNormalisation:
    def test_trims_and_cleans_like_telegram(self) -> None:
        result = fix_formatted_text("\n  hi\tthere\r\n  ")
        assert result.text == "hi there"

    def test_whitespace_only_is_empty(self) -> None:
        with pytest.raises(ValueError, match="Text must be non-empty"):
            fix_formatted_text(" \n ")

    def test_detects_commands_mentions_urls(self) -> None:
        result = fix_formatted_text("/quote@quote_test_bot hi @someone see https://t.me/x #tag")
        found = [(e.type, e.offset, e.length) for e in result.entities]
        assert found == [
            ("bot_command", 0, 21),
            ("mention", 25, 8),
            ("url", 38, 14),
            ("hashtag", 53, 4),
        ]

    def test_bold_is_split_around_code(self) -> None:
        text, entities = parse_html("<b>a <code>x</code> b</b>")
        result = fix_formatted_text(text, entities)
        assert [(e.type, e.offset, e.length) for e in result.entities] == [
            ("bold", 0, 2),
            ("code", 2, 1),
            ("bold", 3, 2),
        ]


def test_peak_rate_sliding_window() -> None:
    assert peak_rate([0.0, 0.1, 0.2, 1.05, 1.1, 1.15, 1.19]) == 5
    assert peak_rate([]) == 0


# --------------------------------------------------------------------------- raw HTTP


async def test_http_surface(emu: BotApiEmulator) -> None:
    root = emu.base_url.removesuffix("/bot")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{root}/bot999:wrong/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.get(f"{root}/botnot-a-token/getMe") as resp:
            assert resp.status == 404
        async with http.post(f"{emu.base_url}{TOKEN}/noSuchMethod") as resp:
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with http.get(f"{emu.base_url}{TOKEN}/GETME") as resp:
            body = await resp.json()
            assert body["ok"] is True and body["result"]["username"] == "quote_test_bot"
        user = emu.add_user("Ann")
        chat = emu.private_chat(user)
        markup = {"inline_keyboard": [[{"text": "go", "callback_data": "go"}]]}
        payload = {
            "chat_id": chat.id,
            "text": "<i>json</i>",
            "parse_mode": "HTML",
            "reply_markup": markup,
        }
        async with http.post(f"{emu.base_url}{TOKEN}/sendMessage", json=payload) as resp:
            result = (await resp.json())["result"]
            assert result["text"] == "json" and result["reply_markup"] == markup
        form = aiohttp.FormData({"chat_id": str(chat.id), "text": "multipart"})
        form.add_field("document", b"abc", filename="a.txt")
        async with http.post(f"{emu.base_url}{TOKEN}/sendMessage", data=form) as resp:
            assert (await resp.json())["result"]["text"] == "multipart"
        async with http.get(
            f"{emu.base_url}{TOKEN}/sendMessage", params={"chat_id": chat.id, "text": "q"}
        ) as resp:
            assert (await resp.json())["result"]["message_id"] == 3
    kinds = [
        (r.http_method, (r.content_type or "").split(";")[0])
        for r in emu.requests_for("sendMessage")
    ]
    assert kinds == [("POST", "application/json"), ("POST", "multipart/form-data"), ("GET", "")]


# --------------------------------------------------------------------------- telegram.Bot


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.username == "quote_test_bot" and me.id == 123456
    assert me.can_join_groups and me.supports_inline_queries
    assert me.can_read_all_group_messages is False


async def test_send_and_edit_with_html(emu: BotApiEmulator, bot: Bot) -> None:
    user = emu.add_user("Li", language_code="zh-hans")
    chat = emu.private_chat(user)
    sent = await bot.send_message(
        chat.id, "<b>名言</b>\n<i>&lt;quote&gt;</i> 😀", parse_mode="HTML"
    )
    assert sent.text == "名言\n<quote> 😀"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 2),
        ("italic", 3, 7),
    ]
    [stored] = await emu.wait_for_messages(chat, count=1)
    assert stored.source_text.startswith("<b>") and stored.parse_mode == "HTML"
    assert stored.entity_texts("italic") == ["<quote>"]

    edited = await bot.edit_message_text("<u>new</u>", chat.id, sent.message_id, parse_mode="HTML")
    assert edited.text == "new" and edited.edit_date is not None
    assert [v.text for v in stored.edits] == ["new"]

    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("<u>new</u>", chat.id, sent.message_id, parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat.id, 999)
    with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
        await bot.send_message(chat.id, "1 < 2", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Text must be non-empty"):
        await bot.send_message(chat.id, "<b> </b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(-42, "x")
    last = emu.requests[-1]
    assert (last.status, last.description) == (400, "Bad Request: chat not found")


async def test_length_limit_counts_utf16_after_parsing(emu: BotApiEmulator, bot: Bot) -> None:
    chat = emu.private_chat(emu.add_user("Len"))
    await bot.send_message(chat.id, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    await bot.send_message(chat.id, "😀" * 2048)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(chat.id, "😀" * 2048 + "x")


async def test_reply_markup_validation(emu: BotApiEmulator, bot: Bot) -> None:
    chat = emu.private_chat(emu.add_user("Kb"))

    def kb(**kwargs: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("b", **kwargs)]])

    await bot.send_message(chat.id, "ok", reply_markup=kb(callback_data="x" * 64))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(chat.id, "x", reply_markup=kb(callback_data="é" * 33))
    with pytest.raises(BadRequest, match="is invalid: wrong http url"):
        await bot.send_message(chat.id, "x", reply_markup=kb(url="localhost"))
    with pytest.raises(BadRequest, match="unsupported url protocol"):
        await bot.send_message(chat.id, "x", reply_markup=kb(url="ftp://example.com"))
    with pytest.raises(BadRequest, match="text buttons are unallowed"):
        await bot.send_message(
            chat.id, "x", reply_markup={"inline_keyboard": [[{"text": "t", "callback_data": ""}]]}
        )
    markup = (
        await bot.send_message(chat.id, "u", reply_markup=kb(url="https://Example.com"))
    ).reply_markup
    assert markup.inline_keyboard[0][0].url == "https://example.com/"


async def test_errors_map_to_ptb_exceptions(emu: BotApiEmulator, bot: Bot) -> None:
    user = emu.add_user("Zed")
    chat = emu.private_chat(user)

    emu.fail_next("sendMessage", status=429, retry_after=2)
    with pytest.raises(RetryAfter) as retry:
        await bot.send_message(chat.id, "flood")
    assert retry.value.retry_after == 2
    assert emu.requests[-1].injected and emu.requests[-1].status == 429

    emu.fail_next("sendMessage", status=500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(chat.id, "boom")
    emu.fail_next("sendMessage", status=502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(chat.id, "gateway")

    emu.block(user)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(chat.id, "hi")
    emu.unblock(user)
    await bot.send_message(chat.id, "back")

    group = emu.add_group("Old", members=[user])
    supergroup = emu.migrate(group)
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(group.id, "hi")
    assert migrated.value.new_chat_id == supergroup.id and str(supergroup.id).startswith("-100")
    await bot.send_message(supergroup.id, "moved")

    emu.kick_bot(supergroup)
    with pytest.raises(Forbidden, match="kicked from the supergroup chat"):
        await bot.send_message(supergroup.id, "hi")
    assert [m.text for m in emu.messages(chat)] == ["back"]


async def test_applied_fault_and_delay(emu: BotApiEmulator, bot: Bot) -> None:
    chat = emu.private_chat(emu.add_user("Dup"))
    emu.fail_next("sendMessage", status=502, applied=True)
    with pytest.raises(NetworkError):
        await bot.send_message(chat.id, "once")
    await bot.send_message(chat.id, "once")  # the retry a naive bot would do
    assert [m.text for m in emu.messages(chat)] == ["once", "once"]

    emu.fail_next("sendMessage", delay=0.05, chat_id=chat)
    await bot.send_message(chat.id, "slow")
    assert emu.requests[-1].latency is not None and emu.requests[-1].latency >= 0.05


async def test_flood_control(emu: BotApiEmulator, bot: Bot) -> None:
    emu.flood_limits = FloodLimits(per_second=3, per_group_per_minute=None)
    chat = emu.private_chat(emu.add_user("Fast"))
    outcomes = await asyncio.gather(
        *(bot.send_message(chat.id, str(i)) for i in range(6)), return_exceptions=True
    )
    limited = [o for o in outcomes if isinstance(o, RetryAfter)]
    assert len(limited) == 3 and all(o.retry_after >= 1 for o in limited)
    sent = [r.arrived for r in emu.requests_for("sendMessage", ok=True)]
    assert peak_rate(sent, 1.0) == 3
    assert sum(r.flood_limited for r in emu.requests) == 3


async def test_group_flood_per_minute(emu: BotApiEmulator, bot: Bot) -> None:
    emu.flood_limits = FloodLimits(per_second=None, per_group_per_minute=2)
    user = emu.add_user("G")
    group = emu.add_group("G", members=[user])
    await bot.send_message(group.id, "1")
    await bot.send_message(group.id, "2")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(group.id, "3")
    assert 50 <= info.value.retry_after <= 60


# --------------------------------------------------------------------------- user side


async def test_injected_updates_parse_in_ptb(emu: BotApiEmulator, bot: Bot) -> None:
    li = emu.add_user("Li", username="li", language_code="zh-hans")
    bob = emu.add_user("Bob", language_code="en")
    private = emu.private_chat(li)
    group = emu.add_group("Quotes", members=[li, bob])
    channel = emu.add_channel("News", username="news")

    emu.send_text(private, li, "/start")
    emu.send_text(group, bob, "/quote@quote_test_bot 42")
    emu.send_text(group, bob, "/quote@other_bot")  # privacy mode: not delivered
    emu.send_text(group, bob, "just chatting")  # privacy mode: not delivered
    hello = emu.send_text(private, li, "你好")
    emu.edit_text(hello, "你好!")
    emu.send_sticker(private, li)
    emu.send_photo(private, li, caption="look")
    emu.channel_post(channel, "breaking")
    sent = await bot.send_message(
        private.id,
        "pick",
        reply_markup=InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("A", callback_data="a"),
                    InlineKeyboardButton("B", callback_data="b"),
                ]
            ]
        ),
    )
    emu.press_button(private, li, sent.message_id, "B")
    emu.inline_query(bob, "GPT-4")
    emu.block(li)

    updates = [Update.de_json(u, bot) for u in emu.pending_updates]
    start, group_cmd, hello_u, edited, sticker, photo, post, press, inline, blocked = updates
    assert start.message.text == "/start" and start.message.from_user.language_code == "zh-hans"
    assert start.message.entities[0].type == "bot_command"
    assert group_cmd.message.chat.type == "group"
    assert group_cmd.message.entities[0].length == len("/quote@quote_test_bot")
    assert hello_u.message.text == "你好" and edited.edited_message.text == "你好!"
    assert sticker.message.sticker is not None and sticker.message.text is None
    assert photo.message.photo and photo.message.caption == "look"
    assert post.channel_post.from_user is None and post.channel_post.sender_chat.id == channel.id
    assert press.callback_query.data == "b" and press.callback_query.chat_instance
    assert press.callback_query.message.message_id == sent.message_id
    assert inline.inline_query.query == "GPT-4" and inline.inline_query.chat_type == "sender"
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    assert len({u.update_id for u in updates}) == len(updates)


async def test_get_updates_long_poll_and_offset(emu: BotApiEmulator, bot: Bot) -> None:
    user = emu.add_user("Poll")
    chat = emu.private_chat(user)
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await emu.wait_for(lambda: emu.requests_for("getUpdates") or None, what="getUpdates call")
    emu.send_text(chat, user, "wake up")
    updates = await poll
    assert loop.time() - started < 2
    assert [u.message.text for u in updates] == ["wake up"]

    assert len(await bot.get_updates(timeout=0)) == 1  # not confirmed yet
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()
    assert emu.pending_updates == []

    await bot.set_webhook("https://example.com/hook")
    with pytest.raises(Exception, match="webhook is active"):
        await bot.get_updates(timeout=0)
    assert (await bot.get_webhook_info()).url == "https://example.com/hook"
    await bot.delete_webhook()

    await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    emu.send_text(chat, user, "filtered out")
    assert emu.pending_updates == []


async def test_group_and_member_queries(emu: BotApiEmulator, bot: Bot) -> None:
    owner, admin, member = emu.add_user("O"), emu.add_user("A"), emu.add_user("M")
    group = emu.add_group("G", owner=owner, admins=[admin], members=[member], supergroup=True)
    admins = await bot.get_chat_administrators(group.id)
    assert {a.user.first_name: a.status for a in admins} == {"O": "creator", "A": "administrator"}
    assert (await bot.get_chat_member(group.id, member.id)).status == "member"
    assert (await bot.get_chat_member(group.id, emu.bot.id)).status == "member"
    info = await bot.get_chat(group.id)
    assert info.title == "G" and info.type == "supergroup"
    with pytest.raises(BadRequest, match="no administrators in the private chat"):
        await bot.get_chat_administrators(emu.private_chat(member).id)
    assert await bot.send_chat_action(group.id, "typing")
    assert group.actions == ["typing"]

    await bot.set_my_commands([("quote", "Quote someone"), ("help", "帮助")])
    assert [c.command for c in await bot.get_my_commands()] == ["quote", "help"]
    await bot.set_my_commands([("start", "开始")], language_code="zh-hans")
    assert [c.command for c in await bot.get_my_commands(language_code="zh-hans")] == ["start"]
    await bot.set_my_description("Quotes people")
    await bot.set_my_short_description("Quotes")
    assert (await bot.get_my_description()).description == "Quotes people"
    with pytest.raises(BadRequest):
        await bot.set_my_commands([("Bad Command", "x")])


# --------------------------------------------------------------------------- Application


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Like", callback_data="like")]])
    await update.effective_message.reply_html(
        f"<b>echo:</b> {html.escape(update.effective_message.text)}", reply_markup=keyboard
    )


async def _quote(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(f"quote {' '.join(context.args or [])}")


async def _button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("thanks")
    await query.edit_message_text(f"liked ({query.data})")


async def _inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.inline_query
    assert query is not None
    await query.answer(
        [
            InlineQueryResultArticle(
                id="1",
                title=query.query,
                input_message_content=InputTextMessageContent(
                    f"<i>{query.query}</i> said it", parse_mode="HTML"
                ),
            )
        ],
        cache_time=0,
    )


def _build_app(emu: BotApiEmulator) -> Application:  # type: ignore[type-arg]
    app = ApplicationBuilder().token(emu.token).base_url(emu.base_url).build()
    app.add_handler(CommandHandler("quote", _quote))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    app.add_handler(CallbackQueryHandler(_button))
    app.add_handler(InlineQueryHandler(_inline))
    return app


async def test_application_end_to_end(emu: BotApiEmulator) -> None:
    li = emu.add_user("Li", language_code="zh-hans")
    chat = emu.private_chat(li)
    group = emu.add_group("Quotes", members=[li])
    app = _build_app(emu)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            emu.send_text(chat, li, "你好 <world> & co")
            [reply] = await emu.wait_for_messages(chat, count=1, timeout=5)
            assert reply.text == "echo: 你好 <world> & co"
            assert reply.entity_texts("bold") == ["echo:"]
            assert reply.reply_to is None  # PTB's reply_* only quotes outside private chats

            query_id = emu.press_button(chat, li, reply, "Like")
            answer = await emu.wait_for_callback_answer(query_id, timeout=5)
            assert answer.text == "thanks" and not answer.show_alert
            await emu.wait_for_edits(reply, count=1, timeout=5)
            assert reply.text == "liked (like)" and reply.reply_markup is None

            inline_id = emu.inline_query(li, "GPT-4")
            inline = await emu.wait_for_inline_answer(inline_id, timeout=5)
            assert inline.ids == ["1"]
            assert inline.results[0].text == "GPT-4 said it"
            assert inline.results[0].entities == [{"offset": 0, "length": 5, "type": "italic"}]

            emu.send_text(group, li, "/quote@quote_test_bot 42")
            [quoted] = await emu.wait_for_messages(group, count=1, timeout=5)
            assert quoted.text == "quote 42"
            assert (
                quoted.reply_to is not None and quoted.reply_to.text == "/quote@quote_test_bot 42"
            )
        finally:
            await app.updater.stop()
            await app.stop()
    methods = {r.method for r in emu.requests}
    assert {"getMe", "deleteWebhook", "getUpdates", "sendMessage", "answerCallbackQuery"} <= methods
    assert {"editMessageText", "answerInlineQuery"} <= methods
    assert all(r.ok for r in emu.requests if r.method != "getUpdates")
    assert emu.pending_updates == []  # PTB confirmed everything on shutdown


async def test_expired_queries_are_rejected(emu: BotApiEmulator, bot: Bot) -> None:
    user = emu.add_user("Late")
    inline_id = emu.inline_query(user, "x")
    await bot.answer_inline_query(inline_id, [])
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_inline_query(inline_id, [])
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("12345")
    results = [
        InlineQueryResultArticle(
            id="dup", title="t", input_message_content=InputTextMessageContent("a")
        )
    ] * 2
    with pytest.raises(BadRequest, match="Result_id_duplicate"):
        await bot.answer_inline_query(emu.inline_query(user, "y"), results)
    too_many = [
        InlineQueryResultArticle(
            id=str(i), title="t", input_message_content=InputTextMessageContent("a")
        )
        for i in range(51)
    ]
    with pytest.raises(BadRequest, match="Results_too_much"):
        await bot.answer_inline_query(emu.inline_query(user, "z"), too_many)
    assert json.loads(emu.requests[-1].params["results"])[0]["type"] == "article"
