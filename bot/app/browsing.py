"""Browsing without a search: /random and its 🎲 button, the passages before and after
a quote, a suggestion opened, a quote's card."""

from __future__ import annotations

import random

from bot.app import buttons
from bot.app.conversations import NoSuchConversation, no_such_conversation_view
from bot.app.finding import Finder
from bot.app.i18n import gettext_for
from bot.app.replies import Button, CardReply, Links, Reply
from bot.app.sender import Sender
from bot.app.views import card_view, passage_view
from bot.search import Result


class Browsing:
    """Answers that show one passage, found by id, by position or at random."""

    def __init__(self, finder: Finder, links: Links, rng: random.Random) -> None:
        self.finder = finder
        self.links = links
        self.rng = rng

    async def random_quote(self, sender: Sender, args: str = "") -> Reply:
        """/random [#id]: a random quote, of the named or the chat's chosen conversation."""
        where = await self.finder.where(sender, args)
        if isinstance(where, NoSuchConversation):
            conversations = list(self.finder.engine.conversations.values())
            return no_such_conversation_view(where, conversations, sender.lang)
        return self._random(sender, where.conversation)

    async def another(self, sender: Sender, conversation: str | None) -> Reply:
        """The 🎲 button: another one of the same conversation (if it is still there), else
        of the chat's choice."""
        if conversation is not None and conversation not in self.finder.engine.conversations:
            conversation = None
        return self._random(sender, conversation or await self.finder.chosen(sender))

    def _random(self, sender: Sender, conversation: str | None) -> Reply:
        engine = self.finder.engine
        passage = engine.random(self.rng, conversation)
        self.finder.log(sender, "random", "", [Result(passage, 1.0)], 0.0)
        reply = passage_view(engine, passage, sender.lang, self.links)
        _ = gettext_for(sender.lang)
        another = Button("🎲 " + _("Another one"), data=buttons.another_random(conversation))
        return Reply(reply.html, (*reply.buttons, (another,)), passage_id=passage.id)

    def neighbour(self, sender: Sender, passage_id: str, step: int) -> Reply | None:
        """The passage before (-1) or after (1) this one; None when there is none."""
        engine = self.finder.engine
        passage = engine.neighbour(passage_id, step)
        return passage_view(engine, passage, sender.lang, self.links) if passage else None

    def open(self, sender: Sender, passage_id: str) -> Reply | None:
        """One passage by id (a suggestion's button, a share link); None if it is gone."""
        engine = self.finder.engine
        passage = engine.get(passage_id)
        return passage_view(engine, passage, sender.lang, self.links) if passage else None

    def card(self, sender: Sender, passage_id: str, style: str) -> CardReply | None:
        """A passage's quote card in `style`; None if the passage is gone."""
        engine = self.finder.engine
        passage = engine.get(passage_id)
        if passage is None:
            return None
        return card_view(engine, passage, sender.lang, self.links, style)
