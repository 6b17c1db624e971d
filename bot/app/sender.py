"""Who is asking, and where: what every answer needs to know about the update."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app.i18n import Lang


@dataclass(frozen=True, slots=True)
class Sender:
    """Enough to answer, rate-limit and log."""

    chat_id: int | None
    chat_type: str | None  # private, group, supergroup, channel, console, inline
    user_id: int | None
    lang: Lang = "zh"
    is_admin: bool = False
