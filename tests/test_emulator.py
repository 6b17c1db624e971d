"""Tests of the Bot API emulator: what it must get right for the end-to-end tests to mean something.

It refuses what Telegram refuses (malformed or unsupported HTML, text over 4096 after
parsing, bad buttons), its faults reach PTB as the exceptions Telegram's would, and
PTB's real ``Bot``/``Application`` cannot tell it from Telegram.  Waits are on emulator
events with timeouts, never sleeps.
"""

from __future__ import annotations

import asyncio
import html
import struct
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
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from tests.emulator import BotApiEmulator, format_text, peak_rate

pytestmark = [
    pytest.mark.timeout(20),
    # PTB 22 warns when RetryAfter.retry_after is read as an int; that is what we test.
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]

TOKEN = "123456:TEST-secret-token"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + struct.pack(">II", 640, 480) + b"\x08\x02\0\0\0"


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, username="quote_test_bot") as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url) as client:
        yield client


def ents(text: str) -> tuple[str, list[tuple[str, int, int]]]:
    plain, entities = format_text(text, "HTML")
    return plain, [(e["type"], e["offset"], e["length"]) for e in entities]


# --------------------------------------------------------------------------- HTML


def test_html_entities_have_utf16_offsets_and_text_is_trimmed() -> None:
    assert ents("<b>名言 <i>😀x</i></b>\n&lt;q&gt; &amp; &quot;&#33;") == (
        '名言 😀x\n<q> & "!',
        [("bold", 0, 6), ("italic", 3, 3)],
    )
    assert ents("\n <B>hi</B> \n") == ("hi", [("bold", 0, 2)])
    assert ents(" x <u>y </u>\n") == ("x y", [("underline", 2, 1)])
    assert ents("<b></b>a") == ("a", [])  # empty tags make no entity


