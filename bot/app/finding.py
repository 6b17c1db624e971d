"""The one query pipeline: every search a person asks for goes through `Finder.find`.

Private messages, /quote, /topic, /card and inline mode (bot/app/searching.py,
bot/app/inline.py) are thin wrappers over `find`, the way httpx's get and post
wrap request and send: the words are cleaned and cut once, narrowed to one
conversation once (a leading `#id`, else the chat's choice), searched once on
a worker thread, logged once and, when the answer gets result buttons,
remembered once. `replay` serves those buttons: the saved search's results
from memory while they are recent, else the same search again.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass

from bot import metrics
from bot.app.conversations import Narrowed, NoSuchConversation, narrow
from bot.app.sender import Sender
from bot.app.views import several
from bot.search import QuoteEngine, Result
from bot.storage import QueryRecord, SavedSearch, Store
from bot.text import clean_input, has_searchable_text

MAX_INPUT = 4096  # characters of what a person sent that are searched
RECENT_RESULTS = 1000  # searches whose results a button press reuses instead of searching


@dataclass(frozen=True, slots=True)
class Kind:
    """How one kind of query (the query log's `kind`) goes through the pipeline."""

    # A chat's chosen conversation applies, a wrong `#id` is logged and emoji alone
    # are refused unsearched. Inline mode has no chat and shows whatever it finds.
    in_chat: bool = True
    # A confident answer gets result or page buttons, so its search is remembered.
    remembered: bool = True


KINDS = {
    "message": Kind(),
    "quote": Kind(),
    "topic": Kind(),
    "card": Kind(remembered=False),
    "inline": Kind(in_chat=False, remembered=False),
}


@dataclass(frozen=True, slots=True)
class Found:
    """One search as the replies need it; `results` empty when nothing was searched."""

    engine: QuoteEngine  # the one engine of this answer, even if a reload swaps it meanwhile
    conversation: str | None  # the conversation searched (None: all of them)
    text: str  # the words searched: cleaned, cut, without the `#id`
    results: list[Result]
    named: bool  # several conversations: quotes name theirs
    key: str | None = None  # the saved search behind the answer's buttons
    wrong: NoSuchConversation | None = None  # `#x` named no conversation: nothing searched
    searchable: bool = True  # False: emoji or punctuation alone, nothing searched


class Finder:
    """The pipeline, the engine it searches now, and the results of recent searches."""

    def __init__(self, engine: QuoteEngine, store: Store) -> None:
        self.engine = engine
        self.store = store
        self._recent: OrderedDict[tuple[str, int], tuple[QuoteEngine, list[Result]]] = OrderedDict()

    def use_engine(self, engine: QuoteEngine) -> None:
        """Search `engine` from now on; results of the old one are not reused."""
        self.engine = engine
        self._recent.clear()

    async def find(self, sender: Sender, kind: str, text: str | None, limit: int) -> Found:
        """Clean, narrow, search, log and remember one query (see the module docstring)."""
        how = KINDS.get(kind, Kind())
        engine = self.engine
        named = several(engine)
        where = await self.where(sender, text, how.in_chat, engine)
        if isinstance(where, NoSuchConversation):
            return Found(engine, None, "", [], named, wrong=where)
        conversation, text = where.conversation, where.text
        if not text:
            return Found(engine, conversation, text, [], named)
        if how.in_chat and not has_searchable_text(text):
            self.log(sender, kind, text, [], 0.0)
            return Found(engine, conversation, text, [], named, searchable=False)
        started = time.perf_counter()
        results = await self._search(engine, text, limit, conversation)
        self.log(sender, kind, text, results, time.perf_counter() - started)
        key = None
        if how.remembered and results and results[0].confident:
            key = await self.store.remember_search(text, conversation)
            self._keep(key, limit, engine, results)
        return Found(engine, conversation, text, results, named, key)

    async def where(
        self,
        sender: Sender,
        text: str | None,
        in_chat: bool = True,
        engine: QuoteEngine | None = None,
    ) -> Narrowed | NoSuchConversation:
        """The words and the conversation to search: a leading `#id`, else (`in_chat`) the
        chat's choice. Whatever a person sent is made safe (lone surrogates) and cut to
        MAX_INPUT here, once for every command. A wrong `#id` in a chat is logged.

        `engine` is the one the answer searches (default: the current one): the ids are
        checked against it, so a reload meanwhile cannot hand it a conversation it lacks."""
        engine = engine or self.engine
        text = clean_input(text or "")[:MAX_INPUT]
        found = narrow(text, list(engine.conversations))
        if isinstance(found, NoSuchConversation):
            if in_chat:
                self.log(sender, "conversation", text.strip(), [], 0.0)
            return found
        if found.conversation is None and in_chat:
            return Narrowed(await self.chosen(sender, engine), found.text)
        return found

    async def replay(self, key: str, limit: int) -> Found | None:
        """A saved search for its buttons; None when it is gone (expired, forgotten) or its
        conversation is. Not logged: the person asked once. The results come from memory
        when the search is recent and the engine the same, else from searching again."""
        saved = await self.store.find_search(key)
        engine = self.engine
        where = self._narrowed(saved, engine) if saved is not None else None
        if where is None:
            return None
        kept = self._recent.get((key, limit))
        if kept is not None and kept[0] is engine:
            self._recent.move_to_end((key, limit))
            results = kept[1]
        else:
            results = await self._search(engine, where.text, limit, where.conversation)
            self._keep(key, limit, engine, results)
        return Found(engine, where.conversation, where.text, results, several(engine), key)

    async def chosen(self, sender: Sender, engine: QuoteEngine | None = None) -> str | None:
        """The chat's chosen conversation, if `engine` (default: the current one) still
        holds it (a removed one means all)."""
        engine = engine or self.engine
        if sender.chat_id is None or not several(engine):
            return None
        chosen = await self.store.chats.get(sender.chat_id)
        return chosen if chosen in engine.conversations else None

    def log(
        self, sender: Sender, kind: str, text: str, results: list[Result], seconds: float
    ) -> None:
        """One query-log row and one metrics count."""
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

    @staticmethod
    def _narrowed(saved: SavedSearch, engine: QuoteEngine) -> Narrowed | None:
        """A saved search as it was narrowed; None if its conversation is gone.

        With one conversation a `#word` that names none is just words (see
        conversations.narrow): a search saved before schema v6 as "#AI 安全" was split
        by the migration into conversation "AI" and words "安全", and is put back whole."""
        if saved.conversation is None or saved.conversation in engine.conversations:
            return Narrowed(saved.conversation, saved.text)
        if several(engine):
            return None
        return Narrowed(None, f"#{saved.conversation} {saved.text}")

    def _keep(self, key: str, limit: int, engine: QuoteEngine, results: list[Result]) -> None:
        """Keep the results for the buttons, unless a reload swapped the engine while they
        were searched (they would hold the old index in memory, and are never reused)."""
        if engine is not self.engine:
            return
        self._recent[(key, limit)] = (engine, results)
        self._recent.move_to_end((key, limit))
        while len(self._recent) > RECENT_RESULTS:
            self._recent.popitem(last=False)

    @staticmethod
    async def _search(
        engine: QuoteEngine, text: str, limit: int, conversation: str | None
    ) -> list[Result]:
        """The engine's search, on a worker thread.

        A query that reaches the embedder costs tens of milliseconds (more on a
        catalogue); on the event loop it would hold up every other chat's
        updates meanwhile. The engine only reads its index; the embedder runs
        one query at a time under its own lock.
        """
        return await asyncio.to_thread(engine.search, text, limit, conversation)
