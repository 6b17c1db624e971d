"""More than one conversation (issue 12): narrowing with `#id`, a chat's chosen conversation,
quotes that name their conversation, and the daily quote from the chat's choice.

The second conversation is written by the test into a temporary library, in
the seed's own format, with words the bundled one never uses (bees, lavender)
and one sentence about GPT-4, which both share. The engine over both is built
without the meaning layer (the index of two conversations builds in a few
seconds) in its own cache folder, once for the module.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from bot.data import DATA_DIR

from bot.app.conversations import (
    Narrowed,
    NoSuchConversation,
    choice,
    narrow,
    resolve,
)
from bot.app.quotebot import Options, QuoteBot
from bot.app.replies import Links, Reply
from bot.app.sender import Sender
from bot.console import Console
from bot.daily.scheduler import DailyQuotes, Kind, Outcome
from bot.daily.throttle_sends import Pacer
from bot.daily.times import Zone, utc_now
from bot.search.engine import QuoteEngine
from bot.search.transcripts.conversation import format_hms
from bot.storage import MIGRATIONS, Store, SubscriptionStore
from tests.bot_harness import BotHarness, button_text, link_urls, running_bot
from tests.emulator import Chat, StoredMessage

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]

SECOND = "b42"
VIDEO = "https://www.youtube.com/watch?v=BeeGarden42"
TITLE = "Bee Garden Talk #42: a beekeeper's year"
TITLE_ZH = "养蜂花园对谈 #42：养蜂人的一年"
# (speaker, second, text): one whole-thought passage per turn, so each passage starts
# at its turn's second.
TURNS = [
    (
        1,
        0,
        "欢迎来到养蜂花园对谈，今天我们请到一位在山谷里照看三百个蜂箱的养蜂人，聊聊蜜蜂的一年。",
    ),
    (2, 65, "春天薰衣草开花的时候，蜂群最忙碌，每一只工蜂都要飞出去采集花粉和花蜜，再带回蜂巢。"),
    (
        1,
        130,
        "到了冬天，蜜蜂会在蜂箱里挤成一团取暖，蜂王待在中间，外圈的工蜂不停地抖动翅膀来产生热量，孩子们总问蜜蜂冬天去了哪里。",
    ),
    (2, 200, "现在连养蜂人也开始用GPT-4来整理蜂箱的温度记录，它写的总结比我自己写的还清楚。"),
    (1, 260, "我最喜欢的时刻是摇蜜那天，满屋子都是椴树蜂蜜的香味，邻居家的孩子们也会跑来帮忙。"),
]
ONLY_SECOND = "薰衣草开花时工蜂采集花粉"  # words of the second conversation only
SHARED = "GPT-4"  # said in both


def write_second(library: Path) -> None:
    library.mkdir(parents=True)
    lines = [f"发言人{s} {format_hms(t)}\n{text}\n" for s, t, text in TURNS]
    (library / f"{SECOND}.txt").write_text("\n".join(lines), encoding="utf-8")
    (library / f"{SECOND}.toml").write_text(
        "\n".join(
            [
                f'id = "{SECOND}"',
                f'title = "{TITLE}"',
                f'title_zh = "{TITLE_ZH}"',
                'language = "zh-Hans"',
                f'video_url = "{VIDEO}"',
                'end = "00:05:00"',
                "[speakers.1]",
                'name = "Ann Hive"',
                'name_zh = "安·海夫"',
                'aliases = ["Ann"]',
                "[speakers.2]",
                'name = "Bo Comb"',
                'name_zh = "博·康布"',
                'aliases = ["Bo"]',
            ]
        )
        + "\n",
        encoding="utf-8",
    )


def second_of(words: str) -> int:
    """The second at which the second conversation says these words (from TURNS)."""
    [second] = [t for _, t, text in TURNS if words in text]
    return second


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> QuoteEngine:
    """The bundled conversation and the bees, in an index of their own."""
    root = tmp_path_factory.mktemp("two-conversations")
    write_second(root / "library")
    return QuoteEngine.load(DATA_DIR, root / "cache", meaning="off", library_dir=root / "library")


# -- parsing `#id` ---------------------------------------------------------------------------


def test_an_id_is_found_exactly_ignoring_case_or_by_its_digits_when_unique() -> None:
    ids = ["l367", "b42", "x420", "y42"]
    assert resolve("L367", ids) == "l367" and resolve("b42", ids) == "b42"
    assert resolve("367", ids) == "l367"  # the episode number people remember
    assert resolve("420", ids) == "x420"
    assert sorted(resolve("42", ids)) == ["b42", "y42"]  # ambiguous: both named
    assert resolve("zzz", ids) == ()
    assert resolve("36", ids) == ()  # digits match whole, not as a prefix


def test_narrowing_splits_a_leading_id_off_the_words() -> None:
    ids = ["l367", "b42"]
    assert narrow("#367 人类反馈", ids) == Narrowed("l367", "人类反馈")
    assert narrow("  ＃B42   蜜蜂 ", ids) == Narrowed("b42", "蜜蜂")  # full-width #, spaces
    assert narrow("#b42", ids) == Narrowed("b42", "")
    assert narrow("蜜蜂 #b42", ids) == Narrowed(None, "蜜蜂 #b42")  # only at the start
    assert narrow("#GPT-4 是什么", ids) == Narrowed(None, "#GPT-4 是什么")  # not an id's shape
    assert narrow("#zzz 蜜蜂", ids) == NoSuchConversation("zzz")
    assert narrow("#4 蜜蜂", ["a4", "b4"]) == NoSuchConversation("4", ("a4", "b4"))
    # With one conversation a hashtag that is not its id stays words, as it always was.
    assert narrow("#AI 安全", ["l367"]) == Narrowed(None, "#AI 安全")
    assert narrow("#367 安全", ["l367"]) == Narrowed("l367", "安全")
    # A saved search keeps its narrowing as a column: tests/test_saved_searches.py.


def test_conversation_argument() -> None:
    ids = ["l367", "b42"]
    assert choice("#b42", ids) == "b42" and choice("367", ids) == "l367"
    assert choice("all", ids) is None and choice("ALL", ids) is None
    assert choice("#nope", ids) == NoSuchConversation("nope")


# -- the engine ----------------------------------------------------------------------------


def test_narrowed_search_returns_that_conversations_own_best(two: QuoteEngine) -> None:
    everywhere = two.search(SHARED, 5)
    assert everywhere and all(r.passage.conversation == "l367" for r in everywhere)
    narrowed = two.search(SHARED, 5, SECOND)
    assert narrowed and {r.passage.conversation for r in narrowed} == {SECOND}
    assert SHARED in narrowed[0].passage.text
    assert two.search(ONLY_SECOND, 5, "l367") == []
    assert [r.passage.id for r in two.search("人类反馈强化学习", 5, "l367")] == [
        r.passage.id for r in two.search("人类反馈强化学习", 5)
    ]
    good = two.good_rows(SECOND)
    assert len(good) == len(TURNS)
    assert {two.random(conversation=SECOND).conversation for _ in range(20)} == {SECOND}
    with pytest.raises(ValueError):
        two.search(SHARED, 5, "zzz")


class NearLex:
    """A stand-in meaning layer: every query is closest to the bundled conversation's
    passages, less close to the bees', and far from everyday talk."""

    def __init__(self, engine: QuoteEngine) -> None:
        self.similarity = np.where(engine.rows_of(SECOND), 0.6, 0.9)

    def embed(self, query: str) -> np.ndarray:
        return np.ones(1)

    def fused(self, qvec: np.ndarray, answers: bool = False) -> tuple[np.ndarray, float]:
        return self.similarity, 0.1