def test_html_links_quotes_and_code() -> None:
    _, [link] = format_text('<a href="https://t.me/bot?start=a&amp;b">go</a>', "HTML")
    assert link == {
        "offset": 0,
        "length": 2,
        "type": "text_link",
        "url": "https://t.me/bot?start=a&b",
    }
    assert format_text("<a href='javascript:alert(1)'>x</a>", "HTML") == ("x", [])  # dropped
    assert ents("<blockquote expandable>q</blockquote><span class='tg-spoiler'>s</span>") == (
        "qs",
        [("expandable_blockquote", 0, 1), ("spoiler", 1, 1)],
    )
    _, [pre] = format_text('<pre><code class="language-py">x = 1</code></pre>', "HTML")
    assert pre == {"offset": 0, "length": 5, "type": "pre", "language": "py"}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("1 < 2", "Unsupported start tag"),
        ("<script>x</script>", 'Unsupported start tag "script"'),
        ("<br/>", "Unsupported start tag"),
        ("<b>bold", "Can't find end tag"),
        ("text</b>", "Unexpected end tag"),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("<span>x</span>", 'must have class "tg-spoiler"'),
        ("AT&T", 'Character "&"'),
        ("a&nbsp;b", 'Character "&"'),
        ("<!-- x -->y", "Comments"),
        ("<b> </b>", "text must be non-empty"),
        ("", "message text is empty"),
    ],
)
def test_html_refused_like_telegram(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        format_text(text, "HTML")


def test_peak_rate_sliding_window() -> None:
    assert peak_rate([0.0, 0.1, 0.2, 1.05, 1.1, 1.15, 1.19]) == 5
    assert peak_rate([]) == 0


# --------------------------------------------------------------------------- raw HTTP


async def test_http_surface(emu: BotApiEmulator) -> None:
    url = f"{emu.base_url}{TOKEN}"
    chat = emu.private_chat(emu.add_user("Ann"))
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{emu.base_url}999:wrong/getMe") as resp:
            assert resp.status == 401
        async with http.get(f"{emu.base_url}not-a-token/getMe") as resp:
            assert resp.status == 404
        async with http.post(f"{url}/sendDice") as resp:
            assert resp.status == 400 and "sendDice is not implemented" in await resp.text()
        async with http.get(f"{url}/GETME") as resp:
            assert (await resp.json())["result"]["username"] == "quote_test_bot"
        markup = {"inline_keyboard": [[{"text": "go", "callback_data": "go"}]]}
        payload = {
            "chat_id": chat.id,
            "text": "<i>j</i>",
            "parse_mode": "HTML",
            "reply_markup": markup,
        }
        async with http.post(f"{url}/sendMessage", json=payload) as resp:
            result = (await resp.json())["result"]
            assert result["text"] == "j" and result["reply_markup"] == markup
    assert [r.method for r in emu.requests] == ["sendDice", "getMe", "sendMessage"]


# --------------------------------------------------------------------------- telegram.Bot


async def test_send_and_edit_with_html(emu: BotApiEmulator, bot: Bot) -> None:
    chat = emu.private_chat(emu.add_user("Li", language_code="zh-hans"))
    sent = await bot.send_message(chat.id, "<b>名言</b>\n<i>&lt;q&gt;</i> 😀", parse_mode="HTML")
    assert sent.text == "名言\n<q> 😀"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 2),
        ("italic", 3, 3),
    ]
    [stored] = await emu.wait_for_messages(chat)
    assert stored.parse_mode == "HTML" and stored.entity_texts("italic") == ["<q>"]

    edited = await bot.edit_message_text("<u>new</u>", chat.id, sent.message_id, parse_mode="HTML")
    assert edited.text == "new" and [v.text for v in stored.edits] == ["new"]
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("<u>new</u>", chat.id, sent.message_id, parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat.id, 999)
    with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
        await bot.send_message(chat.id, "1 < 2", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(-42, "x")
    assert (emu.requests[-1].status, emu.requests[-1].description) == (
        400,
        "Bad Request: chat not found",
    )
    assert len(emu.messages(chat)) == 1


async def test_length_limit_counts_utf16_after_parsing(emu: BotApiEmulator, bot: Bot) -> None:
    chat = emu.private_chat(emu.add_user("Len"))
    await bot.send_message(chat.id, "<b>" + "x" * 4096 + "</b>\n", parse_mode="HTML")
    sent = await bot.send_message(chat.id, "😀" * 2048)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(chat.id, "😀" * 2048 + "x")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.edit_message_text("&lt;" * 4097, chat.id, sent.message_id, parse_mode="HTML")


async def test_inline_buttons_are_validated(emu: BotApiEmulator, bot: Bot) -> None:
    chat = emu.private_chat(emu.add_user("Kb"))

    def kb(**kwargs: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("b", **kwargs)]])

    await bot.send_message(chat.id, "ok", reply_markup=kb(callback_data="x" * 64))
    await bot.send_message(chat.id, "ok", reply_markup=kb(url="https://youtube.com/watch?v=1"))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(chat.id, "x", reply_markup=kb(callback_data="é" * 33))
    with pytest.raises(BadRequest, match="is invalid: wrong http url"):
        await bot.send_message(chat.id, "x", reply_markup=kb(url="localhost"))
    with pytest.raises(BadRequest, match="text buttons are unallowed"):
        await bot.send_message(
            chat.id, "x", reply_markup={"inline_keyboard": [[{"text": "t", "callback_data": ""}]]}
        )
    with pytest.raises(BadRequest, match="several actions"):
        await bot.send_message(chat.id, "x", reply_markup=kb(url="https://a.io", callback_data="a"))


async def test_faults_and_refusals_map_to_ptb_exceptions(emu: BotApiEmulator, bot: Bot) -> None:
    user = emu.add_user("Zed")
    chat = emu.private_chat(user)
    other = emu.private_chat(emu.add_user("Other"))

    emu.fail_next("sendMessage", status=429, retry_after=2, chat_id=chat, times=2)
    await bot.send_message(other.id, "other chats are unaffected")
    for _ in range(2):
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
    emu.fail_next(None, disconnect=True)
    with pytest.raises(NetworkError):
        await bot.send_message(chat.id, "dropped")
    emu.fail_next("sendMessage", delay=0.05)
    await bot.send_message(chat.id, "slow")
    assert (emu.requests[-1].latency or 0) >= 0.05

    emu.block(user)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(chat.id, "hi")
    emu.unblock(user)
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await bot.send_message(emu.private_chat(emu.add_user("New"), started=False).id, "hi")

    group = emu.add_group("Old", members=[user])
    supergroup = emu.migrate(group)
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(group.id, "hi")
    assert migrated.value.new_chat_id == supergroup.id and str(supergroup.id).startswith("-100")
    await bot.send_message(supergroup.id, "moved")
    assert [m.text for m in emu.messages(chat)] == ["slow"]


