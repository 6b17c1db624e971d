"""The bot's behaviour, independent of Telegram: what each command and message gets.

`handlers/` (Telegram) and `bot/console.py` (terminal) both call this class
and only translate its `Reply` objects into their own output, so the bot
answers identically everywhere. Every query is logged through the store.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import tomllib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.app.i18n import Lang, gettext_for
from bot.app.replies import (
    Button,
    InlineItem,
    Links,
    Reply,
    context_buttons,
    esc,
    fit_lines,
    quote_block,
)
from bot.daily.times import ScheduleError, Zone, parse_subscribe_args, utc_now
from bot.search.engine import QuoteEngine, Result
from bot.search.passages import Passage
from bot.search.textnorm import has_searchable_text
from bot.search.transcript import format_hms
from bot.storage import QueryRecord, Store
from bot.storage.subscriptions import Subscription, SubscriptionStore

log = logging.getLogger(__name__)

RESULTS_PER_QUERY = 5  # "next result" browses this many
TOPIC_PAGE = 3
TOPIC_PAGES = 5
INLINE_RESULTS = 10
MAX_INPUT = 4096


@dataclass(frozen=True, slots=True)
class Sender:
    """Who is asking, and where: enough to answer, rate-limit and log."""

    chat_id: int | None
    chat_type: str | None  # private, group, supergroup, channel, console, inline
    user_id: int | None
    lang: Lang = "zh"
    is_admin: bool = False


class RateLimiter:
    """Per-user sliding one-minute window: a flood gets one polite answer, then silence."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}

    def check(self, user_id: int | None, now: float | None = None) -> str:
        """'ok', 'warn' (first refusal in a window) or 'drop'."""
        if user_id is None:
            return "ok"
        now = time.monotonic() if now is None else now
        if len(self._hits) > 10_000:  # months of users: keep only the recent ones
            self.forget_idle(now)
        hits = self._hits.setdefault(user_id, deque())
        while hits and now - hits[0] >= 60:
            hits.popleft()
        if len(hits) < self.per_minute:
            hits.append(now)
            self._warned.pop(user_id, None)
            return "ok"
        if now - self._warned.get(user_id, -1e9) >= 60:
            self._warned[user_id] = now
            return "warn"
        return "drop"

    def forget_idle(self, now: float | None = None) -> None:
        """Drop users with no recent messages so memory stays bounded over months."""
        now = time.monotonic() if now is None else now
        for uid in [u for u, h in self._hits.items() if not h or now - h[-1] >= 60]:
            self._hits.pop(uid, None)
            self._warned.pop(uid, None)


def load_topics(data_dir: Path) -> list[str]:
    path = data_dir / "topics.toml"
    if not path.exists():
        return []
    with path.open("rb") as fh:
        return [str(t) for t in tomllib.load(fh).get("topics", [])]