def test_closest_in_meaning_is_narrowed_too(
    two: QuoteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(two, "meaning", lambda: NearLex(two))
    query = "qwxz vbnm"  # no word of it in either conversation: meaning decides
    assert {r.passage.conversation for r in two.search(query, 5)} == {"l367"}
    narrowed = two.search(query, 5, SECOND)
    assert narrowed and {r.passage.conversation for r in narrowed} == {SECOND}
    assert not any(r.confident for r in narrowed)


# -- the migration -------------------------------------------------------------------------


async def test_migration_v4_keeps_older_data_and_stores_a_chats_choice(db_path: Path) -> None:
    # A database of the previous version, with a subscription in it.
    con = sqlite3.connect(db_path)
    for number, script in enumerate(MIGRATIONS[:3], start=1):
        con.executescript(script)
        con.execute(f"PRAGMA user_version = {number}")
    con.execute(
        "INSERT INTO subscriptions (chat_id, chat_type, lang, local_time, zone, next_at, seed,"
        " created_at, updated_at) VALUES (-5, 'group', 'zh', '08:00', 'UTC', 1, 7, 1, 1)"
    )
    con.commit()
    con.close()
    store = await Store.open(db_path)
    try:
        assert await store.chats.get(-5) is None  # no choice: all conversations
        await store.chats.choose(-5, SECOND)
        assert await store.chats.get(-5) == SECOND
        await store.chats.choose(-5, "l367")
        assert await store.chats.get(-5) == "l367"
        subs = SubscriptionStore(store.db)
        await subs.migrate(-5, -1005)  # the group became a supergroup: its choice moves too
        assert await store.chats.get(-5) is None and await store.chats.get(-1005) == "l367"
        assert (await subs.get(-1005)) is not None
        await store.chats.choose(-1005, None)
        assert await store.chats.get(-1005) is None
    finally:
        await store.close()
    con = sqlite3.connect(db_path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 6
    con.close()


# -- the daily quote when a chosen conversation is removed -----------------------------------


async def test_daily_quote_of_a_removed_conversation_falls_back_to_all(
    two: QuoteEngine, db_path: Path
) -> None:
    store = await Store.open(db_path)
    sent: list[str] = []

    async def send(chat_id: int, reply: Reply) -> Outcome:
        sent.append(reply.html)
        return Outcome(Kind.SENT)

    now = dt.datetime(2026, 3, 10, 0, 0, tzinfo=dt.UTC)
    try:
        daily = DailyQuotes(
            SubscriptionStore(store.db), two, send, pacer=Pacer(1000), clock=lambda: now
        )
        for chat_id, chosen in ((1, SECOND), (2, "gone7")):
            await daily.subscriptions.subscribe(
                chat_id, "private", "zh", dt.time(8, 0), Zone.from_name("UTC"), now
            )
            await store.chats.choose(chat_id, chosen)
            await daily.subscriptions.reschedule(chat_id, now)
        assert await daily.run_due() == 2
        first, second = sent
        assert TITLE_ZH in first  # the chosen conversation's
        assert "<blockquote>" in second  # the removed one: a quote from any, no crash
        kept = await daily.subscriptions.get(2)
        assert kept is not None and kept.active and kept.delivered == 1
    finally:
        await store.close()


# -- end to end: the real Application against the Bot API emulator ----------------------------


@pytest.fixture
async def bot(two: QuoteEngine, tmp_path: Path) -> AsyncIterator[BotHarness]:
    async with running_bot(two, tmp_path / "bot") as harness:
        yield harness


def video_links(message: StoredMessage) -> list[str]:
    return [u for u in link_urls(message) if "youtube.com/watch" in u]


def quoted(message: StoredMessage) -> str:
    [text] = message.entity_texts("blockquote")
    return text


async def test_help_lists_both_conversations_and_how_to_narrow(bot: BotHarness) -> None:
    li, ann = bot.user("Li"), bot.user("Ann", lang="en")
    zh = await bot.ask(bot.dm(li), li, "/help")
    assert TITLE_ZH in zh.text and "#b42" in zh.text and "#l367" in zh.text
    assert "/conversation" in zh.text
    welcome = await bot.ask(bot.dm(ann), ann, "/start")
    assert TITLE in welcome.text and welcome.text.startswith("Hello! I quote these conversations")
    menus = [[c["command"] for c in cmds] for cmds in bot.emu.world.commands.values()]
    assert len(menus) == 2 and all("conversation" in menu for menu in menus)
    assert TITLE in bot.emu.world.descriptions["en"]


async def test_a_quote_names_its_conversation_and_links_its_video_at_the_second(
    bot: BotHarness,
) -> None:
    li = bot.user("Li")
    chat = bot.dm(li)
    bees = await bot.ask(chat, li, ONLY_SECOND)
    assert "薰衣草" in quoted(bees)
    assert TITLE_ZH in bees.text
    [video] = video_links(bees)
    assert video == f"{VIDEO}&t={second_of('薰衣草')}s"
    bundled = await bot.ask(chat, li, "人类反馈强化学习")
    assert TITLE_ZH not in bundled.text
    assert "Lex Fridman 播客 #367" in bundled.text  # its own title, in the user's language
    assert all("L_Guz73e6fw" in u for u in video_links(bundled))


async def test_quote_with_an_id_narrows_and_unknown_ids_get_the_list(bot: BotHarness) -> None:
    li = bot.user("Li")
    chat = bot.dm(li)
    everywhere = await bot.ask(chat, li, f"/quote {SHARED}")
    assert TITLE_ZH not in everywhere.text
    for prefix in (f"#{SECOND}", "#B42", "#42"):
        narrowed = await bot.ask(chat, li, f"/quote {prefix} {SHARED}")
        assert SHARED in quoted(narrowed) and TITLE_ZH in narrowed.text, prefix
        assert video_links(narrowed) == [f"{VIDEO}&t={second_of(SHARED)}s"]
    # The next-match button replays the narrowed search, not the search of all.
    everywhere_count = len(bot.engine.search("孩子", 5))
    ours = len(bot.engine.search("孩子", 5, SECOND))
    assert everywhere_count > ours > 1
    children = await bot.ask(chat, li, f"#{SECOND} 孩子")
    assert f"(2/{ours})" in button_text(children, "下一个结果")
    first = quoted(children)
    await bot.press(chat, li, children, button_text(children, "下一个结果"))
    assert TITLE_ZH in children.text and quoted(children) != first
    assert not any(t.startswith("下一个结果") for t in children.button_texts)  # the last of ours
    topic = await bot.ask(chat, li, f"/topic #{SECOND} 蜜蜂")
    assert topic.text.startswith("话题：蜜蜂") and TITLE_ZH in topic.text
    assert all("BeeGarden42" in u for u in video_links(topic))
    miss = await bot.ask(chat, li, f"#l367 {ONLY_SECOND}")
    assert "在这场对话里没有找到" in miss.text
    for wrong in (f"/quote #zzz {SHARED}", "#zzz 蜜蜂", "/topic #zzz 蜜蜂", "/card #zzz 蜜蜂"):
        reply = await bot.ask(chat, li, wrong)
        assert "没有叫“#zzz”的对话" in reply.text, wrong
        assert "#l367" in reply.text and "#b42" in reply.text
    card = await bot.ask(chat, li, f"/card #{SECOND} {SHARED}")
    assert card.photo and TITLE_ZH in card.extra["caption"]


async def test_a_chats_chosen_conversation_is_used_until_cleared(bot: BotHarness) -> None:
    li = bot.user("Li")
    chat = bot.dm(li)
    chosen = await bot.ask(chat, li, f"/conversation #{SECOND}")
    assert chosen.text.startswith(f"本聊天只搜索：{TITLE_ZH}")
    answer = await bot.ask(chat, li, SHARED)
    assert TITLE_ZH in answer.text and SHARED in quoted(answer)
    randoms = [await bot.ask(chat, li, "/random") for _ in range(3)]
    assert all(TITLE_ZH in r.text for r in randoms)
    another = randoms[0]
    # Five passages: "another one" may draw the same, which Telegram calls "not modified".
    bot.expected_errors.append("message is not modified")
    await bot.press(chat, li, another, "🎲 再来一段")
    assert TITLE_ZH in another.text
    # /conversation alone shows the choice, with a button for each and one for all.
    shown = await bot.ask(chat, li, "/conversation")
    assert shown.text.startswith("本聊天只搜索") and button_text(shown, "✅ #b42")
    await bot.press(chat, li, shown, "所有对话")
    assert shown.text.startswith("本聊天搜索所有对话")
    assert TITLE_ZH not in (await bot.ask(chat, li, SHARED)).text
    await bot.ask(chat, li, "/conversation #42")
    assert TITLE_ZH in (await bot.ask(chat, li, SHARED)).text
    cleared = await bot.ask(chat, li, "/conversation all")
    assert cleared.text.startswith("本聊天搜索所有对话")
    assert TITLE_ZH not in (await bot.ask(chat, li, SHARED)).text
    assert "没有叫“#zzz”的对话" in (await bot.ask(chat, li, "/conversation #zzz")).text


async def test_only_a_groups_admins_choose_its_conversation(bot: BotHarness) -> None:
    owner, member = bot.user("Owner"), bot.user("Member")
    group = bot.emu.add_group("Beekeepers", members=[owner, member], owner=owner)
    refused = await bot.ask(group, member, f"/conversation #{SECOND}")
    assert refused.text.startswith("只有群管理员")
    shown = await bot.ask(group, member, "/conversation")  # anyone may look
    refused_press = await bot.press(group, member, shown, button_text(shown, "#b42"))
    assert refused_press.text is not None and refused_press.text.startswith("只有群管理员")
    assert not shown.edits  # pressing a choice is a change too: the message stays
    await bot.ask(group, owner, f"/conversation #{SECOND}")
    assert TITLE_ZH in (await bot.ask(group, member, f"/quote {SHARED}")).text


async def daily_quote(bot: BotHarness, chat: Chat) -> StoredMessage:
    def arrived() -> StoredMessage | None:
        found = [m for m in bot.bot_messages(chat) if (m.text or "").startswith("☀️")]
        return found[0] if found else None

    return await bot.emu.wait_for(arrived, timeout=5, what="the daily quote")


async def test_daily_quote_comes_from_the_chats_chosen_conversation(bot: BotHarness) -> None:
    li = bot.user("Li")
    chat = bot.dm(li)
    await bot.ask(chat, li, f"/conversation #{SECOND}")
    await bot.ask(chat, li, "/subscribe 08:00 UTC")
    await bot.make_due(chat, utc_now())
    daily = await daily_quote(bot, chat)
    assert TITLE_ZH in daily.text
    texts = [text for _, _, text in TURNS]
    assert quoted(daily) in texts
    [video] = video_links(daily)
    assert video == f"{VIDEO}&t={second_of(quoted(daily))}s"


async def test_inline_results_show_the_conversation(bot: BotHarness) -> None:
    li = bot.user("Li")
    answer = await bot.inline(li, ONLY_SECOND)
    assert answer.results
    top = answer.results[0]
    assert top.raw["description"].startswith(TITLE_ZH)
    assert TITLE_ZH in (top.text or "") and "薰衣草" in (top.text or "")
    narrowed = await bot.inline(li, f"#{SECOND} {SHARED}")
    assert narrowed.results and all(
        r.raw["description"].startswith(TITLE_ZH) for r in narrowed.results
    )
    assert (await bot.inline(li, f"#zzz {SHARED}")).results == []
    empty = await bot.inline(li, f"#{SECOND}")  # random good quotes of that conversation
    assert empty.results and all(TITLE_ZH in (r.text or "") for r in empty.results)


# -- one conversation: nothing changes visibly -------------------------------------------------


async def test_with_one_conversation_quotes_do_not_name_it(
    engine: QuoteEngine, db_path: Path
) -> None:
    store = await Store.open(db_path)
    try:
        quotebot = QuoteBot(engine, store, Options(links=Links("quote_test_bot")))
        who = Sender(chat_id=1, chat_type="private", user_id=1, lang="zh")
        reply = await quotebot.query(who, "人类反馈强化学习")
        assert "Lex Fridman 播客" not in reply.html
        assert "/conversation" not in quotebot.help(who).html
        await store.chats.choose(1, "l367")  # harmless, and not even read
        hashtag = await quotebot.query(who, "#AI 安全")
        assert "没有叫" not in hashtag.html
        assert re.search(r"<blockquote>", (await quotebot.query(who, "#367 人类反馈强化学习")).html)
    finally:
        await store.close()


async def test_console_narrows_and_chooses_like_the_bot(two: QuoteEngine, db_path: Path) -> None:
    store = await Store.open(db_path)
    try:
        console = Console(QuoteBot(two, store, Options()), "zh", io.StringIO())
        narrowed = await console.handle(f"#{SECOND} {SHARED}")
        assert narrowed is not None and TITLE_ZH in narrowed.html
        everywhere = await console.handle(SHARED)
        assert everywhere is not None and TITLE_ZH not in everywhere.html
        await console.handle(f"/conversation #{SECOND}")
        chosen = await console.handle(SHARED)
        assert chosen is not None and TITLE_ZH in chosen.html
        wrong = await console.handle("#zzz 蜜蜂")
        assert wrong is not None and "#b42" in wrong.html and "#l367" in wrong.html
    finally:
        await store.close()


def test_a_long_catalogue_is_listed_in_part_and_says_how_many_more() -> None:
    from bot.app.conversations import listing
    from bot.search import Conversation

    many = [
        Conversation(f"c{i}", f"Show {i}", f"节目 {i}", "zh-Hans", "", {}, []) for i in range(30)
    ]
    lines = listing(many, "en", limit=10)
    assert len(lines) == 11 and "#c9" in lines[9] and "#c10" not in "".join(lines)
    assert "20 more" in lines[-1]
    assert len(listing(many[:10], "en", limit=10)) == 10  # exactly the limit: no "more" line
