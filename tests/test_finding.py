"""The one query pipeline (bot/app/finding.py): its kinds table, and result buttons that
reuse a recent search's results instead of searching again."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.app.finding import KINDS, RECENT_RESULTS, Finder
from bot.app.quotebot import QuoteBot
from bot.app.sender import Sender
from bot.search.engine import QuoteEngine
from bot.storage import SavedSearch, Store

ZH = Sender(chat_id=42, chat_type="private", user_id=7, lang="zh")


def result_buttons(reply) -> list[str]:
    return [b.data for row in reply.buttons for b in row if b.data and b.data[:2] in ("r|", "t|")]


@pytest.fixture
def searches(engine: QuoteEngine, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The words of every search the engine runs from now on."""
    seen: list[str] = []
    real = engine.search

    def counted(text, *args, **kwargs):
        seen.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(engine, "search", counted)
    return seen


async def test_a_result_button_reuses_the_results_and_a_restart_searches_again(
    engine: QuoteEngine, db_path: Path, searches: list[str]
) -> None:
    store = await Store.open(db_path)
    bot = QuoteBot(engine, store)
    first = await bot.query(ZH, "意识")
    assert searches == ["意识"]
    nxt = next(d for d in result_buttons(first) if d.endswith("|1"))
    second = await bot.press(ZH, nxt)
    assert second is not None and searches == ["意识"]  # from memory
    bot.use_engine(engine)  # a reload: results of the old engine are not reused
    assert (await bot.press(ZH, nxt)).html == second.html and searches == ["意识"] * 2
    topic = await bot.topic(ZH, "意识")
    page = next(d for d in result_buttons(topic) if d.startswith("t|"))
    assert await bot.press(ZH, page) is not None and searches == ["意识"] * 3
    await store.close()
    store = await Store.open(db_path)
    try:  # nothing in memory: the same search again, the same reply
        again = await QuoteBot(engine, store).press(ZH, nxt)
        assert again is not None and again.html == second.html and searches == ["意识"] * 4
    finally:
        await store.close()


async def test_a_forgotten_search_is_not_served_from_memory(
    engine: QuoteEngine, db_path: Path
) -> None:
    store = await Store.open(db_path)
    try:
        bot = QuoteBot(engine, store)
        first = await bot.query(ZH, "意识")
        await store.forget(7)
        assert await bot.press(ZH, result_buttons(first)[0]) is None
    finally:
        await store.close()


async def test_kept_results_are_bounded(engine: QuoteEngine, db_path: Path) -> None:
    store = await Store.open(db_path)
    try:
        finder = Finder(engine, store)
        for n in range(RECENT_RESULTS + 5):
            finder._keep(f"k{n}", 5, engine, [])
        assert len(finder._recent) == RECENT_RESULTS and ("k0", 5) not in finder._recent
        finder._keep("old", 5, SimpleNamespace(), [])  # searched before a reload swapped it
        assert ("old", 5) not in finder._recent
    finally:
        await store.close()


def test_every_kind_the_front_ends_send_is_in_the_table() -> None:
    assert set(KINDS) == {"message", "quote", "topic", "card", "inline"}
    # Remembered: the answers with result or page buttons.
    assert {k for k, how in KINDS.items() if how.remembered} == {"message", "quote", "topic"}
    assert [k for k, how in KINDS.items() if not how.in_chat] == ["inline"]


def test_a_saved_search_of_a_gone_conversation() -> None:
    one = SimpleNamespace(conversations={"l367": None})
    two = SimpleNamespace(conversations={"l367": None, "b42": None})
    saved = SavedSearch("AI", "安全")  # "#AI 安全" from before schema v6, split by the migration
    narrowed = Finder._narrowed(saved, one)
    assert narrowed is not None and (narrowed.conversation, narrowed.text) == (None, "#AI 安全")
    assert Finder._narrowed(saved, two) is None  # several: the conversation is gone
    kept = Finder._narrowed(SavedSearch("b42", "蜜蜂"), two)
    assert kept is not None and (kept.conversation, kept.text) == ("b42", "蜜蜂")


def test_has_neighbour_agrees_with_neighbour(engine: QuoteEngine) -> None:
    ids = [engine.table[row].id for row in (0, 1, len(engine.table) - 1)] + ["nope-1-2"]
    for passage_id in ids:
        for step in (-1, 1):
            expected = engine.neighbour(passage_id, step) is not None
            assert engine.has_neighbour(passage_id, step) == expected, (passage_id, step)


class _Engine:
    """Just what the pipeline asks of an engine: its conversations, and a search that
    refuses an id it does not hold (as QuoteEngine.rows_of does)."""

    def __init__(self, *ids: str) -> None:
        self.conversations = dict.fromkeys(ids)
        self.searched: list[str | None] = []

    def search(self, text: str, limit: int, conversation: str | None) -> list:
        if conversation is not None and conversation not in self.conversations:
            raise ValueError(f"no conversation {conversation!r}")
        self.searched.append(conversation)
        return []


async def test_a_reload_while_the_chats_choice_is_read_does_not_mix_two_engines() -> None:
    """The chat's choice is checked against the engine the answer searches: a reload that
    lands while it is read (the one await before the search) cannot hand that engine a
    conversation only the new one holds."""
    before, after = _Engine("l367", "b42"), _Engine("l367", "b42", "c7")
    finder: Finder

    async def chosen_meanwhile(chat_id: int) -> str:
        finder.use_engine(after)  # the library watch swaps the engine
        return "c7"  # chosen (in the new library) by another update meanwhile

    store = SimpleNamespace(
        chats=SimpleNamespace(get=chosen_meanwhile), log_query=lambda record: None
    )
    finder = Finder(before, store)  # type: ignore[arg-type]
    found = await finder.find(ZH, "message", "意识", 5)
    assert found.engine is before and found.conversation is None  # c7: not in this engine
    assert before.searched == [None] and after.searched == []
