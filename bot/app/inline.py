"""Inline mode: `@bot words` in any chat offers passages to send, and the cards of those
passages already uploaded. A search goes through the one pipeline (finding.py)."""

from __future__ import annotations

import random
import time

from bot.app.cards import CardShop
from bot.app.finding import Finder
from bot.app.replies import MAX_CAPTION, InlineCard, InlineItem, Links, Reply, fit_lines
from bot.app.sender import Sender
from bot.app.views import card_caption_lines, conversation_title, quote_block, several
from bot.search import Passage, QuoteEngine, format_hms

INLINE_RESULTS = 10


class Inline:
    """The choices offered for an inline query."""

    def __init__(self, finder: Finder, cards: CardShop, links: Links) -> None:
        self.finder = finder
        self.cards = cards
        self.links = links

    async def inline(self, sender: Sender, text: str) -> list[InlineItem]:
        """Choices for `@bot words` in any chat; random good quotes for an empty query."""
        found = await self.finder.find(sender, "inline", text, INLINE_RESULTS)
        if found.wrong is not None:
            return []
        engine = found.engine
        if found.text:
            passages = [r.passage for r in found.results]
            suggested = {r.passage.id for r in found.results if not r.confident}
        else:
            suggested = set()
            passages = _random_picks(engine, found.conversation)
        return [
            self._item(engine, passage, passage.id in suggested, found.named, sender)
            for passage in passages
        ]

    def _item(
        self, engine: QuoteEngine, passage: Passage, suggested: bool, named: bool, sender: Sender
    ) -> InlineItem:
        conv = engine.conversation(passage)
        speaker = conv.speakers[passage.speaker].display(sender.lang)
        where = conversation_title(conv, sender.lang)[:60] + "\n" if named else ""
        question = engine.question_for(passage)
        block = quote_block(passage, conv, sender.lang, self.links, named, question)
        return InlineItem(
            id=passage.id,
            # "≈": closest in meaning, not a passage that says it.
            title=("≈ " if suggested else "")
            + (f"{speaker} · " if speaker else "")
            + format_hms(passage.at),
            description=where + passage.text[:120],
            reply=Reply(fit_lines(block)),
        )

    async def inline_cards(self, sender: Sender, items: list[InlineItem]) -> list[InlineCard]:
        """The cards of these inline choices already uploaded to Telegram (by file_id)."""
        engine = self.finder.engine
        named = several(engine)
        cards = []
        for passage_id, style, file_id in await self.cards.uploaded([i.id for i in items]):
            passage = engine.get(passage_id)
            if passage is None:
                continue
            conv = engine.conversation(passage)
            caption = fit_lines(
                card_caption_lines(
                    passage, conv, sender.lang, self.links, named, engine.question_for(passage)
                ),
                MAX_CAPTION,
            )
            cards.append(InlineCard(f"card:{style[0]}:{passage_id}"[:64], file_id, caption))
        return cards


def _random_picks(engine: QuoteEngine, conversation: str | None) -> list[Passage]:
    """Up to INLINE_RESULTS different good quotes, the same for five minutes (so
    Telegram may cache the answer)."""
    rng = random.Random(int(time.time() // 300))
    picks = (engine.random(rng, conversation) for _ in range(INLINE_RESULTS))
    return list({p.id: p for p in picks}.values())
