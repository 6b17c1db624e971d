"""bot/assembly.py: the one place `run` and the console open the bot's parts."""

from __future__ import annotations

from pathlib import Path

from bot.app.replies import Links, Reply
from bot.assembly import open_parts
from bot.config import settings_from_env
from bot.daily.scheduler import Kind, Outcome
from bot.search import QuoteEngine


async def _print(chat_id: int, reply: Reply) -> Outcome:
    return Outcome(Kind.SENT)


async def test_the_parts_share_one_store_and_follow_a_new_engine(
    engine: QuoteEngine, tmp_path: Path
) -> None:
    settings = settings_from_env(
        {"QUOTEBOT_DB": str(tmp_path / "q.db"), "QUOTEBOT_CACHE_DIR": str(tmp_path / "cache")}
    )
    shops = []
    parts = await open_parts(
        settings,
        engine,
        links=Links("quotebot_test"),
        send=_print,
        card_sender=lambda shop: shops.append(shop) or None,
        user_rate_per_minute=10_000,
    )
    try:
        assert parts.quotebot.store is parts.store
        assert parts.quotebot.subscriptions is parts.store.subscriptions
        assert parts.daily.subscriptions is parts.store.subscriptions
        assert parts.daily.chats is parts.store.chats
        assert parts.quotebot.cards is parts.cards and shops == [parts.cards]
        assert parts.cards.files is parts.store.card_files
        assert parts.cards.cache.folder == settings.cache_dir / "cards"
        assert parts.quotebot.limiter.per_minute == 10_000
        other = QuoteEngine.__new__(QuoteEngine)  # only its identity is looked at
        parts.use_engine(other)
        assert parts.quotebot.engine is other and parts.daily.engine is other
        assert parts.cards.engine is other
    finally:
        await parts.close()
