"""Quote cards: a passage as a PNG picture, to share.

Needs only the engine's types (bot.search); the Telegram layer sends the bytes.

    from bot.cards import CardCache, render_card
    cards = CardCache(cache_dir / "cards")
    png = cards.get_or_render(passage, engine.conversation(passage), "QuoteBot", "dark")
"""

from bot.cards.cache import CardCache, CardText, card_text
from bot.cards.chart import ChartData, render_chart
from bot.cards.render import FONT_DIR, FONT_FILES, FONT_VERSION, Style, font, plan_card, render_card

__all__ = [
    "FONT_DIR",
    "FONT_FILES",
    "FONT_VERSION",
    "CardCache",
    "CardText",
    "ChartData",
    "Style",
    "card_text",
    "font",
    "plan_card",
    "render_card",
    "render_chart",
]
