"""Answers to a search: a private message or /quote, /topic, /card, and the result and
page buttons under them. Each is a thin wrapper over the one pipeline (finding.py):
it words what `Finder.find` or `Finder.replay` found."""

from __future__ import annotations

from bot.app.conversations import no_such_conversation_view
from bot.app.finding import Finder, Found
from bot.app.i18n import gettext_for
from bot.app.replies import CardReply, Links, Reply, esc
from bot.app.sender import Sender
from bot.app.topics import Topics
from bot.app.views import (
    TOPIC_PAGE,
    card_view,
    no_match_view,
    result_view,
    suggestions_view,
    topic_list_view,
    topic_page_view,
)

RESULTS_PER_QUERY = 5  # "next result" browses this many
TOPIC_PAGES = 5
TOPIC_RESULTS = TOPIC_PAGE * TOPIC_PAGES


class Searching:
    """Query, /topic and /card, and their buttons."""

    def __init__(self, finder: Finder, topics: Topics, links: Links) -> None:
        self.finder = finder
        self.topics = topics
        self.links = links

    async def query(self, sender: Sender, text: str, kind: str = "message") -> Reply:
        """A free-text query (private message or /quote): the best passage, browsable."""
        found = await self.finder.find(sender, kind, text, RESULTS_PER_QUERY)
        answer = self._unanswered(sender, found) or self._usage(sender, kind, found)
        if answer is not None:
            return answer
        assert found.key is not None  # a confident answer to a remembered kind
        return result_view(found.engine, found.results, 0, found.key, sender.lang, self.links)

    async def topic(self, sender: Sender, keyword: str, page: int = 0) -> Reply:
        """/topic: several passages on one page, with paging buttons."""
        _ = gettext_for(sender.lang)
        found = await self.finder.find(sender, "topic", keyword, TOPIC_RESULTS)
        if found.wrong is None and not found.text:
            return topic_list_view(self.topics.names, sender.lang)
        if found.wrong is None and not found.searchable:
            return Reply(esc(_("Please give a topic in words, for example: /topic 意识")))
        answer = self._unanswered(sender, found)
        if answer is not None:
            return answer
        assert found.key is not None
        return topic_page_view(
            found.engine, found.text, found.results, page, found.key, sender.lang, self.links
        )

    async def card(self, sender: Sender, text: str) -> Reply | CardReply:
        """/card <words>: the best match (the same decision as a query) as a quote card."""
        found = await self.finder.find(sender, "card", text, RESULTS_PER_QUERY)
        answer = self._unanswered(sender, found) or self._usage(sender, "card", found)
        if answer is not None:
            return answer
        return card_view(found.engine, found.results[0].passage, sender.lang, self.links)

    async def result_at(self, sender: Sender, key: str, rank: int) -> Reply | None:
        """A result button: the saved search's result at `rank`; None when stale."""
        found = await self.finder.replay(key, RESULTS_PER_QUERY)
        if found is None or not 0 <= rank < len(found.results):
            return None
        return result_view(found.engine, found.results, rank, key, sender.lang, self.links)

    async def topic_page(self, sender: Sender, key: str, page: int) -> Reply | None:
        """A /topic page button; None when stale."""
        found = await self.finder.replay(key, TOPIC_RESULTS)
        if found is None or not found.results:
            return None
        return topic_page_view(
            found.engine, found.text, found.results, page, key, sender.lang, self.links
        )

    def _unanswered(self, sender: Sender, found: Found) -> Reply | None:
        """What every search says when it has no answer to show: a wrong `#id`, nothing
        found, or only passages close in meaning. None: the first result is the answer
        (or nothing was searched, which each command words itself)."""
        if found.wrong is not None:
            conversations = list(found.engine.conversations.values())
            return no_such_conversation_view(found.wrong, conversations, sender.lang)
        if not found.text or not found.searchable:
            return None
        if not found.results:
            in_all = found.conversation is None and found.named
            close = self.topics.suggest(found.text)
            return no_match_view(found.text, self.topics.names, close, sender.lang, in_all)
        if not found.results[0].confident:
            return suggestions_view(found.engine, found.text, found.results, sender.lang)
        return None

    @staticmethod
    def _usage(sender: Sender, kind: str, found: Found) -> Reply | None:
        """Nothing searched: no words (how to use the command), or no words that can be
        searched (what to send instead). None: something was searched."""
        _ = gettext_for(sender.lang)
        if not found.text:
            if kind == "card":
                return Reply(esc(_("Usage: /card <words>, for example: /card 人类反馈强化学习")))
            if kind == "quote":
                return Reply(esc(_("Usage: /quote <words>, for example: /quote 人类反馈强化学习")))
            return Reply(esc(_("Send me some words to search for, or /help.")))
        if not found.searchable:
            return Reply(
                esc(
                    _(
                        "Please send some words (Chinese or English) to search for; emoji and punctuation alone can't be matched."
                    )
                )
            )
        return None