async def test_send_photo_upload_then_resend_by_file_id(emu: BotApiEmulator, bot: Bot) -> None:
    chat = emu.private_chat(emu.add_user("Pic"))
    sent = await bot.send_photo(chat.id, PNG, caption="<b>名言</b> card", parse_mode="HTML")
    [size] = sent.photo
    assert (size.width, size.height, size.file_size) == (640, 480, len(PNG))
    assert sent.caption == "名言 card" and sent.caption_entities[0].type == "bold"
    again = await bot.send_photo(chat.id, size.file_id)
    assert again.photo[0].file_id == size.file_id and emu.world.files[size.file_id] == PNG
    [first, second] = emu.messages(chat)
    assert first.photo and first.entity_texts("bold") == ["名言"] and second.text is None
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_photo(chat.id, "AgACAgIAAxkDAAEunknown")
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(chat.id, b"not an image")
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.send_photo(chat.id, size.file_id, caption="x" * 1025)


# --------------------------------------------------------------------------- user side


async def test_injected_updates_parse_in_ptb(emu: BotApiEmulator, bot: Bot) -> None:
    li = emu.add_user("Li", username="li", language_code="zh-hans")
    bob = emu.add_user("Bob")
    private = emu.private_chat(li)
    group = emu.add_group("Quotes", members=[li, bob])
    channel = emu.add_channel("News", username="news")

    emu.send_text(private, li, " /start\r\n")
    emu.send_text(group, bob, "/quote@quote_test_bot 42")
    emu.send_text(group, bob, "/quote@other_bot")  # privacy mode: not delivered
    emu.send_text(group, bob, "just chatting")  # privacy mode: not delivered
    emu.send_text(group, bob, "hey @Quote_Test_Bot")
    hello = emu.send_text(private, li, "你好\x07")
    emu.edit_text(hello, "你好!")
    emu.send_sticker(private, li)
    emu.send_photo(private, li, caption="look")
    emu.channel_post(channel, "breaking")
    keyboard = [
        [InlineKeyboardButton("A", callback_data="a"), InlineKeyboardButton("B", callback_data="b")]
    ]
    sent = await bot.send_message(private.id, "pick", reply_markup=InlineKeyboardMarkup(keyboard))
    emu.press_button(private, li, sent.message_id, "B")
    emu.inline_query(bob, "GPT-4")
    emu.block(li)

    updates = [Update.de_json(u, bot) for u in emu.pending_updates]
    start, command, mention, hi, edited, sticker, photo, post, press, inline, blocked = updates
    assert start.message.text == "/start" and start.message.from_user.language_code == "zh-hans"
    assert start.message.entities[0].type == "bot_command"
    assert command.message.chat.type == "group"
    assert command.message.entities[0].length == len("/quote@quote_test_bot")
    assert mention.message.text == "hey @Quote_Test_Bot"
    assert hi.message.text == "你好" and edited.edited_message.text == "你好!"
    assert sticker.message.sticker is not None and sticker.message.text is None
    assert photo.message.photo and photo.message.caption == "look"
    assert post.channel_post.from_user is None and post.channel_post.sender_chat.id == channel.id
    assert press.callback_query.data == "b" and press.callback_query.chat_instance
    assert press.callback_query.message.message_id == sent.message_id
    assert inline.inline_query.query == "GPT-4" and inline.inline_query.chat_type == "sender"
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    assert len({u.update_id for u in updates}) == len(updates)


async def test_get_updates_long_poll_offset_and_webhook(emu: BotApiEmulator, bot: Bot) -> None:
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

    with pytest.raises(BadRequest, match="https url must be provided"):
        await bot.set_webhook("http://127.0.0.1:8443/hook")
    await bot.set_webhook("https://example.com/hook", secret_token="s" * 20)
    assert emu.world.webhook == {"url": "https://example.com/hook", "secret_token": "s" * 20}
    with pytest.raises(Exception, match="webhook is active"):
        await bot.get_updates(timeout=0)
    await bot.delete_webhook()

    await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    emu.send_text(chat, user, "filtered out")
    assert emu.pending_updates == []


