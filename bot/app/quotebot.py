"""QuoteBot: what the bot answers to each command, button and inline query.

`handlers/` (Telegram) and `bot/console.py` (terminal) both call this one facade
and translate its `Reply` objects into their own output, so the bot answers
identically everywhere. What needs Telegram stays in handlers: whether a group
member may change the chat's settings (`may_manage`, asked of Telegram, passed
in here), who the bot's administrators are (`Sender.is_admin`), and how an
inline query is throttled. Everything else is decided here.

The facade composes one part per feature: the query pipeline (finding.py), the
answers to a search (searching.py), browsing (browsing.py), inline mode
(inline.py), the chat's chosen conversation (chat_settings.py), the flood guard
(throttle_users.py), the subscription dialogue (subscribe.py), /forget
(privacy.py), /stats (stats.py) and uploads (uploads.py); /help's lines come
from the command table (commands.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.app import buttons, uploads
from bot.app.browsing import Browsing
from bot.app.cards import CardShop
from bot.app.chat_settings import ChatSettings
from bot.app.commands import help_lines
from bot.app.conversations import listing
from bot.app.finding import Finder
from bot.app.i18n import gettext_for
from bot.app.inline import Inline
from bot.app.privacy import Forgetting, privacy_view
from bot.app.replies import CardReply, InlineCard, InlineItem, Links, Reply, esc, fit_lines
from bot.app.searching import Searching
from bot.app.sender import Sender
from bot.app.stats import stats_chart, stats_reply
from bot.app.subscribe import SubscribeDialogue
from bot.app.throttle_users import RateLimiter
from bot.app.topics import Topics
from bot.app.views import conversation_title, passage_view, several
from bot.cards import CardCache
from bot.daily.times import Zone, utc_now
from bot.search import QuoteEngine, default_cache_dir
from bot.storage import Store, SubscriptionStore

log = logging.getLogger(__name__)

HELP_LISTING = 10  # conversations /help and /start list by name; /conversation lists more


@dataclass
class Options:
    """How one bot behaves; the defaults suit tests and the console."""

    topics: list[str] = field(default_factory=list)
    links: Links = field(default_factory=Links)
    user_rate_per_minute: int = 20
    default_zone: str = "Asia/Shanghai"
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], dt.datetime] = utc_now
    cards_dir: Path | None = None  # rendered cards; default: the index cache's cards/
    # Where an administrator's uploaded subtitles go (None: uploads are not taken),
    # the bundled data (whose ids an upload may not take) and the largest upload.
    library_dir: Path | None = None
    data_dir: Path | None = None
    upload_max_bytes: int = 5 * 1024 * 1024
    log_days: int = 365  # QUOTEBOT_LOG_DAYS, as /privacy tells it


class QuoteBot:
    """One instance per running bot (or console session)."""

    def __init__(
        self,
        engine: QuoteEngine,
        store: Store,
        options: Options | None = None,
        *,
        subscriptions: SubscriptionStore | None = None,
        on_subscription_change: Callable[[], None] | None = None,
        cards: CardShop | None = None,
    ) -> None:
        options = options or Options()
        self.store = store
        self.finder = Finder(engine, store)
        self.topics = Topics(options.topics, engine.fold)
        self.links = options.links
        self.limiter = RateLimiter(options.user_rate_per_minute)
        self.rng = options.rng
        self.subscriptions = subscriptions or store.subscriptions
        self.dialogue = SubscribeDialogue(
            self.subscriptions,
            Zone.from_name(options.default_zone),
            on_subscription_change,
            options.clock,
        )
        self.clock = options.clock
        self.options = options
        self.log_days = options.log_days
        self.forgetting = Forgetting(store, options.clock, on_subscription_change)
        self.cards = cards or CardShop(
            engine,
            CardCache(options.cards_dir or default_cache_dir() / "cards"),
            store.card_files,
            self.links,
        )
        self.searching = Searching(self.finder, self.topics, self.links)
        self.browsing = Browsing(self.finder, self.links, self.rng)
        self.inline_mode = Inline(self.finder, self.cards, self.links)
        self.chat_settings = ChatSettings(self.finder)

    @property
    def engine(self) -> QuoteEngine:
        """The engine answering now (use_engine swaps it)."""
        return self.finder.engine

    def use_engine(self, engine: QuoteEngine) -> None:
        """Serve from `engine` from now on (a reloaded library); answers already under
        way finish on the engine they started with."""
        self.finder.use_engine(engine)
        self.cards.engine = engine

    # -- guards ----------------------------------------------------------------
    def admit(self, sender: Sender) -> Reply | None:
        """None if the sender may go on; a polite reply (or an empty one) if flooding."""
        verdict = self.limiter.check(sender.user_id)
        if verdict == "ok":
            return None
        if verdict == "warn":
            _ = gettext_for(sender.lang)
            return Reply(
                esc(_("You are sending messages very fast. Please wait a minute and try again."))
            )
        return Reply("", silent=True)

    # -- commands ----------------------------------------------------------------
    def start(self, sender: Sender, payload: str = "") -> Reply:
        """/start, with a share-link payload showing that passage."""
        payload = payload.strip()
        if payload:
            passage = self.engine.get(payload)
            if passage is not None:
                return passage_view(self.engine, passage, sender.lang, self.links)
        return self.help(sender, welcome=True)

    def help(self, sender: Sender, welcome: bool = False) -> Reply:
        """/help (and /start's welcome): the conversations, then the commands the command
        table (bot.app.commands) offers, then inline mode when the bot has a username."""
        _ = gettext_for(sender.lang)
        conversations = list(self.engine.conversations.values())
        many = several(self.engine)
        lines = []
        if many:
            if welcome:
                lines.append(esc(_("Hello! I quote these conversations back to you:")))
            lines.extend(listing(conversations, sender.lang, HELP_LISTING))
        else:
            if welcome:
                lines.append(esc(_("Hello! I quote one conversation back to you:")))
            lines.append(f"<b>{esc(conversation_title(conversations[0], sender.lang))}</b>")
        lines.append("")
        lines.append(
            esc(
                _(
                    "Send me any words (in a private chat) and I find the passage you mean, with who said it and when."
                )
            )
        )
        if many:
            lines.append(
                esc(
                    _(
                        "Start with #id to search one conversation only, for example: /quote #{id} <words>"
                    ).format(id=conversations[-1].id)
                )
            )
        lines.append("")
        for command, text in help_lines(many):
            lines.append(f"{command} {esc(_(text))}")
        if self.links.bot_username:
            lines.append("")
            lines.append(
                esc(
                    _("In any chat, type @{bot} and your words to share a quote.").format(
                        bot=self.links.bot_username
                    )
                )
            )
        return Reply(fit_lines(lines))

    async def query(self, sender: Sender, text: str, kind: str = "message") -> Reply:
        """A free-text query (private message or /quote): the best passage, browsable."""
        return await self.searching.query(sender, text, kind)

    async def topic(self, sender: Sender, keyword: str, page: int = 0) -> Reply:
        """/topic: several passages on one page, with paging buttons."""
        return await self.searching.topic(sender, keyword, page)

    async def card(self, sender: Sender, text: str) -> Reply | CardReply:
        """/card <words>: the best match (the same decision as a query) as a quote card."""
        return await self.searching.card(sender, text)

    async def random_quote(self, sender: Sender, args: str = "") -> Reply:
        """/random [#id]: a random quote, of the named or the chat's chosen conversation."""
        return await self.browsing.random_quote(sender, args)

    # -- several conversations -----------------------------------------------------
    async def conversation(self, sender: Sender, arg: str = "", may_manage: bool = True) -> Reply:
        """/conversation: show the chat's choice; `#id` narrows the chat to one, `all` undoes it."""
        return await self.chat_settings.conversation(sender, arg, may_manage)

    def refused_change(self, sender: Sender) -> str:
        """Plain text: a group member who is no administrator tried to choose."""
        return self.chat_settings.refused_change(sender)

    def changes_chat(self, data: str) -> bool:
        """Whether a button press changes the chat's settings (in groups: administrators only)."""
        return self.chat_settings.changes_chat(data)

    async def stats(self, sender: Sender, now: float | None = None) -> Reply:
        return await stats_reply(self.store, sender, now)

    async def stats_picture(self, sender: Sender, now: float | None = None) -> bytes | None:
        """/stats's chart (PNG) for an administrator in a private chat; None for anyone else."""
        return await stats_chart(self.store, sender, now)

    # -- privacy -----------------------------------------------------------------
    async def forget(self, sender: Sender) -> Reply:
        """/forget: delete what the bot keeps about the asker (a button undoes it for a minute)."""
        return await self.forgetting.forget(sender)

    def privacy(self, sender: Sender) -> Reply:
        """/privacy: what is kept, for how long, and why."""
        return privacy_view(sender.lang, self.log_days)

    # -- daily quote -------------------------------------------------------------
    async def subscribe(self, sender: Sender, args: list[str], may_manage: bool = True) -> Reply:
        """/subscribe [HH:MM] [zone]; no arguments in a subscribed chat shows the subscription."""
        return await self.dialogue.subscribe(sender, args, may_manage)

    async def unsubscribe(self, sender: Sender, may_manage: bool = True) -> Reply:
        return await self.dialogue.unsubscribe(sender, may_manage)

    # -- buttons -------------------------------------------------------------------
    async def press(
        self, sender: Sender, data: str, may_manage: bool = True
    ) -> Reply | CardReply | None:
        """A button press; None when the data is stale or malformed (the caller says so,
        with `expired_notice`).

        A CardReply is sent as a new message (a photo); a Reply edits the pressed message.
        `may_manage`: whether the presser may change the chat's settings (see changes_chat)."""
        match buttons.decode(data):
            case buttons.ResultAt(key, rank):
                return await self.searching.result_at(sender, key, rank)
            case buttons.TopicPage(key, page):
                return await self.searching.topic_page(sender, key, page)
            case buttons.Neighbour(passage_id, step):
                return self.browsing.neighbour(sender, passage_id, step)
            case buttons.OpenPassage(passage_id):
                return self.browsing.open(sender, passage_id)
            case buttons.SuggestedTopic(index):
                if not 0 <= index < len(self.topics):
                    return None
                return await self.searching.topic(sender, self.topics.names[index])
            case buttons.AnotherRandom(conversation):
                return await self.browsing.another(sender, conversation)
            case buttons.ChooseConversation(conversation):
                return await self.chat_settings.choose_button(sender, conversation, may_manage)
            case buttons.UndoForget(token):
                return await self.forgetting.undo(sender, token)
            case buttons.SendCard(passage_id, style):
                return self.browsing.card(sender, passage_id, style)
        return None

    # -- inline mode -----------------------------------------------------------------
    async def inline(self, sender: Sender, text: str) -> list[InlineItem]:
        """Choices for `@bot words` in any chat; random good quotes for an empty query."""
        return await self.inline_mode.inline(sender, text)

    async def inline_cards(self, sender: Sender, items: list[InlineItem]) -> list[InlineCard]:
        """The cards of these inline choices already uploaded to Telegram (by file_id)."""
        return await self.inline_mode.inline_cards(sender, items)

    # -- short answers ---------------------------------------------------------------
    def unknown_command(self, sender: Sender) -> Reply:
        _ = gettext_for(sender.lang)
        return Reply(esc(_("I don't know that command. /help lists what I can do.")))

    def expired_notice(self, sender: Sender) -> str:
        """Plain text: a button whose search or passage is gone (`press` returned None)."""
        _ = gettext_for(sender.lang)
        return _("This button has expired. Please search again.")

    def expired_button(self, sender: Sender) -> Reply:
        """`expired_notice` as a reply, for front ends that answer with a message."""
        return Reply(esc(self.expired_notice(sender)))

    def text_only(self, sender: Sender) -> Reply:
        _ = gettext_for(sender.lang)
        return Reply(esc(_("I can only read text. Send me some words to search for.")))

    # -- uploads -----------------------------------------------------------------------
    def takes_uploads(self, sender: Sender) -> bool:
        """Whether a file from this sender is imported: an administrator, in a private
        chat, with a library to write to. Anyone else gets `text_only`."""
        return (
            sender.is_admin
            and sender.chat_type == "private"
            and self.options.library_dir is not None
            and self.options.data_dir is not None
        )

    def upload_refusal(self, sender: Sender, name: str | None, size: int | None) -> Reply | None:
        """A reply refusing the file before it is downloaded (kind, size), or None."""
        why = uploads.refusal(name or "", size, self.options.upload_max_bytes)
        return None if why is None else Reply(esc(why))

    def download_failed(self, sender: Sender, name: str | None, why: str) -> Reply:
        """The file could not be fetched from Telegram (too big for a bot, gone)."""
        return Reply(esc(f"{uploads.safe_name(name)}: could not be downloaded ({why[:200]})"))

    async def upload(
        self, sender: Sender, name: str | None, data: bytes, caption: str | None = None
    ) -> Reply:
        """Import an administrator's file (the caption, if any, is its title): the reply is
        the import's summary line or its one-line error. The library watch serves it."""
        assert self.options.library_dir is not None and self.options.data_dir is not None
        ok, line = await asyncio.to_thread(
            uploads.import_upload,
            name or "",
            data,
            self.options.library_dir,
            self.options.data_dir,
            (caption or "").strip()[:200] or None,
            self.options.upload_max_bytes,
        )
        log.info(
            "upload from admin %s %s: %s", sender.user_id, "imported" if ok else "refused", line
        )
        return Reply(esc(line))
