"""The one place the bot's parts are opened: store, card shop, daily scheduler and QuoteBot.

`quotebot run` (handlers/app.py, once connected to Telegram) and `quotebot
console` (bot/console.py) both call `open_parts`; they differ only in how a
message and a card are sent, the share links, and whether sends are paced
here or by the sender itself. Starting the background work (the daily
schedule, the query log's retention, the library watch) is left to each
front end, which knows when it is ready.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.app import CardShop, Links, Options, QuoteBot, load_topics
from bot.cards import CardCache
from bot.config import Settings
from bot.daily.scheduler import DailyQuotes, Send, SendCard
from bot.daily.throttle_sends import Pacer
from bot.search import LibraryWatch, QuoteEngine, engine_builder
from bot.storage import Store


@dataclass
class BotParts:
    """What a running bot is made of; `close()` stops and closes them in order."""

    store: Store
    cards: CardShop
    daily: DailyQuotes
    quotebot: QuoteBot

    def use_engine(self, engine: QuoteEngine) -> None:
        """Serve from `engine` from now on (a reloaded library): answers and daily quotes."""
        self.quotebot.use_engine(engine)
        self.daily.engine = engine

    def library_watch(
        self, settings: Settings, then: Callable[[QuoteEngine], None] | None = None
    ) -> LibraryWatch:
        """Conversations added to or removed from the library are served without a
        restart; `then` is told of each new engine after the parts use it."""

        def swap(engine: QuoteEngine) -> None:
            self.use_engine(engine)
            if then is not None:
                then(engine)

        build = engine_builder(settings.data_dir, settings.cache_dir, settings.library_dir)
        return LibraryWatch(settings.library_dir, build, swap, settings.library_poll)  # type: ignore[arg-type]

    async def close(self) -> None:
        """Stop the daily schedule (sends in flight finish), then close the store."""
        try:
            await self.daily.stop()
        finally:
            await self.store.close()


def bot_options(settings: Settings, links: Links, user_rate_per_minute: int | None) -> Options:
    """QuoteBot's options from the settings (None: the settings' per-user rate)."""
    return Options(
        topics=load_topics(settings.data_dir),
        links=links,
        user_rate_per_minute=user_rate_per_minute or settings.user_rate_per_minute,
        default_zone=settings.timezone,
        cards_dir=settings.cache_dir / "cards",
        library_dir=settings.library_dir,
        data_dir=settings.data_dir,
        upload_max_bytes=settings.upload_max_mb * 1024 * 1024,
        log_days=settings.log_days,
    )


async def open_parts(
    settings: Settings,
    engine: QuoteEngine,
    *,
    links: Links,
    send: Send,
    card_sender: Callable[[CardShop], SendCard] | None = None,
    pacer: Pacer | None = None,
    user_rate_per_minute: int | None = None,
) -> BotParts:
    """Open the store (StorageError if it cannot be used) and build the parts on it.

    `send` delivers a daily quote; `card_sender`, given the card shop, delivers
    one as a card (None: card subscriptions get the text). `pacer` paces the
    daily sends (None: `send` paces itself, as Telegram's rate limiter does).
    """
    store = await Store.open(settings.db_path, raw_user_ids=settings.log_raw_user_ids)
    try:
        cards = CardShop(engine, CardCache(settings.cache_dir / "cards"), store.card_files, links)
        daily = DailyQuotes(
            store.subscriptions,
            engine,
            send,
            pacer=pacer,
            links=links,
            catch_up=settings.catch_up,
            send_card=card_sender(cards) if card_sender is not None else None,
            chats=store.chats,
        )
        quotebot = QuoteBot(
            engine,
            store,
            bot_options(settings, links, user_rate_per_minute),
            subscriptions=daily.subscriptions,
            on_subscription_change=daily.wake,
            cards=cards,
        )
    except BaseException:
        await store.close()
        raise
    return BotParts(store, cards, daily, quotebot)