async def test_member_commands_and_description(emu: BotApiEmulator, bot: Bot) -> None:
    owner, admin, member = emu.add_user("O"), emu.add_user("A"), emu.add_user("M")
    group = emu.add_group("G", owner=owner, admins=[admin], members=[member])
    statuses = [(await bot.get_chat_member(group.id, u.id)).status for u in (owner, admin, member)]
    assert statuses == ["creator", "administrator", "member"]
    assert (await bot.get_chat_member(group.id, emu.bot.id)).status == "member"

    await bot.set_my_commands([("quote", "Quote someone")])
    await bot.set_my_commands([("start", "开始")], language_code="zh-hans")
    await bot.set_my_description("Quotes people", language_code="en")
    assert [
        (lang, [c["command"] for c in cmds]) for (_, lang), cmds in emu.world.commands.items()
    ] == [
        ("", ["quote"]),
        ("zh-hans", ["start"]),
    ]
    assert emu.world.descriptions == {"en": "Quotes people"}
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([("Bad Command", "x")])


async def test_expired_and_invalid_queries_are_refused(emu: BotApiEmulator, bot: Bot) -> None:
    user = emu.add_user("Late")
    inline_id = emu.inline_query(user, "x")
    await bot.answer_inline_query(inline_id, [])
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_inline_query(inline_id, [])  # answered already
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("12345")
    sent = await bot.send_message(
        emu.private_chat(user).id,
        "b",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("go", callback_data="go")]]),
    )
    query_id = emu.press_button(sent.chat.id, user, sent.message_id, 0)
    emu.world.callback_queries[query_id].created_at -= 60
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)

    def article(result_id: str, text: str = "a") -> InlineQueryResultArticle:
        return InlineQueryResultArticle(
            result_id, "t", InputTextMessageContent(text, parse_mode="HTML")
        )

    with pytest.raises(BadRequest, match="Result_id_duplicate"):
        await bot.answer_inline_query(emu.inline_query(user, "y"), [article("d"), article("d")])
    with pytest.raises(BadRequest, match="Results_too_much"):
        await bot.answer_inline_query(
            emu.inline_query(user, "z"), [article(str(i)) for i in range(51)]
        )
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.answer_inline_query(emu.inline_query(user, "w"), [article("1", "<p>x</p>")])


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
    assert update.callback_query is not None
    await update.callback_query.answer("thanks")
    await update.callback_query.edit_message_text(f"liked ({update.callback_query.data})")


async def _inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.inline_query is not None
    text = InputTextMessageContent(f"<i>{update.inline_query.query}</i> said it", parse_mode="HTML")
    await update.inline_query.answer([InlineQueryResultArticle("1", "t", text)], cache_time=0)


async def test_application_end_to_end(emu: BotApiEmulator) -> None:
    li = emu.add_user("Li", language_code="zh-hans")
    chat = emu.private_chat(li)
    group = emu.add_group("Quotes", members=[li])
    app = ApplicationBuilder().token(emu.token).base_url(emu.base_url).build()
    app.add_handler(CommandHandler("quote", _quote))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    app.add_handler(CallbackQueryHandler(_button))
    app.add_handler(InlineQueryHandler(_inline))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            emu.send_text(chat, li, "你好 <world> & co")
            [reply] = await emu.wait_for_messages(chat, count=1, timeout=5)
            assert reply.text == "echo: 你好 <world> & co" and reply.entity_texts("bold") == [
                "echo:"
            ]
            assert reply.reply_to is None  # PTB's reply_* only quotes outside private chats

            query_id = emu.press_button(chat, li, reply, "Like")
            await emu.wait_for(lambda: reply.edits or None, 5, "the edit")
            answer = emu.world.callback_queries[query_id].answer
            assert answer is not None and answer.text == "thanks" and not answer.show_alert
            assert reply.text == "liked (like)" and reply.reply_markup is None

            inline_id = emu.inline_query(li, "GPT-4")
            inline = await emu.wait_for(lambda: emu.world.inline_queries[inline_id].answer, 5)
            assert inline.ids == ["1"] and inline.results[0].text == "GPT-4 said it"
            assert inline.results[0].entities == [{"offset": 0, "length": 5, "type": "italic"}]

            emu.send_text(group, li, "/quote@quote_test_bot 42")
            [quoted] = await emu.wait_for_messages(group, count=1, timeout=5)
            assert quoted.text == "quote 42" and quoted.reply_to is not None
            assert quoted.reply_to.text == "/quote@quote_test_bot 42"
        finally:
            await app.updater.stop()
            await app.stop()
    methods = {r.method for r in emu.requests}
    assert {"getMe", "deleteWebhook", "getUpdates", "sendMessage", "answerCallbackQuery"} <= methods
    assert {"editMessageText", "answerInlineQuery"} <= methods
    assert all(r.ok for r in emu.requests if r.method != "getUpdates")
    assert emu.pending_updates == []  # PTB confirmed everything on shutdown
