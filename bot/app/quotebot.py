"""QuoteBot: what the bot answers to each command, button and inline query.

`handlers/` (Telegram) and `bot/console.py` (terminal) both call this class
and only translate its `Reply` objects into their own output, so the bot
answers identically everywhere. It composes the flood guard (flood.py), the
views (views.py), the button protocol (buttons.py), topics (topics.py), the
subscription dialogue (subscribe.py) and /stats (stats.py); every query is
logged through the store's query log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot import metrics
from bot.app import buttons, uploads
from bot.app.cards import CardShop
from bot.app.conversations import (
    Narrowed,
    NoSuchConversation,
    choice,
    conversation_view,
    listing,
    narrow,
    no_such_conversation_view,
)
from bot.app.flood import RateLimiter
from bot.app.i18n import gettext_for
from bot.app.privacy import Forgetting, privacy_view
from bot.app.replies import (
    MAX_CAPTION,
    Button,
    CardReply,
    InlineCard,
    InlineItem,
    Links,
    Reply,
    esc,
    fit_lines,
)
from bot.app.sender import Sender
from bot.app.stats import stats_chart, stats_reply
from bot.app.subscribe import SubscribeDialogue
from bot.app.topics import Topics
from bot.app.views import (
    TOPIC_PAGE,
    card_caption_lines,
    card_view,
    conversation_title,
    no_match_view,
    passage_view,
    quote_block,
    result_view,
    several,
    suggestions_view,
    topic_list_view,
    topic_page_view,
)
from bot.cards import CardCache
from bot.daily.times import Zone, utc_now
from bot.search import QuoteEngine, Result, format_hms
from bot.search.cache import default_cache_dir
from bot.search.textnorm import clean_input, has_searchable_text
from bot.storage import CardFileStore, QueryRecord, SavedSearch, Store, SubscriptionStore

log = logging.getLogger(__name__)

RESULTS_PER_QUERY = 5  # "next result" browses this many
TOPIC_PAGES = 5
INLINE_RESULTS = 10
MAX_INPUT = 4096
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
        self.engine = engine
        self.store = store
        self.topics = Topics(options.topics, engine.fold)
        self.links = options.links
        self.limiter = RateLimiter(options.user_rate_per_minute)
        self.rng = options.rng
        self.subscriptions = subscriptions or SubscriptionStore(store.db)
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
            CardFileStore(store.db),
            self.links,
        )

    def use_engine(self, engine: QuoteEngine) -> None:
        """Serve from `engine` from now on (a reloaded library); answers already under
        way finish on the engine they started with."""
        self.engine = engine
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
        _ = gettext_for(sender.lang)
        conversations = list(self.engine.conversations.values())
        lines = []
        if several(self.engine):
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
        if several(self.engine):
            lines.append(
                esc(
                    _(
                        "Start with #id to search one conversation only, for example: /quote #{id} <words>"
                    ).format(id=conversations[-1].id)
                )
            )
        lines.append("")
        chooser = (
            [("/conversation", _("[#id | all] — choose the conversation this chat searches"))]
            if several(self.engine)
            else []
        )
        for command, text in (
            ("/quote", _("<words> — the best-matching quote (works in groups)")),
            ("/topic", _("<keyword> — the best passages on a topic")),
            ("/random", _("a random quote")),
            ("/card", _("<words> — the best-matching quote as a picture")),
            (
                "/subscribe",
                _("[HH:MM] [time zone] [card] — a quote every day (card: as a picture)"),
            ),
            ("/unsubscribe", _("stop the daily quote")),
            *chooser,
            ("/privacy", _("what I keep about you, and /forget to delete it")),
            ("/help", _("this message")),
        ):
            lines.append(f"{command} {esc(text)}")
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
        scope = await self._scope(sender, text)
        if isinstance(scope, Reply):
            return scope
        conversation, text = scope.conversation, scope.text
        if not text:
            return self._usage(sender, kind)
        if not has_searchable_text(text):
            return self._not_searchable(sender, kind, text)
        engine = self.engine  # one engine for the whole answer, even if a reload swaps it
        results = await self._logged_search(
            sender, kind, text, RESULTS_PER_QUERY, conversation, engine
        )
        if not results:
            return self._no_match(sender, text, conversation)
        if not results[0].confident:
            return suggestions_view(engine, text, results, sender.lang)
        key = await self.store.remember_search(text, conversation)
        return result_view(engine, results, 0, key, sender.lang, self.links)

    async def topic(self, sender: Sender, keyword: str, page: int = 0) -> Reply:
        """/topic: several passages on one page, with paging buttons."""
        _ = gettext_for(sender.lang)
        scope = await self._scope(sender, keyword)
        if isinstance(scope, Reply):
            return scope
        conversation, keyword = scope.conversation, scope.text
        if not keyword:
            return topic_list_view(self.topics.names, sender.lang)
        if not has_searchable_text(keyword):
            self._log(sender, "topic", keyword, [], 0.0)
            return Reply(esc(_("Please give a topic in words, for example: /topic 意识")))
        engine = self.engine
        results = await self._logged_search(
            sender, "topic", keyword, TOPIC_PAGE * TOPIC_PAGES, conversation, engine
        )
        if not results:
            return self._no_match(sender, keyword, conversation)
        if not results[0].confident:
            return suggestions_view(engine, keyword, results, sender.lang)
        key = await self.store.remember_search(keyword, conversation)
        return topic_page_view(engine, keyword, results, page, key, sender.lang, self.links)

    async def card(self, sender: Sender, text: str) -> Reply | CardReply:
        """/card <words>: the best match (the same decision as a query) as a quote card."""
        _ = gettext_for(sender.lang)
        scope = await self._scope(sender, text)
        if isinstance(scope, Reply):
            return scope
        conversation, text = scope.conversation, scope.text
        if not text:
            return Reply(esc(_("Usage: /card <words>, for example: /card 人类反馈强化学习")))
        if not has_searchable_text(text):
            return self._not_searchable(sender, "card", text)
        engine = self.engine
        results = await self._logged_search(
            sender, "card", text, RESULTS_PER_QUERY, conversation, engine
        )
        if not results:
            return self._no_match(sender, text, conversation)
        if not results[0].confident:
            return suggestions_view(engine, text, results, sender.lang)
        return card_view(engine, results[0].passage, sender.lang, self.links)

    async def random_quote(self, sender: Sender, args: str = "") -> Reply:
        """/random [#id]: a random quote, of the named or the chat's chosen conversation."""
        scope = await self._scope(sender, args)
        if isinstance(scope, Reply):
            return scope
        return self._random(sender, scope.conversation)

    def _random(self, sender: Sender, conversation: str | None) -> Reply:
        passage = self.engine.random(self.rng, conversation)
        self._log(sender, "random", "", [Result(passage, 1.0)], 0.0)
        reply = passage_view(self.engine, passage, sender.lang, self.links)
        _ = gettext_for(sender.lang)
        another = Button("🎲 " + _("Another one"), data=buttons.another_random(conversation))
        return Reply(reply.html, (*reply.buttons, (another,)), passage_id=passage.id)

    # -- several conversations -----------------------------------------------------
    async def conversation(self, sender: Sender, arg: str = "", may_manage: bool = True) -> Reply:
        """/conversation: show the chat's choice; `#id` narrows the chat to one, `all` undoes it."""
        arg = clean_input(arg or "").strip()
        conversations = list(self.engine.conversations.values())
        if not arg:
            chosen = await self._chosen(sender)
            return conversation_view(conversations, chosen, sender.lang)
        picked = choice(arg, list(self.engine.conversations))
        if isinstance(picked, NoSuchConversation):
            return no_such_conversation_view(picked, conversations, sender.lang)
        return await self._choose(sender, picked, may_manage)

    async def _choose(self, sender: Sender, conversation: str | None, may_manage: bool) -> Reply:
        _ = gettext_for(sender.lang)
        if sender.chat_id is None:
            return Reply(esc(_("Choosing a conversation needs a chat.")))
        if not may_manage:
            return Reply(esc(self.refused_change(sender)))
        await self.store.chats.choose(sender.chat_id, conversation)
        conversations = list(self.engine.conversations.values())
        return conversation_view(conversations, conversation, sender.lang, changed=True)

    def refused_change(self, sender: Sender) -> str:
        """Plain text: a group member who is no administrator tried to choose."""
        _ = gettext_for(sender.lang)
        return _("Only the group's administrators can choose the conversation it searches.")

    def changes_chat(self, data: str) -> bool:
        """Whether a button press changes the chat's settings (in groups: administrators only)."""
        return isinstance(buttons.decode(data), buttons.ChooseConversation)

    async def _chosen(self, sender: Sender) -> str | None:
        """The chat's chosen conversation, if it still exists (a removed one means all)."""
        if sender.chat_id is None or not several(self.engine):
            return None
        chosen = await self.store.chats.get(sender.chat_id)
        return chosen if chosen in self.engine.conversations else None

    async def _scope(self, sender: Sender, text: str | None) -> Narrowed | Reply:
        """The words and the conversation to search: a leading `#id`, else the chat's choice.

        Whatever a user sent is made safe (lone surrogates) and cut to MAX_INPUT here,
        once for every command that searches."""
        text = clean_input(text or "")[:MAX_INPUT]
        found = narrow(text, list(self.engine.conversations))
        if isinstance(found, NoSuchConversation):
            self._log(sender, "conversation", text.strip(), [], 0.0)
            conversations = list(self.engine.conversations.values())
            return no_such_conversation_view(found, conversations, sender.lang)
        if found.conversation is None:
            return Narrowed(await self._chosen(sender), found.text)
        return found

    def _saved(self, saved: SavedSearch) -> Narrowed | None:
        """A saved search as it was narrowed; None if its conversation is gone.

        With one conversation a `#word` that names none is just words (see
        conversations.narrow): a search saved before schema v6 as "#AI 安全" was split
        by the migration into conversation "AI" and words "安全", and is put back whole."""
        if saved.conversation is None or saved.conversation in self.engine.conversations:
            return Narrowed(saved.conversation, saved.text)
        if several(self.engine):
            return None
        return Narrowed(None, f"#{saved.conversation} {saved.text}")

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
        """A button press; None when the data is stale or malformed (the caller says so).

        A CardReply is sent as a new message (a photo); a Reply edits the pressed message.
        `may_manage`: whether the presser may change the chat's settings (see changes_chat)."""
        press = buttons.decode(data)
        lang = sender.lang
        match press:
            case buttons.ResultAt(key, rank):
                saved = await self.store.find_search(key)
                search = self._saved(saved) if saved is not None else None
                if search is None:
                    return None
                engine = self.engine
                results = await self._search(
                    search.text, RESULTS_PER_QUERY, search.conversation, engine
                )
                if not 0 <= rank < len(results):
                    return None
                return result_view(engine, results, rank, key, lang, self.links)
            case buttons.TopicPage(key, page):
                saved = await self.store.find_search(key)
                search = self._saved(saved) if saved is not None else None
                if search is None:
                    return None
                keyword = search.text
                engine = self.engine
                results = await self._search(
                    keyword, TOPIC_PAGE * TOPIC_PAGES, search.conversation, engine
                )
                if not results:
                    return None
                return topic_page_view(engine, keyword, results, page, key, lang, self.links)
            case buttons.Neighbour(passage_id, step):
                passage = self.engine.neighbour(passage_id, step)
                return passage_view(self.engine, passage, lang, self.links) if passage else None
            case buttons.OpenPassage(passage_id):
                passage = self.engine.get(passage_id)
                return passage_view(self.engine, passage, lang, self.links) if passage else None
            case buttons.SuggestedTopic(index):
                if not 0 <= index < len(self.topics):
                    return None
                return await self.topic(sender, self.topics.names[index])
            case buttons.AnotherRandom(conversation):
                if conversation is not None and conversation not in self.engine.conversations:
                    conversation = None
                return self._random(sender, conversation or await self._chosen(sender))
            case buttons.ChooseConversation(conversation):
                if conversation is not None and conversation not in self.engine.conversations:
                    return None
                return await self._choose(sender, conversation, may_manage)
            case buttons.UndoForget(token):
                return await self.forgetting.undo(sender, token)
            case buttons.SendCard(passage_id, style):
                passage = self.engine.get(passage_id)
                if passage is None:
                    return None
                return card_view(self.engine, passage, lang, self.links, style)
        return None

    # -- inline mode -----------------------------------------------------------------
    async def inline(self, sender: Sender, text: str) -> list[InlineItem]:
        """Choices for `@bot words` in any chat; random good quotes for an empty query."""
        found = narrow(clean_input(text or "")[:MAX_INPUT], list(self.engine.conversations))
        if isinstance(found, NoSuchConversation):
            return []
        conversation, text = found.conversation, found.text
        engine = self.engine  # one engine for the whole answer, even if a reload swaps it
        if text:
            results = await self._logged_search(
                sender, "inline", text, INLINE_RESULTS, conversation, engine
            )
            passages = [r.passage for r in results]
            suggested = {r.passage.id for r in results if not r.confident}
        else:
            suggested = set()
            rng = random.Random(int(time.time() // 300))  # same picks for five minutes: cacheable
            passages = list(
                {
                    p.id: p
                    for p in (engine.random(rng, conversation) for _ in range(INLINE_RESULTS))
                }.values()
            )
        items = []
        named = several(engine)
        for passage in passages:
            conv = engine.conversation(passage)
            speaker = conv.speakers[passage.speaker].display(sender.lang)
            where = conversation_title(conv, sender.lang)[:60] + "\n" if named else ""
            question = engine.question_for(passage)
            block = quote_block(passage, conv, sender.lang, self.links, named, question)
            items.append(
                InlineItem(
                    id=passage.id,
                    # "≈": closest in meaning, not a passage that says it.
                    title=("≈ " if passage.id in suggested else "")
                    + (f"{speaker} · " if speaker else "")
                    + format_hms(passage.at),
                    description=where + passage.text[:120],
                    reply=Reply(fit_lines(block)),
                )
            )
        return items

    async def inline_cards(self, sender: Sender, items: list[InlineItem]) -> list[InlineCard]:
        """The cards of these inline choices already uploaded to Telegram (by file_id)."""
        cards = []
        for passage_id, style, file_id in await self.cards.uploaded([i.id for i in items]):
            passage = self.engine.get(passage_id)
            if passage is None:
                continue
            conv = self.engine.conversation(passage)
            caption = fit_lines(
                card_caption_lines(
                    passage,
                    conv,
                    sender.lang,
                    self.links,
                    several(self.engine),
                    self.engine.question_for(passage),
                ),
                MAX_CAPTION,
            )
            cards.append(InlineCard(f"card:{style[0]}:{passage_id}"[:64], file_id, caption))
        return cards

    # -- short answers ---------------------------------------------------------------
    async def _search(
        self,
        text: str,
        limit: int,
        conversation: str | None,
        engine: QuoteEngine | None = None,
    ) -> list[Result]:
        """The engine's search, on a worker thread.

        A query that reaches the embedder costs tens of milliseconds (more on a
        catalogue); on the event loop it would hold up every other chat's
        updates meanwhile. The engine only reads its index; the embedder runs
        one query at a time under its own lock.
        """
        engine = engine or self.engine
        return await asyncio.to_thread(engine.search, text, limit, conversation)

    async def _logged_search(
        self,
        sender: Sender,
        kind: str,
        text: str,
        limit: int,
        conversation: str | None,
        engine: QuoteEngine | None = None,
    ) -> list[Result]:
        """A search a user asked for: timed and written to the query log (button
        presses replaying a saved search are not logged again)."""
        started = time.perf_counter()
        results = await self._search(text, limit, conversation, engine)
        self._log(sender, kind, text, results, time.perf_counter() - started)
        return results

    def _not_searchable(self, sender: Sender, kind: str, text: str) -> Reply:
        """Emoji or punctuation alone: logged, and answered with what to send instead."""
        _ = gettext_for(sender.lang)
        self._log(sender, kind, text, [], 0.0)
        return Reply(
            esc(
                _(
                    "Please send some words (Chinese or English) to search for; emoji and punctuation alone can't be matched."
                )
            )
        )

    def _no_match(self, sender: Sender, text: str, conversation: str | None = None) -> Reply:
        in_all = conversation is None and several(self.engine)
        close = self.topics.suggest(text)
        return no_match_view(text, self.topics.names, close, sender.lang, in_all)

    def unknown_command(self, sender: Sender) -> Reply:
        _ = gettext_for(sender.lang)
        return Reply(esc(_("I don't know that command. /help lists what I can do.")))

    def expired_button(self, sender: Sender) -> Reply:
        _ = gettext_for(sender.lang)
        return Reply(esc(_("This button has expired. Please search again.")))

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

    def text_only(self, sender: Sender) -> Reply:
        _ = gettext_for(sender.lang)
        return Reply(esc(_("I can only read text. Send me some words to search for.")))

    def _usage(self, sender: Sender, kind: str) -> Reply:
        _ = gettext_for(sender.lang)
        if kind == "quote":
            return Reply(esc(_("Usage: /quote <words>, for example: /quote 人类反馈强化学习")))
        return Reply(esc(_("Send me some words to search for, or /help.")))

    def _log(
        self, sender: Sender, kind: str, text: str, results: list[Result], seconds: float
    ) -> None:
        top = results[0] if results else None
        metrics.query(kind, len(results), top is not None and top.confident)
        self.store.log_query(
            QueryRecord(
                chat_id=sender.chat_id,
                chat_type=sender.chat_type,
                user_id=sender.user_id,
                kind=kind,
                query=text,
                top_passage=top.passage.id if top else None,
                top_score=top.score if top else None,
                n_results=len(results),
                latency_ms=seconds * 1000,
            )
        )