class QuoteBot:
    """One instance per running bot (or console session)."""

    def __init__(
        self,
        engine: QuoteEngine,
        store: Store,
        *,
        topics: list[str] | None = None,
        links: Links | None = None,
        user_rate_per_minute: int = 20,
        rng: random.Random | None = None,
        subscriptions: SubscriptionStore | None = None,
        default_zone: str = "Asia/Shanghai",
        on_subscription_change: Callable[[], None] | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.engine = engine
        self.store = store
        self.topics = topics or []
        self._folded_topics = [engine.fold(t) for t in self.topics]
        self.links = links or Links()
        self.limiter = RateLimiter(user_rate_per_minute)
        self.rng = rng or random.Random()
        self.subscriptions = subscriptions or SubscriptionStore(store.db)
        self.default_zone = Zone.from_name(default_zone)
        self.on_subscription_change = on_subscription_change or (lambda: None)
        self.clock = clock

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
                return self._passage_reply(passage, sender.lang)
        return self.help(sender, welcome=True)

    def help(self, sender: Sender, welcome: bool = False) -> Reply:
        _ = gettext_for(sender.lang)
        conv = next(iter(self.engine.conversations.values()))
        title = conv.title if sender.lang == "en" else conv.title_zh
        lines = []
        if welcome:
            lines.append(esc(_("Hello! I quote one conversation back to you:")))
        lines.append(f"<b>{esc(title)}</b>")
        lines.append("")
        lines.append(
            esc(
                _(
                    "Send me any words (in a private chat) and I find the passage you mean, with who said it and when."
                )
            )
        )
        lines.append("")
        for command, text in (
            ("/quote", _("<words> — the best-matching quote (works in groups)")),
            ("/topic", _("<keyword> — the best passages on a topic")),
            ("/random", _("a random quote")),
            ("/subscribe", _("[HH:MM] [time zone] — a quote every day")),
            ("/unsubscribe", _("stop the daily quote")),
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
        _ = gettext_for(sender.lang)
        text = (text or "")[:MAX_INPUT].strip()
        if not text:
            return self._usage(sender, kind)
        if not has_searchable_text(text):
            self._log(sender, kind, text, [], 0.0)
            return Reply(
                esc(
                    _(
                        "Please send some words (Chinese or English) to search for; emoji and punctuation alone can't be matched."
                    )
                )
            )
        started = time.perf_counter()
        results = self.engine.search(text, RESULTS_PER_QUERY)
        self._log(sender, kind, text, results, time.perf_counter() - started)
        if not results:
            return self._no_match(sender, text)
        key = await self.store.remember_search(text)
        return self._result_reply(results, 0, key, sender.lang)

    async def topic(self, sender: Sender, keyword: str, page: int = 0) -> Reply:
        """/topic: several passages on one page, with paging buttons."""
        _ = gettext_for(sender.lang)
        keyword = (keyword or "")[:MAX_INPUT].strip()
        if not keyword:
            return self._topic_list(sender)
        if not has_searchable_text(keyword):
            self._log(sender, "topic", keyword, [], 0.0)
            return Reply(esc(_("Please give a topic in words, for example: /topic 意识")))
        started = time.perf_counter()
        results = self.engine.search(keyword, TOPIC_PAGE * TOPIC_PAGES)
        self._log(sender, "topic", keyword, results, time.perf_counter() - started)
        if not results:
            return self._no_match(sender, keyword)
        key = await self.store.remember_search(keyword)
        return self._topic_page(keyword, results, page, key, sender.lang)

    def random_quote(self, sender: Sender) -> Reply:
        passage = self.engine.random(self.rng)
        self._log(sender, "random", "", [Result(passage, 1.0)], 0.0)
        reply = self._passage_reply(passage, sender.lang)
        _ = gettext_for(sender.lang)
        return Reply(
            reply.html, (*reply.buttons, (Button("🎲 " + _("Another one"), data="x|random"),))
        )

    async def stats(self, sender: Sender, now: float | None = None) -> Reply:
        _ = gettext_for(sender.lang)
        if not sender.is_admin:
            return Reply(esc(_("Only the bot's administrators can see statistics.")))
        now = time.time() if now is None else now
        stats = await self.store.stats(now, now - now % 86400)
        counts = _("Queries today: {today}, in total: {total}").format(
            today=stats.today, total=stats.total
        )
        most, misses = _("Most asked"), _("Found nothing")
        lines = [
            esc(counts),
            "",
            f"<b>{esc(most)}</b>",
            *(f"{n}× {esc(q[:60])}" for q, n in stats.top_queries),
            "",
            f"<b>{esc(misses)}</b>",
            *(f"{n}× {esc(q[:60])}" for q, n in stats.misses),
        ]
        return Reply(fit_lines(lines))

    # -- daily quote -------------------------------------------------------------
    async def subscribe(self, sender: Sender, args: list[str], may_manage: bool = True) -> Reply:
        """/subscribe [HH:MM] [zone]; no arguments in a subscribed chat shows the subscription."""
        _ = gettext_for(sender.lang)
        if sender.chat_id is None:
            return Reply(esc(_("Subscriptions need a chat.")))
        current = await self.subscriptions.get(sender.chat_id)
        if not args and current is not None and current.active:
            return self._subscription_reply(current, sender.lang, changed=False)
        if not may_manage:
            return Reply(esc(_("Only the group's administrators can change its daily quote.")))
        try:
            local_time, zone = parse_subscribe_args(args, self.default_zone)
        except ScheduleError as exc:
            return Reply(esc(self._schedule_error(exc, sender.lang)))
        sub = await self.subscriptions.subscribe(
            sender.chat_id,
            sender.chat_type or "private",
            sender.lang,
            local_time,
            zone,
            self.clock(),
        )
        self.on_subscription_change()
        return self._subscription_reply(sub, sender.lang, changed=True)

    async def unsubscribe(self, sender: Sender, may_manage: bool = True) -> Reply:
        _ = gettext_for(sender.lang)
        if sender.chat_id is None:
            return Reply(esc(_("Subscriptions need a chat.")))
        if not may_manage:
            return Reply(esc(_("Only the group's administrators can change its daily quote.")))
        if await self.subscriptions.unsubscribe(sender.chat_id):
            self.on_subscription_change()
            return Reply(esc(_("Done: no more daily quotes here. /subscribe starts them again.")))
        return Reply(esc(_("This chat has no daily quote. /subscribe starts one.")))

    def _subscription_reply(self, sub: Subscription, lang: Lang, changed: bool) -> Reply:
        _ = gettext_for(lang)
        when = sub.local_time.strftime("%H:%M")
        nxt = sub.next_at.astimezone(sub.zone.tzinfo).strftime("%Y-%m-%d %H:%M")
        if changed:
            text = _("Subscribed: a quote every day at {time} ({zone}). Next one: {next}.")
        else:
            text = _("This chat gets a quote every day at {time} ({zone}). Next one: {next}.")
        text = text.format(time=when, zone=sub.zone.name, next=nxt)
        hint = _("Change it with /subscribe HH:MM zone, stop it with /unsubscribe.")
        return Reply(f"{esc(text)}\n{esc(hint)}")

    def _schedule_error(self, exc: ScheduleError, lang: Lang) -> str:
        _ = gettext_for(lang)
        if exc.code == "bad_time":
            text = _(
                "“{value}” is not a time of day. Use HH:MM, for example: /subscribe 08:30 Asia/Shanghai"
            )
        elif exc.code == "bad_zone":
            text = _(
                "“{value}” is not a time zone I know. Use a name like Asia/Shanghai or Europe/Berlin, or an offset like UTC+8. Example: /subscribe 08:30 UTC+8"
            )
        else:
            text = _("Too many arguments (“{value}”). Example: /subscribe 08:30 Asia/Shanghai")
        return text.format(value=exc.value)

    # -- buttons -------------------------------------------------------------------
    async def press(self, sender: Sender, data: str) -> Reply | None:
        """A button press; None when the data is stale or malformed (the caller says so)."""
        parts = (data or "").split("|")
        try:
            if parts[0] == "r" and len(parts) == 3:
                query = await self.store.find_search(parts[1])
                if query is None:
                    return None
                results = self.engine.search(query, RESULTS_PER_QUERY)
                rank = int(parts[2])
                if not 0 <= rank < len(results):
                    return None
                return self._result_reply(results, rank, parts[1], sender.lang)
            if parts[0] == "t" and len(parts) == 3:
                keyword = await self.store.find_search(parts[1])
                if keyword is None:
                    return None
                results = self.engine.search(keyword, TOPIC_PAGE * TOPIC_PAGES)
                return (
                    self._topic_page(keyword, results, int(parts[2]), parts[1], sender.lang)
                    if results
                    else None
                )
            if parts[0] == "c" and len(parts) == 3:
                step = int(parts[2])
                if step not in (-1, 1):
                    return None
                passage = self.engine.neighbour(parts[1], step)
                return self._passage_reply(passage, sender.lang) if passage else None
            if parts[0] == "k" and len(parts) == 2:
                index = int(parts[1])
                if not 0 <= index < len(self.topics):
                    return None
                return await self.topic(sender, self.topics[index])
            if data == "x|random":
                return self.random_quote(sender)
        except ValueError:
            return None
        return None

    # -- inline mode -----------------------------------------------------------------
    def inline(self, sender: Sender, text: str) -> list[InlineItem]:
        """Choices for `@bot words` in any chat; random good quotes for an empty query."""
        text = (text or "")[:MAX_INPUT].strip()
        started = time.perf_counter()
        if text:
            results = self.engine.search(text, INLINE_RESULTS)
            self._log(sender, "inline", text, results, time.perf_counter() - started)
            passages = [r.passage for r in results]
        else:
            rng = random.Random(int(time.time() // 300))  # same picks for five minutes: cacheable
            passages = list(
                {p.id: p for p in (self.engine.random(rng) for _ in range(INLINE_RESULTS))}.values()
            )
        items = []
        for passage in passages:
            conv = self.engine.conversation(passage)
            speaker = conv.speakers[passage.speaker].display(sender.lang)
            items.append(
                InlineItem(
                    id=passage.id,
                    title=f"{speaker} · {format_hms(passage.at)}",
                    description=passage.text[:120],
                    reply=Reply(fit_lines(quote_block(passage, conv, sender.lang, self.links))),
                )
            )
        return items

    # -- building replies ------------------------------------------------------------
    def _passage_reply(self, passage: Passage, lang: Lang) -> Reply:
        conv = self.engine.conversation(passage)
        lines = quote_block(passage, conv, lang, self.links)
        row = context_buttons(
            passage,
            lang,
            self.engine.neighbour(passage.id, -1) is not None,
            self.engine.neighbour(passage.id, 1) is not None,
        )
        return Reply(fit_lines(lines), (row,) if row else ())

    def _result_reply(self, results: list[Result], rank: int, key: str, lang: Lang) -> Reply:
        _ = gettext_for(lang)
        passage = results[rank].passage
        base = self._passage_reply(passage, lang)
        nav = []
        if rank > 0:
            nav.append(Button("◀ " + _("Better match"), data=f"r|{key}|{rank - 1}"))
        if rank + 1 < len(results):
            nav.append(
                Button(
                    _("Next match") + f" ({rank + 2}/{len(results)}) ▶", data=f"r|{key}|{rank + 1}"
                )
            )
        return Reply(base.html, (*base.buttons, tuple(nav)) if nav else base.buttons)

    def _topic_page(
        self, keyword: str, results: list[Result], page: int, key: str, lang: Lang
    ) -> Reply:
        _ = gettext_for(lang)
        pages = (len(results) + TOPIC_PAGE - 1) // TOPIC_PAGE
        page = max(0, min(page, pages - 1))
        heading = _("Topic: {keyword}").format(keyword=keyword[:100])
        lines = [f"<b>{esc(heading)}</b> ({page + 1}/{pages})", ""]
        for n, r in enumerate(
            results[page * TOPIC_PAGE : (page + 1) * TOPIC_PAGE], page * TOPIC_PAGE + 1
        ):
            conv = self.engine.conversation(r.passage)
            lines.append(f"<b>{n}.</b>")
            lines.extend(quote_block(r.passage, conv, lang, self.links))
            lines.append("")
        nav = []
        if page > 0:
            nav.append(Button("◀", data=f"t|{key}|{page - 1}"))
        if page + 1 < pages:
            nav.append(Button("▶", data=f"t|{key}|{page + 1}"))
        return Reply(fit_lines(lines), (tuple(nav),) if nav else ())

    def _topic_list(self, sender: Sender) -> Reply:
        _ = gettext_for(sender.lang)
        text = esc(_("Which topic? For example: /topic 意识 — or pick one:"))
        buttons = [Button(t, data=f"k|{i}") for i, t in enumerate(self.topics[:12])]
        rows = tuple(tuple(buttons[i : i + 3]) for i in range(0, len(buttons), 3))
        return Reply(text, rows)

    def _no_match(self, sender: Sender, text: str) -> Reply:
        """Say so honestly, then offer what might help: close topics, /random."""
        _ = gettext_for(sender.lang)
        close = self.suggest_topics(text)
        lines = [
            esc(
                _("I couldn't find anything about “{query}” in this conversation.").format(
                    query=text[:100]
                )
            )
        ]
        if close:
            lines.append(esc(_("Maybe one of these topics?")))
        lines.append(esc(_("Or try /random for a random quote.")))
        buttons = tuple(Button(self.topics[i], data=f"k|{i}") for i in close)
        return Reply(fit_lines(lines), (buttons,) if buttons else ())

    def suggest_topics(self, text: str, limit: int = 3) -> list[int]:
        """Indexes of topics that look like the text (shared characters or words)."""
        if not self.topics or not has_searchable_text(text):
            return []
        found = process.extract(
            self.engine.fold(text),
            self._folded_topics,
            scorer=fuzz.partial_ratio,
            limit=limit,
            score_cutoff=60,
        )
        return [index for _, _, index in found]

    def unknown_command(self, sender: Sender) -> Reply:
        _ = gettext_for(sender.lang)
        return Reply(esc(_("I don't know that command. /help lists what I can do.")))

    def expired_button(self, sender: Sender) -> Reply:
        _ = gettext_for(sender.lang)
        return Reply(esc(_("This button has expired. Please search again.")))

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


__all__ = ["InlineItem", "QuoteBot", "RateLimiter", "Reply", "Sender", "load_topics"]
